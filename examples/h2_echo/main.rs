//! WebSocket echo over HTTP/2 (RFC 8441 extended CONNECT), on the `h2` crate.
//!
//! ```text
//! h2_echo [ADDR]                          cleartext HTTP/2 (h2c, prior knowledge)
//! h2_echo [ADDR] --tls CERT.pem KEY.pem   HTTP/2 over TLS (ALPN h2), for browsers
//! h2_echo client ws://HOST:PORT/PATH [MESSAGE...]
//! ```
//!
//! The server (default address 127.0.0.1:9002) speaks HTTP/2 only and
//! enables extended CONNECT. Every WebSocket, on any path, sends back each
//! message as it came: text as text, binary as binary, and the close frame
//! with its code and reason. `GET /` serves an echo page: a browser opens a
//! WebSocket over HTTP/2 only on an HTTP/2 connection it already has with
//! that origin, so the page comes first. Browsers speak HTTP/2 only over
//! TLS, hence `--tls` (feature `rustls` as well as `h2`). The client mode
//! sends each message over h2c, prints the echoes and closes.
//!
//! ```text
//! cargo run --features h2 --example h2_echo
//! cargo run --features h2 --example h2_echo -- client ws://127.0.0.1:9002/ hi
//!
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
//!     -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
//!     -keyout key.pem -out cert.pem
//! cargo run --features h2,rustls --example h2_echo -- 127.0.0.1:9443 --tls cert.pem key.pem
//! ```
//!
//! then open <https://127.0.0.1:9443/> (past the self-signed certificate's warning).

use std::io::ErrorKind;
use std::process::ExitCode;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Response, StatusCode, header};
use rfc6455::h2::H2Stream;
use rfc6455::handshake::ClientRequest;
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Config, Message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: h2_echo [ADDR] [--tls CERT.pem KEY.pem]
       h2_echo client ws://HOST:PORT/PATH [MESSAGE...]";
const DEFAULT_ADDR: &str = "127.0.0.1:9002";
const PAGE: &str = include_str!("index.html");

#[cfg(feature = "rustls")]
type TlsAcceptor = rfc6455::tls::tokio_rustls::TlsAcceptor;
/// Without the `rustls` feature there is none: `--tls` fails at start.
#[cfg(not(feature = "rustls"))]
#[derive(Clone)]
enum TlsAcceptor {}

/// Offers ALPN `h2` only: a client wanting HTTP/1.1 (a browser's fallback
/// for a WebSocket, say) is refused in the TLS handshake.
#[cfg(feature = "rustls")]
fn tls_acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, Error> {
    let config = rfc6455::tls::server_config_from_pem(cert, key)
        .map_err(|e| format!("cannot load {cert} / {key}: {e}"))?;
    let mut config = std::sync::Arc::unwrap_or_clone(config);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(std::sync::Arc::new(config)))
}

#[cfg(not(feature = "rustls"))]
fn tls_acceptor(_cert: &str, _key: &str) -> Result<TlsAcceptor, Error> {
    Err("--tls needs the rustls feature: cargo run --features h2,rustls --example h2_echo".into())
}

/// Serves one connection: TLS first if asked, then HTTP/2.
async fn serve_connection(tcp: TcpStream, tls: Option<TlsAcceptor>) -> Result<(), Error> {
    let served = match tls {
        None => serve_h2(tcp).await,
        #[cfg(feature = "rustls")]
        Some(acceptor) => serve_h2(acceptor.accept(tcp).await?).await,
        #[cfg(not(feature = "rustls"))]
        Some(never) => match never {},
    };
    // Browsers drop idle connections without a TLS close_notify or an
    // HTTP/2 GOAWAY: not worth an error line.
    let dropped = |e: &h2::Error| {
        e.get_io()
            .is_some_and(|io| io.kind() == ErrorKind::UnexpectedEof)
    };
    match served {
        Err(e) if dropped(&e) => Ok(()),
        other => Ok(other?),
    }
}

