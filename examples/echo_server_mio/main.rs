//! An echo server over `mio`: one thread, one event loop, many clients, every
//! text or binary message sent back as it came, the crate's default limits.
//! It uses only the public API of the sans-IO core (`Connection`,
//! `handshake::ServerHandshake`), none of the crate's adapters: the event loop
//! in `driver.rs` is what an adapter for another runtime would look like.
//!
//! ```text
//! echo_server_mio [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS] [--close-timeout SECONDS]
//! ```
//!
//! - `ADDR` defaults to `127.0.0.1:9001`.
//! - `--keepalive 15,30` pings a client after 15 s of silence and drops it
//!   (close code 1011) if the pong takes more than 30 s; `--idle 300` drops
//!   a client that sent nothing for 300 s (1001). Seconds, fractions
//!   allowed. The loop wakes up for these at the earliest client's deadline.
//! - `--close-timeout 1` bounds closing (the client's answer to our close
//!   frame, writing ours) at 1 s instead of the default 10 s.
//! - Built with the `deflate` feature, it accepts permessage-deflate offers.
//!
//! Runs until killed.

mod driver;

use std::time::Duration;

use rfc6455::{Config, Connection, Keepalive, Message, StreamError};

use driver::Handler;

const USAGE: &str = "usage: echo_server_mio [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS] [--close-timeout SECONDS]";

/// Sends back every message. The driver calls `event` only while the
/// output has room, which bounds what a client that does not read costs.
struct Echo;

impl Handler for Echo {
    fn event(&mut self, conn: &mut Connection, event: Message) {
        // Pings were answered and closes echoed by the connection itself.
        if let Message::Text(_) | Message::Binary(_) = event {
            // Fails only after our close frame went out: nothing to echo then.
            let _ = conn.send(event);
        }
    }

    fn closed(&mut self, _: Option<&Connection>, outcome: Result<(), StreamError>) {
        if let Err(e) = outcome {
            eprintln!("connection ended: {e}");
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

/// The listening address and the connection settings.
fn parse_args() -> Result<(String, Config), String> {
    let mut addr = "127.0.0.1:9001".to_owned();
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    {
        use rfc6455::extension::{DeflateConfig, ExtensionConfig};
        config = config.extensions(ExtensionConfig::new().deflate(DeflateConfig::default()));
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keepalive" => {
                let value = args.next().ok_or(USAGE)?;
                let (interval, timeout) = value.split_once(',').ok_or(USAGE)?;
                config = config.keepalive(Keepalive::new(seconds(interval)?, seconds(timeout)?));
            }
            "--idle" => config = config.idle_timeout(seconds(&args.next().ok_or(USAGE)?)?),
            "--close-timeout" => {
                config = config.close_timeout(seconds(&args.next().ok_or(USAGE)?)?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if !other.starts_with('-') => addr = other.to_owned(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok((addr, config))
}

fn main() -> std::io::Result<()> {
    let (addr, config) = parse_args().map_err(std::io::Error::other)?;
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    driver::serve(listener, &config, || Echo, || false)
}
