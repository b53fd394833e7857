//! A client and a server `Connection`, connected by the real opening
//! handshake (with permessage-deflate in part of the runs), driven against
//! each other through in-memory buffers and a simulated clock by arbitrary
//! commands: sends of every kind from either side, deliveries of k bytes in
//! either direction, a side that stops (or resumes) reading, and time that
//! passes (not at all, a little, or by hours) or is told late, early or
//! twice. Each side has its own random timers (keepalive, idle, close
//! timeout), small enough to fire.
//!
//! The transport is modelled as far as the driver contract needs: a side
//! closes it as soon as `should_close_transport()` says so; its peer then
//! reads what was in flight and sees end of stream, and a write into a
//! closed transport fails (`transport_failed`).
//!
//! Checks, after every step:
//! - no side fails on what the other sent; failures come only from timers
//!   or the transport, and the close frame a failure queues carries the
//!   error's code;
//! - what arrives is what was sent, in order and intact: data messages,
//!   pings (the application's and keepalive's), pongs (unsolicited ones
//!   all; answers in order, an answer superseded by a later ping's while it
//!   waited to be queued may be left out: pongs are coalesced, RFC 6455
//!   §5.5.3), close frames (or their echo); nothing after a close frame;
//! - time: a connection that is closing or failed, and not yet done, has a
//!   deadline; no deadline lies before the latest time passed in, and a
//!   closing one is exactly "now" until the next tick stamps it, then the
//!   close timeout after that; `handle_timeout` at or past a deadline acts
//!   (the connection changes, or its next deadline is later: never the same
//!   past deadline again), before any deadline it changes nothing (so an
//!   earlier time is harmless), and past the close deadline the connection
//!   is done; `latency()` is only `Some` once a keepalive ping was answered,
//!   and is `Some` after the tick that follows its answer;
//! - `stats()` and `peer_close()` agree with what went through.
//!
//! At the end, with time standing still, everything is delivered until
//! nothing moves: unless output was dropped or input discarded (stalled
//! reader, failure, close deadline), every message, ping, pong and close
//! frame arrived, and a run without timer or transport trouble ends either
//! open on both sides or with a completed close handshake, the server
//! closing the transport and the client seeing it. Then the clock jumps by
//! hours a few times: every connection that is not open must be done.
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, DataKind, Error, Message, Keepalive, Received, Role, State, Timestamp};
use rfc6455_fuzz::{DeflateKnobs, connect};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Side {
    Client,
    Server,
}

/// How far the clock moves.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Delay {
    Zero,
    Micros(u16),
    Millis(u8),
    Seconds(u8),
    /// Far beyond every timer; enough of them saturate the clock.
    Hours(u16),
}

