//! The tokio adapter over loopback in real time, one unit being 100 ms: the
//! endpoint is a task on its own worker thread, woken only by the
//! transport and by the one timer the stream keeps at the connection's
//! deadline. Asked for a stream, the endpoint splits its stream: a task
//! sends while the first goes on reading.
//!
//! (tokio's paused clock would make this instant, but it advances to the
//! next timer even when a socket has just become readable, so a peer's
//! bytes can lose a race against a deadline they should have beaten.)

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::ClientRequest;
use rfc6455::tokio::{WebSocketStream, Writer, accept_with};
use rfc6455::{Config, Error, Message, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::rig::{
    Action, Decide, Done, ENDPOINT_SEED, Ended, FLOOD, Peer, Program, Rig, flood_message,
    normal_close, small_socket, stream_chunk,
};

pub struct TokioRig {
    rt: Runtime,
    tcp: TcpStream,
    peer: Peer,
    start: Instant,
    ended: mpsc::UnboundedReceiver<Ended>,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn failure_of(e: StreamError) -> Error {
    match e {
        StreamError::Protocol(e) => e,
        other => panic!("not a protocol failure: {other:?}"),
    }
}

fn units_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() / TokioRig::UNIT.as_secs_f64()
}

/// The endpoint's program on the tokio adapter: one task reading and
/// sending, until a stream is asked for.
async fn endpoint(
    tcp: TcpStream,
    config: Config,
    start: Instant,
    report: mpsc::UnboundedSender<Ended>,
) {
    let mut ws = accept_with(tcp, config, |_| Ok(rfc6455::handshake::Accept::new()))
        .await
        .unwrap();
    let mut program = Program::default();
    let result: Result<Option<usize>, StreamError> = async {
        while let Some(message) = ws.next().await {
            let full = ws.connection().output_is_full();
            match program.react(message?, full) {
                Some(Action::Reply(m)) => ws.send(m).await?,
                Some(Action::Flood) => {
                    for _ in 0..FLOOD {
                        ws.send(flood_message()).await?;
                    }
                }
                Some(Action::Stream(n)) => return Ok(Some(n)),
                Some(Action::Close) => ws.send(normal_close()).await?,
                None => {}
            }
        }
        Ok(None)
    }
    .await;
    let (result, latency) = match result {
        Ok(Some(n)) => full_duplex(ws, program, n).await,
        other => (other.map(drop), ws.connection().latency()),
    };
    let _ = report.send(Ended {
        at: units_since(start),
        failure: result.err().map(failure_of),
        latency,
    });
}

/// The rest of the endpoint's program once a stream of `n` messages is
/// asked for: the stream split, the sending (the stream, then replies) in
/// a task of its own, the reading here.
async fn full_duplex(
    ws: WebSocketStream<TcpStream>,
    mut program: Program,
    n: usize,
) -> (Result<(), StreamError>, Option<Duration>) {
    let (mut reader, mut writer) = ws.split();
    let (todo, mut jobs) = mpsc::unbounded_channel();
    let _ = todo.send(Action::Stream(n));
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let sent = match job {
                Action::Reply(m) => writer.send(m).await,
                Action::Flood => send_each(&mut writer, FLOOD, flood_message()).await,
                Action::Stream(n) => {
                    let chunk = Message::Binary(stream_chunk(ENDPOINT_SEED));
                    send_each(&mut writer, n, chunk).await
                }
                Action::Close => writer.send(normal_close()).await,
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let result = async {
        while let Some(message) = reader.next().await {
            let full = reader.with_connection(|c| c.output_is_full());
            if let Some(action) = program.react(message?, full) {
                let _ = todo.send(action);
            }
        }
        Ok(())
    }
    .await;
    (result, reader.with_connection(|c| c.latency()))
}

/// Sends `message` `n` times, each send waiting for room in the output.
async fn send_each(
    writer: &mut Writer<TcpStream>,
    n: usize,
    message: Message,
) -> Result<(), StreamError> {
    for _ in 0..n {
        writer.send(message.clone()).await?;
    }
    Ok(())
}

/// The peer reads until `done` or `until`, answering if `answer`.
async fn read_until(
    tcp: &mut TcpStream,
    peer: &mut Peer,
    start: Instant,
    until: Instant,
    answer: bool,
    done: &mut Done<'_>,
) -> Vec<(f64, Message)> {
    let mut events = Vec::new();
    let mut eof = false;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        tokio::select! {
            read = tcp.read(&mut chunk), if !eof => match read {
                Ok(0) | Err(_) => {
                    eof = true;
                    let _ = peer.conn.receive_eof();
                }
                Ok(n) => {
                    peer.inbox.extend_from_slice(&chunk[..n]);
                    peer.decode(units_since(start), &mut events);
                    if done(&events) {
                        return events;
                    }
                    if answer {
                        let out = peer.output();
                        let _ = tokio::time::timeout_at(until, tcp.write_all(&out)).await;
                    }
                }
            },
            () = tokio::time::sleep_until(until) => return events,
        }
    }
}

impl Rig for TokioRig {
    const UNIT: Duration = Duration::from_millis(100);
    const SLACK: f64 = 5.0;

    fn start(config: Config) -> Self {
        let rt = runtime();
        let (tx, ended) = mpsc::unbounded_channel();
        let (tcp, start) = rt.block_on(async {
            let socket = small_socket();
            socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
            let listener = socket.listen(16).unwrap();
            let addr = listener.local_addr().unwrap();
            let start = Instant::now();
            tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                endpoint(tcp, config, start, tx).await;
            });
            let mut tcp = small_socket().connect(addr).await.unwrap();
            let (request, mut handshake) = ClientRequest::new(&format!("ws://{addr}/"))
                .unwrap()
                .build(&Config::default())
                .unwrap();
            tcp.write_all(&request).await.unwrap();
            let mut buf = BytesMut::new();
            while handshake.parse(&mut buf).unwrap().is_none() {
                tcp.read_buf(&mut buf).await.unwrap();
            }
            (tcp, start)
        });
        TokioRig {
            rt,
            tcp,
            peer: Peer::new(),
            start,
            ended,
        }
    }

    fn now(&self) -> f64 {
        let _guard = self.rt.enter();
        units_since(self.start)
    }

    fn send_within(&mut self, message: Message, units: f64) -> bool {
        self.peer.conn.send(message).unwrap();
        let out = self.peer.output();
        let wait = Self::UNIT.mul_f64(units);
        let tcp = &mut self.tcp;
        self.rt
            .block_on(async { tokio::time::timeout(wait, tcp.write_all(&out)).await })
            .is_ok_and(|written| written.is_ok())
    }

    fn listen_until(
        &mut self,
        units: f64,
        answer: bool,
        done: &mut Done<'_>,
    ) -> Vec<(f64, Message)> {
        let (tcp, peer) = (&mut self.tcp, &mut self.peer);
        let until = {
            let _guard = self.rt.enter();
            Instant::now() + Self::UNIT.mul_f64(units)
        };
        self.rt
            .block_on(read_until(tcp, peer, self.start, until, answer, done))
    }

    fn stall(&mut self, units: f64) {
        let d = Self::UNIT.mul_f64(units);
        self.rt.block_on(async { tokio::time::sleep(d).await });
    }

    fn ended(&mut self, units: f64) -> Option<Ended> {
        let wait = Self::UNIT.mul_f64(units + Self::SLACK);
        self.rt
            .block_on(async { tokio::time::timeout(wait, self.ended.recv()).await })
            .ok()
            .flatten()
    }

    fn refusal(request: &[u8], decide: Decide) -> Vec<u8> {
        runtime().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                accept_with(tcp, Config::default(), |r| decide.call(r))
                    .await
                    .map(|_| ())
            });
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            tcp.write_all(request).await.unwrap();
            tcp.shutdown().await.unwrap();
            let mut answer = Vec::new();
            tcp.read_to_end(&mut answer).await.unwrap();
            assert!(server.await.unwrap().is_err(), "refused");
            answer
        })
    }
}
