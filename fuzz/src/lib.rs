//! Helpers shared by the fuzz targets.

use bytes::{Bytes, BytesMut};
use rfc6455::frame::FrameHeader;
use rfc6455::{CloseCode, Config, Connection, Error, Event, Role, State};

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
        (Chunker { sizes, next: 0 }, &data[n..])
    }

    /// The next chunk of `rest`, which is shortened by it.
    pub fn next_chunk<'a>(&mut self, rest: &mut &'a [u8]) -> &'a [u8] {
        let size = self.sizes[self.next % 4];
        self.next += 1;
        let n = if size == 0 { rest.len() } else { (size as usize).min(rest.len()) };
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
#[derive(Debug, PartialEq)]
pub struct Trace {
    pub events: Vec<Event>,
    pub error: Option<Error>,
    pub output: Vec<u8>,
}

/// Moves all queued output of `conn` into `out`, in pieces of at most
/// `piece` bytes through `output_chunks`/`advance_output` when `piece` is
/// non-zero, else chunk by chunk with `pop_output`.
pub fn drain(conn: &mut Connection, out: &mut Vec<u8>, piece: usize) {
    if piece == 0 {
        let before = out.len();
        let pending = conn.pending_output();
        while let Some(chunk) = conn.pop_output() {
            assert!(!chunk.is_empty(), "empty output chunk");
            out.extend_from_slice(&chunk);
        }
        assert_eq!(out.len() - before, pending, "pending_output disagrees with the chunks");
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
    assert!(conn.pop_output().is_none());
}

fn check_error(e: &Error) {
    if let Some(code) = e.close_code() {
        assert!(code.is_sendable() || code == CloseCode::ABNORMAL, "{e:?} maps to unsendable {code:?}");
    }
    assert!(!e.is_local_misuse(), "receive returned local misuse {e:?}");
}

fn check_event(conn: &Connection, event: &Event, text: &mut Option<Vec<u8>>) {
    let max = conn.config().get_max_message_size();
    match event {
        Event::Text(t) => {
            assert!(core::str::from_utf8(t.as_bytes()).is_ok(), "invalid UTF-8 handed out as text");
            assert!(t.len() <= max);
        }
        Event::Binary(b) => assert!(b.len() <= max),
        Event::Fragment(f) => {
            assert!(conn.config().get_fragments(), "fragment event with fragments off");
            assert!(f.payload.len() <= conn.config().get_max_frame_size());
            if f.kind == rfc6455::DataKind::Text {
                let acc = text.get_or_insert_with(Vec::new);
                acc.extend_from_slice(&f.payload);
                assert!(acc.len() <= max);
                if f.fin {
                    assert!(core::str::from_utf8(acc).is_ok(), "fragmented text is not UTF-8");
                    *text = None;
                }
            }
        }
        Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
        Event::Close(Some(frame)) => {
            assert!(frame.code.is_sendable());
            assert!(frame.reason.len() <= 123);
        }
        Event::Close(None) => {}
        _ => {}
    }
}

/// Feeds `chunks` to a fresh connection of `role`, checking the invariants
/// after every call, and returns what happened.
pub fn run_connection(role: Role, config: Config, chunks: &[&[u8]], piece: usize) -> Trace {
    let mut conn = Connection::new(role, config);
    conn.set_mask_seed([7; 32]);
    let mut buf = BytesMut::new();
    let mut trace = Trace { events: Vec::new(), error: None, output: Vec::new() };
    let mut closed = false;
    let mut text = None;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let result = conn.receive(&mut buf);
            drain(&mut conn, &mut trace.output, piece);
            if let Some(e) = &trace.error {
                assert_eq!(result.as_ref(), Err(e), "error not sticky");
                break;
            }
            match result {
                Ok(Some(event)) => {
                    assert!(!closed, "event after close: {event:?}");
                    check_event(&conn, &event, &mut text);
                    closed = matches!(event, Event::Close(_));
                    if closed {
                        assert_eq!(conn.state(), State::Closed);
                        if role == Role::Server {
                            assert!(conn.should_close_transport());
                        }
                    }
                    trace.events.push(event);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(!closed, "error after close: {e:?}");
                    check_error(&e);
                    assert_eq!(conn.state(), State::Closed);
                    assert!(conn.should_close_transport(), "failed connection keeps the transport");
                    assert_eq!(conn.failure(), Some(&e));
                    trace.error = Some(e);
                }
            }
        }
    }
    // Errors stay, and nothing comes after a close.
    let again = conn.receive(&mut buf);
    match &trace.error {
        Some(e) => assert_eq!(again.as_ref(), Err(e)),
        None if closed => assert_eq!(again, Ok(None)),
        None => assert!(matches!(again, Ok(None))),
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
        let (h, n) = FrameHeader::parse(rest).expect("own output is not a frame").expect("own output ends in a partial header");
        assert_eq!(h.mask.is_some(), role == Role::Client, "masking does not match the role");
        assert_eq!(h.rsv, 0);
        let len = h.payload_len as usize;
        assert!(rest.len() >= n + len, "own output ends in a partial payload");
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            rfc6455::mask::apply_mask(&mut payload, key, 0);
        }
        assert!(!frames.iter().any(|(f, _)| f.opcode == rfc6455::frame::OpCode::Close), "frame after a close frame");
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
            Ok(Some(e)) => seen.push(e),
            Ok(None) => break,
            Err(e) => panic!("peer rejects our output: {e:?}\noutput: {:02x?}", trace.output),
        }
    }
    assert!(buf.is_empty(), "peer left bytes of our output");

    // What must have been said.
    let mut expected: Vec<Event> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Ping(p) => Some(Event::Pong(p.clone())),
            _ => None,
        })
        .collect();
    let close = match (trace.events.last(), &trace.error) {
        (Some(Event::Close(frame)), None) => Some(frame.as_ref().map(|f| f.code)),
        (_, Some(e)) => e.close_code().filter(|c| c.is_sendable()).map(Some),
        _ => None,
    };
    if let Some(code) = close {
        expected.push(Event::Close(code.map(|code| rfc6455::CloseFrame { code, reason: Default::default() })));
    }
    assert_eq!(seen, expected, "output does not answer the input");
}

/// Bytes as a `Bytes`, for convenience in targets.
pub fn bytes(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}
