//! tokio-websockets echo server: `ServerBuilder::accept`, then echo every
//! text or binary message (`send` writes and flushes).

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok((_request, mut ws)) = tokio_websockets::ServerBuilder::new().accept(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if message.is_text() || message.is_binary() {
            if ws.send(message).await.is_err() {
                return;
            }
        } else if message.is_close() {
            return;
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!(
            "echo_tokio_websockets listening on {}",
            listener.local_addr()?
        );
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(serve(tcp));
        }
    })
}
