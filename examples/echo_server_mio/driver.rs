//! The event loop: one `mio::Poll`, many clients, each driven by the contract
//! written on `rfc6455::Connection` (and on `ServerHandshake` before it).
//! What to do with a connection is the [`Handler`]'s business.

use std::collections::HashMap;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::time::Instant;

use bytes::BytesMut;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rfc6455::handshake::{Accept, HandshakeError, HandshakeRequest, Refusal, ServerHandshake};
use rfc6455::{Config, Connection, Message, Received, Step, StreamError, Timestamp};

/// The application, one per client.
pub trait Handler {
    /// Accepts the opening handshake (with a subprotocol, say) or refuses it.
    fn decide(&mut self, _request: &HandshakeRequest) -> Result<Accept, Refusal> {
        Ok(Accept::new())
    }
    /// Whether to take the next message now. An echo takes none while its
    /// output is full (its answers would pile up): the bytes wait in the
    /// kernel and TCP flow control holds the peer back. An application that
    /// does not answer each message keeps taking them.
    fn ready(&self, conn: &Connection) -> bool {
        !conn.output_is_full()
    }
    /// Something the peer sent; sending on `conn` only queues.
    fn event(&mut self, conn: &mut Connection, event: Message);
    /// The output has room: send what was held back, until `conn.output_is_full()`.
    fn writable(&mut self, _conn: &mut Connection) {}
    /// The client is gone; `conn` is `None` if the handshake did not complete.
    fn closed(&mut self, _conn: Option<&Connection>, _outcome: Result<(), StreamError>) {}
}

/// Serves `listener` until `done()`; each client gets `config` and a `new_handler()`.
pub fn serve<H: Handler>(
    listener: std::net::TcpListener,
    config: &Config,
    mut new_handler: impl FnMut() -> H,
    mut done: impl FnMut() -> bool,
) -> io::Result<()> {
    const LISTENER: Token = Token(0);
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let (mut events, mut clients) = (Events::with_capacity(256), HashMap::new());
    let mut next_token = 1;
    let origin = Instant::now(); // `Timestamp`s count from here: the core takes any origin
    while !done() {
        // Wait for the sockets, or the earliest deadline. (A linear scan: a
        // server of very many clients would keep a heap or a timer wheel.)
        let now = Timestamp::from(origin.elapsed());
        let wake_at = clients
            .values()
            .filter_map(|c: &Client<H>| c.io.wake_at)
            .min();
        match poll.poll(&mut events, wake_at.map(|at| at - now)) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            result => result?,
        }
        let mut ready: Vec<Token> = events.iter().map(|e| e.token()).collect();
        while ready.contains(&LISTENER) {
            let mut sock = match listener.accept() {
                Ok((sock, _)) => sock,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Edge-triggered: accept until `WouldBlock`. (Out of file
                // descriptors, say: the next client's arrival retries.)
                Err(e) => {
                    if e.kind() != ErrorKind::WouldBlock {
                        eprintln!("accept failed: {e}");
                    }
                    ready.retain(|t| *t != LISTENER);
                    break;
                }
            };
            let _ = sock.set_nodelay(true);
            let token = Token(next_token);
            next_token += 1;
            // Edge-triggered, a socket reports writable again only after a
            // write hit `WouldBlock`: interest in both costs nothing meanwhile.
            let interest = Interest::READABLE | Interest::WRITABLE;
            poll.registry().register(&mut sock, token, interest)?;
            let hs = ServerHandshake::new(config);
            let phase = Phase::Opening(Opening {
                hs,
                answer: Vec::new(),
                then: None,
            });
            let io = Io {
                sock,
                buf: BytesMut::new(),
                wake_at: None,
            };
            clients.insert(
                token,
                Client {
                    io,
                    phase,
                    handler: new_handler(),
                },
            );
            ready.push(token); // its request may be here already
        }
        let now = Timestamp::from(origin.elapsed());
        ready.extend(
            clients
                .iter()
                .filter(|(_, c)| c.io.wake_at.is_some_and(|at| at <= now))
                .map(|(t, _)| *t),
        );
        ready.sort_unstable();
        ready.dedup();
        for token in ready {
            let Some(client) = clients.get_mut(&token) else {
                continue;
            };
            if let Flow::Over(outcome) = client.drive(origin, config) {
                // Dropping the client (at the end of this block) closes its socket.
                let mut client = clients.remove(&token).expect("driven");
                let _ = poll.registry().deregister(&mut client.io.sock);
                let conn = match &client.phase {
                    Phase::Open(conn) => Some(conn),
                    Phase::Opening(_) => None,
                };
                client.handler.closed(conn, outcome);
            }
        }
    }
    Ok(())
}