/// A WebSocket for each extended CONNECT, the page for `GET /`, 404 otherwise.
async fn serve_h2<T: AsyncRead + AsyncWrite + Unpin>(io: T) -> Result<(), h2::Error> {
    // Without this setting clients must not send extended CONNECT (RFC 8441
    // §3), and browsers open an HTTP/1.1 connection for WebSockets instead.
    let mut connection = h2::server::Builder::new()
        .enable_connect_protocol()
        .handshake::<_, Bytes>(io)
        .await?;
    // Polling `accept` also drives the connection: the WebSocket tasks
    // spawned below make progress only while this loop runs.
    while let Some(accepted) = connection.accept().await {
        let (request, mut respond) = accepted?;
        let path = request.uri().path().to_owned();
        if rfc6455::h2::is_extended_connect(&request) {
            // `echo` answers the close frame itself, reason included (the
            // connection's own answer would carry the code only).
            let config = Config::default().echo_close(false);
            // Answers the CONNECT: 200, or a 4xx if it is not a valid WebSocket one.
            match rfc6455::h2::accept(request, respond, config) {
                Ok(ws) => {
                    println!("WebSocket over HTTP/2 on {path}");
                    tokio::spawn(echo(ws));
                }
                Err(e) => eprintln!("refused a WebSocket on {path}: {e}"),
            }
            continue;
        }
        let (status, content_type, body) = match (request.method(), path.as_str()) {
            (&Method::GET, "/") => (StatusCode::OK, "text/html; charset=utf-8", PAGE),
            _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n"),
        };
        let response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(())
            .expect("a status and a static header make a valid response");
        // One stream failing (reset by the client, say) leaves the others be.
        if let Ok(mut send) = respond.send_response(response, false) {
            let _ = send.send_data(Bytes::from_static(body.as_bytes()), true);
        }
    }
    Ok(())
}

/// Sends back every message as it came, the close frame too, until the
/// WebSocket is over. Pings are answered by the connection itself.
async fn echo(mut ws: WebSocketStream<H2Stream>) {
    while let Some(message) = ws.next().await {
        let sent = match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_) | Message::Close(_))) => {
                ws.send(message).await
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            eprintln!("WebSocket failed: {e}");
            return;
        }
    }
}

async fn serve(addr: &str, tls: Option<(&str, &str)>) -> Result<(), Error> {
    // The certificate is loaded first: a bad one stops the server at once.
    let tls = tls.map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    match tls {
        Some(_) => println!("h2_echo listening on https://{local}/"),
        None => {
            println!("h2_echo listening on {local} (h2c), try: h2_echo client ws://{local}/ hi")
        }
    }
    loop {
        let (tcp, peer) = listener.accept().await?;
        // WebSocket messages are small writes that should leave at once.
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(tcp, tls).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn client(url: &str, messages: &[String]) -> Result<(), Error> {
    let request = ClientRequest::new(url)?;
    if request.is_tls() {
        return Err("the client speaks h2c only: use a ws:// URL".into());
    }
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    let (mut sender, connection) = h2::client::handshake(tcp).await?;
    // The connection task reads and writes the socket for every stream.
    tokio::spawn(connection);
    let (mut ws, _) = rfc6455::h2::connect(&mut sender, request, Config::default()).await?;
    for text in messages {
        ws.send(Message::text(text.as_str())).await?;
        let echo = ws.next().await.ok_or("the server ended the WebSocket")??;
        println!("{echo:?}");
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["client", url, ..] => client(url, &args[2..]).await,
        [] => serve(DEFAULT_ADDR, None).await,
        [addr] if !addr.starts_with('-') => serve(addr, None).await,
        ["--tls", cert, key] => serve(DEFAULT_ADDR, Some((cert, key))).await,
        [addr, "--tls", cert, key] => serve(addr, Some((cert, key))).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = result {
        eprintln!("h2_echo: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
