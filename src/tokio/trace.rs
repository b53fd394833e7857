//! The tokio adapter's diagnostics (feature `tracing`): a handshake's
//! outcome in its connection's span.
#![cfg(feature = "tracing")]

/// Runs a handshake under `span`, logs its outcome there, and hands the
/// span to the stream it produced.
pub(crate) async fn handshake<S, T>(
    span: tracing::Span,
    work: impl core::future::Future<Output = Result<T, crate::StreamError>>,
    stream: impl FnOnce(&mut T) -> &mut super::WebSocketStream<S>,
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
pub(crate) fn established<S>(ws: &super::WebSocketStream<S>, how: &'static str)
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