/// What a client does next.
enum Flow {
    Again,
    /// Until the socket's next edge (a read or a write hit `WouldBlock`) or
    /// its `wake_at`, whichever comes first.
    Wait,
    Over(Result<(), StreamError>),
}

struct Client<H> {
    io: Io,
    phase: Phase,
    handler: H,
}

/// A client's socket, its receive buffer (the request, then frames: the
/// bytes after the request belong to the connection) and its next deadline.
struct Io {
    sock: TcpStream,
    buf: BytesMut,
    wake_at: Option<Timestamp>,
}

enum Phase {
    Opening(Opening),
    Open(Connection),
}

/// The opening handshake (RFC 6455 §4.2), bounded by `Config::handshake_timeout`.
struct Opening {
    hs: ServerHandshake,
    /// The answer (101, or a refusal), as far as it is not written yet.
    answer: Vec<u8>,
    /// What follows the answer: the connection, or (refused) a linger, then the end.
    then: Option<Result<Connection, HandshakeError>>,
}

impl<H: Handler> Client<H> {
    /// Runs the client until it waits, or is over.
    fn drive(&mut self, origin: Instant, config: &Config) -> Flow {
        loop {
            let now = Timestamp::from(origin.elapsed());
            let flow = match &mut self.phase {
                Phase::Opening(o) if o.answer.is_empty() && matches!(o.then, Some(Ok(_))) => {
                    if let Some(Ok(conn)) = o.then.take() {
                        self.phase = Phase::Open(conn); // the 101 is out
                    }
                    Flow::Again
                }
                Phase::Opening(o) => o.step(&mut self.io, &mut self.handler, now, config),
                Phase::Open(conn) => open(conn, &mut self.io, &mut self.handler, now),
            };
            if !matches!(flow, Flow::Again) {
                return flow;
            }
        }
    }
}

impl Opening {
    fn step(
        &mut self,
        io: &mut Io,
        app: &mut impl Handler,
        now: Timestamp,
        config: &Config,
    ) -> Flow {
        self.hs.handle_timeout(now);
        io.wake_at = self.hs.poll_timeout();
        let refused = match &self.then {
            Some(Err(e)) => Some(StreamError::from(e.clone())),
            _ => None,
        };
        if self.hs.is_expired() {
            // Past the deadline, or the linger's end: close, answered or not.
            return Flow::Over(Err(refused.unwrap_or(StreamError::HandshakeTimeout)));
        }
        if !self.answer.is_empty() {
            let written = io.sock.write(&self.answer);
            if let Ok(n) = written {
                self.answer.drain(..n);
                if self.answer.is_empty() && refused.is_some() {
                    self.hs.start_linger();
                }
            }
            return retry(written);
        }
        if let Some(refused) = refused {
            // Read and discard for a moment: closing with unread bytes would
            // reset the connection before the client read the answer.
            io.buf.clear();
            return match fill(&mut io.sock, &mut io.buf, 4096) {
                Ok(n) if self.hs.keep_lingering(n) => Flow::Again,
                Err(e) if e.kind() == ErrorKind::WouldBlock => Flow::Wait,
                _ => Flow::Over(Err(refused)),
            };
        }
        // A bad request, the application's refusal and its own mistake (a
        // subprotocol the client did not offer: 500) get the core's answer.
        let decided = match self.hs.parse(&mut io.buf) {
            Ok(None) => return retry(fill(&mut io.sock, &mut io.buf, 4096)),
            Ok(Some(request)) => request.decide(|request| app.decide(request)),
            Err(e) => Err(e.refusal()),
        };
        (self.answer, self.then) = match decided {
            Ok(ok) => (
                ok.response.to_bytes(),
                Some(Ok(ok.into_connection(config.clone()))),
            ),
            Err(refusal) => (refusal.to_bytes(), Some(Err(refusal.error()))),
        };
        Flow::Again
    }
}

