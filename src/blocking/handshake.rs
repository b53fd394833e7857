//! The opening handshake over a blocking stream (RFC 6455 §4): bytes in and
//! out, bounded in time; the core parses, validates and answers.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use std::borrow::ToOwned;
use std::string::String;

use bytes::BytesMut;

use super::client_stream::ClientStream;
use super::io::Clock;
use super::socket::WebSocket;
use super::transport::Transport;
#[cfg(doc)]
use crate::proto::handshake::REFUSAL_LINGER;
use crate::proto::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeRequest, HandshakeResponse, Refusal,
    ServerHandshake,
};
use crate::{Config, Connection, Role, StreamError};

/// Bytes read per handshake read.
const HANDSHAKE_READ: usize = 4 << 10;

/// Handshake I/O on one stream, bounded by a deadline.
struct HandshakeIo<'a, S> {
    stream: &'a mut S,
    deadline: Option<Instant>,
}

impl<S: Transport> HandshakeIo<'_, S> {
    /// Bounds the next read and write by what is left of the deadline.
    fn arm(&mut self) -> Result<(), StreamError> {
        if let Some(at) = self.deadline {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StreamError::HandshakeTimeout);
            }
            // A transport without timeouts relies on its own.
            let _ = self.stream.set_read_timeout(Some(left));
            let _ = self.stream.set_write_timeout(Some(left));
        }
        Ok(())
    }

    /// Reads once more into `buf`; the end of the stream is an error here.
    fn read_more(&mut self, buf: &mut BytesMut) -> Result<(), StreamError> {
        match self.read_some(buf)? {
            0 => Err(StreamError::Io(io::ErrorKind::UnexpectedEof.into())),
            _ => Ok(()),
        }
    }

    /// Reads once more into `buf`: the bytes read, 0 at the end of the
    /// stream.
    fn read_some(&mut self, buf: &mut BytesMut) -> Result<usize, StreamError> {
        let mut chunk = [0u8; HANDSHAKE_READ];
        loop {
            self.arm()?;
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) => check(e)?,
            }
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> Result<(), StreamError> {
        while !data.is_empty() {
            self.arm()?;
            match self.stream.write(data) {
                Ok(0) => return Err(StreamError::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => data = &data[n..],
                Err(e) => check(e)?,
            }
        }
        loop {
            self.arm()?;
            match self.stream.flush() {
                Ok(()) => return Ok(()),
                Err(e) => check(e)?,
            }
        }
    }

    /// After a refusal: read and discard what the client still sends, for
    /// as long as the handshake says ([`REFUSAL_LINGER`]).
    fn linger(&mut self, parser: &mut ServerHandshake, clock: Clock) {
        parser.handle_timeout(clock.now());
        parser.start_linger();
        let mut scratch = [0u8; HANDSHAKE_READ];
        loop {
            let until = clock.instant(parser.poll_timeout());
            let left = until.map(|u| u.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) || self.stream.set_read_timeout(left).is_err() {
                return;
            }
            let read = self.stream.read(&mut scratch);
            parser.handle_timeout(clock.now());
            match read {
                Ok(n) if parser.keep_lingering(n) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return,
            }
        }
    }

    /// Leaves the stream's timeouts to the connection.
    fn disarm(&mut self) {
        let _ = self.stream.set_read_timeout(None);
        let _ = self.stream.set_write_timeout(None);
    }
}

/// `Ok` to retry after an interruption; a timeout is the handshake's.
fn check(e: io::Error) -> Result<(), StreamError> {
    match e.kind() {
        io::ErrorKind::Interrupted => Ok(()),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Err(StreamError::HandshakeTimeout),
        _ => Err(StreamError::Io(e)),
    }
}

/// What a finished handshake hands the `WebSocket`.
struct Done {
    conn: Connection,
    buffered: BytesMut,
    protocol: Option<String>,
}

impl Done {
    fn into_websocket<S: Transport>(self, stream: S) -> WebSocket<S> {
        WebSocket::from_parts(stream, self.conn, self.buffered, self.protocol)
    }
}

fn server_handshake<S, F>(
    io: &mut HandshakeIo<'_, S>,
    mut parser: ServerHandshake,
    clock: Clock,
    config: Config,
    callback: F,
) -> Result<Done, StreamError>
where
    S: Transport,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    let mut buf = BytesMut::new();
    let request = loop {
        match parser.parse(&mut buf) {
            Ok(Some(request)) => break request,
            Ok(None) => io.read_more(&mut buf)?,
            Err(e) => return Err(refuse(io, &mut parser, clock, e.refusal())),
        }
    };
    let mut accepted = match request.decide(callback) {
        Ok(accepted) => accepted,
        Err(refusal) => return Err(refuse(io, &mut parser, clock, refusal)),
    };
    io.write_all(&accepted.response.to_bytes())?;
    io.disarm();
    let protocol = accepted.protocol.take();
    Ok(Done {
        conn: accepted.into_connection(config),
        buffered: buf,
        protocol,
    })
}

