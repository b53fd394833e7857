//! sockudo-ws fan-out server (protocol: `rfc6455_load::PRODUCE_PATH`), on
//! its HTTP/1.1 server path (`handshake::server_handshake` gives the path)
//! with `rfc6455_load::sockudo_config()`. The producer's data messages go
//! into a `tokio::sync::broadcast` channel of `Bytes`, and one task per
//! receiver `send`s each as a binary message (large payloads are queued by
//! reference, small ones copied into its cork buffer).
//!
//! Not its `pubsub::PubSub`: that hands each subscriber an *unbounded* mpsc
//! channel, so a receiver that stops reading would grow the server without
//! limit; the per-connection loop here is the same as for the other Rust
//! stacks. Slow receivers: the task waits in `send` (which flushes) with one
//! message queued; more than `FANOUT_CAPACITY` messages behind, it skips
//! ahead (`RecvError::Lagged`) and loses the ones in between.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455_load::{FANOUT_CAPACITY, PRODUCE_PATH};
use sockudo_ws::{Message, Role, WebSocketStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};

async fn serve(mut tcp: TcpStream, hub: broadcast::Sender<Bytes>) {
    // Subscribed before the handshake: nothing sent after the 101 is missed.
    let mut rx = hub.subscribe();
    let Ok(handshake) = sockudo_ws::handshake::server_handshake(&mut tcp).await else {
        return;
    };
    let config = rfc6455_load::sockudo_config();
    let mut ws =
        WebSocketStream::from_raw_with_leftover(tcp, Role::Server, config, handshake.leftover);
    if handshake.path == PRODUCE_PATH {
        drop(rx);
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Binary(payload) | Message::Text(payload) => drop(hub.send(payload)),
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
    sockudo_ws::init_clock();
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("fanout_sockudo listening on {}", listener.local_addr()?);
        let hub = broadcast::channel(FANOUT_CAPACITY).0;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, hub.clone()));
        }
    })
}
