//! A server `Connection` with permessage-deflate in force (the parameters a
//! handshake agrees on for fuzz-chosen client and server settings, put in
//! force with `Negotiated::with_deflate`; the `pair` target does the real
//! handshake) fed a client's stream built from the input: mostly
//! structurally valid frames whose
//! compressed payloads come from a real compressor (zlib, as the crate
//! uses), and some bytes that are not.
//!
//! Valid pieces: compressed messages (RSV1 on the first frame), cut into
//! fragments, each flushed (sync or full), ended with the tail removed or
//! with a BFINAL block, with control frames between fragments; messages
//! sent uncompressed; pings, pongs, close frames; the compressor kept
//! between messages (context takeover) unless negotiated otherwise or the
//! input resets it; the examples of RFC 7692 §7.2.1 and §7.2.3. Invalid
//! pieces: raw bytes, frames with any header byte, bit flips in what is
//! already there.
//!
//! Checks:
//! - everything `run_on` checks (events well-formed, errors sticky and
//!   mapped to the close code the output carries, pongs for pings, nothing
//!   after a close), and the same events, error and output whether the
//!   stream comes whole or in fuzz-chosen chunks;
//! - while the stream holds only valid pieces, the events are exactly the
//!   messages and control frames sent (fragment by fragment in streaming
//!   mode), and the error, if one is due (a frame or message over its
//!   limit, text that is not UTF-8), is the one predicted; after an invalid
//!   piece, the events up to it are still the predicted ones;
//! - memory: no reassembled message exceeds the message limit, and no call
//!   of `receive` allocates more than twice the message limit (reassembly
//!   may double a buffer) plus two zlib inflate states plus a small bound
//!   (a counting allocator measures it), whatever the compression ratio.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::Arbitrary;
use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};
use libfuzzer_sys::fuzz_target;
use rfc6455::extension::{DeflateParams, Negotiated};
use rfc6455::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Error, Message, Fragment, Role, Utf8Bytes,
};
use rfc6455_fuzz::{Chunker, DeflateKnobs, Meter, Trace, frame, join_pieces, run_on};

/// Counts the bytes allocated, and the peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every call goes to the system allocator unchanged; only the
// counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        // Counted as growing or shrinking in place: a moving realloc holds
        // both blocks only for the copy.
        if !p.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What zlib's inflate state with the largest window allocates, measured
/// once.
fn inflater_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        // zlib may allocate its window at the first inflate only.
        let data = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut out = Vec::with_capacity(64);
        let before = LIVE.load(Ordering::Relaxed);
        let mut d = flate2::Decompress::new_with_window_bits(false, 15);
        d.decompress_vec(&data, &mut out, flate2::FlushDecompress::None)
            .expect("the RFC's example");
        let size = LIVE.load(Ordering::Relaxed) - before;
        assert_eq!(out, b"Hello");
        drop(d);
        size
    })
}

/// Allocation a call of `receive` may make beyond the message limit's
/// share and zlib's state: an output queue for a pong or a close frame,
/// and the small change of `Bytes` handles.
const SLACK: usize = 16 << 10;

/// Checks each call of `receive` against the allocation bound.
struct MemoryMeter {
    bound: usize,
    base: usize,
}

impl Meter for MemoryMeter {
    fn before(&mut self) {
        self.base = LIVE.load(Ordering::Relaxed);
        PEAK.store(self.base, Ordering::Relaxed);
    }

