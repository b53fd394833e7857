//! rfc6455 fan-out server on the crate's broadcast path.
//!
//! Protocol (see `rfc6455_load::PRODUCE_PATH`): the connection to
//! `/produce` is the producer, and each of its data messages goes to every
//! other connection as a binary message.
//!
//! Here: each producer message becomes one `PreparedMessage` (framed once;
//! every receiver queues the same bytes, no copy), handed to every
//! receiver's `Writer` with `rfc6455::tokio::broadcast`, which never waits:
//! a receiver whose output queue is over its high-water mark
//! (`Config::write_buffer_size`, 128 KiB) misses the message, so a receiver
//! that stopped reading costs at most that much memory. Each receiver's
//! `Reader` task drives its connection (writes what was queued, answers
//! pings, sees the close).
//!
//! `fanout_rfc6455 [ADDR] [--keepalive INTERVAL,TIMEOUT]`: with
//! `--keepalive` (seconds, as for `examples/echo_server.rs`), every
//! connection is pinged after that much silence (`scripts/scale.sh`
//! broadcasts to connections under keepalive).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{Writer, broadcast};
use rfc6455::{Config, Keepalive, Message, PreparedMessage};
use rfc6455_load::PRODUCE_PATH;
use tokio::net::{TcpListener, TcpStream};

/// The receivers, by connection number.
type Receivers = Arc<Mutex<Vec<(u64, Writer<TcpStream>)>>>;

async fn serve(tcp: TcpStream, id: u64, receivers: Receivers, config: Arc<Config>) {
    let mut path = String::new();
    let accepted = rfc6455::tokio::accept_with(tcp, Config::clone(&config), |request| {
        path = request.path().to_owned();
        Ok(Accept::new())
    });
    let Ok(ws) = accepted.await else {
        return;
    };
    let (mut reader, writer) = ws.split();
    if path == PRODUCE_PATH {
        drop(writer);
        while let Some(Ok(message)) = reader.next().await {
            let prepared = match message {
                Message::Binary(payload) => PreparedMessage::binary(payload),
                Message::Text(text) => PreparedMessage::binary(text.into_bytes()),
                Message::Close(_) => return,
                _ => continue,
            };
            let receivers = receivers.lock().unwrap();
            broadcast(&prepared, receivers.iter().map(|(_, w)| w));
        }
        return;
    }
    receivers.lock().unwrap().push((id, writer));
    while let Some(Ok(_)) = reader.next().await {}
    receivers.lock().unwrap().retain(|(other, _)| *other != id);
}

/// `--keepalive INTERVAL,TIMEOUT` after the address, if given.
fn config() -> Result<Config, String> {
    let mut config = Config::default();
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        let value = args.next().filter(|_| arg == "--keepalive");
        let Some((interval, timeout)) = value.as_deref().and_then(|v| v.split_once(',')) else {
            return Err("usage: fanout_rfc6455 [ADDR] [--keepalive INTERVAL,TIMEOUT]".into());
        };
        let secs = |s: &str| {
            s.parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("not a number of seconds: {s}"))
        };
        config = config.keepalive(Keepalive::new(secs(interval)?, secs(timeout)?));
    }
    Ok(config)
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    let config = Arc::new(config().map_err(std::io::Error::other)?);
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("fanout_rfc6455 listening on {}", listener.local_addr()?);
        let receivers = Receivers::default();
        for id in 0.. {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, id, Arc::clone(&receivers), Arc::clone(&config)));
        }
        Ok(())
    })
}
