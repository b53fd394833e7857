//! wss:// over rustls: a self-signed certificate (tests/fixtures), a TLS
//! echo server, the tokio and blocking clients trusting it through a custom
//! root store, and TLS handshake failures that leave the server serving.
#![cfg(feature = "rustls")]

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rfc6455::Config;
use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::tls::{self, rustls, tokio_rustls};
use rfc6455::tokio::{accept_with, connect_tls_with, connect_with};
use rfc6455::{CloseCode, Message, StreamError};
use tokio::net::TcpListener;

/// A self-signed certificate for `localhost` and its key, made once with
/// rcgen 0.14 (`generate_simple_self_signed(vec!["localhost".to_owned()])`:
/// ECDSA P-256, valid from 1975 to 4096) and kept as files, so that no
/// certificate generator (rcgen, ring and its C build) is a dev-dependency:
/// every build of a target of the package compiles all of those.
const CERT_PEM: &str = include_str!("fixtures/localhost.cert.pem");
const KEY_PEM: &str = include_str!("fixtures/localhost.key.pem");

struct Server {
    port: u16,
    roots: Arc<rustls::ClientConfig>,
    /// TLS handshakes the server saw fail.
    failures: tokio::sync::mpsc::UnboundedReceiver<std::io::Error>,
}

/// A wss echo server for `localhost` with the self-signed certificate.
async fn server() -> Server {
    let config = tls::server_config_from_pem_bytes(CERT_PEM.as_bytes(), KEY_PEM.as_bytes())
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);

    let mut roots = rustls::RootCertStore::empty();
    for cert in tls::certs_from_pem(CERT_PEM.as_bytes()).unwrap() {
        roots.add(cert).unwrap();
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, failures) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(tls) => tls,
                    Err(e) => {
                        let _ = tx.send(e);
                        return;
                    }
                };
                let mut ws = accept_with(tls, Config::default(), |_| Ok(Accept::new()))
                    .await
                    .unwrap();
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_) | Message::Binary(_))
                        && ws.send(message).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    Server {
        port,
        roots: tls::client_config_with_roots(roots),
        failures,
    }
}

async fn echo_round_trip(port: u16, config: Arc<rustls::ClientConfig>) {
    let url = format!("wss://localhost:{port}/echo");
    let request = ClientRequest::new(&url).unwrap();
    let (mut ws, response) = connect_tls_with(request, Config::default(), config)
        .await
        .expect("wss connect");
    assert_eq!(response.status, 101);
    assert!(ws.get_ref().is_tls());
    ws.send(Message::text("over TLS")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("over TLS"));
    let big = Message::binary(vec![7u8; 300_000]);
    ws.send(big.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), big);
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

#[tokio::test]
async fn wss_echo_with_custom_roots() {
    let server = server().await;
    echo_round_trip(server.port, server.roots.clone()).await;
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_error_and_the_server_survives() {
    let mut server = server().await;
    // The default configuration trusts the web PKI, not this certificate.
    let url = format!("wss://localhost:{}/", server.port);
    let err = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Tls(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("TLS handshake failed") && text.contains("certificate"),
        "{text}"
    );
    // The server saw the handshake fail (the client's alert), and serves on.
    let seen = server.failures.recv().await.unwrap();
    assert!(seen.to_string().contains("UnknownCA"), "{seen}");
    echo_round_trip(server.port, server.roots.clone()).await;

    // A trusted certificate for another name is refused too.
    let url = format!("wss://127.0.0.1:{}/", server.port);
    let err = connect_tls_with(
        ClientRequest::new(&url).unwrap(),
        Config::default(),
        server.roots.clone(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StreamError::Tls(_)) && err.to_string().contains("certificate"),
        "{err}"
    );
    echo_round_trip(server.port, server.roots.clone()).await;
}

#[tokio::test]
async fn blocking_wss_client() {
    let server = server().await;
    let (port, roots) = (server.port, server.roots.clone());
    tokio::task::spawn_blocking(move || {
        let url = format!("wss://localhost:{port}/");
        let (mut ws, _) = rfc6455::blocking::connect_tls_with(
            ClientRequest::new(&url).unwrap(),
            rfc6455::Config::default(),
            roots,
        )
        .unwrap();
        assert!(matches!(
            ws.get_ref(),
            rfc6455::blocking::ClientStream::Rustls(_)
        ));
        ws.send(Message::text("blocking TLS")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("blocking TLS"));
        ws.close(CloseCode::NORMAL, "").unwrap();
        // `connect_with` takes `wss://` too, trusting the web PKI roots,
        // which do not include the test's own CA.
        let err = rfc6455::blocking::connect_with(
            ClientRequest::new(&url).unwrap(),
            rfc6455::Config::default(),
        )
        .map(|_| ())
        .unwrap_err();
        assert!(matches!(err, StreamError::Tls(_)), "{err:?}");
    })
    .await
    .unwrap();
}

/// `Config::handshake_timeout` bounds connecting, TLS and the upgrade
/// together: a TLS handshake that takes 0.8 s leaves 0.2 s for the upgrade,
/// not another full second (simulated time, real sockets).
#[tokio::test(start_paused = true)]
async fn handshake_timeout_covers_connect_tls_and_upgrade_together() {
    let acceptor = tokio_rustls::TlsAcceptor::from(
        tls::server_config_from_pem_bytes(CERT_PEM.as_bytes(), KEY_PEM.as_bytes()).unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    for cert in tls::certs_from_pem(CERT_PEM.as_bytes()).unwrap() {
        roots.add(cert).unwrap();
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // A slow TLS handshake, then an upgrade request that is never answered.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut sink).await;
    });

    let started = tokio::time::Instant::now();
    let request = ClientRequest::new(&format!("wss://localhost:{port}/")).unwrap();
    let config = Config::default().handshake_timeout(std::time::Duration::from_secs(1));
    let outcome = connect_tls_with(request, config, tls::client_config_with_roots(roots)).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(StreamError::HandshakeTimeout)),
        "{outcome:?}"
    );
    assert!(
        elapsed < std::time::Duration::from_millis(1100),
        "the handshake deadline restarted after TLS: failed after {elapsed:?}"
    );
    server.abort();
}