/// After a handshake read or write: on, wait, or over (0: the client left).
fn retry(result: io::Result<usize>) -> Flow {
    match result {
        Ok(0) => Flow::Over(Err(io::Error::from(ErrorKind::UnexpectedEof).into())),
        Ok(_) => Flow::Again,
        Err(e) if e.kind() == ErrorKind::WouldBlock => Flow::Wait,
        Err(e) if e.kind() == ErrorKind::Interrupted => Flow::Again,
        Err(e) => Flow::Over(Err(e.into())),
    }
}

/// One turn of the connection's driver loop: feed, step, write, read.
fn open(conn: &mut Connection, io: &mut Io, app: &mut impl Handler, now: Timestamp) -> Flow {
    // Memory stays bounded: the high-water mark plus one message, and the
    // message being received (an echo takes none while its output is full,
    // see `Handler::ready`). A peer that never reads again is ended by
    // `--keepalive` or `--idle`.
    if conn.can_send() && !conn.output_is_full() {
        app.writable(conn);
    }
    while app.ready(conn) {
        match conn.receive(&mut io.buf) {
            Ok(Received::Message(event)) => app.event(conn, event),
            // `Err` is the connection's failure: its close frame is queued,
            // and the step says when to close the socket.
            _ => break,
        }
    }
    if io.buf.is_empty() && io.buf.capacity() > 64 << 10 {
        io.buf = BytesMut::new(); // after a large message: idle clients stay small
    }
    let (write, read) = match conn.poll(now) {
        Step::Run {
            write,
            read,
            wake_at,
            ..
        } => {
            io.wake_at = wake_at;
            (write, read)
        }
        Step::Close(outcome) => return Flow::Over(outcome.map_err(Into::into)),
    };
    if write && !write_some(conn, io) {
        return Flow::Again;
    }
    // Reading goes on while the output waits for the socket: the core bounds
    // what it queues by itself (pongs, the close echo).
    if read {
        read_some(conn, io, app.ready(conn))
    } else {
        Flow::Wait
    }
}

/// One vectored write of the output (frames are queued as header and
/// payload apart); whether the socket would block.
fn write_some(conn: &mut Connection, io: &mut Io) -> bool {
    let mut slices = [IoSlice::new(&[]); 64];
    let n = slices
        .iter_mut()
        .zip(conn.output_chunks())
        .map(|(s, c)| *s = IoSlice::new(c))
        .count();
    match io.sock.write_vectored(&slices[..n]) {
        Ok(n) => conn.advance_output(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
        Err(e) => failed(conn, e),
    }
    false
}

/// Reads once, while the application takes messages.
fn read_some(conn: &mut Connection, io: &mut Io, ready: bool) -> Flow {
    if !ready {
        return Flow::Wait;
    }
    let want = conn.read_size_hint(io.buf.len(), io.buf.capacity());
    match fill(&mut io.sock, &mut io.buf, want) {
        Ok(0) => drop(conn.receive_eof()),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::WouldBlock => return Flow::Wait,
        Err(e) => failed(conn, e),
    }
    Flow::Again
}

/// A socket error, unless `Interrupted` (then retried): the connection knows
/// whether that was a clean end, and the next step closes the socket.
fn failed(conn: &mut Connection, e: io::Error) {
    if e.kind() != ErrorKind::Interrupted {
        let _ = conn.transport_failed();
    }
}

/// Reads once into the tail of `buf`, at most `max` bytes; 0 at the end of the stream.
fn fill(sock: &mut TcpStream, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    let len = buf.len();
    buf.resize(len + max, 0);
    let read = sock.read(&mut buf[len..]);
    buf.truncate(len + *read.as_ref().unwrap_or(&0));
    read
}
