//! WebSocket echo over HTTP/2 (RFC 8441 extended CONNECT).
//!
//! ```text
//! h2_echo [ADDR]                        h2c: cleartext HTTP/2, prior knowledge
//! h2_echo [ADDR] --tls CERT.pem KEY.pem HTTP/2 over TLS (ALPN h2), for browsers
//! h2_echo client ws://HOST:PORT/PATH [MESSAGE...]
//! ```
//!
//! The server (default address 127.0.0.1:9002) speaks HTTP/2 only and
//! announces `SETTINGS_ENABLE_CONNECT_PROTOCOL`. An extended CONNECT with
//! `:protocol websocket`, on any path, becomes a WebSocket that echoes every
//! text message as text and every binary message as binary. `GET /` returns
//! a small echo page: a browser sends a WebSocket over HTTP/2 only on an
//! HTTP/2 connection it already has with that origin, so the page is loaded
//! first and opens its WebSocket from there. Browsers speak HTTP/2 only over
//! TLS, hence `--tls` with a PEM certificate chain and key (needs the
//! `rustls` feature as well as `h2`).
//!
//! The client mode opens one WebSocket over an h2c connection, sends each
//! message, prints the echoes and closes.
//!
//! The server logs one line per event on stdout (errors go to stderr);
//! scripts/h2_e2e.sh relies on their form (N numbers the connection, S is the
//! HTTP/2 stream id):
//!
//! ```text
//! conn N: HTTP/2 over TLS from ADDR            (or: h2c from ADDR)
//! conn N stream S: GET / -> 200 OK
//! conn N stream S: WebSocket over HTTP/2 (extended CONNECT /echo)
//! conn N stream S: WebSocket closed by the client (1000 "bye") after 3 messages
//! ```
//!
//! Try it:
//!
//! ```text
//! cargo run --features h2 --example h2_echo
//! cargo run --features h2 --example h2_echo -- client ws://127.0.0.1:9002/ hi
//!
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//!     -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
//!     -keyout key.pem -out cert.pem -days 30
//! cargo run --features h2,rustls --example h2_echo -- 127.0.0.1:9443 --tls cert.pem key.pem
//! ```
//!
//! then open <https://127.0.0.1:9443/> (the browser will warn about the
//! self-signed certificate).

use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, StatusCode, header};
use rfc6455::Config;
use rfc6455::h2::H2Stream;
use rfc6455::handshake::ClientRequest;
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
usage: h2_echo [ADDR] [--tls CERT.pem KEY.pem]
       h2_echo client ws://HOST:PORT/PATH [MESSAGE...]";

const DEFAULT_ADDR: &str = "127.0.0.1:9002";

/// The page served at `/`: a minimal echo console. Its WebSocket URL has the
/// page's own origin, which is what lets the browser reuse the HTTP/2
/// connection the page came over.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>h2_echo</title>
<h1>WebSocket echo over HTTP/2</h1>
<p>This page came over HTTP/2. Its WebSocket to <code>/echo</code> travels on
the same connection as one extended CONNECT stream (RFC 8441).</p>
<p>Status: <output id="status">connecting</output></p>
<form id="form">
  <input id="text" autocomplete="off" value="hello over HTTP/2">
  <button id="send">Send</button>
  <button id="close" type="button">Close</button>