    fn after(&mut self, _conn: &Connection) {
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(self.base);
        assert!(
            peak <= self.bound,
            "one receive allocated {peak} bytes (bound {})",
            self.bound
        );
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Limit {
    Tiny,
    Small,
    Medium,
    Default,
}

impl Limit {
    fn bytes(self) -> usize {
        match self {
            Limit::Tiny => 100,
            Limit::Small => 1000,
            Limit::Medium => 20_000,
            Limit::Default => rfc6455::Config::default().max_message_size,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Body {
    Text(String),
    Bytes(Vec<u8>),
    /// A byte repeated: what compresses best, to test the limits.
    Repeat(u8, u16),
}

impl Body {
    fn bytes(self) -> Vec<u8> {
        match self {
            Body::Text(s) => s.into_bytes(),
            Body::Bytes(b) => b,
            Body::Repeat(b, n) => vec![b; n.into()],
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: a code picked from those a peer may send (or none),
    /// and a reason.
    Close(u8, String),
}

/// Codes a client may send; the last index stands for no status code.
const CLOSE_CODES: [u16; 14] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Flush {
    Sync,
    Full,
}

/// How a compressed message ends (RFC 7692 §7.2.1, §7.2.3.4).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ending {
    /// A sync flush, its `00 00 ff ff` removed.
    Sync,
    /// A block with BFINAL set, then the first byte of an empty stored
    /// block, which the receiver's `00 00 ff ff` completes.
    Final,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    /// A data message: fragments of the given sizes (the rest goes in the
    /// last), each compressed and flushed as listed (cycling), with control
    /// frames after the first fragments.
    Compressed {
        text: bool,
        body: Body,
        cuts: Vec<u8>,
        flushes: Vec<Flush>,
        ending: Ending,
        between: Vec<Control>,
    },
    /// A data message sent uncompressed, fragmented likewise.
    Plain {
        text: bool,
        body: Body,
        cuts: Vec<u8>,
        between: Vec<Control>,
    },
    Control(Control),
    /// The compressor starts afresh, as it may at any message.
    Reset,
    /// One of the "Hello" examples of RFC 7692.
    Example(u8),
    /// A masked frame with any first header byte (FIN, RSV, opcode).
    RawFrame(u8, Vec<u8>),
    /// Bytes as they are.
    Raw(Vec<u8>),
    /// Flips bits of a byte already in the stream.
    Flip(u16, u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// The client's offer and the server's own settings, from which the
    /// parameters in force are agreed (see `agreed`).
    client: DeflateKnobs,
    server: DeflateKnobs,
    fragments: bool,
    limit: Limit,
    small_frames: bool,
    /// The client compressor's window bits, within what was agreed.
    window: u8,
    level: u8,
    mask_seed: u32,
    chunks: [u8; 4],
    piece: u8,
    pieces: Vec<Piece>,
}

/// The examples of RFC 7692 (§7.2.1 fragmented, §7.2.3.1 one block,
/// §7.2.3.3 stored, §7.2.3.4 BFINAL, §7.2.3.5 two blocks), each the frames
/// of one text message "Hello", unmasked: first header byte and payload.
/// None refers to earlier messages.
const EXAMPLES: [&[(u8, &[u8])]; 5] = [
    &[
        (0x41, &[0xf2, 0x48, 0xcd]),
        (0x80, &[0xc9, 0xc9, 0x07, 0x00]),
    ],
    &[(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])],
    &[(
        0xc1,
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
    )],
    &[(0xc1, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])],
    &[(
        0xc1,
        &[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ],
    )],
];

/// What the server must do with the stream after the predicted events.
#[derive(Debug)]
enum Then {
    /// Nothing more: no error.
    End,
    /// Fail with this error, after no other event.
    Fail(Error),
    /// Fail with this error inside a message, after some of these events
    /// (the message's fragments and control frames, in order), depending on
    /// where the validation catches it.
    FailWithin(Error, Vec<Message>),
    /// Anything, an invalid piece came.
    Unknown,
}

/// Builds the client's stream and predicts what the server makes of it.
struct Client {
    stream: Vec<u8>,
    compressor: Option<Compress>,
    window: u8,
    level: u32,
    /// No context takeover: the compressor starts afresh at each message.
    reset: bool,
    mask: u32,
    fragments: bool,
    max_frame: usize,
    max_message: usize,
    /// The events due so far, each with the stream offset where its frame ends.
    events: Vec<(Message, usize)>,
    then: Then,
    /// The stream offset after which nothing changes the outcome: the
    /// close frame's end, or where the failure is decided.
    decided: Option<usize>,
}

/// The sync flush marker removed from the end of each message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl Client {
    fn next_mask(&mut self) -> [u8; 4] {
        // xorshift32: any keys do; they only need to vary.
        let mut x = self.mask.max(1);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask = x;
        x.to_be_bytes()
    }

    fn push_frame(&mut self, first: u8, payload: &[u8]) {
        let mask = self.next_mask();
        self.stream
            .extend_from_slice(&frame(first, payload, Some(mask)));
    }

    /// Whether the outcome is still being predicted.
    fn live(&self) -> bool {
        self.decided.is_none() && matches!(self.then, Then::End)
    }

    fn expect(&mut self, event: Message) {
        if self.live() {
            self.events.push((event, self.stream.len()));
        }
    }

    fn decide(&mut self, then: Then) {
        if self.live() {
            self.then = then;
            self.decided = Some(self.stream.len());
        }
    }

    fn deflate(&mut self, mut input: &[u8], flush: FlushCompress) -> Vec<u8> {
        let (level, window) = (self.level, self.window);
        let c = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, window)
        });
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let before = c.total_in();
            c.compress_vec(input, &mut out, flush).expect("compress");
            input = &input[(c.total_in() - before) as usize..];
            // Room left: the flush is complete.
            if input.is_empty() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(out.capacity().max(64));
        }
    }

