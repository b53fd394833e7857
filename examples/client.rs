//! A small client: `client [URL] [MESSAGE]` (defaults `ws://127.0.0.1:9001/`
//! and `hello`). Sends the message, prints what comes back, and closes.
//! Run `cargo run --release --example echo_server` in another terminal first.

use futures_util::{SinkExt, StreamExt};
use rfc6455::{CloseCode, Message, StreamError};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StreamError> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".to_owned());
    let text = args.next().unwrap_or_else(|| "hello".to_owned());

    let (mut ws, response) = rfc6455::tokio::connect(&url).await?;
    println!("connected to {url} (subprotocol: {:?})", response.protocol);
    ws.send(Message::text(text)).await?;
    if let Some(reply) = ws.next().await {
        println!("received: {:?}", reply?);
    }
    ws.close(CloseCode::NORMAL, "bye").await?;
    println!("closed");
    Ok(())
}
