//! The sans-IO core with simulated time: the driver contract of
//! [`Connection`] in a few lines, and a clock that jumps from deadline to
//! deadline.

use std::time::Duration;

use bytes::BytesMut;
use rfc6455::handshake::ServerHandshake;
use rfc6455::{Config, Connection, Event, Message, Received, Role, Timestamp};

use crate::rig::{Action, Decide, Ended, FLOOD, Peer, Rig, flood_message, normal_close, react};

pub struct CoreRig {
    server: Connection,
    peer: Peer,
    now: Timestamp,
    to_server: BytesMut,
    ended: Option<Ended>,
}

impl CoreRig {
    fn units(&self, t: Timestamp) -> f64 {
        t.as_duration().as_secs_f64() / Self::UNIT.as_secs_f64()
    }

    /// The endpoint's turn: feed, tell the time, act. True if it did
    /// anything.
    fn endpoint_turn(&mut self) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let mut busy = false;
        while let Ok(Received::Event(event)) = self.server.receive(&mut self.to_server) {
            busy = true;
            match react(Message::from(event)) {
                Some(Action::Echo(m)) => self.server.send(m).unwrap(),
                Some(Action::Flood) => {
                    for _ in 0..FLOOD {
                        self.server.send(flood_message()).unwrap();
                    }
                }
                Some(Action::Close) => self.server.send(normal_close()).unwrap(),
                None => {}
            }
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

    /// Runs both sides until `until`, the peer reading if `reads` and
    /// writing what it queued if `answers`.
    fn run(&mut self, until: Timestamp, reads: bool, answers: bool) -> Vec<(f64, Event)> {
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
            }
            if answers && self.ended.is_none() {
                let out = self.peer.output();
                busy |= !out.is_empty();
                self.to_server.extend_from_slice(&out);
            }
            if busy {
                continue;
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
            peer: Peer::new(),
            now: Timestamp::ZERO,
            to_server: BytesMut::new(),
            ended: None,
        };
        rig.endpoint_turn();
        rig
    }

    fn now(&self) -> f64 {
        self.units(self.now)
    }

    fn send(&mut self, message: Message) {
        self.peer.conn.send(message).unwrap();
        let out = self.peer.output();
        self.to_server.extend_from_slice(&out);
        self.run(self.now, false, false);
    }

    fn listen(&mut self, units: f64, answer: bool) -> Vec<(f64, Event)> {
        self.run(self.later(units), true, answer)
    }

    fn stall(&mut self, units: f64) {
        self.run(self.later(units), false, false);
    }

    fn ended(&mut self, units: f64) -> Option<Ended> {
        if self.ended.is_none() {
            // The transport delivers what the endpoint wrote meanwhile.
            self.run(self.later(units), true, false);
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