    fn control(&mut self, control: &Control) {
        match control {
            Control::Ping(p) | Control::Pong(p) => {
                let p = &p[..p.len().min(125)];
                let ping = matches!(control, Control::Ping(_));
                self.push_frame(if ping { 0x89 } else { 0x8a }, p);
                let p = Bytes::copy_from_slice(p);
                self.expect(if ping { Message::Ping(p) } else { Message::Pong(p) });
            }
            Control::Close(code, reason) => {
                let mut end = reason.len().min(123);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                let reason = &reason[..end];
                let frame = CLOSE_CODES
                    .get(usize::from(*code) % (CLOSE_CODES.len() + 1))
                    .map(|&code| CloseFrame {
                        code: CloseCode::new(code),
                        reason: Utf8Bytes::from(reason),
                    });
                let mut payload = Vec::new();
                if let Some(f) = &frame {
                    payload.extend_from_slice(&f.code.as_u16().to_be_bytes());
                    payload.extend_from_slice(f.reason.as_bytes());
                }
                self.push_frame(0x88, &payload);
                self.expect(Message::Close(frame));
                // Nothing after it is read.
                self.decide(Then::End);
            }
        }
    }

    /// A data message, compressed (`flushes` given) or not.
    fn message(
        &mut self,
        text: bool,
        body: Vec<u8>,
        cuts: &[u8],
        compressed: Option<(&[Flush], Ending)>,
        between: &[Control],
    ) {
        let kind = if text {
            DataKind::Text
        } else {
            DataKind::Binary
        };
        let mut parts = Vec::new();
        let mut rest = &body[..];
        for &cut in cuts.iter().take(16) {
            let (part, tail) = rest.split_at(usize::from(cut).min(rest.len()));
            parts.push(part);
            rest = tail;
        }
        parts.push(rest);
        if compressed.is_some() && self.reset {
            self.compressor = None;
        }
        // Invalid text fails somewhere inside the message; with a size
        // error in the same message as well, which comes first is not
        // predicted.
        let bad_text = text && core::str::from_utf8(&body).is_err();
        let mut within = Vec::new();
        let mut size = 0usize;
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            let payload = match compressed {
                None => part.to_vec(),
                Some((flushes, _)) if i < last => {
                    let flush = match flushes.get(i % flushes.len().max(1)) {
                        Some(Flush::Full) => FlushCompress::Full,
                        _ => FlushCompress::Sync,
                    };
                    self.deflate(part, flush)
                }
                Some((_, Ending::Sync)) => {
                    let mut out = self.deflate(part, FlushCompress::Sync);
                    if out.is_empty() {
                        // A repeated flush emits nothing: the first byte of
                        // an empty stored block ends the message alike.
                        out.push(0x00);
                    } else {
                        assert!(out.ends_with(&TAIL), "a sync flush without its marker");
                        out.truncate(out.len() - TAIL.len());
                    }
                    out
                }
                Some((_, Ending::Final)) => {
                    let mut out = self.deflate(part, FlushCompress::Finish);
                    out.push(0x00);
                    // The stream ended: the next message starts a new one.
                    self.compressor = None;
                    out
                }
            };
            let fin = i == last;
            let opcode = match (i, text) {
                (0, true) => 0x1,
                (0, false) => 0x2,
                _ => 0x0,
            };
            let rsv1 = if compressed.is_some() && i == 0 {
                0x40
            } else {
                0
            };
            self.push_frame(if fin { 0x80 } else { 0 } | rsv1 | opcode, &payload);
            // The limits, in the order the connection applies them: the
            // frame's length at its header; the message's size at the
            // header too if uncompressed, else as it inflates.
            size += if compressed.is_some() {
                part.len()
            } else {
                payload.len()
            };
            let too_large = if payload.len() > self.max_frame {
                Some(Error::FrameTooLarge)
            } else if size > self.max_message {
                Some(Error::MessageTooLarge)
            } else {
                None
            };
            if let Some(e) = too_large.filter(|_| self.live()) {
                self.decide(if bad_text {
                    Then::Unknown
                } else {
                    Then::Fail(e)
                });
                return;
            }
            // In streaming mode each frame is an event; else the last one
            // brings the message (never, if its text is invalid).
            let event = if self.fragments {
                Some(Message::Fragment(Fragment {
                    kind,
                    payload: Bytes::copy_from_slice(part),
                    fin,
                }))
            } else if fin && !bad_text {
                let whole = Bytes::from(body.clone());
                Some(match kind {
                    DataKind::Text => Message::Text(Utf8Bytes::try_from(whole).expect("checked")),
                    DataKind::Binary => Message::Binary(whole),
                })
            } else {
                None
            };
            match event {
                // Up to the failure, wherever the bad byte is.
                Some(event) if bad_text => within.extend((!fin).then_some(event)),
                Some(event) => self.expect(event),
                None => {}
            }
            if let Some(control) = between.get(i).filter(|_| !fin) {
                if bad_text && matches!(control, Control::Close(..)) {
                    // Whether the close frame or the failure comes first
                    // depends on where the bad byte is.
                    self.decide(Then::Unknown);
                    self.control(control);
                    return;
                }
                let before = self.events.len();
                self.control(control);
                if bad_text {
                    within.extend(self.events.drain(before..).map(|(e, _)| e));
                }
            }
        }
        if bad_text {
            self.decide(Then::FailWithin(Error::InvalidUtf8, within));
        }
    }

    fn piece(&mut self, piece: Piece) {
        match piece {
            Piece::Compressed {
                text,
                body,
                cuts,
                flushes,
                ending,
                between,
            } => self.message(
                text,
                body.bytes(),
                &cuts,
                Some((&flushes, ending)),
                &between,
            ),
            Piece::Plain {
                text,
                body,
                cuts,
                between,
            } => self.message(text, body.bytes(), &cuts, None, &between),
            Piece::Control(c) => self.control(&c),
            Piece::Reset => self.compressor = None,
            Piece::Example(n) => {
                for &(first, payload) in EXAMPLES[usize::from(n) % EXAMPLES.len()] {
                    self.push_frame(first, payload);
                }
                let hello = Bytes::from_static(b"Hello");
                if self.fragments {
                    let frames = EXAMPLES[usize::from(n) % EXAMPLES.len()];
                    // The fragmented example cuts "Hello" inside the code
                    // of its first "l": the first frame holds "He" and a
                    // part of a symbol, and an inflater emits what it can
                    // decode as soon as it can.
                    let parts: &[&'static [u8]] = if frames.len() == 2 {
                        &[b"He", b"llo"]
                    } else {
                        &[b"Hello"]
                    };
                    for (i, part) in parts.iter().enumerate() {
                        let fin = i == parts.len() - 1;
                        self.expect(Message::Fragment(Fragment {
                            kind: DataKind::Text,
                            payload: Bytes::from_static(part),
                            fin,
                        }));
                    }
                } else {
                    self.expect(Message::Text(Utf8Bytes::try_from(hello).expect("valid")));
                }
                // The server's window now holds bytes this compressor never
                // saw: it must not refer back past them.
                self.compressor = None;
            }
            Piece::RawFrame(first, payload) => {
                self.push_frame(first, &payload);
                self.decide(Then::Unknown);
            }
            Piece::Raw(bytes) => {
                self.stream.extend_from_slice(&bytes);
                if !bytes.is_empty() {
                    self.decide(Then::Unknown);
                }
            }
            Piece::Flip(at, bits) => {
                if bits == 0 || self.stream.is_empty() {
                    return;
                }
                let at = usize::from(at) % self.stream.len();
                self.stream[at] ^= bits;
                if self.decided.is_some_and(|d| d <= at) {
                    return;
                }
                // Events whose frames end after the flipped byte are no
                // longer due.
                self.events.retain(|(_, end)| *end <= at);
                self.then = Then::Unknown;
                self.decided = Some(at);
            }
        }
    }
}

