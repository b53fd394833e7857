//! The opening handshake over a blocking stream (RFC 6455 §4): bytes in and
//! out, bounded in time; the core parses, validates and answers.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use std::string::String;

use bytes::BytesMut;

use super::Options;
use super::socket::{WebSocket, tcp_hooks};
use crate::handshake::{Accept, ClientRequest, HandshakeError, Request, Response, ServerHandshake};
use crate::{Connection, Role, StreamError};

/// Bytes read per handshake read.
const HANDSHAKE_READ: usize = 4 << 10;
/// What a refusing server reads and discards after its answer, so that
/// closing with unread bytes does not reset the connection before the client
/// read the answer.
const LINGER_BYTES: usize = 64 << 10;
/// Longest that discarding lasts.
const LINGER_TIME: Duration = Duration::from_millis(500);

/// Sets both socket timeouts to what is left before a deadline.
type Arm<S> = fn(&S, Duration) -> io::Result<()>;

/// Handshake I/O on one stream, bounded by a deadline where the stream allows.
struct HandshakeIo<'a, S> {
    stream: &'a mut S,
    deadline: Option<Instant>,
    arm: Option<Arm<S>>,
}

impl<S: Read + Write> HandshakeIo<'_, S> {
    fn arm(&mut self) -> Result<(), StreamError> {
        if let (Some(at), Some(arm)) = (self.deadline, self.arm) {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StreamError::HandshakeTimeout);
            }
            arm(self.stream, left)?;
        }
        Ok(())
    }

    /// Reads once more into `buf`; the end of the stream is an error here.
    fn read_more(&mut self, buf: &mut BytesMut) -> Result<(), StreamError> {
        let mut chunk = [0u8; HANDSHAKE_READ];
        loop {
            self.arm()?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(StreamError::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
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

fn server_handshake<S, F>(
    io: &mut HandshakeIo<'_, S>,
    options: &Options,
    callback: F,
) -> Result<Done, StreamError>
where
    S: Read + Write,
    F: FnOnce(&Request) -> Result<Accept, HandshakeError>,
{
    let mut buf = BytesMut::new();
    let mut parser = ServerHandshake::new(&options.config).extensions(options.extensions.clone());
    let request = loop {
        match parser.parse(&mut buf) {
            Ok(Some(request)) => break request,
            Ok(None) => io.read_more(&mut buf)?,
            Err(e) => return Err(refuse(io, e)),
        }
    };
    let accept = match callback(&request) {
        Ok(accept) => accept,
        Err(e) => return Err(refuse(io, e)),
    };
    let mut accepted = match request.accept(accept) {
        Ok(accepted) => accepted,
        Err(e) => {
            // The application's own mistake (a subprotocol the client did
            // not offer, an invalid header): the client still gets an answer.
            let _ = io.write_all(&request.reject(500));
            return Err(e.into());
        }
    };
    io.write_all(&accepted.response)?;
    let protocol = accepted.protocol.take();
    Ok(Done {
        conn: accepted.into_connection(options.config.clone()),
        buffered: buf,
        protocol,
    })
}

/// Writes the answer to a refused request and returns the error.
fn refuse<S: Read + Write>(io: &mut HandshakeIo<'_, S>, e: HandshakeError) -> StreamError {
    if let Some(response) = e.response() {
        if let Err(write_error) = io.write_all(&response) {
            return write_error;
        }
    }
    e.into()
}

fn client_handshake<S: Read + Write>(
    io: &mut HandshakeIo<'_, S>,
    request: ClientRequest,
    options: &Options,
) -> Result<(Done, Response), StreamError> {
    let request = request.extensions(options.extensions.clone());
    let (bytes, mut handshake) = request.build(&options.config)?;
    io.write_all(&bytes)?;
    let mut buf = BytesMut::new();
    let mut response = loop {
        match handshake.parse(&mut buf)? {
            Some(response) => break response,
            None => io.read_more(&mut buf)?,
        }
    };
    // `Response::into_connection` would consume the response the caller
    // gets back: move the negotiated extensions out instead.
    let negotiated = core::mem::take(&mut response.negotiated);
    let conn = Connection::with_extensions(Role::Client, options.config.clone(), negotiated);
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

/// Runs `f` with the socket's timeouts bounding the handshake, then restores
/// the timeouts it had.
fn on_tcp<T>(
    stream: &mut TcpStream,
    timeout: Option<Duration>,
    f: impl FnOnce(&mut HandshakeIo<'_, TcpStream>) -> Result<T, StreamError>,
) -> Result<T, StreamError> {
    let previous = (stream.read_timeout()?, stream.write_timeout()?);
    let mut io = HandshakeIo {
        stream,
        deadline: timeout.map(|t| Instant::now() + t),
        arm: Some(|s: &TcpStream, left| {
            s.set_read_timeout(Some(left))?;
            s.set_write_timeout(Some(left))
        }),
    };
    let result = f(&mut io);
    let deadline = io.deadline;
    if let Err(e) = &result {
        if e.handshake().is_some() {
            linger(stream, deadline);
        }
        return result;
    }
    stream.set_read_timeout(previous.0)?;
    stream.set_write_timeout(previous.1)?;
    result
}

/// After a refusal: stop writing, and read what the client still sends for a
/// moment, so that the answer is not lost to a reset (RFC 9112 §9.6).
fn linger(stream: &mut TcpStream, deadline: Option<Instant>) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let until = Instant::now() + LINGER_TIME;
    let until = deadline.map_or(until, |d| d.min(until));
    let mut scratch = [0u8; HANDSHAKE_READ];
    let mut discarded = 0;
    while discarded < LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut scratch) {
            Ok(0) => break,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// Accepts a WebSocket connection on `stream` over any transport (§4.2):
/// reads the request, lets `callback` choose the subprotocol or refuse it
/// ([`Request::check_origin`], [`HandshakeError::Rejected`]), and writes the
/// answer.
///
/// The stream's own timeouts bound the handshake (a read or write timing out
/// is [`StreamError::HandshakeTimeout`]); for a `TcpStream`,
/// [`accept_tcp`] sets them from [`Options::handshake_timeout`].
///
/// ```no_run
/// use rfc6455::blocking::{self, Options};
/// use rfc6455::handshake::Accept;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// let (stream, _) = listener.accept()?;
/// let ws = blocking::accept_with(stream, &Options::default(), |request| {
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
/// [`StreamError::Protocol`] with [`Error::Handshake`](crate::Error::Handshake)
/// if the request is invalid or refused (its HTTP answer was written),
/// [`StreamError::HandshakeTimeout`], or [`StreamError::Io`] (an end of
/// stream before the request is `UnexpectedEof`).
pub fn accept_with<S, F>(
    mut stream: S,
    options: &Options,
    callback: F,
) -> Result<WebSocket<S>, StreamError>
where
    S: Read + Write,
    F: FnOnce(&Request) -> Result<Accept, HandshakeError>,
{
    let mut io = HandshakeIo {
        stream: &mut stream,
        deadline: None,
        arm: None,
    };
    let done = server_handshake(&mut io, options, callback)?;
    Ok(WebSocket::from_connection(
        stream,
        done.conn,
        done.buffered,
        done.protocol,
    ))
}

/// Accepts a WebSocket connection on a TCP socket with the default
/// [`Options`]: no subprotocol, any origin, a 10 s handshake timeout.
///
/// # Errors
/// As [`accept_tcp`].
pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, StreamError> {
    accept_tcp(stream, &Options::default(), |_| Ok(Accept::new()))
}

/// Accepts a WebSocket connection on a TCP socket, as [`accept_with`] does,
/// bounded by [`Options::handshake_timeout`] (the socket's timeouts are
/// restored afterwards). The socket is shut down when the connection ends.
///
/// # Errors
/// As [`accept_with`]; [`StreamError::HandshakeTimeout`] past the timeout.
pub fn accept_tcp<F>(
    mut stream: TcpStream,
    options: &Options,
    callback: F,
) -> Result<WebSocket<TcpStream>, StreamError>
where
    F: FnOnce(&Request) -> Result<Accept, HandshakeError>,
{
    let done = on_tcp(&mut stream, options.handshake_timeout, |io| {
        server_handshake(io, options, callback)
    })?;
    Ok(
        WebSocket::from_connection(stream, done.conn, done.buffered, done.protocol)
            .with_hooks(tcp_hooks(), options.close_timeout),
    )
}

/// Opens a WebSocket connection over any transport already connected to the
/// server (§4.1): writes `request` and reads the response.
///
/// The stream's own timeouts bound the handshake, as for [`accept_with`].
///
/// # Errors
/// [`StreamError::Protocol`] with [`Error::Handshake`](crate::Error::Handshake)
/// if the server refused ([`HandshakeError::UnexpectedStatus`]) or answered
/// wrongly, [`StreamError::HandshakeTimeout`], [`StreamError::Io`].
pub fn client<S: Read + Write>(
    mut stream: S,
    request: ClientRequest,
    options: &Options,
) -> Result<(WebSocket<S>, Response), StreamError> {
    let mut io = HandshakeIo {
        stream: &mut stream,
        deadline: None,
        arm: None,
    };
    let (done, response) = client_handshake(&mut io, request, options)?;
    Ok((
        WebSocket::from_connection(stream, done.conn, done.buffered, done.protocol),
        response,
    ))
}

/// Connects to a `ws://` URL with the default [`Options`].
///
/// The returned [`Response`]'s `negotiated` extensions have moved into the
/// connection.
///
/// ```no_run
/// let (mut ws, response) = rfc6455::blocking::connect("ws://127.0.0.1:9001/chat")?;
/// ws.send(rfc6455::Message::text("hi"))?;
/// # Ok::<(), rfc6455::StreamError>(())
/// ```
///
/// # Errors
/// [`StreamError::TlsUnsupported`] for `wss://`; an invalid URL as
/// [`HandshakeError::InvalidUrl`]; otherwise as [`connect_with`].
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), StreamError> {
    connect_with(ClientRequest::new(url)?, &Options::default())
}

/// Connects over TCP with a request built by the caller (subprotocols,
/// headers such as `Origin` or `Authorization`), bounded by
/// [`Options::handshake_timeout`] (connecting included). `TCP_NODELAY` is set:
/// frames are written whole.
///
/// ```no_run
/// use rfc6455::blocking::{self, Options};
/// use rfc6455::handshake::ClientRequest;
///
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?
///     .protocol("chat")
///     .header("Origin", "http://127.0.0.1");
/// let (ws, response) = blocking::connect_with(request, &Options::default())?;
/// assert_eq!(ws.protocol(), response.protocol.as_deref());
/// # Ok::<(), rfc6455::StreamError>(())
/// ```
///
/// # Errors
/// [`StreamError::TlsUnsupported`] for `wss://`; [`StreamError::Io`] if no
/// address could be connected to; then as [`client`].
pub fn connect_with(
    request: ClientRequest,
    options: &Options,
) -> Result<(WebSocket<TcpStream>, Response), StreamError> {
    if request.is_tls() {
        return Err(StreamError::TlsUnsupported);
    }
    let deadline = options.handshake_timeout.map(|t| Instant::now() + t);
    let mut stream = tcp_connect(request.host(), request.port(), deadline)?;
    stream.set_nodelay(true)?;
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if left.is_some_and(|l| l.is_zero()) {
        return Err(StreamError::HandshakeTimeout);
    }
    let (done, response) = on_tcp(&mut stream, left, |io| {
        client_handshake(io, request, options)
    })?;
    let ws = WebSocket::from_connection(stream, done.conn, done.buffered, done.protocol)
        .with_hooks(tcp_hooks(), options.close_timeout);
    Ok((ws, response))
}

fn tcp_connect(host: &str, port: u16, deadline: Option<Instant>) -> Result<TcpStream, StreamError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    for addr in (host, port).to_socket_addrs()? {
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
    Err(StreamError::Io(last))
}
