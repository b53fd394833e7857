//! TLS with rustls (feature `rustls`): `wss://` for the clients, and PEM
//! loading for servers.
//!
//! - The tokio client takes `wss://` URLs in [`crate::tokio::connect`] and
//!   [`crate::tokio::connect_with`] (trusting the web PKI roots of
//!   [`client_config`]), and any [`ClientConfig`] in
//!   [`crate::tokio::connect_tls_with`].
//! - The blocking client: [`connect_blocking`].
//! - A server wraps its transport in a TLS acceptor of its own (e.g.
//!   `tokio_rustls::TlsAcceptor` with a [`server_config_from_pem`]) and hands
//!   the TLS stream to `accept`/`accept_with`, which take any transport.
//!
//! rustls runs with its `ring` provider. The `rustls` and `tokio_rustls`
//! crates are re-exported so that configurations and acceptors built by the
//! caller match the versions used here.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rfc6455::tls::{self, rustls};
//!
//! // Trust one private CA instead of the web PKI.
//! let mut roots = rustls::RootCertStore::empty();
//! for cert in tls::certs_from_pem(&std::fs::read("ca.pem")?)? {
//!     roots.add(cert).map_err(std::io::Error::other)?;
//! }
//! let config: Arc<rustls::ClientConfig> = tls::client_config_with_roots(roots);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::borrow::ToOwned;
use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use std::vec::Vec;

pub use ::rustls;
pub use ::tokio_rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned};

use crate::StreamError;
use crate::blocking::{self, WebSocket};
use crate::handshake::{ClientRequest, HandshakeResponse};

/// The transport of a blocking `wss://` connection.
pub type BlockingTlsStream = StreamOwned<ClientConnection, TcpStream>;

/// The crypto provider used here: rustls' `ring` provider.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The client configuration `wss://` URLs use by default: the Mozilla root
/// store of `webpki-roots`, ALPN `http/1.1`. Built once and shared.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            client_config_with_roots(roots)
        })
        .clone()
}

/// A client configuration trusting exactly `roots` (for a private CA or a
/// self-signed certificate), ALPN `http/1.1`, no client certificate.
pub fn client_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = std::vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Every certificate in a PEM text (`-----BEGIN CERTIFICATE-----` blocks),
/// in order.
///
/// # Errors
/// [`io::ErrorKind::InvalidData`] for malformed PEM or no certificate.
pub fn certs_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid_data)?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no certificate in PEM input",
        ));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM text.
///
/// # Errors
/// [`io::ErrorKind::InvalidData`] for malformed PEM or no key.
pub fn key_from_pem(pem: &[u8]) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(invalid_data)
}

/// A server configuration from a PEM certificate chain (leaf first) and a
/// PEM private key, with ALPN `http/1.1`.
///
/// # Errors
/// Malformed PEM, or a key that does not match the certificate
/// ([`io::ErrorKind::InvalidData`]).
pub fn server_config_from_pem_bytes(chain: &[u8], key: &[u8]) -> io::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(invalid_data)?
        .with_no_client_auth()
        .with_single_cert(certs_from_pem(chain)?, key_from_pem(key)?)
        .map_err(invalid_data)?;
    config.alpn_protocols = std::vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// As [`server_config_from_pem_bytes`], reading the two files.
///
/// # Errors
/// A file that cannot be read, then as [`server_config_from_pem_bytes`].
pub fn server_config_from_pem(
    chain: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> io::Result<Arc<ServerConfig>> {
    server_config_from_pem_bytes(&std::fs::read(chain)?, &std::fs::read(key)?)
}

fn invalid_data(e: impl Into<std::boxed::Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// rustls streams keep the connection's deadlines through the TCP socket's
/// timeouts; closing sends TLS's close_notify, then closes the socket.
impl<C, D> blocking::Transport for StreamOwned<C, TcpStream>
where
    C: core::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    D: rustls::SideData,
    StreamOwned<C, TcpStream>: io::Read + io::Write,
{
    fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        blocking::Transport::set_read_timeout(&mut self.sock, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        blocking::Transport::set_write_timeout(&mut self.sock, timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let _ = io::Write::flush(self);
        blocking::Transport::shutdown(&mut self.sock)
    }
}

/// The name the server's certificate must carry: the URL's host, a DNS name
/// or an IP address.
pub(crate) fn server_name(request: &ClientRequest) -> Result<ServerName<'static>, StreamError> {
    ServerName::try_from(request.host())
        .map(|name| name.to_owned())
        .map_err(|e| StreamError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))
}

/// Connects a blocking client to a `wss://` URL over rustls with `config`
/// (e.g. [`client_config`]), bounded by
/// [`Config::handshake_timeout`](crate::Config::handshake_timeout)
/// (connecting, the TLS handshake and the WebSocket handshake together).
///
/// ```no_run
/// use rfc6455::handshake::ClientRequest;
/// let request = ClientRequest::new("wss://example.com/feed")?;
/// let (mut ws, _response) = rfc6455::tls::connect_blocking(
///     request,
///     rfc6455::Config::default(),
///     rfc6455::tls::client_config(),
/// )?;
/// ws.send(rfc6455::Message::text("hi"))?;
/// # Ok::<(), rfc6455::StreamError>(())
/// ```
///
/// # Errors
/// [`StreamError::Tls`] if the TLS handshake fails (an untrusted
/// certificate, a name mismatch), [`StreamError::TlsUnsupported`] for a
/// `ws://` URL (use [`blocking::connect_with`]), otherwise as
/// [`blocking::client`].
pub fn connect_blocking(
    request: ClientRequest,
    options: crate::Config,
    config: Arc<ClientConfig>,
) -> Result<(WebSocket<BlockingTlsStream>, HandshakeResponse), StreamError> {
    if !request.is_tls() {
        return Err(StreamError::TlsUnsupported);
    }
    // One deadline, the handshake's, for connecting, TLS and the upgrade.
    let name = server_name(&request)?;
    let (host, port) = (request.host().to_owned(), request.port());
    let started = blocking::Started::new(request, &options)?;
    let deadline = started.deadline();
    let left = || -> Result<Option<std::time::Duration>, StreamError> {
        match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
            Some(l) if l.is_zero() => Err(StreamError::HandshakeTimeout),
            other => Ok(other),
        }
    };
    let mut tcp = blocking::tcp_connect(&host, port, deadline)?;
    tcp.set_nodelay(true)?;
    let mut tls = ClientConnection::new(config, name)
        .map_err(|e| StreamError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let timed_out = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    while tls.is_handshaking() {
        let l = left()?;
        tcp.set_read_timeout(l)?;
        tcp.set_write_timeout(l)?;
        if let Err(e) = tls.complete_io(&mut tcp) {
            return Err(if timed_out(&e) {
                StreamError::HandshakeTimeout
            } else {
                StreamError::Tls(e)
            });
        }
    }
    let (ws, response) = blocking::client_started(StreamOwned::new(tls, tcp), started, options)
        .map_err(|e| match e {
            StreamError::Io(e) if timed_out(&e) => StreamError::HandshakeTimeout,
            e => e,
        })?;
    Ok((ws, response))
}