/// What a handshake agrees on when a client with the `client` settings
/// offers permessage-deflate to a server with the `server` settings
/// (RFC 7692 §7.1, as `ExtensionConfig` negotiates): no context takeover in
/// a direction if either side asks for it, and the smaller of the two
/// windows in each direction. Computed rather than handshaken so that each
/// run spends its time in the server's receive path; the same input decodes
/// to the same parameters as when this target used the handshake.
fn agreed(client: &DeflateKnobs, server: &DeflateKnobs) -> DeflateParams {
    let bits = |knob: u8| 8 + knob % 8;
    DeflateParams::new()
        .server_no_context_takeover(
            client.server_no_context_takeover || server.server_no_context_takeover,
        )
        .client_no_context_takeover(
            client.client_no_context_takeover || server.client_no_context_takeover,
        )
        .server_max_window_bits(
            bits(client.server_max_window_bits).min(bits(server.server_max_window_bits)),
        )
        .client_max_window_bits(
            bits(client.client_max_window_bits).min(bits(server.client_max_window_bits)),
        )
}

/// Compares the whole-stream trace with the prediction.
/// Compares a normalized trace ([`Trace::normalized`]: pieces of a message
/// joined) with the prediction, its pieces joined the same way.
fn check_prediction(trace: &Trace, client: &Client) {
    let mut expected = join_pieces(client.events.iter().map(|(e, _)| e.clone()).collect());
    // As in the normalized trace: after a failure, the unfinished
    // message's pieces are left out.
    if trace.error.is_some() && matches!(expected.last(), Some(Message::Fragment(f)) if !f.fin) {
        expected.pop();
    }
    let expected: Vec<&Message> = expected.iter().collect();
    let got: Vec<&Message> = trace.events.iter().collect();
    // Joined pieces may run past the prediction's last one, when the
    // prediction stops inside a message (an invalid piece came next): that
    // one need only be a prefix of what arrived.
    let n = expected.len();
    let last_is_prefix = |got: &Message, expected: &Message| match (got, expected) {
        (Message::Fragment(g), Message::Fragment(e)) if !e.fin => {
            g.kind == e.kind && g.payload.starts_with(&e.payload)
        }
        (g, e) => g == e,
    };
    assert!(
        got.len() >= n
            && got[..n.saturating_sub(1)] == expected[..n.saturating_sub(1)]
            && (n == 0 || last_is_prefix(got[n - 1], expected[n - 1])),
        "events differ from those sent:\n got {got:?}\nsent {expected:?}\nthen {:?}, error {:?}",
        client.then,
        trace.error
    );
    let extra = &got[expected.len()..];
    match &client.then {
        Then::End => {
            assert!(extra.is_empty(), "events nobody sent: {extra:?}");
            assert_eq!(trace.error, None, "valid stream refused");
        }
        Then::Fail(e) => {
            assert!(
                extra.is_empty(),
                "events after the failure point: {extra:?}"
            );
            assert_eq!(trace.error.as_ref(), Some(e), "the wrong error");
        }
        Then::FailWithin(e, within) => {
            let within = join_pieces(within.clone());
            assert!(
                extra.len() <= within.len() && extra.iter().zip(&within).all(|(a, b)| *a == b),
                "events of a failing message: {extra:?}, expected a prefix of {within:?}"
            );
            assert_eq!(trace.error.as_ref(), Some(e), "the wrong error");
        }
        Then::Unknown => {}
    }
}

