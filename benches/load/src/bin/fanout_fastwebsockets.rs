//! fastwebsockets fan-out server (protocol: `rfc6455_load::PRODUCE_PATH`):
//! hyper 1 HTTP/1 with upgrades as in its echo server, the path from the
//! request. The producer's messages (through a `FragmentCollector`, copied
//! once into `Bytes`) go into a `tokio::sync::broadcast` channel, and one
//! task per receiver writes each as a binary frame borrowing the shared
//! payload (`write_frame` writes it out before returning). Tasks run
//! `tokio::task::unconstrained`, as in its echo example. Slow receivers: the
//! task waits in `write_frame` with one message in hand; more than
//! `FANOUT_CAPACITY` messages behind, it skips ahead (`RecvError::Lagged`)
//! and loses the ones in between.

use bytes::Bytes;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rfc6455_load::{FANOUT_CAPACITY, PRODUCE_PATH};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError};

async fn produce(
    upgrade: upgrade::UpgradeFut,
    hub: broadcast::Sender<Bytes>,
) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(upgrade.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                drop(hub.send(Bytes::copy_from_slice(&frame.payload)));
            }
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

async fn relay(
    upgrade: upgrade::UpgradeFut,
    mut rx: broadcast::Receiver<Bytes>,
) -> Result<(), WebSocketError> {
    let mut ws = upgrade.await?;
    loop {
        match rx.recv().await {
            Ok(payload) => {
                ws.write_frame(Frame::binary(Payload::Borrowed(&payload)))
                    .await?
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

async fn handle(
    hub: broadcast::Sender<Bytes>,
    mut request: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    // Subscribed before the 101: nothing sent after it is missed.
    let rx = hub.subscribe();
    let producer = request.uri().path() == PRODUCE_PATH;
    let (response, upgrade) = upgrade::upgrade(&mut request)?;
    tokio::spawn(tokio::task::unconstrained(async move {
        let _ = if producer {
            drop(rx);
            produce(upgrade, hub).await
        } else {
            relay(upgrade, rx).await
        };
    }));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!(
            "fanout_fastwebsockets listening on {}",
            listener.local_addr()?
        );
        let hub = broadcast::channel(FANOUT_CAPACITY).0;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let hub = hub.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(hub.clone(), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    })
}
