//! Glue to other crates' HTTP stacks: the handshake with `http` types, hyper
//! and axum upgrades, WebSockets over HTTP/2 with `h2` (RFC 8441). Built on
//! the core and the tokio adapter; nothing below imports from here.

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "h2")]
pub mod h2;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hyper")]
pub mod hyper;
