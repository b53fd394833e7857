//! WebSocket echo over HTTP/2 (RFC 8441), cleartext h2 with prior knowledge.
//!
//! - `h2_echo [ADDR]` serves (default 127.0.0.1:9002): extended CONNECT with
//!   `:protocol websocket` becomes a WebSocket echo; any other request gets a
//!   short plain answer.
//! - `h2_echo client URL [MESSAGE...]` opens a WebSocket over one h2
//!   connection to URL (`ws://host:port/path`), sends each message, prints
//!   the echoes and closes.
//!
//! `cargo run --features h2 --example h2_echo` and, in another terminal,
//! `cargo run --features h2 --example h2_echo -- client ws://127.0.0.1:9002/ hi`.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455::Config;
use rfc6455::handshake::ClientRequest;
use rfc6455::{CloseCode, Message};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn serve_connection(tcp: TcpStream) -> Result<(), Error> {
    let mut conn = h2::server::Builder::new()
        .enable_connect_protocol()
        .handshake::<_, Bytes>(tcp)
        .await?;
    while let Some(accepted) = conn.accept().await {
        let (request, mut respond) = accepted?;
        if !rfc6455::h2::is_extended_connect(&request) {
            let mut send = respond.send_response(http::Response::new(()), false)?;
            send.send_data(
                Bytes::from_static(b"h2_echo: open a WebSocket here\n"),
                true,
            )?;
            continue;
        }
        let mut ws = match rfc6455::h2::accept(request, respond, Config::default()) {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("refused: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if message.is_data() && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

async fn client(url: &str, messages: &[String]) -> Result<(), Error> {
    let request = ClientRequest::new(url)?;
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    let (mut sender, conn) = h2::client::handshake(tcp).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let (mut ws, _) = rfc6455::h2::connect(&mut sender, request, Config::default()).await?;
    for m in messages {
        ws.send(Message::text(m.as_str())).await?;
        if let Some(echo) = ws.next().await {
            println!("{:?}", echo?);
        }
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("client") {
        let url = args
            .get(1)
            .ok_or("usage: h2_echo client URL [MESSAGE...]")?;
        return client(url, &args[2..]).await;
    }
    let addr = args.first().map_or("127.0.0.1:9002", String::as_str);
    let listener = TcpListener::bind(addr).await?;
    println!("h2_echo listening on {} (h2c)", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve_connection(tcp).await {
                eprintln!("connection: {e}");
            }
        });
    }
}
