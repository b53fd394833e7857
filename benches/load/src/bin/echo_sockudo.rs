//! sockudo-ws echo server: its HTTP/1.1 server path
//! (`handshake::server_handshake`, then `WebSocketStream::from_raw_with_leftover`
//! with the bytes read past the request), `init_clock()` first as its docs
//! ask. Echoes every text or binary message as the same type (`send` writes
//! and flushes). Its defaults except that the idle timeout and automatic
//! pings are off, as in every other server here (uWS: `idleTimeout: 0`).

use futures_util::{SinkExt, StreamExt};
use sockudo_ws::{Message, Role, WebSocketStream};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(handshake) = sockudo_ws::handshake::server_handshake(&mut tcp).await else {
        return;
    };
    let config = rfc6455_load::sockudo_config();
    let mut ws =
        WebSocketStream::from_raw_with_leftover(tcp, Role::Server, config, handshake.leftover);
    while let Some(Ok(message)) = ws.next().await {
        let data = matches!(message, Message::Text(_) | Message::Binary(_));
        if message.is_close() || (data && ws.send(message).await.is_err()) {
            return;
        }
    }
}

fn main() -> std::io::Result<()> {
    sockudo_ws::init_clock();
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("echo_sockudo listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(serve(tcp));
        }
    })
}
