//! A WebSocket reverse proxy: `proxy LISTEN_ADDR UPSTREAM_URL`, e.g.
//! `proxy 127.0.0.1:9300 ws://127.0.0.1:9301`. Each client is connected to
//! the upstream with its own path, query and offered subprotocols, then
//! everything is relayed both ways, end to end: data as it arrives (no
//! frame or message is ever held whole), pings and pongs (the proxy answers
//! none itself), and close frames with their codes and reasons. The
//! upstream's refusal reaches the client as it was (502 if it cannot be
//! reached), and when one side fails the other is closed with a code for it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeRequest, HandshakeResponse};
use rfc6455::tokio::{ClientStream, Reader, Writer, accept_with_async, connect_with};
use rfc6455::{Config, Message, StreamError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// The settings of both sides.
fn config() -> Config {
    Config::default()
        // Data comes out in pieces as its bytes arrive, and each piece is
        // sent on at once: memory follows the read buffer (at most 128 KiB
        // a read), not the frame or message size. The size limits, which
        // exist to bound memory, can go; the two ends keep their own.
        .fragments(true)
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX)
        // Pings and closes are the two ends' business: relayed, never
        // answered here.
        .answer_pings(false)
        .echo_close(false)
}

/// Connects to the upstream with the client's path, query and subprotocols;
/// add other headers (cookies, authorisation) with `ClientRequest::header`.
async fn connect_upstream(
    base: &str,
    request: &HandshakeRequest,
) -> Result<(ClientStream, HandshakeResponse), StreamError> {
    let query = request.query().map(|q| format!("?{q}")).unwrap_or_default();
    let mut to_upstream = ClientRequest::new(&format!("{base}{}{query}", request.path()))?;
    for protocol in request.protocols() {
        to_upstream = to_upstream.protocol(protocol);
    }
    // Shorter than the client's handshake deadline (10 s), so that an
    // upstream too slow to answer still gets the client a 502.
    let config = config().handshake_timeout(Duration::from_secs(5));
    connect_with(to_upstream, config).await
}

async fn serve(client: TcpStream, base: Arc<str>) {
    let mut upstream = None;
    let slot = &mut upstream;
    let accepted = accept_with_async(client, config(), |request| async move {
        let (ws, response) = connect_upstream(&base, &request).await.map_err(|e| {
            eprintln!("upstream for {}: {e}", request.target());
            e.gateway_refusal()
        })?;
        *slot = Some(ws);
        Ok(match &response.protocol {
            Some(protocol) => Accept::new().protocol(protocol),
            None => Accept::new(),
        })
    })
    .await;
    // On failure, an upstream connected meanwhile is dropped, which closes it.
    let (Ok(downstream), Some(upstream)) = (accepted, upstream) else {
        return;
    };
    let (from_client, to_client) = downstream.split();
    let (from_upstream, to_upstream) = upstream.split();
    // Each direction on its own, so that neither waits for the other; a
    // reader is polled until its connection is over, which closes it.
    tokio::join!(
        relay(from_client, to_upstream),
        relay(from_upstream, to_client)
    );
}

/// Sends on to `to` everything `from` hands out, until `from` has ended.
async fn relay<A, B>(mut from: Reader<A>, mut to: Writer<B>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(item) = from.next().await {
        // An error sending means `to` is closing or gone: the other
        // direction then closes `from`, and this loop keeps reading `from`
        // so that its close handshake completes.
        let _ = match item {
            // `Writer::close` queues the close frame even if `to`'s peer has
            // stopped reading, so that the close timeout bounds the rest.
            Ok(Message::Close(Some(frame))) => to.close(frame.code, &frame.reason).await,
            // Data pieces, pings, pongs (and a close without a code) as they came.
            Ok(message) => to.send(message).await,
            // `from` failed (1014 Bad Gateway if it was lost): close `to`
            // with that code; its reply ends the other direction.
            Err(e) => to.close(e.onward_close_code(), "").await,
        };
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: proxy LISTEN_ADDR UPSTREAM_URL, e.g. 127.0.0.1:9300 ws://127.0.0.1:9301");
        std::process::exit(2);
    };
    // Checked once here; each client's path is appended to the URL's.
    let _ = ClientRequest::new(&upstream).map_err(std::io::Error::other)?;
    let base: Arc<str> = upstream.trim_end_matches('/').into();
    let listener = TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    println!("proxy listening on ws://{addr}, upstream {base}");
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(serve(tcp, Arc::clone(&base)));
    }
}
