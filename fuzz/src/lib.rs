//! Helpers shared by the fuzz targets.

use arbitrary::Arbitrary;
use bytes::BytesMut;
use rfc6455::extension::{DeflateConfig, ExtensionConfig};
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
use rfc6455::{CloseCode, Config, Connection, DataKind, Error, Message, Received, Role, State};

/// Cuts input into chunks whose sizes cycle through a short pattern taken
/// from the first bytes of the fuzz input. A size byte of 0 means "all that
/// is left".
#[derive(Clone, Debug)]
pub struct Chunker {
    sizes: [u8; 4],
    next: usize,
}

impl Chunker {
    /// Takes four size bytes off the front of `data` (fewer if it is short).
    pub fn split(data: &[u8]) -> (Chunker, &[u8]) {
        let mut sizes = [0u8; 4];
        let n = data.len().min(4);
        sizes[..n].copy_from_slice(&data[..n]);
        (Chunker::new(sizes), &data[n..])
    }

    /// A chunker cycling through `sizes`.
    pub fn new(sizes: [u8; 4]) -> Chunker {
        Chunker { sizes, next: 0 }
    }

    /// The next chunk of `rest`, which is shortened by it.
    pub fn next_chunk<'a>(&mut self, rest: &mut &'a [u8]) -> &'a [u8] {
        let size = self.sizes[self.next % 4];
        self.next += 1;
        let n = if size == 0 {
            rest.len()
        } else {
            (size as usize).min(rest.len())
        };
        let (chunk, tail) = rest.split_at(n);
        *rest = tail;
        chunk
    }

    /// All chunks of `data`, in order.
    pub fn chunks<'a>(&mut self, mut data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        while !data.is_empty() {
            out.push(self.next_chunk(&mut data));
        }
        out
    }
}

/// The connection settings a fuzz input selects with its first byte.
pub fn config_from(flags: u8) -> Config {
    let mut config = Config::default().fragments(flags & 1 != 0);
    if flags & 2 != 0 {
        config = config.max_frame_size(300);
    }
    if flags & 4 != 0 {
        config = config.max_message_size(1000);
    }
    config
}

/// Everything a connection did with one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub events: Vec<Message>,
    pub error: Option<Error>,
    pub output: Vec<u8>,
}

impl Trace {
    /// The trace as it compares across chunkings. In streaming mode a frame
    /// is handed out in pieces as its bytes arrive, so how the input was cut
    /// decides where pieces end: adjacent pieces of one message are joined
    /// ([`join_pieces`]). And the pieces of a message the connection then
    /// fails on depend on how much of it arrived before the failing byte:
    /// they are left out.
    pub fn normalized(mut self) -> Trace {
        let mut events = join_pieces(core::mem::take(&mut self.events));
        if self.error.is_some() {
            if let Some(Message::Fragment(last)) = events.last() {
                if !last.fin {
                    events.pop();
                }
            }
        }
        self.events = events;
        self
    }
}

/// `events` with each run of adjacent pieces of one message
/// ([`Message::Fragment`]s up to one with `fin`) joined into one piece.
pub fn join_pieces(events: Vec<Message>) -> Vec<Message> {
    let mut joined: Vec<Message> = Vec::new();
    for event in events {
        match (joined.last_mut(), event) {
            (Some(Message::Fragment(last)), Message::Fragment(next))
                if !last.fin && last.kind == next.kind =>
            {
                let mut payload = last.payload.to_vec();
                payload.extend_from_slice(&next.payload);
                last.payload = payload.into();
                last.fin = next.fin;
            }
            (_, event) => joined.push(event),
        }
    }
    joined
}

/// Watches each call of `receive` in [`run_on`]: a target that measures
/// something per call (memory, say) implements it.
pub trait Meter {
    /// Right before `receive`.
    fn before(&mut self) {}
    /// Right after `receive` returned.
    fn after(&mut self, _conn: &Connection) {}
}

/// A meter that measures nothing.
pub struct NoMeter;

impl Meter for NoMeter {}

