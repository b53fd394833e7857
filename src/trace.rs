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

/// Runs a handshake under `span`, logs its outcome there, and hands the
/// span to the stream it produced.
#[cfg(all(feature = "tracing", feature = "tokio"))]
pub(crate) async fn handshake<S, T>(
    span: tracing::Span,
    work: impl core::future::Future<Output = Result<T, crate::StreamError>>,
    stream: impl FnOnce(&mut T) -> &mut crate::tokio::WebSocketStream<S>,
) -> Result<T, crate::StreamError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tracing::Instrument;
    let mut result = work.instrument(span.clone()).await;
    let _entered = span.enter();
    match &mut result {
        Ok(done) => {
            let ws = stream(done);
            let protocol = ws.protocol();
            let extensions = ws.connection().extensions();
            match ws.connection().role() {
                crate::Role::Server => {
                    tracing::info!(protocol, ?extensions, "websocket accepted")
                }
                crate::Role::Client => {
                    tracing::info!(protocol, ?extensions, "websocket connected")
                }
            }
            ws.set_span(span.clone());
        }
        Err(error) => {
            let status = error.handshake().and_then(|h| h.status());
            tracing::debug!(%error, status, "handshake failed");
        }
    }
    result
}

/// Logs a handshake completed outside the tokio handshake functions (hyper,
/// h2) in the new connection's span.
#[cfg(all(feature = "tracing", feature = "tokio"))]
pub(crate) fn established<S>(ws: &crate::tokio::WebSocketStream<S>, how: &'static str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let protocol = ws.protocol();
    let extensions = ws.connection().extensions();
    match ws.connection().role() {
        crate::Role::Server => {
            tracing::info!(parent: ws.span(), protocol, ?extensions, via = how, "websocket accepted")
        }
        crate::Role::Client => {
            tracing::info!(parent: ws.span(), protocol, ?extensions, via = how, "websocket connected")
        }
    }
}
