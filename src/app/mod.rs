//! Conveniences for applications, outside the core: reading a request's
//! query and bearer token, JSON and text refusal bodies. Imports only the
//! core (`proto`).

mod query;
mod refusal_body;