/// Moves all queued output of `conn` into `out`, in pieces of at most
/// `piece` bytes through `output_chunks`/`advance_output` when `piece` is
/// non-zero, else a whole chunk at a time.
pub fn drain(conn: &mut Connection, out: &mut Vec<u8>, piece: usize) {
    if piece == 0 {
        let before = out.len();
        let pending = conn.pending_output();
        loop {
            let n = match conn.output_chunks().next() {
                Some(chunk) => {
                    assert!(!chunk.is_empty(), "empty output chunk");
                    out.extend_from_slice(chunk);
                    chunk.len()
                }
                None => break,
            };
            conn.advance_output(n);
        }
        // A pong held back while another was queued (coalescing) is queued
        // once that one is written: the drain may give more than was
        // pending when it started, never less.
        assert!(
            out.len() - before >= pending,
            "pending_output disagrees with the chunks"
        );
    } else {
        while conn.pending_output() > 0 {
            let mut n = 0;
            for chunk in conn.output_chunks() {
                let take = chunk.len().min(piece - n);
                out.extend_from_slice(&chunk[..take]);
                n += take;
                if n == piece {
                    break;
                }
            }
            assert!(n > 0, "output_chunks empty while output is pending");
            conn.advance_output(n);
        }
    }
    assert_eq!(conn.pending_output(), 0);
    assert_eq!(conn.output_chunks().count(), 0);
}

fn check_error(e: &Error) {
    if let Some(code) = e.close_code() {
        assert!(
            code.is_sendable() || code == CloseCode::ABNORMAL,
            "{e:?} maps to unsendable {code:?}"
        );
    }
    assert!(!e.is_local_misuse(), "receive returned local misuse {e:?}");
}

/// The payload of the fragmented message being received, so that its size
/// and (for text) its UTF-8 can be checked as a whole.
type Partial = Option<(DataKind, Vec<u8>)>;

fn check_event(conn: &Connection, event: &Message, partial: &mut Partial) {
    let max = conn.settings().max_message_size;
    match event {
        Message::Text(t) => {
            assert!(
                core::str::from_utf8(t.as_bytes()).is_ok(),
                "invalid UTF-8 handed out as text"
            );
            assert!(
                t.len() <= max,
                "text message of {} bytes over the limit",
                t.len()
            );
        }
        Message::Binary(b) => assert!(
            b.len() <= max,
            "binary message of {} bytes over the limit",
            b.len()
        ),
        Message::Fragment(f) => {
            assert!(
                conn.settings().fragments,
                "fragment event with fragments off"
            );
            // The frame limit bounds what is on the wire; an inflated
            // fragment is bounded by the message limit only.
            if conn.extensions().deflate().is_none() {
                assert!(f.payload.len() <= conn.settings().max_frame_size);
            }
            let (kind, acc) = partial.get_or_insert_with(|| (f.kind, Vec::new()));
            assert_eq!(*kind, f.kind, "fragment kind changed mid-message");
            acc.extend_from_slice(&f.payload);
            assert!(
                acc.len() <= max,
                "reassembled message of {} bytes over the limit",
                acc.len()
            );
            if f.fin {
                if f.kind == DataKind::Text {
                    assert!(
                        core::str::from_utf8(acc).is_ok(),
                        "fragmented text is not UTF-8"
                    );
                }
                *partial = None;
            }
        }
        Message::Ping(p) | Message::Pong(p) => assert!(p.len() <= 125),
        Message::Close(Some(frame)) => {
            assert!(frame.code.is_sendable());
            assert!(frame.reason.len() <= 123);
        }
        Message::Close(None) => {}
        _ => {}
    }
}

/// Checks what `poll_timeout` says against the state, for a connection
/// whose configuration has neither keepalive nor idle timeout: an open one
/// needs no wake-up, and one that is closing needs one until it is over.
fn check_deadline(conn: &Connection) {
    let over = conn.should_close_transport();
    let deadline = conn.poll_timeout();
    if conn.state() == State::Open && conn.failure().is_none() {
        assert_eq!(
            deadline, None,
            "an open connection without timers asks for a wake-up"
        );
    } else if !over {
        assert!(deadline.is_some(), "a closing connection has no deadline");
    }
}

/// Feeds `chunks` to a fresh connection of `role`, checking the invariants
/// after every call, and returns what happened.
pub fn run_connection(role: Role, config: Config, chunks: &[&[u8]], piece: usize) -> Trace {
    let mut conn = Connection::new(role, config);
    conn.set_mask_seed([7; 32]);
    run_on(conn, chunks, piece, &mut NoMeter)
}

