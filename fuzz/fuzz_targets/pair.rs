//! A client and a server `Connection` driven against each other through
//! in-memory buffers by arbitrary commands: sends of every kind from either
//! side, and deliveries of k bytes in either direction.
//!
//! Checks: no side ever fails; every data message sent arrives intact and in
//! order; every ping arrives; the close frames carry what was sent (or the
//! echo of it); once everything is delivered after a close, both sides are
//! closed and the server may close the transport.
#![no_main]

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, DataKind, Error, Event, Message, Role, State};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Side {
    Client,
    Server,
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
    Deliver(Side, u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    client_fragments: bool,
    server_fragments: bool,
    seed: [u8; 32],
    cmds: Vec<Cmd>,
}

/// One endpoint and what its peer expects from it.
struct End {
    conn: Connection,
    /// Bytes received, not yet taken by the connection.
    inbox: BytesMut,
    /// Data messages sent, not yet received by the peer.
    sent: VecDeque<(DataKind, Vec<u8>)>,
    /// The fragmented message being sent.
    sending: Option<(DataKind, Vec<u8>)>,
    /// Pings sent, not yet received by the peer.
    pings: VecDeque<Bytes>,
    /// The close frame sent by `close`/`send_close`, if this side closed first.
    closed_with: Option<Option<CloseFrame>>,
    /// The fragmented message being received.
    receiving: Option<(DataKind, Vec<u8>)>,
    /// The peer's close frame, once received.
    close_event: Option<Option<CloseFrame>>,
}

impl End {
    fn new(role: Role, fragments: bool, seed: [u8; 32]) -> Self {
        let mut conn = Connection::new(role, Config::default().fragments(fragments));
        conn.set_mask_seed(seed);
        End {
            conn,
            inbox: BytesMut::new(),
            sent: VecDeque::new(),
            sending: None,
            pings: VecDeque::new(),
            closed_with: None,
            receiving: None,
            close_event: None,
        }
    }

    fn can_send(&self) -> bool {
        self.conn.state() == State::Open
    }

    /// Sends a fragment and records it; mirrors the connection's rules.
    fn fragment(&mut self, kind: DataKind, payload: &[u8], fin: bool) {
        let open = self.can_send();
        let result = self.conn.send_fragment(kind, Bytes::copy_from_slice(payload), fin);
        match (&mut self.sending, open) {
            (_, false) => assert_eq!(result, Err(Error::SendAfterClose)),
            (Some((k, _)), true) if *k != kind => assert_eq!(result, Err(Error::FragmentOutOfOrder)),
            (sending, true) => {
                assert_eq!(result, Ok(()));
                let msg = sending.get_or_insert_with(|| (kind, Vec::new()));
                msg.1.extend_from_slice(payload);
                if fin {
                    let done = sending.take().expect("started");
                    self.sent.push_back(done);
                }
            }
        }
    }

    fn whole(&mut self, kind: DataKind, payload: Vec<u8>, result: Result<(), Error>) {
        if !self.can_send() {
            assert_eq!(result, Err(Error::SendAfterClose));
        } else if self.sending.is_some() {
            assert_eq!(result, Err(Error::FragmentOutOfOrder));
        } else {
            assert_eq!(result, Ok(()));
            self.sent.push_back((kind, payload));
        }
    }
}

fn send(end: &mut End, cmd: Cmd) {
    match cmd {
        Cmd::Text(_, s) => {
            let r = end.conn.send_text(s.clone());
            end.whole(DataKind::Text, s.into_bytes(), r);
        }
        Cmd::Binary(_, b) => {
            let r = end.conn.send(Message::binary(b.clone()));
            end.whole(DataKind::Binary, b, r);
        }
        Cmd::TextFragments(_, s, at, fin) => {
            let at = usize::from(at).min(s.len());
            end.fragment(DataKind::Text, &s.as_bytes()[..at], false);
            end.fragment(DataKind::Text, &s.as_bytes()[at..], fin);
        }
        Cmd::BinaryFragment(_, b, fin) => end.fragment(DataKind::Binary, &b, fin),
        Cmd::Ping(_, p) | Cmd::Pong(_, p) if p.len() > 125 => {
            let r = end.conn.send_ping(p);
            if end.can_send() {
                assert_eq!(r, Err(Error::ControlPayloadTooLong));
            }
        }
        Cmd::Ping(_, p) => {
            let r = end.conn.send_ping(p.clone());
            if end.can_send() {
                assert_eq!(r, Ok(()));
                end.pings.push_back(Bytes::from(p));
            } else {
                assert_eq!(r, Err(Error::SendAfterClose));
            }
        }
        Cmd::Pong(_, p) => {
            let r = end.conn.send_pong(p);
            assert_eq!(r.is_ok(), end.can_send());
        }
        Cmd::Close(_, code, reason) => {
            let open = end.can_send();
            let r = end.conn.close(CloseCode::new(code), &reason);
            let valid = CloseCode::new(code).is_sendable() && reason.len() <= 123;
            match (open, valid) {
                (_, false) => assert_eq!(r, Err(Error::InvalidCloseToSend)),
                (false, true) => assert_eq!(r, Err(Error::SendAfterClose)),
                (true, true) => {
                    assert_eq!(r, Ok(()));
                    assert_eq!(end.conn.state(), State::CloseSent);
                    end.closed_with = Some(Some(CloseFrame { code: CloseCode::new(code), reason: reason.as_str().into() }));
                }
            }
        }
        Cmd::CloseEmpty(_) => {
            let open = end.can_send();
            let r = end.conn.send(Message::Close(None));
            assert_eq!(r.is_ok(), open);
            if open {
                end.closed_with = Some(None);
            }
        }
        Cmd::Deliver(..) => unreachable!(),
    }
}

/// Moves up to `n` bytes of `from`'s output into `to`'s inbox and lets `to`
/// read them. Returns how many bytes moved.
fn deliver(from: &mut End, to: &mut End, n: usize) -> usize {
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
    loop {
        let event = match to.conn.receive(&mut to.inbox) {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => panic!("{:?} failed: {e:?}", to.conn.role()),
        };
        assert!(to.close_event.is_none(), "event after close: {event:?}");
        let whole = match event {
            Event::Text(t) => Some((DataKind::Text, t.as_bytes().to_vec())),
            Event::Binary(b) => Some((DataKind::Binary, b.to_vec())),
            Event::Fragment(f) => {
                assert!(to.conn.config().get_fragments());
                let msg = to.receiving.get_or_insert_with(|| (f.kind, Vec::new()));
                assert_eq!(msg.0, f.kind, "fragment kind changed mid-message");
                msg.1.extend_from_slice(&f.payload);
                if f.fin { to.receiving.take() } else { None }
            }
            Event::Ping(p) => {
                assert_eq!(from.pings.pop_front(), Some(p), "ping lost or changed");
                None
            }
            Event::Pong(_) => None,
            Event::Close(frame) => {
                match &from.closed_with {
                    // The peer closed first (or both at once): its own frame.
                    Some(sent) => assert_eq!(&frame, sent),
                    // The peer echoed our close: our code, no reason.
                    None => {
                        let ours = to.closed_with.as_ref().expect("close from a peer that never closed");
                        assert_eq!(frame.as_ref().map(|f| f.code), ours.as_ref().map(|f| f.code));
                    }
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
        }
    }
    moved
}

fn pick<'a>(client: &'a mut End, server: &'a mut End, side: Side) -> (&'a mut End, &'a mut End) {
    match side {
        Side::Client => (client, server),
        Side::Server => (server, client),
    }
}

fn side_of(cmd: &Cmd) -> Side {
    match cmd {
        Cmd::Text(s, ..)
        | Cmd::Binary(s, ..)
        | Cmd::TextFragments(s, ..)
        | Cmd::BinaryFragment(s, ..)
        | Cmd::Ping(s, ..)
        | Cmd::Pong(s, ..)
        | Cmd::Close(s, ..)
        | Cmd::CloseEmpty(s)
        | Cmd::Deliver(s, ..) => *s,
    }
}

fuzz_target!(|input: Input| {
    let mut client = End::new(Role::Client, input.client_fragments, input.seed);
    let mut server = End::new(Role::Server, input.server_fragments, input.seed);
    for cmd in input.cmds {
        let (from, to) = pick(&mut client, &mut server, side_of(&cmd));
        match cmd {
            Cmd::Deliver(_, n) => {
                deliver(from, to, usize::from(n));
            }
            cmd => send(from, cmd),
        }
    }
    // Deliver everything, both ways, until nothing moves.
    loop {
        let a = deliver(&mut client, &mut server, usize::MAX);
        let b = deliver(&mut server, &mut client, usize::MAX);
        if a == 0 && b == 0 {
            break;
        }
    }
    for end in [&client, &server] {
        assert!(end.sent.is_empty(), "messages never arrived: {}", end.sent.len());
        assert!(end.pings.is_empty(), "pings never arrived");
        assert!(end.conn.failure().is_none());
    }
    let closing = client.closed_with.is_some() || server.closed_with.is_some();
    if closing {
        assert_eq!(client.conn.state(), State::Closed);
        assert_eq!(server.conn.state(), State::Closed);
        assert!(client.close_event.is_some() && server.close_event.is_some());
        assert!(server.conn.should_close_transport());
        assert!(!client.conn.should_close_transport(), "a client waits for the server to close");
    } else {
        assert_eq!(client.conn.state(), State::Open);
        assert_eq!(server.conn.state(), State::Open);
    }
});
