//! Echo server on the tokio adapter. Echoes every text and binary message as
//! the same type, with the crate's default limits, on a current-thread
//! runtime.
//!
//! ```text
//! echo_server [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS] [--tls CERT.pem KEY.pem]
//! ```
//!
//! - `ADDR` defaults to `127.0.0.1:9001`.
//! - `--keepalive 15,30` pings a client after 15 s of silence and drops it
//!   (close code 1011) if the pong takes more than 30 s; `--idle 300` drops
//!   a client that sent nothing for 300 s (1001). Seconds, fractions allowed.
//! - Built with the `rustls` feature, `--tls` serves `wss://` with that PEM
//!   certificate chain and key. Built with `deflate`, it accepts
//!   permessage-deflate offers.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::{Config, Keepalive, Message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

const USAGE: &str = "usage: echo_server [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS] \
                     [--tls CERT.pem KEY.pem]";

#[cfg(feature = "rustls")]
type Acceptor = rfc6455::tls::tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "rustls"))]
type Acceptor = ();

/// One connection. The settings come shared: a task holds its arguments for
/// as long as it lives, and an `Arc` is a pointer where a `Config` is
/// 168 bytes (of the 1.5 KiB an idle connection costs).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(io: S, config: Arc<Config>) {
    let accept = |_: &_| Ok(rfc6455::handshake::Accept::new());
    let mut ws = match rfc6455::tokio::accept_with(io, Config::clone(&config), accept).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("handshake failed: {e}");
            return;
        }
    };
    while let Some(item) = ws.next().await {
        match item {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
            // Pings were answered and closes echoed by the connection itself.
            Ok(_) => {}
            Err(e) => {
                eprintln!("connection failed: {e}");
                break;
            }
        }
    }
}

/// Seconds as given on the command line (`15`, `0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("not a number of seconds: {text}"))
}

/// The listening address, the connection settings and the TLS acceptor.
fn parse_args() -> Result<(String, Config, Option<Acceptor>), String> {
    let mut addr = "127.0.0.1:9001".to_owned();
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    {
        use rfc6455::extension::{DeflateConfig, ExtensionConfig};
        config = config.extensions(ExtensionConfig::new().deflate(DeflateConfig::default()));
    }
    let mut tls = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keepalive" => {
                let value = args.next().ok_or(USAGE)?;
                let (interval, timeout) = value.split_once(',').ok_or(USAGE)?;
                config = config.keepalive(Keepalive::new(seconds(interval)?, seconds(timeout)?));
            }
            "--idle" => config = config.idle_timeout(seconds(&args.next().ok_or(USAGE)?)?),
            "--tls" => {
                let (cert, key) = (args.next().ok_or(USAGE)?, args.next().ok_or(USAGE)?);
                tls = Some(tls_acceptor(&cert, &key)?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if !other.starts_with('-') => addr = other.to_owned(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok((addr, config, tls))
}

#[cfg(feature = "rustls")]
fn tls_acceptor(cert: &str, key: &str) -> Result<Acceptor, String> {
    let config = rfc6455::tls::server_config_from_pem(cert, key).map_err(|e| e.to_string())?;
    Ok(Acceptor::from(config))
}

#[cfg(not(feature = "rustls"))]
fn tls_acceptor(_: &str, _: &str) -> Result<Acceptor, String> {
    Err("--tls needs the rustls feature: cargo run --features rustls --example echo_server".into())
}

fn main() -> std::io::Result<()> {
    let (addr, config, tls) = parse_args().map_err(std::io::Error::other)?;
    let config = Arc::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        println!(
            "echo_server listening on {scheme}://{}",
            listener.local_addr()?
        );
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let config = Arc::clone(&config);
            #[cfg(feature = "rustls")]
            if let Some(acceptor) = tls.clone() {
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(stream) => serve(stream, config).await,
                        Err(e) => eprintln!("TLS handshake failed: {e}"),
                    }
                });
                continue;
            }
            tokio::spawn(serve(tcp, config));
        }
    })
}
