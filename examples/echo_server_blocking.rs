//! An echo server on the blocking adapter: a thread per connection, every
//! text or binary message sent back as it came, the crate's default limits.
//! Built with the `deflate` feature, it accepts permessage-deflate offers.
//!
//! Usage: `echo_server_blocking [ADDR]` (default `127.0.0.1:9001`). Runs
//! until killed.

use std::net::{TcpListener, TcpStream};
use std::thread;

use rfc6455::blocking;
use rfc6455::{Message, StreamError};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    if let Err(e) = echo(stream) {
                        eprintln!("connection ended: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

fn echo(stream: TcpStream) -> Result<(), StreamError> {
    let options = blocking::Options::default();
    #[cfg(feature = "deflate")]
    let options = options.extensions(
        rfc6455::extension::ExtensionConfig::new()
            .deflate(rfc6455::extension::DeflateConfig::default()),
    );
    let mut ws = blocking::accept_tcp(stream, &options, |_| Ok(rfc6455::handshake::Accept::new()))?;
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
