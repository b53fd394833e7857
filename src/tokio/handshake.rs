//! Opening handshakes over an async transport (RFC 6455 §4), with the
//! handshake deadline of [`Config::handshake_timeout`].

use bytes::BytesMut;
use core::future::Future;
use std::borrow::ToOwned;
use std::boxed::Box;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stream::WebSocketStream;
use super::tls::{ClientStream, MaybeTlsStream};
use crate::proto::handshake::{
    Accept, ClientRequest, HandshakeRequest, HandshakeResponse, Refusal, ServerHandshake,
};
use crate::shared::stream_error::StreamError;
use crate::{Config, Connection, Role, Timestamp};

/// How much to read at a time during the handshake.
const READ_CHUNK: usize = 2048;

/// A handshake's clock: its [`Timestamp`]s count from its start, and the
/// handshake's deadlines (which the core computes) become instants to
/// sleep until.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock(tokio::time::Instant);

impl Clock {
    pub(crate) fn start() -> Self {
        Clock(tokio::time::Instant::now())
    }

    pub(crate) fn now(self) -> Timestamp {
        Timestamp::from(self.0.elapsed())
    }

    /// The instant of a deadline.
    pub(crate) fn instant(self, at: Option<Timestamp>) -> Option<tokio::time::Instant> {
        at.map(|t| self.0 + t.as_duration())
    }
}

/// Runs `work` until `deadline`: its output, or `None` once the deadline
/// passed.
pub(crate) async fn before<F: core::future::Future>(
    deadline: Option<tokio::time::Instant>,
    work: F,
) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, work).await.ok(),
        None => Some(work.await),
    }
}

