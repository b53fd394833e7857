//! What a scenario can do with an endpoint and its peer, on any rig.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rfc6455::handshake::{Accept, HandshakeRequest, Refusal};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Error, Event, Message, Received, Role};

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

    /// Starts the endpoint with `config` (its durations in units: build it
    /// with [`units`]) and connects the peer.
    fn start(config: Config) -> Self;

    /// Units elapsed since the start.
    fn now(&self) -> f64;

    /// The peer sends `message` (and whatever else its connection queued,
    /// such as pongs).
    fn send(&mut self, message: Message);

    /// Lets `units` pass with the peer reading; it answers pings (writes
    /// its pongs) if `answer`. Returns what the peer received and when.
    fn listen(&mut self, units: f64, answer: bool) -> Vec<(f64, Event)>;

    /// Lets `units` pass with the peer neither reading nor writing.
    fn stall(&mut self, units: f64);

    /// Waits up to `units` for the endpoint to end.
    fn ended(&mut self, units: f64) -> Option<Ended>;

    /// How late (in units) the endpoint may notice a close sent from
    /// another thread than the one reading, given the close timeout.
    fn close_notice_lag(close_timeout: f64) -> f64 {
        let _ = close_timeout;
        0.0
    }

    /// The endpoint's whole answer to a raw request refused by `decide`.
    fn refusal(request: &[u8], decide: Decide) -> Vec<u8>;
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

/// The endpoint's program, the same on every rig.
pub enum Action {
    /// Send this message back.
    Echo(Message),
    /// Queue [`FLOOD`] messages of [`FLOOD_SIZE`] bytes without waiting
    /// for the peer to read.
    Flood,
    /// Start the close handshake with 1000.
    Close,
}

/// Messages in a flood (16 MiB in all: more than loopback buffers hold).
pub const FLOOD: usize = 256;
/// Bytes per flood message.
pub const FLOOD_SIZE: usize = 64 << 10;

/// What the endpoint does on `message`.
pub fn react(message: Message) -> Option<Action> {
    match message {
        Message::Text(t) if t.as_str() == "flood" => Some(Action::Flood),
        Message::Text(t) if t.as_str() == "close" => Some(Action::Close),
        m @ (Message::Text(_) | Message::Binary(_)) => Some(Action::Echo(m)),
        _ => None,
    }
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
    pub fn decode(&mut self, at: f64, into: &mut Vec<(f64, Event)>) {
        while let Ok(Received::Event(event)) = self.conn.receive(&mut self.inbox) {
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
pub fn pings(events: &[(f64, Event)]) -> Vec<f64> {
    events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Ping(_)))
        .map(|(at, _)| *at)
        .collect()
}

/// The close code the peer received, if a close frame came.
pub fn close_code(events: &[(f64, Event)]) -> Option<(f64, u16)> {
    events.iter().find_map(|(at, e)| match e {
        Event::Close(frame) => Some((*at, frame.as_ref().map_or(1005, |f| f.code.as_u16()))),
        _ => None,
    })
}