/// Feeds `chunks` to `conn` (fresh, nothing received yet) as
/// [`run_connection`] does, with `meter` watching every `receive`.
pub fn run_on(
    mut conn: Connection,
    chunks: &[&[u8]],
    piece: usize,
    meter: &mut impl Meter,
) -> Trace {
    let role = conn.role();
    let mut buf = BytesMut::new();
    let mut trace = Trace {
        events: Vec::new(),
        error: None,
        output: Vec::new(),
    };
    let mut closed = false;
    let mut partial = None;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            meter.before();
            let result = conn.receive(&mut buf);
            meter.after(&conn);
            drain(&mut conn, &mut trace.output, piece);
            check_deadline(&conn);
            if let Some(e) = &trace.error {
                assert_eq!(result.as_ref(), Err(e), "error not sticky");
                assert!(
                    buf.is_empty(),
                    "a failed connection left bytes in the buffer"
                );
                break;
            }
            match result {
                Ok(Received::Message(event)) => {
                    assert!(!closed, "event after close: {event:?}");
                    check_event(&conn, &event, &mut partial);
                    closed = matches!(event, Message::Close(_));
                    if closed {
                        assert_eq!(conn.state(), State::Closed);
                        if role == Role::Server {
                            assert!(conn.should_close_transport());
                        }
                    }
                    trace.events.push(event);
                }
                Ok(Received::NeedMore) => {
                    assert!(!closed, "NeedMore after the peer's close");
                    break;
                }
                Ok(Received::Closed) => {
                    assert!(closed, "Closed without a close frame or end of stream");
                    assert!(buf.is_empty(), "bytes after the close frame were kept");
                    break;
                }
                Err(e) => {
                    assert!(!closed, "error after close: {e:?}");
                    check_error(&e);
                    assert_eq!(conn.state(), State::Closed);
                    assert!(
                        conn.should_close_transport(),
                        "failed connection keeps the transport"
                    );
                    assert_eq!(conn.failure(), Some(&e));
                    trace.error = Some(e);
                    // Go round again: the next call must repeat the error
                    // and clear the buffer.
                }
            }
        }
    }
    // Errors stay, and nothing comes after a close.
    let again = conn.receive(&mut buf);
    match &trace.error {
        Some(e) => assert_eq!(again.as_ref(), Err(e)),
        None if closed => assert_eq!(again, Ok(Received::Closed)),
        None => assert_eq!(again, Ok(Received::NeedMore)),
    }
    // End of stream.
    let eof = conn.receive_eof();
    match &trace.error {
        Some(e) => assert_eq!(eof.as_ref(), Err(e)),
        None if closed => assert_eq!(eof, Ok(())),
        None => {
            assert_eq!(eof, Err(Error::AbnormalClosure));
            assert_eq!(conn.receive(&mut buf), Err(Error::AbnormalClosure));
        }
    }
    drain(&mut conn, &mut trace.output, piece);
    assert!(conn.should_close_transport());
    assert_eq!(
        conn.poll_timeout(),
        None,
        "a finished connection asks for a wake-up"
    );
    check_output(role, &trace);
    trace
}

/// The output of a connection of `role` must be well-formed frames from that
/// role: the pongs answering the pings received, in order, then at most one
/// close frame (the echo of the peer's close, or the failure's code), and a
/// connection of the opposite role must read it without error.
pub fn check_output(role: Role, trace: &Trace) {
    // Frame by frame.
    let mut rest = &trace.output[..];
    let mut frames: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
    while !rest.is_empty() {
        let (h, n) = FrameHeader::parse(rest)
            .expect("own output is not a frame")
            .expect("own output ends in a partial header");
        assert_eq!(
            h.mask.is_some(),
            role == Role::Client,
            "masking does not match the role"
        );
        assert_eq!(h.rsv, 0);
        let len = h.payload_len as usize;
        assert!(
            rest.len() >= n + len,
            "own output ends in a partial payload"
        );
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            rfc6455::mask::apply_mask(&mut payload, key, 0);
        }
        assert!(
            !frames.iter().any(|(f, _)| f.opcode == OpCode::Close),
            "frame after a close frame"
        );
        frames.push((h, payload));
        rest = &rest[n + len..];
    }

    // Through a peer.
    let peer_role = match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let mut peer = Connection::new(peer_role, Config::default());
    let mut buf = BytesMut::from(&trace.output[..]);
    let mut seen = Vec::new();
    loop {
        match peer.receive(&mut buf) {
            Ok(Received::Message(e)) => seen.push(e),
            Ok(Received::NeedMore | Received::Closed) => break,
            Err(e) => panic!(
                "peer rejects our output: {e:?}\noutput: {:02x?}",
                trace.output
            ),
        }
    }
    assert!(buf.is_empty(), "peer left bytes of our output");

    // What must have been said.
    let mut expected: Vec<Message> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Message::Ping(p) => Some(Message::Pong(p.clone())),
            _ => None,
        })
        .collect();
    let close = match (trace.events.last(), &trace.error) {
        (Some(Message::Close(frame)), None) => Some(frame.as_ref().map(|f| f.code)),
        (_, Some(e)) => e.close_code().filter(|c| c.is_sendable()).map(Some),
        _ => None,
    };
    if let Some(code) = close {
        expected.push(Message::Close(code.map(|code| rfc6455::CloseFrame {
            code,
            reason: Default::default(),
        })));
    }
    assert_eq!(seen, expected, "output does not answer the input");
}

