//! tokio-tungstenite fan-out server (protocol: `rfc6455_load::PRODUCE_PATH`).
//! `accept_hdr_async` to learn the path; the producer's data messages go into
//! a `tokio::sync::broadcast` channel of `Bytes`, and one task per receiver
//! `send`s each as a binary message (tungstenite copies it into its write
//! buffer). Slow receivers: the task waits in `send` (which flushes) with one
//! message buffered; more than `FANOUT_CAPACITY` messages behind, it skips
//! ahead (`RecvError::Lagged`) and loses the ones in between.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455_load::{FANOUT_CAPACITY, PRODUCE_PATH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

async fn serve(tcp: TcpStream, hub: broadcast::Sender<Bytes>) {
    // Subscribed before the handshake: nothing sent after the 101 is missed.
    let mut rx = hub.subscribe();
    let mut path = String::new();
    // The error type is tungstenite's own (an HTTP response), large or not.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        path = request.uri().path().to_owned();
        Ok::<_, ErrorResponse>(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    if path == PRODUCE_PATH {
        drop(rx);
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Binary(payload) => drop(hub.send(payload)),
                Message::Text(text) => drop(hub.send(text.into())),
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
        println!("fanout_tungstenite listening on {}", listener.local_addr()?);
        let hub = broadcast::channel(FANOUT_CAPACITY).0;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, hub.clone()));
        }
    })
}