impl Delay {
    fn duration(self) -> Duration {
        match self {
            Delay::Zero => Duration::ZERO,
            Delay::Micros(n) => Duration::from_micros(n.into()),
            Delay::Millis(n) => Duration::from_millis(n.into()),
            Delay::Seconds(n) => Duration::from_secs(n.into()),
            Delay::Hours(n) => Duration::from_secs(u64::from(n) * 3600),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Cmd {
    Text(Side, String),
    Binary(Side, Vec<u8>),
    /// A fragment of a text message: the string cut at a byte index (maybe
    /// inside a code point) and sent as two fragments, the second with `fin`.
    TextFragments(Side, String, u8, bool),
    BinaryFragment(Side, Vec<u8>, bool),
    Ping(Side, Vec<u8>),
    Pong(Side, Vec<u8>),
    Close(Side, u16, String),
    CloseEmpty(Side),
    /// Up to this many bytes of the side's output reach its peer, which
    /// reads them.
    Deliver(Side, u16),
    /// Time passes; each side is told it if one of its deadlines is due
    /// (the driver contract).
    Wait(Delay),
    /// The side is told the time although nothing may be due (always
    /// allowed).
    Tick(Side),
    /// The side is told a time this many milliseconds before now, maybe
    /// earlier than one it was already told.
    Rewind(Side, u8),
    /// The side stops (false) or resumes (true) reading: what its peer
    /// writes stays queued at the peer meanwhile.
    Reading(Side, bool),
}

/// One side's timers, in milliseconds, small enough to fire.
#[derive(Arbitrary, Debug)]
struct Timers {
    /// Keepalive interval (1 ms more than given: a zero interval pings
    /// again at the very instant each pong is measured, which never lets
    /// a still clock settle) and timeout.
    keepalive: Option<(u8, u8)>,
    idle: Option<u8>,
    close: u8,
}

#[derive(Arbitrary, Debug)]
struct Settings {
    fragments: bool,
    timers: Timers,
}

impl Settings {
    fn config(&self) -> Config {
        let ms = |n: u8| Duration::from_millis(n.into());
        let t = &self.timers;
        Config::default()
            .fragments(self.fragments)
            .keepalive(
                t.keepalive
                    .map(|(interval, timeout)| Keepalive::new(ms(interval) + ms(1), ms(timeout))),
            )
            .idle_timeout(t.idle.map(ms))
            .close_timeout(ms(t.close))
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: Settings,
    server: Settings,
    /// The client's and the server's permessage-deflate settings: the
    /// extension is negotiated when present.
    deflate: Option<(DeflateKnobs, DeflateKnobs)>,
    seed: [u8; 32],
    cmds: Vec<Cmd>,
}

/// What a connection shows from outside; `handle_timeout` acting on a
/// deadline changes some of it (or moves the deadline on).
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: State,
    failure: Option<Error>,
    done: bool,
    pending: usize,
    latency: Option<Duration>,
}

impl Snapshot {
    fn of(conn: &Connection) -> Self {
        Snapshot {
            state: conn.state(),
            failure: conn.failure().cloned(),
            done: conn.should_close_transport(),
            pending: conn.pending_output(),
            latency: conn.latency(),
        }
    }
}

/// One endpoint, what its peer expects from it, and what it has seen.
struct End {
    conn: Connection,
    /// Bytes received, not yet taken by the connection.
    inbox: BytesMut,

    // What the peer must receive from this side, in the order queued.
    /// Data messages sent.
    sent: VecDeque<(DataKind, Vec<u8>)>,
    /// The fragmented message being sent.
    sending: Option<(DataKind, Vec<u8>)>,
    /// Pings: the application's and keepalive's.
    pings: VecDeque<Bytes>,
    /// Pongs: answers to the peer's pings (`true`: coalescing may leave
    /// it out) and unsolicited ones (`false`).
    pongs: VecDeque<(Bytes, bool)>,
    /// The close frame queued (by `close`, as an echo, or by a failure).
    closed_with: Option<Option<CloseFrame>>,

    // What this side received.
    /// The fragmented message being received.
    receiving: Option<(DataKind, Vec<u8>)>,
    /// The peer's close frame, once received.
    close_event: Option<Option<CloseFrame>>,
    messages_received: u64,

    // Its own counters, to compare with `stats()`.
    messages_sent: u64,
    bytes_sent: u64,

    // Time.
    /// The latest time passed in.
    now: Timestamp,
    close_timeout: Duration,
    /// When the close deadline started: the first tick after the
    /// connection stopped being open.
    closing_since: Option<Timestamp>,
    /// Payloads of the keepalive pings it sent.
    keepalive_payloads: Vec<Bytes>,
    first_keepalive: Option<Timestamp>,
    /// The keepalive ping waiting for a pong (any pong ends the wait).
    outstanding: Option<Bytes>,
    /// A pong carried the payload of one of its keepalive pings.
    answered: bool,
    /// The outstanding keepalive ping was answered: the next tick measures it.
    latency_due: bool,

    // The transport.
    reading: bool,
    /// It closed the transport (`should_close_transport`).
    closed_transport: bool,
    /// It was told the end of stream.
    eof: bool,
    /// Output it had queued was dropped, never to reach the peer.
    dropped: bool,
    /// Bytes that reached it were thrown away unread (after its failure).
    discarded: bool,
}

impl End {
    fn new(conn: Connection) -> Self {
        End {
            close_timeout: conn.settings().close_timeout,
            conn,
            inbox: BytesMut::new(),
            sent: VecDeque::new(),
            sending: None,
            pings: VecDeque::new(),
            pongs: VecDeque::new(),
            closed_with: None,
            receiving: None,
            close_event: None,
            messages_received: 0,
            messages_sent: 0,
            bytes_sent: 0,
            now: Timestamp::ZERO,
            closing_since: None,
            keepalive_payloads: Vec::new(),
            first_keepalive: None,
            outstanding: None,
            answered: false,
            latency_due: false,
            reading: true,
            closed_transport: false,
            eof: false,
            dropped: false,
            discarded: false,
        }
    }

    fn role(&self) -> Role {
        self.conn.role()
    }

    /// The error a send must fail with now, if any.
    fn refusal(&self) -> Option<Error> {
        match self.conn.failure() {
            Some(e) => Some(e.clone()),
            None if self.conn.state() != State::Open => Some(Error::SendAfterClose),
            None => None,
        }
    }

    /// Sends a fragment and records it; mirrors the connection's rules.
    fn fragment(&mut self, kind: DataKind, payload: &[u8], fin: bool) {
        let refusal = self.refusal();
        let result = self
            .conn
            .send_fragment(kind, Bytes::copy_from_slice(payload), fin);
        match (refusal, &mut self.sending) {
            (Some(e), _) => assert_eq!(result, Err(e)),
            (None, Some((k, _))) if *k != kind => {
                assert_eq!(result, Err(Error::FragmentOutOfOrder))
            }
            (None, sending) => {
                assert_eq!(result, Ok(()));
                let msg = sending.get_or_insert_with(|| (kind, Vec::new()));
                msg.1.extend_from_slice(payload);
                if fin {
                    let done = sending.take().expect("started");
                    self.sent.push_back(done);
                    self.messages_sent += 1;
                }
            }
        }
    }

    fn whole(
        &mut self,
        kind: DataKind,
        payload: Vec<u8>,
        refusal: Option<Error>,
        result: Result<(), Error>,
    ) {
        match refusal {
            Some(e) => assert_eq!(result, Err(e)),
            None if self.sending.is_some() => assert_eq!(result, Err(Error::FragmentOutOfOrder)),
            None => {
                assert_eq!(result, Ok(()));
                self.sent.push_back((kind, payload));
                self.messages_sent += 1;
            }
        }
    }

    /// Records the close frame a failure queued, if it did: one with the
    /// error's code and no reason, when the connection was open.
    fn note_failure(&mut self, before: &Snapshot) {
        let (None, Some(e)) = (&before.failure, self.conn.failure()) else {
            return;
        };
        if before.state != State::Open {
            return;
        }
        if let Some(code) = e.close_code().filter(|c| c.is_sendable()) {
            assert!(
                self.closed_with.is_none(),
                "an open connection had sent a close frame"
            );
            self.closed_with = Some(Some(CloseFrame {
                code,
                reason: "".into(),
            }));
        }
    }

    /// The adapter's step 4: close the transport when told.
    fn settle(&mut self) {
        if self.closed_transport {
            assert!(
                self.conn.should_close_transport(),
                "{:?} took back should_close_transport",
                self.role()
            );
        } else if self.conn.should_close_transport() {
            self.closed_transport = true;
        }
    }

    /// Tells the connection the time `t` and checks what it did with it.
    fn tick(&mut self, t: Timestamp) {
        let role = self.role();
        // The connection takes an earlier time as the latest it saw.
        let now = t.max(self.now);
        let deadline = self.conn.poll_timeout();
        let before = Snapshot::of(&self.conn);
        let closing_since = self.closing_since;
        self.conn.handle_timeout(t);
        self.now = now;
        let after = Snapshot::of(&self.conn);
        let next = self.conn.poll_timeout();
        match deadline {
            Some(d) if d <= now => assert!(
                after != before || next.is_none_or(|n| n > now),
                "{role:?}: handle_timeout({now:?}) did nothing about the deadline {d:?}, and asks for {next:?}: {after:?}"
            ),
            _ => {
                assert_eq!(
                    after, before,
                    "{role:?}: handle_timeout({t:?}) acted before its deadline {deadline:?}"
                );
                assert_eq!(
                    next, deadline,
                    "{role:?}: handle_timeout({t:?}) moved a deadline not yet due"
                );
            }
        }
        if after.pending > before.pending && after.state == State::Open && after.failure.is_none() {
            self.keepalive_sent(after.pending - before.pending, now);
        }
        if after.pending < before.pending {
            assert!(
                after.done,
                "{role:?}: output dropped before the close deadline"
            );
            self.dropped = true;
        }
        self.note_failure(&before);
        if let Some(close_deadline) = closing_since.map(|since| since + self.close_timeout) {
            assert!(
                now < close_deadline || after.done,
                "{role:?}: the close deadline {close_deadline:?} passed at {now:?}"
            );
        }
        if self.closing_since.is_none() && after.state != State::Open {
            self.closing_since = Some(now);
        }
        if self.latency_due {
            assert!(
                after.latency.is_some(),
                "{role:?}: no latency after the keepalive pong"
            );
            self.latency_due = false;
        }
        self.settle();
    }

    /// A tick queued `len` bytes while open: a keepalive ping. Its payload
    /// is read back from the end of the output.
    fn keepalive_sent(&mut self, len: usize, now: Timestamp) {
        let out: Vec<u8> = self.conn.output_chunks().flatten().copied().collect();
        let tail = &out[out.len() - len..];
        let (h, n) = FrameHeader::parse(tail)
            .expect("a frame")
            .expect("a whole header");
        assert_eq!(
            h.opcode,
            OpCode::Ping,
            "a tick queued something other than a ping"
        );
        assert_eq!(
            n + h.payload_len as usize,
            len,
            "a tick queued more than one frame"
        );
        let mut payload = tail[n..].to_vec();
        if let Some(key) = h.mask {
            rfc6455::mask::apply_mask(&mut payload, key, 0);
        }
        let payload = Bytes::from(payload);
        self.pings.push_back(payload.clone());
        self.keepalive_payloads.push(payload.clone());
        self.outstanding = Some(payload);
        self.first_keepalive.get_or_insert(now);
    }

    /// The adapter's step 2: acts on every deadline due at `now`.
    fn drive(&mut self, now: Timestamp) {
        for _ in 0..8 {
            if self.conn.poll_timeout().is_none_or(|d| d > now) {
                return;
            }
            self.tick(now);
        }
        panic!(
            "{:?}: still due after 8 ticks at {now:?}: {:?}",
            self.role(),
            self.conn.poll_timeout()
        );
    }

    /// End of stream, after everything in flight was read.
    fn eof(&mut self) {
        let before = Snapshot::of(&self.conn);
        self.eof = true;
        let result = self.conn.receive_eof();
        match (&before.failure, before.state) {
            (Some(e), _) => assert_eq!(result.as_ref(), Err(e)),
            (None, State::Closed) => assert_eq!(result, Ok(())),
            (None, _) => assert_eq!(result, Err(Error::AbnormalClosure)),
        }
        self.note_failure(&before);
        self.settle();
    }

    /// A write failed: the peer closed the transport.
    fn write_failed(&mut self) {
        let before = Snapshot::of(&self.conn);
        let result = self.conn.transport_failed();
        // Clean only if the connection had ended cleanly already: the close
        // handshake over and its output written.
        match (&before.failure, before.state) {
            (Some(e), _) => assert_eq!(result.as_ref(), Err(e)),
            (None, State::Closed) if before.pending == 0 => assert_eq!(result, Ok(())),
            (None, _) => assert_eq!(result, Err(Error::AbnormalClosure)),
        }
        self.dropped |= before.pending > 0;
        self.note_failure(&before);
        assert!(
            self.conn.should_close_transport(),
            "{:?}: the transport failed, yet it goes on",
            self.role()
        );
        self.settle();
    }

    /// The invariants that hold between any two steps.
    fn check(&self) {
        let role = self.role();
        let conn = &self.conn;
        let deadline = conn.poll_timeout();
        let done = conn.should_close_transport();
        if done {
            assert_eq!(deadline, None, "{role:?}: done, yet asks for a wake-up");
        } else if conn.state() != State::Open || conn.failure().is_some() {
            assert!(deadline.is_some(), "{role:?}: closing without a deadline");
            let expected = match self.closing_since {
                Some(since) => since + self.close_timeout,
                // Closing began after the last tick: the next one stamps it.
                None => self.now,
            };
            assert_eq!(deadline, Some(expected), "{role:?}: close deadline");
        }
        if let Some(d) = deadline {
            assert!(
                d >= self.now,
                "{role:?}: deadline {d:?} before the latest time passed in, {:?}",
                self.now
            );
        }
        if let Some(latency) = conn.latency() {
            assert!(
                self.answered,
                "{role:?}: latency {latency:?} without an answered keepalive ping"
            );
            let first = self.first_keepalive.expect("answered");
            assert!(
                latency <= self.now - first,
                "{role:?}: latency {latency:?} longer than any ping was out"
            );
        }
        let stats = conn.stats();
        assert_eq!(stats.latency, conn.latency());
        assert_eq!(
            stats.messages_sent, self.messages_sent,
            "{role:?}: messages sent"
        );
        assert_eq!(
            stats.messages_received, self.messages_received,
            "{role:?}: messages received"
        );
        assert_eq!(stats.bytes_sent, self.bytes_sent, "{role:?}: bytes sent");
        assert_eq!(
            conn.peer_close(),
            self.close_event.as_ref().map(Option::as_ref),
            "{role:?}: peer_close"
        );
    }
}

fn send(end: &mut End, cmd: Cmd) {
    let refusal = end.refusal();
    match cmd {
        Cmd::Text(_, s) => {
            let r = end.conn.send_text(s.clone());
            end.whole(DataKind::Text, s.into_bytes(), refusal, r);
        }
        Cmd::Binary(_, b) => {
            let r = end.conn.send(Message::binary(b.clone()));
            end.whole(DataKind::Binary, b, refusal, r);
        }
        Cmd::TextFragments(_, s, at, fin) => {
            let at = usize::from(at).min(s.len());
            end.fragment(DataKind::Text, &s.as_bytes()[..at], false);
            end.fragment(DataKind::Text, &s.as_bytes()[at..], fin);
        }
        Cmd::BinaryFragment(_, b, fin) => end.fragment(DataKind::Binary, &b, fin),
        Cmd::Ping(_, p) | Cmd::Pong(_, p) if p.len() > 125 => {
            let r = end.conn.send_ping(p);
            assert_eq!(r, Err(refusal.unwrap_or(Error::ControlPayloadTooLong)));
        }
        Cmd::Ping(_, p) => {
            let r = end.conn.send_ping(p.clone());
            match refusal {
                Some(e) => assert_eq!(r, Err(e)),
                None => {
                    assert_eq!(r, Ok(()));
                    end.pings.push_back(Bytes::from(p));
                }
            }
        }
        Cmd::Pong(_, p) => {
            let r = end.conn.send_pong(p.clone());
            match refusal {
                Some(e) => assert_eq!(r, Err(e)),
                None => {
                    assert_eq!(r, Ok(()));
                    end.pongs.push_back((Bytes::from(p), false));
                }
            }
        }
        Cmd::Close(_, code, reason) => {
            let r = end.conn.close(CloseCode::new(code), &reason);
            let valid = CloseCode::new(code).is_sendable() && reason.len() <= 123;
            match (valid, refusal) {
                // The frame is judged before the connection.
                (false, _) => assert_eq!(r, Err(Error::InvalidCloseToSend)),
                (true, Some(e)) => assert_eq!(r, Err(e)),
                (true, None) => {
                    assert_eq!(r, Ok(()));
                    assert_eq!(end.conn.state(), State::CloseSent);
                    end.closed_with = Some(Some(CloseFrame {
                        code: CloseCode::new(code),
                        reason: reason.as_str().into(),
                    }));
                }
            }
        }
        Cmd::CloseEmpty(_) => {
            let r = end.conn.send(Message::Close(None));
            match refusal {
                Some(e) => assert_eq!(r, Err(e)),
                None => {
                    assert_eq!(r, Ok(()));
                    end.closed_with = Some(None);
                }
            }
        }
        Cmd::Deliver(..) | Cmd::Wait(_) | Cmd::Tick(_) | Cmd::Rewind(..) | Cmd::Reading(..) => {
            unreachable!()
        }
    }
}

/// `to` reads what its inbox holds, checking each event against what `from`
/// sent.
fn read(to: &mut End, from: &mut End) {
    loop {
        let before = Snapshot::of(&to.conn);
        let had = to.inbox.len();
        let result = to.conn.receive(&mut to.inbox);
        match result {
            Err(e) => {
                // Only an earlier failure (timer, transport) is repeated.
                assert_eq!(
                    Some(&e),
                    before.failure.as_ref(),
                    "{:?} failed on what its peer sent",
                    to.role()
                );
                assert!(to.inbox.is_empty(), "a failed connection kept the bytes");
                to.discarded |= had > 0;
                break;
            }
            Ok(Received::NeedMore) => break,
            Ok(Received::Closed) => {
                assert!(
                    had == 0,
                    "{:?}: {had} bytes after the peer's close frame",
                    to.role()
                );
                break;
            }
            Ok(Received::Message(event)) => on_event(to, from, event, before.state),
        }
    }
    to.settle();
    from.settle();
}

fn on_event(to: &mut End, from: &mut End, event: Message, state_before: State) {
    assert!(to.close_event.is_none(), "event after close: {event:?}");
    let whole = match event {
        Message::Text(t) => Some((DataKind::Text, t.as_bytes().to_vec())),
        Message::Binary(b) => Some((DataKind::Binary, b.to_vec())),
        Message::Fragment(f) => {
            assert!(
                to.conn.settings().fragments,
                "a fragment with fragments off"
            );
            let msg = to.receiving.get_or_insert_with(|| (f.kind, Vec::new()));
            assert_eq!(msg.0, f.kind, "fragment kind changed mid-message");
            msg.1.extend_from_slice(&f.payload);
            if f.fin { to.receiving.take() } else { None }
        }
        Message::Ping(p) => {
            assert_eq!(
                from.pings.pop_front(),
                Some(p.clone()),
                "ping lost or changed"
            );
            // Answered while open.
            if to.conn.state() == State::Open {
                to.pongs.push_back((p, true));
            }
            None
        }
        Message::Pong(p) => {
            // Answers left out by coalescing come before the one that
            // arrived; nothing else may be missing.
            while from
                .pongs
                .front()
                .is_some_and(|(q, answer)| *answer && *q != p)
            {
                from.pongs.pop_front();
            }
            assert_eq!(
                from.pongs.pop_front().map(|(q, _)| q),
                Some(p.clone()),
                "pong lost or changed"
            );
            if to.keepalive_payloads.contains(&p) {
                to.answered = true;
            }
            if to.outstanding.take().is_some_and(|k| k == p) {
                to.latency_due = true;
            }
            None
        }
        Message::Close(frame) => {
            assert_eq!(
                Some(&frame),
                from.closed_with.as_ref(),
                "close frame changed, or never sent"
            );
            if state_before == State::Open {
                // The echo: the code alone.
                let echo = frame.as_ref().map(|f| CloseFrame {
                    code: f.code,
                    reason: "".into(),
                });
                to.closed_with = Some(echo);
            }
            to.close_event = Some(frame);
            None
        }
        other => panic!("unexpected event {other:?}"),
    };
    if let Some(msg) = whole {
        if msg.0 == DataKind::Text {
            assert!(core::str::from_utf8(&msg.1).is_ok());
        }
        let expected = from.sent.pop_front().expect("message that was never sent");
        assert!(expected == msg, "message changed in transit");
        to.messages_received += 1;
    }
}

/// Moves up to `n` bytes of `from`'s output to `to`, which reads them.
/// Returns how many bytes moved.
fn deliver(from: &mut End, to: &mut End, n: usize) -> usize {
    if from.closed_transport {
        // What was in flight was read; then the end of stream.
        if to.reading && !to.closed_transport && !to.eof {
            read(to, from);
            if !to.closed_transport {
                to.eof();
            }
        }
        return 0;
    }
    if to.closed_transport {
        if from.conn.pending_output() > 0 {
            from.write_failed();
        }
        return 0;
    }
    if !to.reading {
        return 0;
    }
    let mut moved = 0;
    for chunk in from.conn.output_chunks() {
        let take = chunk.len().min(n - moved);
        to.inbox.extend_from_slice(&chunk[..take]);
        moved += take;
        if moved == n {
            break;
        }
    }
    from.conn.advance_output(moved);
    from.bytes_sent += moved as u64;
    assert!(
        moved == 0 || to.close_event.is_none(),
        "{:?} wrote after its close frame",
        from.role()
    );
    read(to, from);
    moved
}

fn pick<'a>(client: &'a mut End, server: &'a mut End, side: Side) -> (&'a mut End, &'a mut End) {
    match side {
        Side::Client => (client, server),
        Side::Server => (server, client),
    }
}

/// What changes while the two sides still have something to say.
type Progress = (usize, State, bool, bool, usize);

fn progress(client: &End, server: &End) -> [Progress; 2] {
    let of = |e: &End| {
        (
            e.conn.pending_output(),
            e.conn.state(),
            e.closed_transport,
            e.eof,
            e.inbox.len(),
        )
    };
    [of(client), of(server)]
}

/// Delivers everything both ways, the clock standing still at `now`, until
/// nothing moves.
fn settle_all(client: &mut End, server: &mut End, now: Timestamp) {
    for _ in 0..64 {
        let before = progress(client, server);
        let moved = deliver(client, server, usize::MAX) + deliver(server, client, usize::MAX);
        client.drive(now);
        server.drive(now);
        client.check();
        server.check();
        if moved == 0 && progress(client, server) == before {
            return;
        }
    }
    panic!("still busy after 64 rounds at {now:?}");
}

/// With the clock still, every direction whose bytes all went through has
/// delivered everything its writer queued.
fn check_delivered(from: &End, to: &End) {
    if !to.reading || from.dropped || to.discarded {
        return;
    }
    let role = from.role();
    assert_eq!(from.conn.pending_output(), 0, "{role:?}: output stuck");
    assert!(
        from.sent.is_empty(),
        "{role:?}: {} messages never arrived",
        from.sent.len()
    );
    assert!(from.pings.is_empty(), "{role:?}: pings never arrived");
    assert!(
        from.pongs.iter().all(|(_, answer)| *answer),
        "{role:?}: unsolicited pongs never arrived"
    );
    if from.closed_with.is_some() {
        assert!(
            to.close_event.is_some(),
            "{role:?}: its close frame never arrived"
        );
    }
}

fuzz_target!(|input: Input| {
    let mut client_config = input.client.config().random_seed(input.seed);
    let mut server_config = input.server.config();
    if let Some((c, s)) = &input.deflate {
        client_config = c.apply(client_config);
        server_config = s.apply(server_config);
    }
    let (client, server) = connect(client_config, server_config);
    let mut client = End::new(client);
    let mut server = End::new(server);
    let mut now = Timestamp::ZERO;

    for cmd in input.cmds {
        match cmd {
            Cmd::Deliver(side, n) => {
                let (from, to) = pick(&mut client, &mut server, side);
                deliver(from, to, usize::from(n));
            }
            Cmd::Wait(delay) => {
                now = now + delay.duration();
                client.drive(now);
                server.drive(now);
            }
            Cmd::Tick(side) => pick(&mut client, &mut server, side).0.tick(now),
            Cmd::Rewind(side, ms) => {
                let earlier =
                    Timestamp::from_nanos(now.as_nanos().saturating_sub(u64::from(ms) * 1_000_000));
                pick(&mut client, &mut server, side).0.tick(earlier);
            }
            Cmd::Reading(side, on) => pick(&mut client, &mut server, side).0.reading = on,
            Cmd::Text(side, ..)
            | Cmd::Binary(side, ..)
            | Cmd::TextFragments(side, ..)
            | Cmd::BinaryFragment(side, ..)
            | Cmd::Ping(side, ..)
            | Cmd::Pong(side, ..)
            | Cmd::Close(side, ..)
            | Cmd::CloseEmpty(side) => send(pick(&mut client, &mut server, side).0, cmd),
        }
        client.check();
        server.check();
    }

    // The clock stands still: everything goes through that can.
    settle_all(&mut client, &mut server, now);
    check_delivered(&client, &server);
    check_delivered(&server, &client);
    let trouble = |e: &End| !e.reading || e.dropped || e.discarded || e.conn.failure().is_some();
    if !trouble(&client) && !trouble(&server) {
        if client.closed_with.is_some() || server.closed_with.is_some() {
            for end in [&client, &server] {
                assert_eq!(end.conn.state(), State::Closed);
                assert!(end.close_event.is_some());
            }
            assert!(
                server.closed_transport,
                "the server keeps the transport after the close handshake"
            );
            // Told by the end of stream, or by its own close deadline.
            assert!(
                client.closed_transport,
                "the client is still waiting for the server to close"
            );
        } else {
            assert_eq!(client.conn.state(), State::Open);
            assert_eq!(server.conn.state(), State::Open);
        }
    }

    // Hours pass: whatever is closing must be over.
    for _ in 0..4 {
        now = now + Duration::from_secs(3600);
        client.drive(now);
        server.drive(now);
        settle_all(&mut client, &mut server, now);
    }
    for end in [&client, &server] {
        if end.conn.state() != State::Open || end.conn.failure().is_some() {
            assert!(
                end.closed_transport,
                "{:?}: still closing hours after its deadline",
                end.role()
            );
        }
    }
});
