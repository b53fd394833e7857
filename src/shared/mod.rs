//! What the adapters share, with `std`: their error type, the reconnecting
//! client's policy, the one vectored write, rustls configuration and
//! diagnostics. Imports only the core (`proto`).

pub(crate) mod reconnect;
pub(crate) mod stream_error;
#[cfg(feature = "rustls")]
pub mod tls;
pub(crate) mod trace;
pub(crate) mod vectored;
