//! `wss://` for the blocking client (feature `rustls`): rustls streams as
//! a [`Transport`], and the TLS handshake of `connect_tls_with`.

use std::boxed::Box;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::client_stream::ClientStream;
use super::transport::Transport;
use crate::StreamError;

/// rustls streams keep the connection's deadlines through the TCP socket's
/// timeouts; closing sends TLS's close_notify, then closes the socket.
impl<C, D> Transport for StreamOwned<C, TcpStream>
where
    C: core::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    D: rustls::SideData,
    StreamOwned<C, TcpStream>: Read + Write,
{
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Transport::set_read_timeout(&mut self.sock, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Transport::set_write_timeout(&mut self.sock, timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let _ = Write::flush(self);
        Transport::shutdown(&mut self.sock)
    }
}

/// The TLS client handshake over `tcp`, within `deadline`.
pub(super) fn start_tls(
    mut tcp: TcpStream,
    name: ServerName<'static>,
    tls_config: Arc<ClientConfig>,
    deadline: Option<Instant>,
) -> Result<ClientStream, StreamError> {
    let mut tls = ClientConnection::new(tls_config, name)
        .map_err(|e| StreamError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    while tls.is_handshaking() {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(StreamError::HandshakeTimeout);
        }
        Transport::set_read_timeout(&mut tcp, left)?;
        Transport::set_write_timeout(&mut tcp, left)?;
        if let Err(e) = tls.complete_io(&mut tcp) {
            return Err(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    StreamError::HandshakeTimeout
                }
                _ => StreamError::Tls(e),
            });
        }
    }
    Ok(ClientStream::Rustls(Box::new(StreamOwned::new(tls, tcp))))
}
