//! TLS with rustls (feature `rustls`): `wss://` for the clients, and PEM
//! loading for servers.
//!
//! - The tokio client takes `wss://` URLs in [`crate::tokio::connect`] and
//!   [`crate::tokio::connect_with`] (trusting the web PKI roots of
//!   [`client_config`]), and any [`ClientConfig`] in
//!   [`crate::tokio::connect_tls_with`].
//! - The blocking client takes `wss://` URLs in [`crate::blocking::connect`]
//!   and [`crate::blocking::connect_with`], and any [`ClientConfig`] in
//!   [`crate::blocking::connect_tls_with`].
//! - A server wraps its transport in a TLS acceptor of its own (e.g.
//!   `tokio_rustls::TlsAcceptor` with a [`server_config_from_pem`]) and hands
//!   the TLS stream to `accept`/`accept_with`, which take any transport:
//!   `cargo run --features rustls --example echo_server -- 127.0.0.1:9443
//!   --tls cert.pem key.pem` is one.
//!
//! A failed TLS handshake is [`StreamError::Tls`](crate::StreamError::Tls);
//! a `wss://` URL in a build without this feature is
//! [`StreamError::TlsUnsupported`](crate::StreamError::TlsUnsupported).
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
//!
//! A tokio client trusting that CA:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::SinkExt;
//! use rfc6455::handshake::ClientRequest;
//! use rfc6455::tls::{self, rustls};
//!
//! let mut roots = rustls::RootCertStore::empty();
//! for cert in tls::certs_from_pem(&std::fs::read("ca.pem")?)? {
//!     roots.add(cert)?;
//! }
//! let request = ClientRequest::new("wss://localhost:9443/chat")?;
//! let (mut ws, _response) = rfc6455::tokio::connect_tls_with(
//!     request,
//!     rfc6455::Config::default(),
//!     tls::client_config_with_roots(roots),
//! )
//! .await?;
//! ws.send(rfc6455::Message::text("hello over TLS")).await?;
//! # Ok(()) }
//! ```

use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::vec::Vec;

pub use ::rustls;
pub use ::tokio_rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::StreamError;
use crate::proto::handshake::ClientRequest;

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

/// The name the server's certificate must carry: the URL's host, a DNS name
/// or an IP address.
pub(crate) fn server_name(request: &ClientRequest) -> Result<ServerName<'static>, StreamError> {
    ServerName::try_from(request.host())
        .map(|name| name.to_owned())
        .map_err(|e| StreamError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))
}
