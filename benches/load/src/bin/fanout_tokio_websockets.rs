//! tokio-websockets fan-out server (protocol: `rfc6455_load::PRODUCE_PATH`).
//! `ServerBuilder::accept` hands back the request, hence the path; the
//! producer's data messages go into a `tokio::sync::broadcast` channel of
//! `Bytes`, and one task per receiver `send`s each as a binary message (the
//! shared payload is written by reference, vectored). Slow receivers: the task waits in `send`
//! (which flushes) with one message queued; more than `FANOUT_CAPACITY`
//! messages behind, it skips ahead (`RecvError::Lagged`) and loses the ones
//! in between.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455_load::{FANOUT_CAPACITY, PRODUCE_PATH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_websockets::Message;

async fn serve(tcp: TcpStream, hub: broadcast::Sender<Bytes>) {
    // Subscribed before the handshake: nothing sent after the 101 is missed.
    let mut rx = hub.subscribe();
    let Ok((request, mut ws)) = tokio_websockets::ServerBuilder::new().accept(tcp).await else {
        return;
    };
    if request.uri().path() == PRODUCE_PATH {
        drop(rx);
        while let Some(Ok(message)) = ws.next().await {
            if message.is_binary() || message.is_text() {
                drop(hub.send(message.into_payload().into()));
            } else if message.is_close() {
                return;
            }
        }
        return;
    }
    loop {
        match rx.recv().await {
            Ok(payload) => {
                if ws.send(Message::binary(payload)).await.is_err() {
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
        println!(
            "fanout_tokio_websockets listening on {}",
            listener.local_addr()?
        );
        let hub = broadcast::channel(FANOUT_CAPACITY).0;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve(tcp, hub.clone()));
        }
    })
}
