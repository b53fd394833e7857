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
use rfc6455::{Config, Error, Message, StreamError};

use crate::rig::{
    Action, Decide, Done, ENDPOINT_SEED, Ended, FLOOD, Peer, Program, Rig, flood_message,
    listen_on, normal_close, small_socket, stream_chunk, write_until,
};

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

/// Sends a stream of `n` messages, each sent by `send` (which waits for
/// room in the output).
fn stream(
    n: usize,
    mut send: impl FnMut(Message) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let chunk = stream_chunk(ENDPOINT_SEED);
    (0..n).try_for_each(|_| send(Message::Binary(chunk.clone())))
}

/// The endpoint's program on the blocking adapter.
fn endpoint(mut ws: WebSocket<TcpStream>, start: Instant, report: mpsc::Sender<Ended>) {
    let mut program = Program::default();
    let result: Result<(), StreamError> = (|| loop {
        let message = ws.read()?;
        let full = ws.connection().output_is_full();
        match program.react(message, full) {
            Some(Action::Reply(m)) => ws.send(m)?,
            Some(Action::Flood) => {
                for _ in 0..FLOOD {
                    ws.send(flood_message())?;
                }
            }
            // Reading stops until the stream is sent (this rig is not
            // full duplex).
            Some(Action::Stream(n)) => stream(n, |m| ws.send(m))?,
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
                Action::Reply(m) => writer.send(m),
                Action::Flood => (0..FLOOD).try_for_each(|_| writer.send(flood_message())),
                Action::Stream(n) => stream(n, |m| writer.send(m)),
                Action::Close => writer.send(normal_close()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let mut program = Program::default();
    let result: Result<(), StreamError> = (|| loop {
        let message = reader.read()?;
        let full = reader.with_connection(|c| c.output_is_full());
        if let Some(action) = program.react(message, full) {
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
    const FULL_DUPLEX: bool = SPLIT;

    fn start(config: Config) -> Self {
        // Sockets with small buffers, from tokio's socket builder.
        let setup = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let listener = {
            let _in = setup.enter();
            let socket = small_socket();
            socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
            socket.listen(16).unwrap().into_std().unwrap()
        };
        listener.set_nonblocking(false).unwrap();
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
        let mut tcp = setup
            .block_on(small_socket().connect(addr))
            .unwrap()
            .into_std()
            .unwrap();
        tcp.set_nonblocking(false).unwrap();
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

    fn send_within(&mut self, message: Message, units: f64) -> bool {
        self.peer.conn.send(message).unwrap();
        let out = self.peer.output();
        let until = Instant::now() + Self::UNIT.mul_f64(units);
        write_until(&mut self.tcp, &out, until)
    }

    fn listen_until(
        &mut self,
        units: f64,
        answer: bool,
        done: &mut Done<'_>,
    ) -> Vec<(f64, Message)> {
        let until = Instant::now() + Self::UNIT.mul_f64(units);
        listen_on(
            &mut self.tcp,
            &mut self.peer,
            Self::UNIT,
            self.start,
            until,
            answer,
            done,
        )
    }

    /// A split endpoint closes from its writer thread while its reader is
    /// blocked: the read notices within the close timeout.
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
