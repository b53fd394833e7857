//! What a scenario can do with an endpoint and its peer, on any rig.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rfc6455::handshake::{Accept, HandshakeRequest, Refusal};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Error, Message, Received, Role};

/// An endpoint under test (a server) and a peer a scenario controls.
///
/// Times are in scenario units since the rig started (the end of the
/// opening handshake); one unit is [`Rig::UNIT`] of the rig's clock.
pub trait Rig: Sized {
    /// The length of one unit.
    const UNIT: Duration;
    /// How far (in units) an observation may stray from the exact time on
    /// this rig's clock: 0 with simulated time.
    const SLACK: f64;
    /// Whether the endpoint can read while a send of its own waits for the
    /// transport. An unsplit blocking socket cannot: one thread reads or
    /// writes, and a send blocked on a peer that is not reading stops the
    /// reading until it ends.
    const FULL_DUPLEX: bool = true;

    /// Starts the endpoint with `config` (its durations in units: build it
    /// with [`units`]) and connects the peer.
    fn start(config: Config) -> Self;

    /// Units elapsed since the start.
    fn now(&self) -> f64;

    /// The peer sends `message` (and whatever else its connection queued,
    /// such as pongs), its writes waiting at most `units` for the transport
    /// to take them: false if they did not (the endpoint is not reading),
    /// and the connection's bytes are then left half written.
    fn send_within(&mut self, message: Message, units: f64) -> bool;

    /// The peer sends `message` to an endpoint that is reading: its writes
    /// complete within [`SEND_WAIT`].
    fn send(&mut self, message: Message) {
        assert!(
            self.send_within(message, SEND_WAIT),
            "the peer's write did not complete"
        );
    }

    /// The peer reads until `done` holds for what it received or `units`
    /// passed, whichever comes first, answering pings (writing its pongs)
    /// if `answer`. Returns what the peer received and when.
    fn listen_until(
        &mut self,
        units: f64,
        answer: bool,
        done: &mut Done<'_>,
    ) -> Vec<(f64, Message)>;

    /// Lets `units` pass with the peer reading; it answers pings (writes
    /// its pongs) if `answer`. Returns what the peer received and when.
    fn listen(&mut self, units: f64, answer: bool) -> Vec<(f64, Message)> {
        self.listen_until(units, answer, &mut never)
    }

    /// Lets `units` pass with the peer neither reading nor writing.
    fn stall(&mut self, units: f64);

    /// Waits up to `units` for the endpoint to end.
    fn ended(&mut self, units: f64) -> Option<Ended>;

    /// The endpoint's whole answer to a raw request refused by `decide`.
    fn refusal(request: &[u8], decide: Decide) -> Vec<u8>;
}

/// How long (in units) [`Rig::send`] lets a small message's write wait:
/// far longer than one takes while the endpoint reads.
pub const SEND_WAIT: f64 = 10.0;

/// What each loopback socket asks for its send and receive buffers (the
/// kernel may double it): little, as over a network, so that the transport
/// holds little of what is in flight and the endpoint's output fills with
/// its first large message, whatever buffer autotuning the host allows.
pub const SOCKET_BUFFER: u32 = 64 << 10;

/// A socket for a loopback rig, with [`SOCKET_BUFFER`]s (tokio's socket
/// builder; the blocking rig turns its sockets into std ones).
pub fn small_socket() -> tokio::net::TcpSocket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(SOCKET_BUFFER).unwrap();
    socket.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
    socket
}

/// What the peer waits for in [`Rig::listen_until`]: true once what it
/// received (each event with its time) is all it waits for.
pub type Done<'a> = dyn FnMut(&[(f64, Message)]) -> bool + 'a;

/// Never done: [`Rig::listen_until`] for the whole time.
pub fn never(_: &[(f64, Message)]) -> bool {
    false
}

/// `units` of a rig's clock.
pub fn units<R: Rig>(n: f64) -> Duration {
    R::UNIT.mul_f64(n)
}

/// How the endpoint ended.
#[derive(Debug)]
pub struct Ended {
    /// When, in units.
    pub at: f64,
    /// `None` for a clean close, else the failure.
    pub failure: Option<Error>,
    /// The round trip of the last answered keepalive ping.
    pub latency: Option<Duration>,
}

