//! An echo server on the blocking adapter: a thread per connection, every
//! text or binary message sent back as it came, the crate's default limits.
//!
//! ```text
//! echo_server_blocking [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS]
//! ```
//!
//! - `ADDR` defaults to `127.0.0.1:9001`.
//! - `--keepalive 15,30` pings a client after 15 s of silence and drops it
//!   (close code 1011) if the pong takes more than 30 s; `--idle 300` drops
//!   a client that sent nothing for 300 s (1001). Seconds, fractions
//!   allowed. The thread blocked reading wakes up for these on its own.
//! - Built with the `deflate` feature, it accepts permessage-deflate offers.
//!
//! Runs until killed.

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use rfc6455::blocking;
use rfc6455::{Config, Keepalive, Message, StreamError};

const USAGE: &str =
    "usage: echo_server_blocking [ADDR] [--keepalive INTERVAL,TIMEOUT] [--idle SECONDS]";

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
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if !other.starts_with('-') => addr = other.to_owned(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok((addr, config))
}

fn main() -> std::io::Result<()> {
    let (addr, config) = parse_args().map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let config = config.clone();
                thread::spawn(move || {
                    if let Err(e) = echo(stream, config) {
                        eprintln!("connection ended: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

fn echo(stream: TcpStream, config: Config) -> Result<(), StreamError> {
    stream.set_nodelay(true)?;
    let mut ws = blocking::accept_with(stream, config, |_| Ok(rfc6455::handshake::Accept::new()))?;
    loop {
        match ws.read() {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => ws.send(message)?,
            // Pings were answered and closes echoed by the connection itself.
            Ok(_) => {}
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