fuzz_target!(|input: Input| {
    let limit = input.limit.bytes();
    let mut config = Config::default()
        .fragments(input.fragments)
        .max_message_size(limit);
    if input.small_frames {
        config = config.max_frame_size(300);
    }
    let params = agreed(&input.client, &input.server);
    let negotiated = Negotiated::new().with_deflate(params, &input.server.config());

    // The compressor's window: 9 bits at least (zlib's raw streams have no
    // 8-bit window; a server inflates with 9 bits or more anyway).
    let max_window = params.client_max_window_bits.max(9);
    let mut client = Client {
        stream: Vec::new(),
        compressor: None,
        window: 9 + input.window % (max_window - 8),
        level: u32::from(input.level % 10),
        reset: params.client_no_context_takeover,
        mask: input.mask_seed,
        fragments: input.fragments,
        max_frame: config.max_frame_size,
        max_message: limit,
        events: Vec::new(),
        then: Then::End,
        decided: None,
    };
    for piece in input.pieces {
        client.piece(piece);
    }

    let stream = &client.stream[..];
    let chunks = Chunker::new(input.chunks).chunks(stream);
    let piece = usize::from(input.piece % 16) * 3;
    // Two inflaters: at the end of a BFINAL block the connection builds a
    // fresh one before dropping the old.
    let bound = limit
        .saturating_mul(2)
        .saturating_add(2 * inflater_size() + SLACK);
    let mut meter = MemoryMeter { bound, base: 0 };
    let fresh = || Connection::with_extensions(Role::Server, config.clone(), negotiated.clone());
    let chunked = run_on(fresh(), &chunks, piece, &mut meter);
    let whole = run_on(fresh(), &[stream], 0, &mut meter);
    let whole = whole.normalized();
    assert_eq!(chunked.normalized(), whole, "chunking changed the outcome");
    check_prediction(&whole, &client);
});
