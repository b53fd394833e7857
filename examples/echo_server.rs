//! Echo server on the tokio adapter: `echo_server [ADDR]` (default
//! 127.0.0.1:9001). Echoes every text and binary message as the same type,
//! with the crate's default limits, on a current-thread runtime. Built with
//! the `deflate` feature, it accepts permessage-deflate offers. Built with
//! the `rustls` feature, `echo_server ADDR --tls CERT.pem KEY.pem` serves
//! wss:// with that PEM certificate chain and key.

use futures_util::{SinkExt, StreamExt};
use rfc6455::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(tcp: S) {
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

#[cfg(feature = "rustls")]
type Acceptor = rfc6455::tls::tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "rustls"))]
type Acceptor = ();

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .filter(|a| *a != "--tls")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let tls = match args.iter().position(|a| a == "--tls") {
        None => None::<Acceptor>,
        #[cfg(feature = "rustls")]
        Some(i) => match (args.get(i + 1), args.get(i + 2)) {
            (Some(cert), Some(key)) => Some(Acceptor::from(rfc6455::tls::server_config_from_pem(
                cert, key,
            )?)),
            _ => return Err(std::io::Error::other("usage: --tls CERT.pem KEY.pem")),
        },
        #[cfg(not(feature = "rustls"))]
        Some(_) => return Err(std::io::Error::other("--tls needs the rustls feature")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        println!(
            "echo_server listening on {scheme}://{}",
            listener.local_addr()?
        );
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            #[cfg(feature = "rustls")]
            if let Some(acceptor) = tls.clone() {
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(stream) => serve(stream).await,
                        Err(e) => eprintln!("TLS handshake failed: {e}"),
                    }
                });
                continue;
            }
            tokio::spawn(serve(tcp));
        }
    })
}
