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

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{Writer, broadcast};
use rfc6455::{Config, Message, PreparedMessage};
use rfc6455_load::PRODUCE_PATH;
use tokio::net::{TcpListener, TcpStream};

/// The receivers, by connection number.
type Receivers = Arc<Mutex<Vec<(u64, Writer<TcpStream>)>>>;

async fn serve(tcp: TcpStream, id: u64, receivers: Receivers) {
    let mut path = String::new();
    let accepted = rfc6455::tokio::accept_with(tcp, Config::default(), |request| {
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

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("fanout_rfc6455 listening on {}", listener.local_addr()?);
        let receivers = Receivers::default();
        for id in 0.. {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, id, Arc::clone(&receivers)));
        }
        Ok(())
    })
}