/// What the endpoint's program does.
pub enum Action {
    /// Send this message: an echo, or a report.
    Reply(Message),
    /// Queue [`FLOOD`] messages of [`FLOOD_SIZE`] bytes without waiting
    /// for the peer to read.
    Flood,
    /// Send this many [`STREAM_SIZE`] messages of [`stream_chunk`] with
    /// [`ENDPOINT_SEED`], each as soon as the output has room, while the
    /// reading goes on (on a [`Rig::FULL_DUPLEX`] rig).
    Stream(usize),
    /// Start the close handshake with 1000.
    Close,
}

/// Messages in a flood (16 MiB in all: more than loopback buffers hold).
pub const FLOOD: usize = 256;
/// Bytes per flood message.
pub const FLOOD_SIZE: usize = 64 << 10;

/// Bytes per message of a stream, either way.
pub const STREAM_SIZE: usize = 1 << 20;
/// The seed of the endpoint's stream.
pub const ENDPOINT_SEED: u8 = 1;
/// The seed of the peer's stream.
pub const PEER_SEED: u8 = 2;

/// The endpoint's program, the same on every rig.
///
/// On text "stream N" it streams N MiB to the peer ([`Action::Stream`])
/// and counts the binary bytes that arrive, without echoing them (an echo
/// waits for room in the output, and would stop the reading itself); once
/// N MiB arrived it reports the count ([`report`]).
#[derive(Default)]
pub struct Program {
    counting: Option<Count>,
}

/// What the endpoint has counted of the peer's stream.
struct Count {
    expected: usize,
    received: usize,
    /// Bytes of messages that arrived while the endpoint's output was full.
    while_full: usize,
}

impl Program {
    /// What the endpoint does on `message`, which it read while its output
    /// was full if `output_full`.
    pub fn react(&mut self, message: Message, output_full: bool) -> Option<Action> {
        if let (Some(count), Message::Binary(b)) = (&mut self.counting, &message) {
            count.received += b.len();
            if output_full {
                count.while_full += b.len();
            }
            if count.received < count.expected {
                return None;
            }
            let Count {
                received,
                while_full,
                ..
            } = self.counting.take()?;
            return Some(Action::Reply(Message::text(format!(
                "received {received} {while_full}"
            ))));
        }
        match message {
            Message::Text(t) if t.as_str() == "flood" => Some(Action::Flood),
            Message::Text(t) if t.as_str() == "close" => Some(Action::Close),
            Message::Text(t) if t.as_str().starts_with("stream ") => {
                let n: usize = t.as_str()["stream ".len()..].parse().ok()?;
                self.counting = Some(Count {
                    expected: n * STREAM_SIZE,
                    received: 0,
                    while_full: 0,
                });
                Some(Action::Stream(n))
            }
            m @ (Message::Text(_) | Message::Binary(_)) => Some(Action::Reply(m)),
            _ => None,
        }
    }
}

/// The endpoint's report once the peer's stream arrived: the bytes
/// received, and how many of them arrived while its output was full.
pub fn report(text: &str) -> Option<(usize, usize)> {
    let mut words = text.strip_prefix("received ")?.split(' ');
    let received = words.next()?.parse().ok()?;
    let while_full = words.next()?.parse().ok()?;
    Some((received, while_full))
}

/// One message of a stream: [`STREAM_SIZE`] bytes of deterministic filler
/// (clone it: the bytes are shared).
pub fn stream_chunk(seed: u8) -> Bytes {
    (0..STREAM_SIZE)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

/// One flood message.
pub fn flood_message() -> Message {
    Message::binary(Bytes::from(vec![0x5a; FLOOD_SIZE]))
}

/// The endpoint's close frame for [`Action::Close`].
pub fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::NORMAL,
        reason: "".into(),
    }))
}

