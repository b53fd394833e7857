//! rfc6455 fan-out server, written against the crate's current public API
//! (the tokio adapter; the crate has no broadcast API yet). Kept to this one
//! file so it can be switched to a broadcast API in one place.
//!
//! Protocol (see `rfc6455_load::PRODUCE_PATH`): the connection to
//! `/produce` is the producer, and each of its data messages goes to every
//! other connection as a binary message.
//!
//! Here: a `tokio::sync::broadcast` channel of `Bytes` (refcounted, so the
//! payload exists once however many receivers there are) and one task per
//! receiver that `send`s each message on its `WebSocketStream` (the adapter
//! queues a payload of 4 KiB or more by reference behind its header, and
//! copies smaller ones). Slow receivers: a task stuck on a full socket waits
//! in `send` (which flushes) with that one message queued; once it is more
//! than `FANOUT_CAPACITY` messages behind, it skips ahead and loses the ones
//! in between (`RecvError::Lagged`). Memory stays bounded whatever the
//! receiver does.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455::Message;
use rfc6455::handshake::Accept;
use rfc6455::tokio::Options;
use rfc6455_load::{FANOUT_CAPACITY, PRODUCE_PATH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};

async fn serve(tcp: TcpStream, hub: broadcast::Sender<Bytes>) {
    // Subscribed before the handshake, so that nothing published after this
    // receiver's 101 can be missed.
    let mut rx = hub.subscribe();
    let mut path = String::new();
    let accept = |request: &rfc6455::handshake::Request| {
        path = request.path().to_owned();
        Ok(Accept::new())
    };
    let Ok(mut ws) = rfc6455::tokio::accept_with(tcp, Options::default(), accept).await else {
        return;
    };
    if path == PRODUCE_PATH {
        drop(rx);
        while let Some(Ok(message)) = ws.next().await {
            match message {
                // No receivers yet is not an error for the producer.
                Message::Binary(payload) => drop(hub.send(payload)),
                Message::Text(text) => drop(hub.send(Bytes::from(text))),
                Message::Close(_) => return,
                _ => {}
            }
        }
        return;
    }
    loop {
        match rx.recv().await {
            Ok(payload) => {
                if ws.send(Message::Binary(payload)).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("fanout_rfc6455 listening on {}", listener.local_addr()?);
        let hub = broadcast::channel(FANOUT_CAPACITY).0;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, hub.clone()));
        }
    })
}