</form>
<ol id="log"></ol>
<script type="module">
  const status = document.getElementById('status');
  const log = document.getElementById('log');
  const text = document.getElementById('text');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/echo`);
  const show = (line) => {
    const item = document.createElement('li');
    item.textContent = line;
    log.append(item);
  };
  ws.onopen = () => { status.textContent = 'open'; };
  ws.onmessage = (event) => show(`echo: ${event.data}`);
  ws.onclose = (event) => { status.textContent = `closed ${event.code}`; };
  document.getElementById('form').onsubmit = (event) => {
    event.preventDefault();
    ws.send(text.value);
  };
  document.getElementById('close').onclick = () => ws.close(1000, 'page closed');
</script>
"#;

/// Serves one HTTP/2 connection: WebSockets for extended CONNECT streams, the
/// page for `GET /`. `conn` numbers the connection in the log.
async fn serve_h2<T>(io: T, conn: u64) -> Result<(), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    // Without the setting, clients must not send extended CONNECT
    // (RFC 8441 §3), and browsers open an HTTP/1.1 connection instead.
    let handshake = h2::server::Builder::new()
        .enable_connect_protocol()
        .handshake::<_, Bytes>(io)
        .await;
    let mut connection = match handshake {
        Ok(connection) => connection,
        Err(e) if dropped_by_peer(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    // Polling `accept` also drives the connection: the WebSocket tasks
    // spawned below make progress only while this loop runs.
    while let Some(accepted) = connection.accept().await {
        let (request, respond) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if dropped_by_peer(&e) => break,
            Err(e) => return Err(e.into()),
        };
        let stream = respond.stream_id().as_u32();
        if rfc6455::h2::is_extended_connect(&request) {
            let path = request.uri().path().to_owned();
            match rfc6455::h2::accept(request, respond, Config::default()) {
                Ok(ws) => {
                    println!(
                        "conn {conn} stream {stream}: WebSocket over HTTP/2 (extended CONNECT {path})"
                    );
                    tokio::spawn(echo(ws, conn, stream));
                }
                // `accept` has already answered with a 4xx.
                Err(e) => eprintln!("conn {conn} stream {stream}: refused a WebSocket: {e}"),
            }
            continue;
        }
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        match answer(&method, &path, respond) {
            Ok(status) => println!("conn {conn} stream {stream}: {method} {path} -> {status}"),
            // One stream failing (say, reset by the client) leaves the others be.
            Err(e) => eprintln!("conn {conn} stream {stream}: {method} {path}: {e}"),
        }
    }
    Ok(())
}

/// Whether the client just went away. Browsers drop idle connections (one
/// opened in advance and never used, say) without a TLS close_notify or an
/// HTTP/2 GOAWAY; that is not worth an error line.
fn dropped_by_peer(e: &h2::Error) -> bool {
    e.get_io()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
}

/// Answers a plain request: the page at `GET /`, 404 or 405 otherwise.
fn answer(
    method: &Method,
    path: &str,
    mut respond: h2::server::SendResponse<Bytes>,
) -> Result<StatusCode, h2::Error> {
    let (status, content_type, body) = match (method, path) {
        (&Method::GET, "/") => (StatusCode::OK, "text/html; charset=utf-8", PAGE),
        (&Method::GET, _) => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n",
        ),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "h2_echo serves GET / and WebSockets (extended CONNECT)\n",
        ),
    };
    let mut response = http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // A 405 names the methods that would work (RFC 9110 §15.5.6).
        response = response.header(header::ALLOW, "GET, CONNECT");
    }
    let response = response
        .body(())
        .expect("a status and static headers make a valid response");
    let mut send = respond.send_response(response, false)?;
    send.send_data(Bytes::from_static(body.as_bytes()), true)?;
    Ok(status)
}

/// Echoes data messages until the client closes, then logs how it ended.
async fn echo(mut ws: WebSocketStream<H2Stream>, conn: u64, stream: u32) {
    let mut echoed = 0u64;
    let mut close = None;
    while let Some(item) = ws.next().await {
        match item {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(message).await {
                    eprintln!("conn {conn} stream {stream}: WebSocket failed: {e}");
                    return;
                }
                echoed += 1;
            }
            // The stream answers the close frame itself and ends once the
            // close handshake is over, so the log line below comes after it.
            Ok(Message::Close(frame)) => close = Some(frame),
            // Pings are answered by the stream; pongs need nothing.
            Ok(_) => {}
            Err(e) => {
                eprintln!("conn {conn} stream {stream}: WebSocket failed: {e}");
                return;
            }
        }
    }
    let how = match close {
        Some(Some(frame)) => format!(
            "closed by the client ({} {:?})",
            frame.code,
            frame.reason.as_str()
        ),
        Some(None) => "closed by the client (no status code)".to_owned(),
        None => "ended without a close handshake".to_owned(),
    };
    let plural = if echoed == 1 { "" } else { "s" };
    println!("conn {conn} stream {stream}: WebSocket {how} after {echoed} message{plural}");
}

/// `--tls` with the `rustls` feature: HTTP/2 over TLS, chosen by ALPN.
#[cfg(feature = "rustls")]
mod tls {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use rfc6455::tls::tokio_rustls::TlsAcceptor;
    use tokio::net::TcpStream;

    use super::Error;

    pub type Acceptor = TlsAcceptor;

    /// A slow or silent client must not hold a task forever.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// The acceptor for a PEM certificate chain and key, offering ALPN `h2`
    /// only: HTTP/2 over TLS is negotiated by ALPN (RFC 9113 §3.2), and a
    /// client asking for nothing but HTTP/1.1 (as a browser's fallback
    /// WebSocket connection does) is refused in the TLS handshake rather than
    /// answered in a protocol this server does not speak.
    pub fn acceptor(cert: &str, key: &str) -> Result<Acceptor, Error> {
        let config = rfc6455::tls::server_config_from_pem(cert, key)
            .map_err(|e| format!("cannot load {cert} / {key}: {e}"))?;
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    pub async fn serve(
        acceptor: Acceptor,
        tcp: TcpStream,
        peer: SocketAddr,
        conn: u64,
    ) -> Result<(), Error> {
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| "TLS handshake timed out")?
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        // rustls refuses a client whose ALPN list lacks h2, but one that sent
        // no ALPN at all gets this far.
        if tls.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
            return Err("the client did not negotiate ALPN h2".into());
        }
        println!("conn {conn}: HTTP/2 over TLS from {peer}");
        super::serve_h2(tls, conn).await
    }
}

/// `--tls` without the `rustls` feature: a clear error at start-up.
#[cfg(not(feature = "rustls"))]
mod tls {
    use std::net::SocketAddr;

    use tokio::net::TcpStream;

    use super::Error;

    /// Never built: [`acceptor`] always fails.
    #[derive(Clone)]
    pub enum Acceptor {}

    pub fn acceptor(_cert: &str, _key: &str) -> Result<Acceptor, Error> {
        Err("--tls needs the rustls feature: \
             cargo run --features h2,rustls --example h2_echo -- ADDR --tls CERT.pem KEY.pem"
            .into())
    }

    pub async fn serve(
        acceptor: Acceptor,
        _tcp: TcpStream,
        _peer: SocketAddr,
        _conn: u64,
    ) -> Result<(), Error> {
        match acceptor {}
    }
}

async fn serve(addr: &str, tls: Option<tls::Acceptor>) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    if tls.is_some() {
        println!("h2_echo listening on https://{local}/ (HTTP/2 over TLS, ALPN h2)");
    } else {
        println!("h2_echo listening on {local} (h2c); try: h2_echo client ws://{local}/ hi");
    }
    let mut conn = 0u64;
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // E.g. out of file descriptors: keep serving the others.
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // WebSocket messages are small writes that should leave at once.
        let _ = tcp.set_nodelay(true);
        conn += 1;
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                Some(acceptor) => tls::serve(acceptor, tcp, peer, conn).await,
                None => serve_h2c(tcp, peer, conn).await,
            };
            if let Err(e) = served {
                eprintln!("conn {conn}: {e}");
            }
        });
    }
}

async fn serve_h2c(tcp: TcpStream, peer: SocketAddr, conn: u64) -> Result<(), Error> {
    println!("conn {conn}: h2c from {peer}");
    serve_h2(tcp, conn).await
}

async fn client(url: &str, messages: &[String]) -> Result<(), Error> {
    let request = ClientRequest::new(url)?;
    if request.is_tls() {
        return Err("the client speaks h2c only: use a ws:// URL".into());
    }
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    let (mut sender, connection) = h2::client::handshake(tcp).await?;
    // The connection task reads and writes the socket for every stream.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection: {e}");
        }
    });
    let (mut ws, _) = rfc6455::h2::connect(&mut sender, request, Config::default()).await?;
    for m in messages {
        ws.send(Message::text(m.as_str())).await?;
        match ws.next().await {
            Some(echo) => println!("{:?}", echo?),
            None => return Err("the server ended the WebSocket".into()),
        }
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}

enum Command {
    Serve {
        addr: String,
        tls: Option<(String, String)>,
    },
    Client {
        url: String,
        messages: Vec<String>,
    },
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut addr = None;
    let mut tls = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "client" if addr.is_none() && tls.is_none() => {
                let url = args.next().ok_or("client needs a ws:// URL")?;
                return Ok(Command::Client {
                    url,
                    messages: args.collect(),
                });
            }
            "-h" | "--help" => return Ok(Command::Help),
            "--tls" => match (args.next(), args.next()) {
                (Some(cert), Some(key)) => tls = Some((cert, key)),
                _ => return Err("--tls needs CERT.pem and KEY.pem".into()),
            },
            option if option.starts_with('-') => return Err(format!("unknown option {option}")),
            _ if addr.is_none() => addr = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(Command::Serve {
        addr: addr.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        tls,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("h2_echo: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Client { url, messages } => client(&url, &messages).await,
        Command::Serve { addr, tls } => {
            // Load the certificate before listening, so that a bad one stops
            // the server at once.
            match tls
                .map(|(cert, key)| tls::acceptor(&cert, &key))
                .transpose()
            {
                Ok(acceptor) => serve(&addr, acceptor).await,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h2_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