/// Writes the answer to a refused request, lingers so that the client reads
/// it, and returns the error.
fn refuse<S: Transport>(
    io: &mut HandshakeIo<'_, S>,
    parser: &mut ServerHandshake,
    clock: Clock,
    refusal: Refusal,
) -> StreamError {
    if let Err(write_error) = io.write_all(&refusal.to_bytes()) {
        return write_error;
    }
    io.linger(parser, clock);
    refusal.error().into()
}

fn client_handshake<S: Transport>(
    io: &mut HandshakeIo<'_, S>,
    started: Started,
    config: Config,
) -> Result<(Done, HandshakeResponse), StreamError> {
    let Started {
        bytes,
        mut handshake,
        ..
    } = started;
    io.write_all(&bytes)?;
    let mut buf = BytesMut::new();
    let mut response = loop {
        if let Some(response) = handshake.parse(&mut buf)? {
            break response;
        }
        match io.read_some(&mut buf) {
            Ok(0) => break handshake.receive_eof(&mut buf)?,
            Ok(_) => {}
            // A refusal whose body was cut short by the deadline or a
            // transport failure is still the refusal, with what arrived.
            Err(e) => return Err(handshake.abandon().map_or(e, Into::into)),
        }
    };
    io.disarm();
    // `HandshakeResponse::into_connection` would consume the response the caller
    // gets back: move the negotiated extensions out instead.
    let negotiated = core::mem::take(&mut response.negotiated);
    let conn = Connection::with_extensions(Role::Client, config, negotiated);
    let protocol = response.protocol.clone();
    Ok((
        Done {
            conn,
            buffered: buf,
            protocol,
        },
        response,
    ))
}

/// Accepts a WebSocket connection on `stream` (§4.2): reads the request,
/// lets `callback` choose the subprotocol or refuse it with a [`Refusal`]
/// (`request.check_origin(..)?` for 403, or `Refusal::new(401)` with
/// headers and a body), and writes the answer, all within
/// [`Config::handshake_timeout`]. A refusal is answered with
/// [`Refusal::to_bytes`], as in every adapter, then the server lingers
/// ([`REFUSAL_LINGER`]) and closes.
///
/// ```no_run
/// use rfc6455::Config;
/// use rfc6455::blocking;
/// use rfc6455::handshake::Accept;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// let (stream, _) = listener.accept()?;
/// let ws = blocking::accept_with(stream, Config::default(), |request| {
///     request.check_origin(&["https://example.com"])?;
///     Ok(match request.select_protocol(&["chat.v2", "chat"]) {
///         Some(p) => Accept::new().protocol(p),
///         None => Accept::new(),
///     })
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`StreamError::Handshake`]
/// if the request is invalid or refused (its HTTP answer was written; the
/// error is [`Refusal::error`]; a callback's own mistake, such as a
/// subprotocol the client did not offer, is answered with 500),
/// [`StreamError::HandshakeTimeout`], or
/// [`StreamError::Io`] (an end of stream before the request is
/// `UnexpectedEof`).
pub fn accept_with<S, F>(
    mut stream: S,
    config: Config,
    callback: F,
) -> Result<WebSocket<S>, StreamError>
where
    S: Transport,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    let clock = Clock::new();
    let mut parser = ServerHandshake::new(&config);
    parser.handle_timeout(clock.now());
    let mut io = HandshakeIo {
        deadline: clock.instant(parser.poll_timeout()),
        stream: &mut stream,
    };
    let done = server_handshake(&mut io, parser, clock, config, callback)?;
    Ok(done.into_websocket(stream))
}

/// Accepts a WebSocket connection with the default [`Config`]: no
/// subprotocol, any origin, a 10 s handshake timeout.
///
/// # Errors
/// As [`accept_with`].
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, StreamError> {
    accept_with(stream, Config::default(), |_| Ok(Accept::new()))
}

/// Opens a WebSocket connection over a transport already connected to the
/// server (§4.1): writes `request` and reads the response, within
/// [`Config::handshake_timeout`].
///
/// # Errors
/// [`StreamError::Handshake`]
/// if the server refused or answered wrongly; a refusal is
/// [`HandshakeError::Refused`](crate::proto::handshake::HandshakeError::Refused)
/// with its status, fields and up to [`Config::max_refusal_body`] bytes of
/// its body, read within the handshake timeout (a body the deadline or the
/// transport cut short is marked truncated).
/// [`StreamError::HandshakeTimeout`], [`StreamError::Io`].
pub fn client<S: Transport>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), StreamError> {
    let started = Started::new(request, &config)?;
    client_started(stream, started, config)
}

/// A client handshake whose clock runs: the request to write and the
/// parser of the answer, started before connecting so that connecting, TLS
/// and the upgrade share its one deadline.
pub(super) struct Started {
    bytes: std::vec::Vec<u8>,
    handshake: ClientHandshake,
    clock: Clock,
}

impl Started {
    pub(super) fn new(request: ClientRequest, config: &Config) -> Result<Self, StreamError> {
        let clock = Clock::new();
        let (bytes, mut handshake) = request.build(config)?;
        handshake.handle_timeout(clock.now());
        Ok(Started {
            bytes,
            handshake,
            clock,
        })
    }

