//! Diagnostics through `tracing` (feature `tracing`), emitted by the
//! adapters only: the sans-IO core stays free of it. Without the feature
//! these macros expand to nothing.
//!
//! What is emitted, under a `websocket` span per connection (fields `role`,
//! and `peer` where the adapter knows it):
//! - handshake outcome: `info` on success (subprotocol, extensions), `debug`
//!   on a refusal or failure (status, error);
//! - close frames sent and received, with code and reason: `debug`;
//! - the connection failing: `warn` for a peer's protocol violation (with
//!   the close code sent), `debug` for transport errors and timeouts;
//! - the end of the connection: `debug`;
//! - per message: `trace` only.
//!
//! The tokio adapter and what builds on it (hyper, h2, TLS) emit these; the
//! blocking adapter does not yet.
#![cfg_attr(not(feature = "tokio"), allow(unused_macros, dead_code))]

#[cfg(feature = "tracing")]
macro_rules! ws_event {
    ($level:ident, $($arg:tt)*) => { ::tracing::$level!($($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! ws_event {
    ($level:ident, $($arg:tt)*) => {};
}
#[allow(unused_imports)]
pub(crate) use ws_event;

/// The span of one connection.
#[cfg(feature = "tracing")]
pub(crate) fn connection_span(role: crate::Role) -> tracing::Span {
    let role = match role {
        crate::Role::Client => "client",
        crate::Role::Server => "server",
    };
    tracing::debug_span!("websocket", role, peer = tracing::field::Empty)
}

/// Logs how a connection failed: a peer's violation (with the close code
/// sent) at `warn`, anything else at `debug`.
#[cfg(feature = "tracing")]
pub(crate) fn failure(error: &crate::StreamError) {
    match error {
        crate::StreamError::Protocol(e) if !e.is_local_misuse() => {
            let close_code = e.close_code().map(u16::from);
            tracing::warn!(error = %e, close_code, "connection failed");
        }
        other => tracing::debug!(error = %other, "connection failed"),
    }
}
