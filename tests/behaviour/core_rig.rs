//! The sans-IO core with simulated time: the driver contract of
//! [`Connection`] in a few lines, and a clock that jumps from deadline to
//! deadline.
//!
//! The peer's bytes reach the endpoint through a pipe of bounded room, as a
//! socket's buffers are, so that the peer's writes complete only as the
//! endpoint reads; the endpoint's output reaches the peer only while the
//! peer reads.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rfc6455::handshake::ServerHandshake;
use rfc6455::{Config, Connection, Message, Received, Role, Timestamp};

use crate::rig::{
    Action, Decide, Done, ENDPOINT_SEED, Ended, FLOOD, Peer, Program, Rig, flood_message, never,
    normal_close, stream_chunk,
};

/// Room in the pipe from the peer to the endpoint.
const PIPE_ROOM: usize = 256 << 10;

pub struct CoreRig {
    server: Connection,
    program: Program,
    /// Messages of the endpoint's stream still to send, and their bytes.
    stream: Option<(usize, Bytes)>,
    peer: Peer,
    now: Timestamp,
    /// What the peer wrote and the endpoint has not read (up to
    /// [`PIPE_ROOM`]).
    pipe: BytesMut,
    /// What the peer is writing that the pipe has no room for yet.
    unwritten: BytesMut,
    /// The endpoint's read buffer.
    inbox: BytesMut,
    ended: Option<Ended>,
}

/// When [`CoreRig::run`] stops before its time is up.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// Only at the time.
    AtTime,
    /// Once the peer's writes are in the pipe and the endpoint is idle.
    Written,
    /// Once the peer's events satisfy the predicate.
    Received,
}

impl CoreRig {
    fn units(&self, t: Timestamp) -> f64 {
        t.as_duration().as_secs_f64() / Self::UNIT.as_secs_f64()
    }

    /// The endpoint's turn: read, tell the time, act. True if it did
    /// anything. Reading never waits for the output: the stream takes the
    /// room the output has, messages are read whether or not it has any.
    fn endpoint_turn(&mut self) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let mut busy = false;
        let want = self
            .server
            .read_size_hint(self.inbox.len(), self.inbox.capacity());
        let n = want.min(self.pipe.len());
        if n > 0 {
            self.inbox.extend_from_slice(&self.pipe.split_to(n));
            busy = true;
        }
        while let Ok(Received::Message(event)) = self.server.receive(&mut self.inbox) {
            busy = true;
            let full = self.server.output_is_full();
            match self.program.react(event, full) {
                Some(Action::Reply(m)) => self.server.send(m).unwrap(),
                Some(Action::Flood) => {
                    for _ in 0..FLOOD {
                        self.server.send(flood_message()).unwrap();
                    }
                }
                Some(Action::Stream(n)) => self.stream = Some((n, stream_chunk(ENDPOINT_SEED))),
                Some(Action::Close) => self.server.send(normal_close()).unwrap(),
                None => {}
            }
        }
        while let Some((left @ 1.., chunk)) = &mut self.stream {
            if self.server.output_is_full() {
                break;
            }
            self.server.send(Message::Binary(chunk.clone())).unwrap();
            *left -= 1;
            busy = true;
        }
        if self.server.poll_timeout().is_some_and(|d| d <= self.now) {
            self.server.handle_timeout(self.now);
            busy = true;
        }
        if self.server.should_close_transport() {
            self.ended = Some(Ended {
                at: self.units(self.now),
                failure: self.server.failure().cloned(),
                latency: self.server.latency(),
            });
            return true;
        }
        busy
    }

    /// The peer writes what its connection queued into the pipe, as far as
    /// the pipe has room. True if it wrote anything.
    fn peer_writes(&mut self) -> bool {
        let out = self.peer.output();
        self.unwritten.extend_from_slice(&out);
        let n = PIPE_ROOM
            .saturating_sub(self.pipe.len())
            .min(self.unwritten.len());
        self.pipe.extend_from_slice(&self.unwritten.split_to(n));
        n > 0
    }

    /// Runs both sides until `until` or `stop`, the peer reading if `reads`
    /// and writing what it queued if `writes`.
    fn run(
        &mut self,
        until: Timestamp,
        reads: bool,
        writes: bool,
        stop: Stop,
        done: &mut Done<'_>,
    ) -> Vec<(f64, Message)> {
        let mut events = Vec::new();
        loop {
            let mut busy = self.endpoint_turn();
            if reads {
                while self.server.pending_output() > 0 {
                    for chunk in self.server.output_chunks() {
                        self.peer.inbox.extend_from_slice(chunk);
                    }
                    self.server.advance_output(self.server.pending_output());
                    busy = true;
                }
                let at = self.units(self.now);
                self.peer.decode(at, &mut events);
                if self.ended.is_some() {
                    let _ = self.peer.conn.receive_eof();
                }
                if stop == Stop::Received && done(&events) {
                    return events;
                }
            }
            if writes && self.ended.is_none() {
                busy |= self.peer_writes();
            }
            if busy {
                continue;
            }
            if stop == Stop::Written && self.unwritten.is_empty() {
                return events;
            }
            // Nothing to do until the endpoint's next deadline.
            match self.server.poll_timeout() {
                Some(deadline) if deadline < until && self.ended.is_none() => {
                    self.now = deadline.max(self.now);
                }
                _ => {
                    self.now = until.max(self.now);
                    return events;
                }
            }
        }
    }

    fn later(&self, units: f64) -> Timestamp {
        self.now + Self::UNIT.mul_f64(units)
    }
}

impl Rig for CoreRig {
    const UNIT: Duration = Duration::from_secs(1);
    const SLACK: f64 = 0.0;

    fn start(config: Config) -> Self {
        let mut rig = CoreRig {
            server: Connection::new(Role::Server, config),
            program: Program::default(),
            stream: None,
            peer: Peer::new(),
            now: Timestamp::ZERO,
            pipe: BytesMut::new(),
            unwritten: BytesMut::new(),
            inbox: BytesMut::new(),
            ended: None,
        };
        rig.endpoint_turn();
        rig
    }

    fn now(&self) -> f64 {
        self.units(self.now)
    }

    fn send_within(&mut self, message: Message, units: f64) -> bool {
        self.peer.conn.send(message).unwrap();
        let until = self.later(units);
        self.run(until, false, true, Stop::Written, &mut never);
        self.unwritten.is_empty()
    }

    fn listen_until(
        &mut self,
        units: f64,
        answer: bool,
        done: &mut Done<'_>,
    ) -> Vec<(f64, Message)> {
        self.run(self.later(units), true, answer, Stop::Received, done)
    }

    fn stall(&mut self, units: f64) {
        self.run(self.later(units), false, false, Stop::AtTime, &mut never);
    }

    fn ended(&mut self, units: f64) -> Option<Ended> {
        if self.ended.is_none() {
            // The transport delivers what the endpoint wrote meanwhile.
            self.run(self.later(units), true, false, Stop::AtTime, &mut never);
        }
        self.ended.take()
    }

    fn refusal(request: &[u8], decide: Decide) -> Vec<u8> {
        let config = Config::default();
        let mut buf = BytesMut::from(request);
        let refusal = match ServerHandshake::new(&config).parse(&mut buf) {
            Ok(Some(request)) => match decide.call(&request) {
                Ok(accept) => match request.accept(accept) {
                    Ok(_) => panic!("accepted"),
                    Err(e) => e.refusal(),
                },
                Err(refusal) => refusal,
            },
            Ok(None) => panic!("incomplete request"),
            Err(e) => e.refusal(),
        };
        refusal.to_bytes()
    }
}