/// permessage-deflate settings of one endpoint, as a fuzz input picks them:
/// every knob of [`DeflateConfig`], each within its valid range.
#[derive(Arbitrary, Clone, Debug)]
pub struct DeflateKnobs {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// Window bits 8..=15 (taken modulo 8).
    pub server_max_window_bits: u8,
    pub client_max_window_bits: u8,
    /// Compression level 0..=9 (taken modulo 10).
    pub level: u8,
    /// Compression threshold in bytes: small, so that most messages of a
    /// fuzz input are compressed and some are not.
    pub threshold: u8,
}

impl DeflateKnobs {
    pub fn config(&self) -> DeflateConfig {
        DeflateConfig::new()
            .server_no_context_takeover(self.server_no_context_takeover)
            .client_no_context_takeover(self.client_no_context_takeover)
            .server_max_window_bits(8 + self.server_max_window_bits % 8)
            .client_max_window_bits(8 + self.client_max_window_bits % 8)
            .level(u32::from(self.level % 10))
            .threshold(usize::from(self.threshold))
    }

    /// `config` with these permessage-deflate settings.
    pub fn apply(&self, config: Config) -> Config {
        config.extensions(ExtensionConfig::new().deflate(self.config()))
    }
}

/// The opening handshake through memory, as a real client and server do it:
/// the client's request is parsed and accepted by the server, and the
/// server's response is checked by the client. Returns the client's and the
/// server's connection. Both must agree on the extensions, and
/// permessage-deflate must be in force exactly when both configured it.
pub fn connect(client: Config, server: Config) -> (Connection, Connection) {
    let (request, mut pending) = ClientRequest::new("ws://fuzz.example/socket")
        .expect("valid url")
        .build(&client)
        .expect("a request from a valid config");
    let mut at_server = BytesMut::from(&request[..]);
    let req = ServerHandshake::new(&server)
        .parse(&mut at_server)
        .expect("the server refuses the client's request")
        .expect("incomplete request");
    assert!(at_server.is_empty(), "the server left bytes of the request");
    let accepted = req.accept(Accept::new()).expect("accept");
    let mut at_client = BytesMut::from(&accepted.response.to_bytes()[..]);
    let resp = pending
        .parse(&mut at_client)
        .expect("the client refuses the server's response")
        .expect("incomplete response");
    assert!(
        at_client.is_empty(),
        "the client left bytes of the response"
    );
    let deflate_offered =
        client.extensions.deflate.is_some() && server.extensions.deflate.is_some();
    let client = resp.into_connection(client);
    let server = accepted.into_connection(server);
    assert_eq!(
        client.extensions().deflate(),
        server.extensions().deflate(),
        "the two sides agreed on different parameters"
    );
    assert_eq!(
        client.extensions().deflate().is_some(),
        deflate_offered,
        "permessage-deflate negotiated {}",
        if deflate_offered { "not" } else { "unasked" }
    );
    (client, server)
}

/// One frame as a peer would write it: `first` is the header's first byte
/// (FIN, RSV bits, opcode, not checked: reserved opcodes are welcome),
/// `mask` the masking key if any. The length takes its shortest form.
pub fn frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first];
    let bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(bit | n as u8),
        n if n <= 0xffff => {
            out.push(bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        rfc6455::mask::apply_mask(&mut out[start..], key, 0);
    }
    out
}
