//! The sans-IO core, `no_std` with `alloc`: frames (RFC 6455 §5.2), masking
//! (§5.3), UTF-8 (§8.1), the connection's state, time and limits (§5-§7),
//! extensions (RFC 7692) and the opening handshake as a codec (§4; RFC 8441
//! §4-§5). Nothing here does I/O, reads a clock or imports from the layers
//! above (`shared`, the adapters, the integrations, `app`).

pub(crate) mod close;
pub(crate) mod close_code;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod mask;
pub(crate) mod message;
pub(crate) mod output;
pub(crate) mod prepared;
pub(crate) mod rng;
pub(crate) mod text;
pub(crate) mod utf8;
