//! tokio-tungstenite echo server: `accept_async`, then the `StreamExt` /
//! `SinkExt` loop its README shows; every text or binary message is sent back
//! (`send` writes and flushes).

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

async fn serve(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        let data = matches!(message, Message::Text(_) | Message::Binary(_));
        if message.is_close() || (data && ws.send(message).await.is_err()) {
            return;
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("echo_tungstenite listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(serve(tcp));
        }
    })
}
