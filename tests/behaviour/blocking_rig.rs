//! The blocking adapter over loopback in real time, one unit being 100 ms:
//! the endpoint is a thread blocked in `read` or `send`, and only the
//! connection's deadlines (kept with socket timeouts) wake it. With `SPLIT`,
//! the endpoint is split: a reader thread, and a writer thread doing the
//! sending (the flood included) while the reader keeps the deadlines.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rfc6455::blocking::{self, WebSocket};
use rfc6455::handshake::ClientRequest;
use rfc6455::{Config, Error, Event, Message, StreamError};

use crate::rig::{Action, Decide, Ended, FLOOD, Peer, Rig, flood_message, normal_close, react};

pub struct BlockingRig<const SPLIT: bool> {
    tcp: TcpStream,
    peer: Peer,
    start: Instant,
    ended: mpsc::Receiver<Ended>,
}

fn units_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() / BlockingRig::<false>::UNIT.as_secs_f64()
}

fn failure_of(e: StreamError) -> Option<Error> {
    match e {
        StreamError::Closed => None,
        StreamError::Protocol(e) => Some(e),
        other => panic!("not a protocol failure: {other:?}"),
    }
}

/// The endpoint's program on the blocking adapter.
fn endpoint(mut ws: WebSocket<TcpStream>, start: Instant, report: mpsc::Sender<Ended>) {
    let result: Result<(), StreamError> = (|| loop {
        match react(ws.read()?) {
            Some(Action::Echo(m)) => ws.send(m)?,
            Some(Action::Flood) => {
                for _ in 0..FLOOD {
                    ws.send(flood_message())?;
                }
            }
            Some(Action::Close) => ws.send(normal_close())?,
            None => {}
        }
    })();
    let _ = report.send(Ended {
        at: units_since(start),
        failure: result.err().and_then(failure_of),
        latency: ws.connection().latency(),
    });
}

/// The endpoint's program on a split connection: the reader reads and
/// hands the sending to the writer's thread.
fn split_endpoint(ws: WebSocket<TcpStream>, start: Instant, report: mpsc::Sender<Ended>) {
    let (mut reader, writer) = ws.split().unwrap();
    let (todo, jobs) = mpsc::channel::<Action>();
    thread::spawn(move || {
        for job in jobs {
            let sent = match job {
                Action::Echo(m) => writer.send(m),
                Action::Flood => (0..FLOOD).try_for_each(|_| writer.send(flood_message())),
                Action::Close => writer.send(normal_close()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let result: Result<(), StreamError> = (|| loop {
        if let Some(action) = react(reader.read()?) {
            let _ = todo.send(action);
        }
    })();
    let _ = report.send(Ended {
        at: units_since(start),
        failure: result.err().and_then(failure_of),
        latency: reader.with_connection(|c| c.latency()),
    });
}

impl<const SPLIT: bool> Rig for BlockingRig<SPLIT> {
    const UNIT: Duration = Duration::from_millis(100);
    const SLACK: f64 = 5.0;

    fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, ended) = mpsc::channel();
        let (start_tx, start_rx) = mpsc::channel();
        thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let ws = blocking::accept_with(tcp, config, |_| Ok(rfc6455::handshake::Accept::new()))
                .unwrap();
            let start: Instant = start_rx.recv().unwrap();
            if SPLIT {
                split_endpoint(ws, start, tx);
            } else {
                endpoint(ws, start, tx);
            }
        });
        let mut tcp = TcpStream::connect(addr).unwrap();
        let (request, mut handshake) = ClientRequest::new(&format!("ws://{addr}/"))
            .unwrap()
            .build(&Config::default())
            .unwrap();
        tcp.write_all(&request).unwrap();
        let mut buf = BytesMut::new();
        while handshake.parse(&mut buf).unwrap().is_none() {
            let mut chunk = [0u8; 1024];
            let n = tcp.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
        }
        let start = Instant::now();
        start_tx.send(start).unwrap();
        BlockingRig {
            tcp,
            peer: Peer::new(),
            start,
            ended,
        }
    }

    fn now(&self) -> f64 {
        units_since(self.start)
    }

    fn send(&mut self, message: Message) {
        self.peer.conn.send(message).unwrap();
        let out = self.peer.output();
        self.tcp.write_all(&out).unwrap();
    }

    fn listen(&mut self, units: f64, answer: bool) -> Vec<(f64, Event)> {
        let until = Instant::now() + Self::UNIT.mul_f64(units);
        let mut events = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return events;
            }
            self.tcp.set_read_timeout(Some(left)).unwrap();
            match self.tcp.read(&mut chunk) {
                Ok(0) => {
                    let _ = self.peer.conn.receive_eof();
                    // The transport is closed: only time is left to pass.
                    thread::sleep(until.saturating_duration_since(Instant::now()));
                    return events;
                }
                Ok(n) => {
                    self.peer.inbox.extend_from_slice(&chunk[..n]);
                    self.peer.decode(units_since(self.start), &mut events);
                    if answer {
                        let out = self.peer.output();
                        let _ = self.tcp.write_all(&out);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    thread::sleep(until.saturating_duration_since(Instant::now()));
                    return events;
                }
            }
        }
    }

    /// A split endpoint closes from its writer thread while its reader is
    /// blocked: the read notices within the close timeout.
    fn close_notice_lag(close_timeout: f64) -> f64 {
        if SPLIT { close_timeout } else { 0.0 }
    }

    fn stall(&mut self, units: f64) {
        // The passage of time is the scenario here, not a synchronisation.
        thread::sleep(Self::UNIT.mul_f64(units));
    }

    fn ended(&mut self, units: f64) -> Option<Ended> {
        self.ended
            .recv_timeout(Self::UNIT.mul_f64(units + Self::SLACK))
            .ok()
    }

    fn refusal(request: &[u8], decide: Decide) -> Vec<u8> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            blocking::accept_with(tcp, Config::default(), |r| decide.call(r)).map(|_| ())
        });
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.write_all(request).unwrap();
        tcp.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).unwrap();
        assert!(server.join().unwrap().is_err(), "refused");
        answer
    }
}