/// Reads once into `buf`; end of stream is an error during the handshake.
async fn read_some<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
) -> Result<(), StreamError> {
    buf.reserve(READ_CHUNK);
    if io.read_buf(buf).await? == 0 {
        return Err(StreamError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(())
}

/// Accepts a WebSocket on `io` with default [`Config`], taking any
/// subprotocol-less request.
///
/// # Errors
/// A malformed request (answered with its status), a transport error, or the
/// handshake timeout.
///
/// # Cancellation
/// As [`accept_with`]: not cancel-safe, dropping the future closes `io`.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
) -> Result<WebSocketStream<S>, StreamError> {
    accept_with(io, Config::default(), |_| Ok(Accept::new())).await
}

/// Accepts a WebSocket on `io`, letting `decide` look at the request first:
/// it returns how to accept (a subprotocol, extra headers) or the
/// [`Refusal`] to answer with, e.g. `request.check_origin(&[...])?` (403)
/// or `Err(Refusal::new(401).json(...))`. Whatever ends the handshake, the
/// answer is the core's refusal ([`Refusal::to_bytes`], the same in every
/// adapter), after which the server lingers ([`REFUSAL_LINGER`](crate::handshake::REFUSAL_LINGER)) and
/// closes. For a decision that has to wait for something (an upstream
/// server, an authorisation service), see [`accept_with_async`].
///
/// # Errors
/// As [`accept`], plus the refusal `decide` returned, as its
/// [`Refusal::error`].
///
/// # Cancellation
/// Not cancel-safe: the future owns `io`, so dropping it before it
/// completes closes the connection, with no answer if none was written yet.
pub async fn accept_with<S, F>(
    io: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    // A decision that is ready at once: no copy of the request is needed,
    // since the ready future holds only the answer.
    accept_deciding(io, config, move |request: &HandshakeRequest| {
        core::future::ready(decide(request))
    })
    .await
}

/// Accepts a WebSocket on `io` like [`accept_with`], with a decision that
/// may wait: `decide` gets the request and returns a future of how to
/// accept it or the [`Refusal`] to answer with. A reverse proxy uses it to
/// connect to its upstream server first, then accepts the client with the
/// subprotocol the upstream chose, or answers with the upstream's refusal
/// ([`StreamError::gateway_refusal`]).
///
/// `decide` gets its own copy of the request (a few small allocations), so
/// its future can keep it across `.await`s without borrowing from the
/// handshake.
///
/// Everything else is as in [`accept_with`]: the refusal written is
/// [`Refusal::to_bytes`], followed by the same linger
/// ([`REFUSAL_LINGER`](crate::handshake::REFUSAL_LINGER)).
///
/// # Deadline
/// One deadline, [`Config::handshake_timeout`] from the call, covers
/// reading the request, the decision and writing the answer. If the
/// decision is still pending when it passes, its future is dropped (so
/// whatever it was waiting on is cancelled, e.g. a connection to an
/// upstream being opened is closed), the client gets no answer and the
/// connection is closed, as for a request that arrived too slowly, and the
/// call returns [`StreamError::HandshakeTimeout`]. To answer the client
/// with a status instead (say `502` or `504` from a proxy), bound the work
/// inside `decide` by a shorter time and return that refusal.
///
/// ```no_run
/// use rfc6455::handshake::{Accept, ClientRequest, Refusal};
/// use rfc6455::tokio::{accept_with_async, connect_with};
/// use rfc6455::{Config, StreamError};
/// use std::time::Duration;
///
/// /// Accepts `client` once `ws://backend:9000` accepted the same request.
/// async fn proxy(client: tokio::net::TcpStream) -> Result<(), StreamError> {
///     let mut upstream = None;
///     let slot = &mut upstream;
///     let downstream = accept_with_async(client, Config::default(), move |request| async move {
///         let mut to_backend = ClientRequest::new(&format!("ws://backend:9000{}", request.target()))?;
///         for protocol in request.protocols() {
///             to_backend = to_backend.protocol(protocol);
///         }
///         // Shorter than this handshake's own deadline (10 s by default),
///         // so that a backend too slow to answer still gets the client a 502.
///         let config = Config::default().handshake_timeout(Duration::from_secs(5));
///         let (ws, response) = connect_with(to_backend, config)
///             .await
///             .map_err(|e| e.gateway_refusal())?;
///         let accept = match &response.protocol {
///             Some(protocol) => Accept::new().protocol(protocol),
///             None => Accept::new(),
///         };
///         *slot = Some(ws);
///         Ok::<_, Refusal>(accept)
///     })
///     .await?;
///     let upstream = upstream.expect("accepted only once connected");
///     // ... relay messages between `downstream` and `upstream` ...
///     # let _ = (downstream, upstream);
///     Ok(())
/// }
/// ```
///
/// # Errors
/// As [`accept_with`]: a malformed request (answered with its status), the
/// refusal the decision returned (as its [`Refusal::error`]), a transport
/// error, or [`StreamError::HandshakeTimeout`].
///
/// # Cancellation
/// Not cancel-safe: the future owns `io` and the decision's future, so
/// dropping it closes the connection (with no answer if none was written
/// yet) and drops the decision wherever it is waiting.
pub async fn accept_with_async<S, F, Fut>(
    io: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(HandshakeRequest) -> Fut,
    Fut: Future<Output = Result<Accept, Refusal>>,
{
    // The copy lets the decision's future own its request; the handshake
    // keeps the original to accept with afterwards.
    accept_deciding(io, config, move |request: &HandshakeRequest| {
        decide(request.clone())
    })
    .await
}

/// The server handshake of [`accept_with`] and [`accept_with_async`], with
/// a decision that borrows the request only to start its future.
async fn accept_deciding<S, F, Fut>(
    io: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&HandshakeRequest) -> Fut,
    Fut: Future<Output = Result<Accept, Refusal>>,
{
    // The handshake's state (parser, request, decision, timer) lives on the
    // heap while it runs: a task awaiting this future then holds a pointer,
    // not that state, for the whole life of its connection (tokio sizes a
    // task by the largest state of its future).
    #[cfg(feature = "tracing")]
    return Box::pin(super::trace::handshake(
        crate::shared::trace::connection_span(Role::Server),
        accept_inner(io, config, decide),
        |ws| ws,
    ))
    .await;
    #[cfg(not(feature = "tracing"))]
    Box::pin(accept_inner(io, config, decide)).await
}

async fn accept_inner<S, F, Fut>(
    io: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&HandshakeRequest) -> Fut,
    Fut: Future<Output = Result<Accept, Refusal>>,
{
    let mut io = io;
    let mut buf = BytesMut::new();
    // One deadline, the handshake's, for reading the request, the decision
    // and writing the answer.
    let clock = Clock::start();
    let mut parser = ServerHandshake::new(&config);
    parser.handle_timeout(clock.now());
    let until = clock.instant(parser.poll_timeout());
    let outcome = before(until, async {
        let request = loop {
            match parser.parse(&mut buf) {
                Ok(Some(request)) => break request,
                Ok(None) => read_some(&mut io, &mut buf).await?,
                Err(e) => return Ok(Err(e.refusal())),
            }
        };
        // A decision still pending at the deadline is dropped with this
        // block; the call then ends with the timeout and closes without an
        // answer, as for a request that arrives too slowly (the deadline
        // leaves no time to write one).
        let answer = decide(&request).await;
        // The core turns the answer into what every adapter sends.
        Ok(request.decide(|_| answer))
    })
    .await
    .unwrap_or(Err(StreamError::HandshakeTimeout));
    let refusal = match outcome {
        Ok(Ok(accepted)) => {
            before(until, io.write_all(&accepted.response.to_bytes()))
                .await
                .ok_or(StreamError::HandshakeTimeout)??;
            let protocol = accepted.protocol.clone();
            let conn = accepted.into_connection(config);
            return Ok(WebSocketStream::from_parts(io, conn, buf, protocol));
        }
        Ok(Err(e)) => e,
        Err(other) => return Err(other),
    };
    // The peer may already be gone; the refusal is what gets reported.
    if before(until, io.write_all(&refusal.to_bytes()))
        .await
        .is_some_and(|w| w.is_ok())
    {
        parser.handle_timeout(clock.now());
        parser.start_linger();
        linger(&mut io, &mut parser, clock).await;
    }
    let _ = io.shutdown().await;
    Err(refusal.error().into())
}

/// After a refusal: read and discard what the client still sends, for as
/// long as the handshake says.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    parser: &mut ServerHandshake,
    clock: Clock,
) {
    let mut scratch = [0u8; READ_CHUNK];
    loop {
        let read = before(clock.instant(parser.poll_timeout()), io.read(&mut scratch)).await;
        parser.handle_timeout(clock.now());
        match read {
            Some(Ok(n)) if parser.keep_lingering(n) => {}
            _ => return,
        }
    }
}

/// Connects to a `ws://` or `wss://` URL with default [`Config`].
///
/// # Errors
/// An invalid URL, `wss://` in a build without TLS
/// ([`StreamError::TlsUnsupported`]), [`StreamError::Connect`] if the host
/// does not resolve or refuses the connection (nothing reached the server:
/// no close code), a transport error, a failed TLS handshake
/// ([`StreamError::Tls`]), the server's refusal
/// ([`HandshakeError::Refused`](crate::proto::handshake::HandshakeError::Refused),
/// with its status, fields and up to [`Config::max_refusal_body`] bytes of
/// body, read within the handshake timeout), a response that fails
/// validation, or the handshake timeout.
pub async fn connect(url: &str) -> Result<(ClientStream, HandshakeResponse), StreamError> {
    connect_with(ClientRequest::new(url)?, Config::default()).await
}

/// Connects with a prepared request (subprotocols, headers) and options.
/// With the `rustls` feature, a `wss://` URL connects over TLS trusting the
/// web PKI roots ([`crate::shared::tls::client_config`]); see
/// [`connect_tls_with`] for another configuration.
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(ClientStream, HandshakeResponse), StreamError> {
    if request.is_tls() {
        #[cfg(feature = "rustls")]
        return connect_tls_with(request, config, crate::shared::tls::client_config()).await;
        #[cfg(not(feature = "rustls"))]
        return Err(StreamError::TlsUnsupported);
    }
    // One deadline, the handshake's, for connecting and the upgrade.
    let (host, port) = (host_of(&request), request.port());
    let started = Started::new(request, &config)?;
    let tcp = tcp_connect(&host, port, started.until()).await?;
    client_on_tcp(MaybeTlsStream::Plain(tcp), started, config).await
}

/// A client handshake whose clock runs: the request to write and the
/// parser of the answer, started before connecting so that connecting, TLS
/// and the upgrade share its one deadline.
struct Started {
    bytes: std::vec::Vec<u8>,
    handshake: crate::proto::handshake::ClientHandshake,
    clock: Clock,
}

impl Started {
    fn new(request: ClientRequest, config: &Config) -> Result<Self, StreamError> {
        let clock = Clock::start();
        let (bytes, mut handshake) = request.build(config)?;
        handshake.handle_timeout(clock.now());
        Ok(Started {
            bytes,
            handshake,
            clock,
        })
    }

    /// The handshake's deadline.
    fn until(&self) -> Option<tokio::time::Instant> {
        self.clock.instant(self.handshake.poll_timeout())
    }
}

/// [`client`] with the peer's address in the connection's span.
async fn client_on_tcp(
    io: MaybeTlsStream<TcpStream>,
    started: Started,
    config: Config,
) -> Result<(ClientStream, HandshakeResponse), StreamError> {
    #[cfg(feature = "tracing")]
    {
        let span = crate::shared::trace::connection_span(Role::Client);
        if let Ok(peer) = io.get_ref().peer_addr() {
            span.record("peer", tracing::field::display(peer));
        }
        super::trace::handshake(span, client_inner(io, started, config), |(ws, _)| ws).await
    }
    #[cfg(not(feature = "tracing"))]
    client_inner(io, started, config).await
}

/// Connects with TLS configured by `config` (a private root store, client
/// certificates, ...) when the URL is `wss://`; a `ws://` URL connects
/// without TLS. The handshake timeout bounds connecting and the TLS
/// handshake, then again the WebSocket handshake.
///
/// ```no_run
/// # async fn run(roots: rfc6455::tls::rustls::RootCertStore) -> Result<(), rfc6455::StreamError> {
/// use rfc6455::handshake::ClientRequest;
/// use rfc6455::Config;
/// use rfc6455::tokio::connect_tls_with;
///
/// let tls_config = rfc6455::tls::client_config_with_roots(roots);
/// let request = ClientRequest::new("wss://localhost:9443/")?;
/// let (ws, _response) = connect_tls_with(request, Config::default(), tls_config).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`connect`]; an untrusted certificate or a name mismatch is
/// [`StreamError::Tls`].
#[cfg(feature = "rustls")]
pub async fn connect_tls_with(
    request: ClientRequest,
    config: Config,
    tls_config: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(ClientStream, HandshakeResponse), StreamError> {
    // One deadline, the handshake's, for connecting, TLS and the upgrade.
    let (host, port) = (host_of(&request), request.port());
    if !request.is_tls() {
        let started = Started::new(request, &config)?;
        let tcp = tcp_connect(&host, port, started.until()).await?;
        return client_on_tcp(MaybeTlsStream::Plain(tcp), started, config).await;
    }
    let name = crate::shared::tls::server_name(&request)?;
    let started = Started::new(request, &config)?;
    let tcp = tcp_connect(&host, port, started.until()).await?;
    let tls = before(
        started.until(),
        tokio_rustls::TlsConnector::from(tls_config).connect(name, tcp),
    )
    .await
    .ok_or(StreamError::HandshakeTimeout)?
    .map_err(StreamError::Tls)?;
    client_on_tcp(
        MaybeTlsStream::Rustls(std::boxed::Box::new(tls)),
        started,
        config,
    )
    .await
}

/// The host to connect to (an IPv6 literal without its brackets).
fn host_of(request: &ClientRequest) -> std::string::String {
    request
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

async fn tcp_connect(
    host: &str,
    port: u16,
    until: Option<tokio::time::Instant>,
) -> Result<TcpStream, StreamError> {
    let tcp = before(until, TcpStream::connect((host, port)))
        .await
        .ok_or(StreamError::HandshakeTimeout)?
        .map_err(StreamError::Connect)?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Runs the client handshake over an established transport.
///
/// # Errors
/// As [`connect`], but for connecting.
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, HandshakeResponse), StreamError> {
    let started = Started::new(request, &config)?;
    // Boxed for the reason given in `accept_with`.
    #[cfg(feature = "tracing")]
    return Box::pin(super::trace::handshake(
        crate::shared::trace::connection_span(Role::Client),
        client_inner(io, started, config),
        |(ws, _)| ws,
    ))
    .await;
    #[cfg(not(feature = "tracing"))]
    Box::pin(client_inner(io, started, config)).await
}

/// The client handshake, over by the handshake's deadline.
async fn client_inner<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    started: Started,
    config: Config,
) -> Result<(WebSocketStream<S>, HandshakeResponse), StreamError> {
    let mut io = io;
    let until = started.until();
    let Started {
        bytes,
        mut handshake,
        ..
    } = started;
    let mut buf = BytesMut::new();
    let exchange = async {
        io.write_all(&bytes).await?;
        loop {
            if let Some(response) = handshake.parse(&mut buf)? {
                return Ok(response);
            }
            buf.reserve(READ_CHUNK);
            match io.read_buf(&mut buf).await {
                Ok(0) => return Ok(handshake.receive_eof(&mut buf)?),
                Ok(_) => {}
                // A refusal whose body was cut short is still the refusal.
                Err(e) => return Err(handshake.abandon().map_or(StreamError::Io(e), Into::into)),
            }
        }
    };
    let outcome = before(until, exchange)
        .await
        .unwrap_or(Err(StreamError::HandshakeTimeout));
    let mut response = match outcome {
        // The deadline passed while a refusal's body was arriving: the
        // refusal, with what arrived.
        Err(StreamError::HandshakeTimeout) => {
            return Err(handshake
                .abandon()
                .map_or(StreamError::HandshakeTimeout, Into::into));
        }
        other => other?,
    };
    let protocol = response.protocol.clone();
    // The negotiated extensions move into the connection
    // (`WebSocketStream::connection().extensions()`).
    let negotiated = core::mem::take(&mut response.negotiated);
    let conn = Connection::with_extensions(Role::Client, config, negotiated);
    Ok((
        WebSocketStream::from_parts(io, conn, buf, protocol),
        response,
    ))
}