/// How the endpoint decides on a request, in [`Rig::refusal`].
#[derive(Clone, Copy, Debug)]
pub enum Decide {
    /// Accept (the request itself is malformed).
    Accept,
    /// Refuse with 403 (`Origin` not allowed).
    ForbidOrigin,
    /// Accept with a subprotocol the client did not offer: the
    /// application's own mistake.
    UnofferedProtocol,
    /// Refuse with 401, a challenge and a JSON body.
    Unauthorized,
}

impl Decide {
    /// The callback the adapters take.
    pub fn call(self, request: &HandshakeRequest) -> Result<Accept, Refusal> {
        match self {
            Decide::Accept => Ok(Accept::new()),
            Decide::ForbidOrigin => {
                request.check_origin(&["https://allowed.example"])?;
                Ok(Accept::new())
            }
            Decide::UnofferedProtocol => Ok(Accept::new().protocol("never-offered")),
            Decide::Unauthorized => Err(unauthorized()),
        }
    }
}

/// The refusal of [`Decide::Unauthorized`].
pub fn unauthorized() -> Refusal {
    Refusal::new(401)
        .header("WWW-Authenticate", "Bearer realm=\"suite\"")
        .json(r#"{"error":"invalid_token"}"#)
}

/// The peer: a client connection used as a codec.
pub struct Peer {
    pub conn: Connection,
    pub inbox: BytesMut,
}

impl Peer {
    pub fn new() -> Self {
        Peer {
            conn: Connection::new(Role::Client, Config::default().random_seed([9; 32])),
            inbox: BytesMut::new(),
        }
    }

    /// Decodes what arrived, stamping each event with `at`.
    pub fn decode(&mut self, at: f64, into: &mut Vec<(f64, Message)>) {
        while let Ok(Received::Message(event)) = self.conn.receive(&mut self.inbox) {
            into.push((at, event));
        }
    }

    /// Everything the peer's connection queued.
    pub fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.pending_output() > 0 {
            for chunk in self.conn.output_chunks() {
                out.extend_from_slice(chunk);
            }
            self.conn.advance_output(self.conn.pending_output());
        }
        out
    }
}

/// The pings among `events`, with their times.
pub fn pings(events: &[(f64, Message)]) -> Vec<f64> {
    events
        .iter()
        .filter(|(_, e)| matches!(e, Message::Ping(_)))
        .map(|(at, _)| *at)
        .collect()
}

/// The close code the peer received, if a close frame came.
pub fn close_code(events: &[(f64, Message)]) -> Option<(f64, u16)> {
    events.iter().find_map(|(at, e)| match e {
        Message::Close(frame) => Some((*at, frame.as_ref().map_or(1005, |f| f.code.as_u16()))),
        _ => None,
    })
}

/// Writes `bytes` to `tcp` unless `until` passes first: false if it did.
pub fn write_until(
    tcp: &mut std::net::TcpStream,
    mut bytes: &[u8],
    until: std::time::Instant,
) -> bool {
    use std::io::Write;
    while !bytes.is_empty() {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        tcp.set_write_timeout(Some(left)).unwrap();
        match tcp.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// The peer of a rig over a blocking socket reads until `done` holds for
/// what it received or `until`, answering pings if `answer`; each event is
/// stamped in units of `unit` since `start`.
pub fn listen_on(
    tcp: &mut std::net::TcpStream,
    peer: &mut Peer,
    unit: Duration,
    start: std::time::Instant,
    until: std::time::Instant,
    answer: bool,
    done: &mut Done<'_>,
) -> Vec<(f64, Message)> {
    use std::io::Read;
    use std::time::Instant;
    let mut events = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let units =
        |at: Instant| at.saturating_duration_since(start).as_secs_f64() / unit.as_secs_f64();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return events;
        }
        tcp.set_read_timeout(Some(left)).unwrap();
        match tcp.read(&mut chunk) {
            Ok(0) => {
                let _ = peer.conn.receive_eof();
                // The transport is closed: only time is left to pass.
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                return events;
            }
            Ok(n) => {
                peer.inbox.extend_from_slice(&chunk[..n]);
                peer.decode(units(Instant::now()), &mut events);
                if done(&events) {
                    return events;
                }
                if answer {
                    let out = peer.output();
                    write_until(tcp, &out, until);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                return events;
            }
        }
    }
}
