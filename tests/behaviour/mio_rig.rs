//! The `mio` driver of `examples/echo_server_mio` (written only against the
//! crate's public API) over loopback in real time, one unit being 100 ms:
//! the endpoint is the example's event loop on its own thread, woken only by
//! its sockets and by the earliest deadline of its connections. The example's
//! driver is included as it is; the endpoint's program plugs in as its
//! `Handler`, where the example plugs in an echo.

#[path = "../../examples/echo_server_mio/driver.rs"]
mod driver;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeRequest, Refusal};
use rfc6455::{Config, Connection, Error, Message, StreamError};

use crate::rig::{
    Action, Decide, Done, ENDPOINT_SEED, Ended, FLOOD, Peer, Program, Rig, flood_message,
    listen_on, normal_close, small_socket, stream_chunk, write_until,
};

/// How the endpoint ended: when, its outcome, its last keepalive round trip.
type Report = (Instant, Result<(), StreamError>, Option<Duration>);

pub struct MioRig {
    tcp: TcpStream,
    peer: Peer,
    start: Instant,
    ended: mpsc::Receiver<Report>,
}

fn units_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() / MioRig::UNIT.as_secs_f64()
}

/// The endpoint's program as the driver's `Handler`: a flood or a stream is
/// sent as the output makes room, as a non-blocking application does, and
/// reading goes on meanwhile.
struct Endpoint {
    decide: Decide,
    program: Program,
    flood_left: usize,
    stream: Option<(usize, Bytes)>,
    report: mpsc::Sender<Report>,
    done: Rc<Cell<bool>>,
}

impl driver::Handler for Endpoint {
    fn decide(&mut self, request: &HandshakeRequest) -> Result<Accept, Refusal> {
        self.decide.call(request)
    }

    /// The program counts what arrives rather than answering it: it keeps
    /// taking messages while its own output is full.
    fn ready(&self, _: &Connection) -> bool {
        true
    }

    fn event(&mut self, conn: &mut Connection, message: Message) {
        let full = conn.output_is_full();
        match self.program.react(message, full) {
            Some(Action::Reply(m)) => conn.send(m).unwrap(),
            Some(Action::Flood) => {
                self.flood_left = FLOOD;
                self.writable(conn);
            }
            Some(Action::Stream(n)) => {
                self.stream = Some((n, stream_chunk(ENDPOINT_SEED)));
                self.writable(conn);
            }
            Some(Action::Close) => conn.send(normal_close()).unwrap(),
            None => {}
        }
    }

    fn writable(&mut self, conn: &mut Connection) {
        while self.flood_left > 0 && !conn.output_is_full() {
            conn.send(flood_message()).unwrap();
            self.flood_left -= 1;
        }
        while let Some((left @ 1.., chunk)) = &mut self.stream {
            if conn.output_is_full() || !conn.can_send() {
                break;
            }
            conn.send(Message::Binary(chunk.clone())).unwrap();
            *left -= 1;
        }
    }

    fn closed(&mut self, conn: Option<&Connection>, outcome: Result<(), StreamError>) {
        let latency = conn.and_then(Connection::latency);
        let _ = self.report.send((Instant::now(), outcome, latency));
        self.done.set(true);
    }
}

/// Starts the example's event loop on a thread of its own, for one client.
fn serve(config: Config, decide: Decide) -> (SocketAddr, mpsc::Receiver<Report>) {
    // A listener with small socket buffers, from tokio's socket builder.
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let listener: TcpListener = {
        let _in = setup.enter();
        let socket = small_socket();
        socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
        socket.listen(16).unwrap().into_std().unwrap()
    };
    let addr = listener.local_addr().unwrap();
    let (report, ended) = mpsc::channel();
    thread::spawn(move || {
        let done = Rc::new(Cell::new(false));
        let program = || Endpoint {
            decide,
            program: Program::default(),
            flood_left: 0,
            stream: None,
            report: report.clone(),
            done: Rc::clone(&done),
        };
        driver::serve(listener, &config, program, || done.get()).unwrap();
    });
    (addr, ended)
}

fn failure_of(outcome: Result<(), StreamError>) -> Option<Error> {
    match outcome {
        Ok(()) => None,
        Err(StreamError::Protocol(e)) => Some(e),
        Err(other) => panic!("not a protocol failure: {other:?}"),
    }
}

impl Rig for MioRig {
    const UNIT: Duration = Duration::from_millis(100);
    const SLACK: f64 = 5.0;

    fn start(config: Config) -> Self {
        let (addr, ended) = serve(config, Decide::Accept);
        let setup = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
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
        MioRig {
            tcp,
            peer: Peer::new(),
            start: Instant::now(),
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

    fn stall(&mut self, units: f64) {
        // The passage of time is the scenario here, not a synchronisation.
        thread::sleep(Self::UNIT.mul_f64(units));
    }

    fn ended(&mut self, units: f64) -> Option<Ended> {
        let (at, outcome, latency) = self
            .ended
            .recv_timeout(Self::UNIT.mul_f64(units + Self::SLACK))
            .ok()?;
        Some(Ended {
            at: at.saturating_duration_since(self.start).as_secs_f64() / Self::UNIT.as_secs_f64(),
            failure: failure_of(outcome),
            latency,
        })
    }

    fn refusal(request: &[u8], decide: Decide) -> Vec<u8> {
        let (addr, ended) = serve(Config::default(), decide);
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.write_all(request).unwrap();
        tcp.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).unwrap();
        let (_, outcome, _) = ended.recv().unwrap();
        assert!(outcome.is_err(), "refused");
        answer
    }
}
