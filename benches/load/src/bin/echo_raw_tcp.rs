//! Raw TCP echo: every byte read is written back. No WebSocket at all; the
//! machine's ceiling for the load generator's traffic pattern.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut tcp: TcpStream) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        tcp.write_all(&buf[..n]).await?;
    }
}

fn main() -> std::io::Result<()> {
    let addr = rfc6455_load::addr();
    rfc6455_load::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("echo_raw_tcp listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(serve(tcp));
        }
    })
}
