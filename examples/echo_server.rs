//! Echo server on the tokio adapter: `echo_server [ADDR]` (default
//! 127.0.0.1:9001). Echoes every text and binary message as the same type,
//! with the crate's default limits, on a current-thread runtime. Built with
//! the `deflate` feature, it accepts permessage-deflate offers.

use futures_util::{SinkExt, StreamExt};
use rfc6455::Message;
use tokio::net::{TcpListener, TcpStream};

async fn serve(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let options = rfc6455::tokio::Options::default();
    #[cfg(feature = "deflate")]
    let options = options.extensions(
        rfc6455::extension::ExtensionConfig::new()
            .deflate(rfc6455::extension::DeflateConfig::default()),
    );
    let accept = |_: &_| Ok(rfc6455::handshake::Accept::new());
    let mut ws = match rfc6455::tokio::accept_with(tcp, options, accept).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("handshake failed: {e}");
            return;
        }
    };
    while let Some(item) = ws.next().await {
        match item {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("connection failed: {e}");
                break;
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("echo_server listening on ws://{}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(serve(tcp));
        }
    })
}