    /// The handshake's deadline.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.clock.instant(self.handshake.poll_timeout())
    }
}

/// [`client`] with the handshake's clock already running.
pub(super) fn client_started<S: Transport>(
    mut stream: S,
    started: Started,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), StreamError> {
    let mut io = HandshakeIo {
        deadline: started.deadline(),
        stream: &mut stream,
    };
    let (done, response) = client_handshake(&mut io, started, config)?;
    Ok((done.into_websocket(stream), response))
}

/// Connects to a `ws://` URL with the default [`Config`].
///
/// The returned [`HandshakeResponse`]'s `negotiated` extensions have moved into the
/// connection.
///
/// ```no_run
/// let (mut ws, response) = rfc6455::blocking::connect("ws://127.0.0.1:9001/chat")?;
/// ws.send(rfc6455::Message::text("hi"))?;
/// # Ok::<(), rfc6455::StreamError>(())
/// ```
///
/// # Errors
/// [`StreamError::TlsUnsupported`] for `wss://` without the `rustls` feature; an invalid URL as
/// [`HandshakeError::InvalidUrl`](crate::proto::handshake::HandshakeError::InvalidUrl);
/// otherwise as [`connect_with`].
pub fn connect(url: &str) -> Result<(WebSocket<ClientStream>, HandshakeResponse), StreamError> {
    connect_with(ClientRequest::new(url)?, Config::default())
}

/// Connects over TCP with a request built by the caller (subprotocols,
/// headers such as `Origin` or `Authorization`), bounded by
/// [`Config::handshake_timeout`] (connecting included). `TCP_NODELAY` is set:
/// frames are written whole.
///
/// ```no_run
/// use rfc6455::Config;
/// use rfc6455::blocking;
/// use rfc6455::handshake::ClientRequest;
///
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?
///     .protocol("chat")
///     .header("Origin", "http://127.0.0.1");
/// let (ws, response) = blocking::connect_with(request, Config::default())?;
/// assert_eq!(ws.protocol(), response.protocol.as_deref());
/// # Ok::<(), rfc6455::StreamError>(())
/// ```
///
/// # Errors
/// [`StreamError::TlsUnsupported`] for `wss://` without the `rustls` feature
#[cfg_attr(
    feature = "rustls",
    doc = " (with it, as [`connect_tls_with`] with the web PKI roots);"
)]
#[cfg_attr(
    not(feature = "rustls"),
    doc = " (with it, as `connect_tls_with` with the web PKI roots);"
)]
/// [`StreamError::Connect`] if the host does not resolve or no address of it could be connected to
/// (no close code: nothing reached the server); then as [`client`].
pub fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<ClientStream>, HandshakeResponse), StreamError> {
    if request.is_tls() {
        #[cfg(feature = "rustls")]
        return connect_tls_with(request, config, crate::tls::client_config());
        #[cfg(not(feature = "rustls"))]
        return Err(StreamError::TlsUnsupported);
    }
    // One deadline, the handshake's, for connecting and the upgrade.
    let (host, port) = (request.host().to_owned(), request.port());
    let started = Started::new(request, &config)?;
    let stream = tcp_connect(&host, port, started.deadline())?;
    stream.set_nodelay(true)?;
    client_started(ClientStream::Plain(stream), started, config)
}

pub(super) fn tcp_connect(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<TcpStream, StreamError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    // Name resolution failing is a failure to connect, too.
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(StreamError::Connect)?;
    for addr in addrs {
        let attempt = match deadline {
            None => TcpStream::connect(addr),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StreamError::HandshakeTimeout);
                }
                TcpStream::connect_timeout(&addr, left)
            }
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(StreamError::HandshakeTimeout);
    }
    Err(StreamError::Connect(last))
}

/// Connects with TLS configured by `tls_config` (a private root store,
/// client certificates, ...) when the URL is `wss://`; a `ws://` URL
/// connects without TLS. The handshake's one deadline
/// ([`Config::handshake_timeout`](crate::Config::handshake_timeout)) bounds
/// connecting, TLS and the upgrade together.
///
/// ```no_run
/// use rfc6455::handshake::ClientRequest;
/// let request = ClientRequest::new("wss://example.com/feed")?;
/// let (mut ws, _response) = rfc6455::blocking::connect_tls_with(
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
/// certificate, a name mismatch); otherwise as [`connect_with`].
#[cfg(feature = "rustls")]
pub fn connect_tls_with(
    request: ClientRequest,
    config: Config,
    tls_config: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(WebSocket<ClientStream>, HandshakeResponse), StreamError> {
    let name = request
        .is_tls()
        .then(|| crate::shared::tls::server_name(&request))
        .transpose()?;
    let (host, port) = (request.host().to_owned(), request.port());
    let started = Started::new(request, &config)?;
    let deadline = started.deadline();
    let tcp = tcp_connect(&host, port, deadline)?;
    tcp.set_nodelay(true)?;
    let Some(name) = name else {
        return client_started(ClientStream::Plain(tcp), started, config);
    };
    let stream = super::tls::start_tls(tcp, name, tls_config, deadline)?;
    client_started(stream, started, config)
}
