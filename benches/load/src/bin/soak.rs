//! Soak: minutes of connection churn against one or more echo servers, every
//! message accounted for, the servers' memory and open descriptors sampled
//! every second. Current-thread tokio runtime; bounded in time by itself.
//!
//! ```text
//! soak --target NAME=ADDR,PID [--target ...] [--duration S] [--warmup S]
//!      [--workers N] [--long-lived M] [--seed X] [--series FILE]
//!      [--rss-slack-pct P] [--rss-slack-kib K] [--fd-slack F] [--drain S]
//! ```
//!
//! For each target, WORKERS tasks (default 24) run scenarios back to back
//! for DURATION seconds (default 600), each picked at random (seeded):
//!
//! - `session`: a handshake, batches of messages of mixed sizes (0 B to
//!   1 MiB, text with multi-byte UTF-8 or binary, some fragmented, a ping
//!   now and then), each echo checked byte for byte and for its type, then
//!   a clean close (1000 echoed, then the server ends the TCP connection);
//! - `burst`: 10-50 small messages written while their echoes are read;
//! - `reset`: a few checked echoes, then a message written and the
//!   connection reset (SO_LINGER 0) without waiting: that message is
//!   *abandoned*, the only messages not echoed by design;
//! - `eof`: a few checked echoes, then the client's side shut down without a
//!   close frame: the server must end the connection;
//! - `refused`: a handshake with `Sec-WebSocket-Version: 8` (must get 426
//!   and `Sec-WebSocket-Version: 13`) or without `Sec-WebSocket-Key` (must
//!   get a 4xx), then the server must end the connection;
//! - `slow`: one 512 KiB-3 MiB message whose echo is read 8 KiB per
//!   millisecond (the server's writes wait on the reader), then a clean close;
//! - `abandon`: half a handshake request, then the client goes away.
//!
//! Plus LONG-LIVED connections (default 16) that stay up the whole run and
//! echo a message about every second. Pings from the server (keepalive) are
//! answered everywhere. Every scenario must finish within 60 s.
//!
//! Each second the sampler reads each server's VmRSS and its open
//! descriptors (/proc/PID/fd); the series goes to FILE (CSV) if given.
//! After the run every client connection is closed, and each server's
//! descriptors must come back to what they were before the first connection
//! within DRAIN seconds (default 20).
//!
//! A target passes when: no echo differs and no scenario went other than
//! described (`unexpected=0`); messages sent = echoed + abandoned, and
//! every ping the client sent got its pong; after the
//! warm-up (default max(10 s, DURATION / 5)) the samples are cut into
//! thirds, and the last third's highest RSS is at most the first third's
//! highest plus max(P %, K KiB) (defaults 10 %, 2048 KiB), and its highest
//! descriptor count at most the first third's plus F (default 8 + a tenth
//! of the connections the client keeps at once); the descriptors drained.
//! Output: one `key=value` line per target; exit status 1 if any failed.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use rfc6455_load::client::{
    ACCEPT, handshake_request, invalid, masked_frame_op, open_fds, server_frame, socket_from,
    vm_rss_kib,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;

/// Failures reported in full on stderr per target; the rest are counted.
const REPORTED: u64 = 20;
/// Bound of one scenario.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);
/// Source addresses the client's connections come from, in turn (all on
/// loopback), so that churn never runs out of source ports.
const SOURCES: u8 = 8;

/// xorshift64*: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Counters of one target.
#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    sent: AtomicU64,
    echoed: AtomicU64,
    abandoned: AtomicU64,
    bytes: AtomicU64,
    pings_sent: AtomicU64,
    pongs: AtomicU64,
    server_pings: AtomicU64,
    clean_closes: AtomicU64,
    resets: AtomicU64,
    eofs: AtomicU64,
    refused: AtomicU64,
    slow: AtomicU64,
    abandoned_handshakes: AtomicU64,
    unexpected: AtomicU64,
    wrong: AtomicU64,
}

struct Target {
    name: String,
    addr: SocketAddr,
    pid: u32,
    counts: Counts,
    /// (seconds since start, VmRSS KiB, open descriptors), one a second.
    samples: Mutex<Vec<(f64, u64, usize)>>,
}

impl Target {
    fn unexpected(&self, what: &str) {
        if self.counts.unexpected.fetch_add(1, Relaxed) < REPORTED {
            eprintln!("{}: {what}", self.name);
        }
    }
}

/// A data message as sent or received: text or binary, and its bytes.
#[derive(PartialEq)]
struct Msg {
    text: bool,
    data: Vec<u8>,
}

/// What `read` returns besides data messages.
enum Frame {
    Data(Msg),
    Pong,
    Close(Option<u16>),
}

/// A client connection: the halves, bytes read but not yet parsed, the
/// pongs owed for pings read while another task was writing.
struct Ws {
    r: OwnedReadHalf,
    w: OwnedWriteHalf,
    buf: BytesMut,
    owed: Vec<Vec<u8>>,
}

fn source(n: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + (n % SOURCES as u64) as u8))
}

async fn tcp(target: &Target, n: u64) -> io::Result<TcpStream> {
    target.counts.connections.fetch_add(1, Relaxed);
    let tcp = socket_from(target.addr, Some(source(n)))?
        .connect(target.addr)
        .await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Reads up to the end of the response head; returns it and what followed.
async fn response_head(tcp: &mut TcpStream) -> io::Result<(String, BytesMut)> {
    let mut buf = BytesMut::with_capacity(512);
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i + 4]).into_owned();
            buf.advance(i + 4);
            return Ok((head, buf));
        }
        if buf.len() > 16384 || tcp.read_buf(&mut buf).await? == 0 {
            return Err(invalid(format!(
                "response head truncated: {:?}",
                String::from_utf8_lossy(&buf)
            )));
        }
    }
}

impl Ws {
    async fn open(target: &Target, n: u64) -> io::Result<Ws> {
        let mut tcp = tcp(target, n).await?;
        let request = handshake_request(&target.addr.to_string(), "/", "13");
        tcp.write_all(request.as_bytes()).await?;
        let (head, buf) = response_head(&mut tcp).await?;
        if !head.starts_with("HTTP/1.1 101") || !head.contains(ACCEPT) {
            return Err(invalid(format!("handshake refused: {head:?}")));
        }
        let (r, w) = tcp.into_split();
        Ok(Ws {
            r,
            w,
            buf,
            owed: Vec::new(),
        })
    }

    /// Sends `msg` in `pieces` frames.
    async fn send(&mut self, msg: &Msg, pieces: usize) -> io::Result<()> {
        let frames = frames(msg, pieces);
        self.w.write_all(&frames).await
    }

    async fn pay_pongs(&mut self) -> io::Result<()> {
        for payload in std::mem::take(&mut self.owed) {
            self.w
                .write_all(&masked_frame_op(10, true, &payload))
                .await?;
        }
        Ok(())
    }

    /// The next message or control frame other than a ping; pings are
    /// answered (at once if `answer`, else owed). `slow`: read at most 8 KiB
    /// a millisecond.
    async fn read(&mut self, target: &Target, answer: bool, slow: bool) -> io::Result<Frame> {
        let frame = read_frame(&mut self.r, &mut self.buf, &mut self.owed, target, slow).await?;
        if answer {
            self.pay_pongs().await?;
        }
        Ok(frame)
    }

    /// Reads until the echo of `sent`, which must be the next message.
    async fn expect_echo(&mut self, target: &Target, sent: &Msg, slow: bool) -> io::Result<()> {
        loop {
            match self.read(target, true, slow).await? {
                Frame::Data(got) => return check_echo(target, sent, &got),
                Frame::Pong => target.counts.pongs.fetch_add(1, Relaxed),
                Frame::Close(code) => {
                    return Err(invalid(format!(
                        "closed by the server ({code:?}) before an echo"
                    )));
                }
            };
        }
    }

    /// Close 1000, the server's close (1000) back, then the end of the stream.
    async fn close(mut self, target: &Target) -> io::Result<()> {
        self.w
            .write_all(&masked_frame_op(8, true, &[0x03, 0xe8, b'o', b'k']))
            .await?;
        loop {
            match self.read(target, false, false).await {
                Ok(Frame::Close(Some(1000))) => break,
                Ok(Frame::Close(code)) => {
                    return Err(invalid(format!("close answered with {code:?}")));
                }
                Ok(_) => {}
                Err(e) => return Err(invalid(format!("waiting for the close: {e}"))),
            }
        }
        self.expect_end().await?;
        target.counts.clean_closes.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The server must end the connection: EOF or a reset, after anything.
    async fn expect_end(&mut self) -> io::Result<()> {
        loop {
            self.buf.clear();
            self.buf.reserve(4096);
            match self.r.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            }
        }
    }

    fn reset(self) -> io::Result<()> {
        let tcp = self.r.reunite(self.w).map_err(|_| invalid("reunite"))?;
        tcp.set_zero_linger()?;
        drop(tcp);
        Ok(())
    }
}

async fn read_frame(
    r: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    owed: &mut Vec<Vec<u8>>,
    target: &Target,
    slow: bool,
) -> io::Result<Frame> {
    let mut message: Option<Msg> = None;
    loop {
        while let Some(frame) = server_frame(buf)? {
            let payload = buf[frame.start..frame.end()].to_vec();
            buf.advance(frame.end());
            match (frame.opcode, &mut message) {
                (9, _) => {
                    target.counts.server_pings.fetch_add(1, Relaxed);
                    owed.push(payload);
                }
                (10, _) => return Ok(Frame::Pong),
                (8, _) => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    return Ok(Frame::Close(code));
                }
                (1 | 2, None) => {
                    let msg = Msg {
                        text: frame.opcode == 1,
                        data: payload,
                    };
                    if frame.fin {
                        return Ok(Frame::Data(msg));
                    }
                    message = Some(msg);
                }
                (0, Some(msg)) => {
                    msg.data.extend_from_slice(&payload);
                    if frame.fin {
                        return Ok(Frame::Data(message.take().unwrap()));
                    }
                }
                (op, _) => return Err(invalid(format!("unexpected opcode {op}"))),
            }
        }
        if slow {
            let mut chunk = [0u8; 8192];
            let n = r.read(&mut chunk).await?;
            if n == 0 {
                return Err(invalid("the server ended the connection"));
            }
            buf.extend_from_slice(&chunk[..n]);
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            buf.reserve(64 << 10);
            if r.read_buf(buf).await? == 0 {
                return Err(invalid("the server ended the connection"));
            }
        }
    }
}

fn check_echo(target: &Target, sent: &Msg, got: &Msg) -> io::Result<()> {
    if got != sent {
        target.counts.wrong.fetch_add(1, Relaxed);
        return Err(invalid(format!(
            "echo differs: sent {} {} bytes, got {} {} bytes",
            if sent.text { "text" } else { "binary" },
            sent.data.len(),
            if got.text { "text" } else { "binary" },
            got.data.len()
        )));
    }
    target.counts.echoed.fetch_add(1, Relaxed);
    target
        .counts
        .bytes
        .fetch_add(got.data.len() as u64, Relaxed);
    Ok(())
}

/// `msg` as `pieces` masked frames (a text message may be cut inside a
/// character: the server must still see valid UTF-8 once joined).
fn frames(msg: &Msg, pieces: usize) -> Vec<u8> {
    let opcode = if msg.text { 1 } else { 2 };
    let pieces = pieces.clamp(1, msg.data.len().max(1));
    let step = msg.data.len().div_ceil(pieces).max(1);
    let mut out = Vec::with_capacity(msg.data.len() + 14 * pieces);
    let mut chunks: Vec<&[u8]> = msg.data.chunks(step).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.extend(masked_frame_op(
            if i == 0 { opcode } else { 0 },
            i == last,
            chunk,
        ));
    }
    out
}

/// A message of a size drawn from buckets: empty, small, medium, large,
/// and now and then up to 1 MiB.
fn message(rng: &mut Rng, max: usize) -> Msg {
    let size = match rng.next() % 100 {
        0..=4 => 0,
        5..=44 => rng.range(1, 125),
        45..=79 => rng.range(126, 65535),
        80..=94 => rng.range(65536, 262_144),
        _ => rng.range(262_145, 1 << 20),
    }
    .min(max);
    sized_message(rng, size)
}

fn sized_message(rng: &mut Rng, size: usize) -> Msg {
    let text = rng.chance(50);
    let seed = rng.next();
    let mut data = Vec::with_capacity(size);
    if text {
        // ASCII with two-, three- and four-byte characters mixed in.
        let alphabet: [&str; 6] = ["a", "Z", " ", "é", "€", "😀"];
        let mut i = seed;
        while data.len() < size {
            i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let c = alphabet[(i >> 33) as usize % alphabet.len()].as_bytes();
            if data.len() + c.len() > size {
                data.extend(std::iter::repeat_n(b'.', size - data.len()));
            } else {
                data.extend_from_slice(c);
            }
        }
    } else {
        data.extend((0..size).map(|i| (seed as usize).wrapping_add(i * 131) as u8));
    }
    Msg { text, data }
}

/// Sends `msgs` one by one or (if `pipelined`) all at once, and checks the
/// echoes in order; counts them as sent.
async fn exchange(
    ws: &mut Ws,
    target: &Target,
    rng: &mut Rng,
    msgs: &[Msg],
    pipelined: bool,
) -> io::Result<()> {
    if !pipelined {
        for msg in msgs {
            if rng.chance(10) {
                let payload = rng.next().to_le_bytes();
                ws.w.write_all(&masked_frame_op(9, true, &payload)).await?;
                target.counts.pings_sent.fetch_add(1, Relaxed);
            }
            ws.send(msg, pieces(rng)).await?;
            target.counts.sent.fetch_add(1, Relaxed);
            ws.expect_echo(target, msg, false).await?;
        }
        return Ok(());
    }
    // Written while the echoes are read: neither side waits on the other's buffers.
    let bytes: Vec<u8> = msgs.iter().flat_map(|m| frames(m, 1)).collect();
    target.counts.sent.fetch_add(msgs.len() as u64, Relaxed);
    let Ws { r, w, buf, owed } = ws;
    let write = w.write_all(&bytes);
    let read = async {
        for msg in msgs {
            loop {
                match read_frame(r, buf, owed, target, false).await? {
                    Frame::Data(got) => {
                        check_echo(target, msg, &got)?;
                        break;
                    }
                    Frame::Pong => {}
                    Frame::Close(code) => {
                        return Err(invalid(format!("closed ({code:?}) in a burst")));
                    }
                }
            }
        }
        Ok::<_, io::Error>(())
    };
    let (written, read) = tokio::join!(write, read);
    written?;
    read?;
    ws.pay_pongs().await
}

fn pieces(rng: &mut Rng) -> usize {
    if rng.chance(20) { rng.range(2, 4) } else { 1 }
}

async fn scenario(target: &Target, rng: &mut Rng, n: u64) -> io::Result<()> {
    let c = &target.counts;
    match rng.next() % 100 {
        // session
        0..=34 => {
            let mut ws = Ws::open(target, n).await?;
            for _ in 0..rng.range(1, 4) {
                let msgs: Vec<Msg> = (0..rng.range(1, 6))
                    .map(|_| message(rng, 1 << 20))
                    .collect();
                exchange(&mut ws, target, rng, &msgs, false).await?;
            }
            // Pongs to our pings came back before the echoes that followed them.
            ws.close(target).await
        }
        // burst
        35..=49 => {
            let mut ws = Ws::open(target, n).await?;
            let msgs: Vec<Msg> = (0..rng.range(10, 50)).map(|_| message(rng, 1024)).collect();
            exchange(&mut ws, target, rng, &msgs, true).await?;
            ws.close(target).await
        }
        // reset
        50..=64 => {
            let mut ws = Ws::open(target, n).await?;
            let msgs: Vec<Msg> = (0..rng.range(0, 3)).map(|_| message(rng, 65536)).collect();
            exchange(&mut ws, target, rng, &msgs, false).await?;
            let last = message(rng, 65536);
            let bytes = frames(&last, 1);
            // All of it, or (half the time) it cut short.
            let upto = if rng.chance(50) {
                bytes.len()
            } else {
                rng.range(1, bytes.len())
            };
            ws.w.write_all(&bytes[..upto]).await?;
            c.sent.fetch_add(1, Relaxed);
            c.abandoned.fetch_add(1, Relaxed);
            c.resets.fetch_add(1, Relaxed);
            ws.reset()
        }
        // eof
        65..=74 => {
            let mut ws = Ws::open(target, n).await?;
            let msgs: Vec<Msg> = (0..rng.range(0, 2)).map(|_| message(rng, 65536)).collect();
            exchange(&mut ws, target, rng, &msgs, false).await?;
            ws.w.shutdown().await?;
            ws.expect_end().await?;
            c.eofs.fetch_add(1, Relaxed);
            Ok(())
        }
        // refused
        75..=84 => {
            let mut tcp = tcp(target, n).await?;
            let wrong_version = rng.chance(50);
            let mut request = handshake_request(
                &target.addr.to_string(),
                "/",
                if wrong_version { "8" } else { "13" },
            );
            if !wrong_version {
                request = request.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
            }
            tcp.write_all(request.as_bytes()).await?;
            let (head, _) = response_head(&mut tcp).await?;
            let lower = head.to_ascii_lowercase();
            let ok = if wrong_version {
                head.starts_with("HTTP/1.1 426") && lower.contains("sec-websocket-version: 13")
            } else {
                head.starts_with("HTTP/1.1 4")
            };
            if !ok {
                return Err(invalid(format!("refusal answered {head:?}")));
            }
            let mut rest = [0u8; 4096];
            loop {
                match tcp.read(&mut rest).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            c.refused.fetch_add(1, Relaxed);
            Ok(())
        }
        // slow
        85..=94 => {
            let mut ws = Ws::open(target, n).await?;
            let size = rng.range(512 << 10, 3 << 20);
            let msg = sized_message(rng, size);
            let bytes = frames(&msg, pieces(rng));
            c.sent.fetch_add(1, Relaxed);
            let Ws { r, w, buf, owed } = &mut ws;
            let write = w.write_all(&bytes);
            let read = async {
                loop {
                    match read_frame(r, buf, owed, target, true).await? {
                        Frame::Data(got) => return check_echo(target, &msg, &got),
                        Frame::Pong => {}
                        Frame::Close(code) => {
                            return Err(invalid(format!("closed ({code:?}) while reading slowly")));
                        }
                    }
                }
            };
            let (written, read) = tokio::join!(write, read);
            written?;
            read?;
            ws.pay_pongs().await?;
            c.slow.fetch_add(1, Relaxed);
            ws.close(target).await
        }
        // abandon
        _ => {
            let mut tcp = tcp(target, n).await?;
            let request = handshake_request(&target.addr.to_string(), "/", "13");
            tcp.write_all(&request.as_bytes()[..request.len() / 2])
                .await?;
            c.abandoned_handshakes.fetch_add(1, Relaxed);
            if rng.chance(50) {
                tcp.set_zero_linger()?;
            }
            Ok(())
        }
    }
}

async fn worker(target: Arc<Target>, seed: u64, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed | 1);
    let mut n = seed;
    while !stop.load(Relaxed) {
        n += 1;
        match tokio::time::timeout(SCENARIO_LIMIT, scenario(&target, &mut rng, n)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => target.unexpected(&e.to_string()),
            Err(_) => target.unexpected("a scenario took over 60 s"),
        }
    }
}

async fn long_lived(target: Arc<Target>, seed: u64, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed | 1);
    let run = async {
        let mut ws = Ws::open(&target, seed).await?;
        while !stop.load(Relaxed) {
            let wait = rng.range(500, 1500) as u64;
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let msg = message(&mut rng, 4096);
            exchange(
                &mut ws,
                &target,
                &mut rng,
                std::slice::from_ref(&msg),
                false,
            )
            .await?;
        }
        ws.close(&target).await
    };
    if let Err(e) = run.await {
        target.unexpected(&format!("long-lived connection: {e}"));
    }
}

struct Args {
    targets: Vec<(String, SocketAddr, u32)>,
    duration: f64,
    warmup: Option<f64>,
    workers: usize,
    long_lived: usize,
    seed: u64,
    series: Option<String>,
    rss_slack_pct: f64,
    rss_slack_kib: f64,
    fd_slack: Option<usize>,
    drain: f64,
}

fn parse() -> Result<Args, String> {
    let usage = "usage: soak --target NAME=ADDR,PID [--target ...] [--duration S] [--warmup S] \
                 [--workers N] [--long-lived M] [--seed X] [--series FILE] [--rss-slack-pct P] \
                 [--rss-slack-kib K] [--fd-slack F] [--drain S]";
    let mut args = Args {
        targets: Vec::new(),
        duration: 600.0,
        warmup: None,
        workers: 24,
        long_lived: 16,
        seed: 6455,
        series: None,
        rss_slack_pct: 10.0,
        rss_slack_kib: 2048.0,
        fd_slack: None,
        drain: 20.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(usage)?;
        let bad = format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--target" => {
                let (name, rest) = value.split_once('=').ok_or(usage)?;
                let (addr, pid) = rest.split_once(',').ok_or(usage)?;
                args.targets.push((
                    name.to_owned(),
                    addr.parse().map_err(|_| format!("bad address {addr}"))?,
                    pid.parse().map_err(|_| format!("bad pid {pid}"))?,
                ));
            }
            "--duration" => args.duration = value.parse().map_err(|_| bad.clone())?,
            "--warmup" => args.warmup = Some(value.parse().map_err(|_| bad.clone())?),
            "--workers" => args.workers = value.parse().map_err(|_| bad.clone())?,
            "--long-lived" => args.long_lived = value.parse().map_err(|_| bad.clone())?,
            "--seed" => args.seed = value.parse().map_err(|_| bad.clone())?,
            "--series" => args.series = Some(value),
            "--rss-slack-pct" => args.rss_slack_pct = value.parse().map_err(|_| bad.clone())?,
            "--rss-slack-kib" => args.rss_slack_kib = value.parse().map_err(|_| bad.clone())?,
            "--fd-slack" => args.fd_slack = Some(value.parse().map_err(|_| bad.clone())?),
            "--drain" => args.drain = value.parse().map_err(|_| bad.clone())?,
            _ => return Err(usage.into()),
        }
    }
    if args.targets.is_empty() {
        return Err(usage.into());
    }
    Ok(args)
}

/// Highest (RSS, descriptors) of the samples with `lo <= t < hi`.
fn highest(samples: &[(f64, u64, usize)], lo: f64, hi: f64) -> (u64, usize) {
    samples
        .iter()
        .filter(|s| s.0 >= lo && s.0 < hi)
        .fold((0, 0), |(r, f), s| (r.max(s.1), f.max(s.2)))
}

async fn run(args: Args) -> io::Result<bool> {
    let targets: Vec<Arc<Target>> = args
        .targets
        .iter()
        .map(|(name, addr, pid)| {
            Arc::new(Target {
                name: name.clone(),
                addr: *addr,
                pid: *pid,
                counts: Counts::default(),
                samples: Mutex::new(Vec::new()),
            })
        })
        .collect();
    let base: Vec<(u64, usize)> = targets
        .iter()
        .map(|t| Ok((vm_rss_kib(t.pid)?, open_fds(t.pid)?)))
        .collect::<io::Result<_>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for (i, target) in targets.iter().enumerate() {
        for k in 0..args.workers {
            let seed = args.seed.wrapping_mul(1_000_003) + (i * 10_000 + k) as u64 * 7919;
            tasks.spawn(worker(target.clone(), seed, stop.clone()));
        }
        for k in 0..args.long_lived {
            let seed = args.seed.wrapping_mul(1_000_033) + (i * 10_000 + k) as u64 * 104_729;
            tasks.spawn(long_lived(target.clone(), seed, stop.clone()));
        }
    }
    // The sampler: one reading of every server a second.
    let start = Instant::now();
    let mut series = match &args.series {
        Some(path) => {
            let mut f = std::fs::File::create(path)?;
            use std::io::Write;
            writeln!(f, "seconds,server,rss_kib,fds")?;
            Some(f)
        }
        None => None,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let t = start.elapsed().as_secs_f64();
        for target in &targets {
            let sample = (t, vm_rss_kib(target.pid)?, open_fds(target.pid)?);
            if let Some(f) = &mut series {
                use std::io::Write;
                writeln!(f, "{:.1},{},{},{}", t, target.name, sample.1, sample.2)?;
            }
            target.samples.lock().unwrap().push(sample);
        }
        if t >= args.duration {
            break;
        }
    }
    stop.store(true, Relaxed);
    while tasks.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    // Every client connection is closed: each server's descriptors must
    // come back to where they started (sampled, as above, once a second).
    let mut drained = vec![None; targets.len()];
    let drain_start = Instant::now();
    while drained.iter().any(Option::is_none) && drain_start.elapsed().as_secs_f64() < args.drain {
        for (i, target) in targets.iter().enumerate() {
            if drained[i].is_none() && open_fds(target.pid)? <= base[i].1 {
                drained[i] = Some(drain_start.elapsed().as_secs_f64());
            }
        }
        if drained.iter().any(Option::is_none) {
            tick.tick().await;
        }
    }
    let warmup = args.warmup.unwrap_or((args.duration / 5.0).max(10.0));
    let third = (args.duration - warmup) / 3.0;
    let held = args.workers + args.long_lived;
    let fd_slack = args.fd_slack.unwrap_or(8 + held / 10);
    let mut all_ok = true;
    for (i, target) in targets.iter().enumerate() {
        let c = &target.counts;
        let samples = target.samples.lock().unwrap();
        let (rss_first, fds_first) = highest(&samples, warmup, warmup + third);
        let (rss_last, fds_last) = highest(&samples, warmup + 2.0 * third, f64::INFINITY);
        let (rss_warm, _) = highest(&samples, 0.0, warmup);
        let rss_allowed = rss_first as f64
            + (rss_first as f64 * args.rss_slack_pct / 100.0).max(args.rss_slack_kib);
        let sent = c.sent.load(Relaxed);
        let accounted = c.echoed.load(Relaxed) + c.abandoned.load(Relaxed);
        let fds_end = open_fds(target.pid)?;
        let mut failed = Vec::new();
        if c.unexpected.load(Relaxed) > 0 || c.wrong.load(Relaxed) > 0 {
            failed.push("unexpected");
        }
        if sent != accounted || c.pongs.load(Relaxed) != c.pings_sent.load(Relaxed) {
            failed.push("accounting");
        }
        if rss_last as f64 > rss_allowed {
            failed.push("rss");
        }
        if fds_last > fds_first + fd_slack {
            failed.push("fds");
        }
        if drained[i].is_none() {
            failed.push("drain");
        }
        all_ok &= failed.is_empty();
        println!(
            "target name={} secs={secs:.0} connections={} sent={sent} echoed={} abandoned={} mib={:.0} \
             pings_sent={} pongs={} server_pings={} clean_closes={} resets={} eofs={} refused={} slow={} \
             abandoned_handshakes={} wrong={} unexpected={} rss_base_kib={} rss_warmup_max_kib={rss_warm} \
             rss_first_max_kib={rss_first} rss_last_max_kib={rss_last} rss_allowed_kib={rss_allowed:.0} \
             fds_base={} fds_first_max={fds_first} fds_last_max={fds_last} fds_allowed={} fds_end={fds_end} \
             drained_s={} samples={} warmup_s={warmup:.0} verdict={}",
            target.name,
            c.connections.load(Relaxed),
            c.echoed.load(Relaxed),
            c.abandoned.load(Relaxed),
            c.bytes.load(Relaxed) as f64 / (1 << 20) as f64,
            c.pings_sent.load(Relaxed),
            c.pongs.load(Relaxed),
            c.server_pings.load(Relaxed),
            c.clean_closes.load(Relaxed),
            c.resets.load(Relaxed),
            c.eofs.load(Relaxed),
            c.refused.load(Relaxed),
            c.slow.load(Relaxed),
            c.abandoned_handshakes.load(Relaxed),
            c.wrong.load(Relaxed),
            c.unexpected.load(Relaxed),
            base[i].0,
            base[i].1,
            fds_first + fd_slack,
            drained[i].map_or("never".into(), |s| format!("{s:.0}")),
            samples.len(),
            if failed.is_empty() {
                "ok".into()
            } else {
                format!("FAILED({})", failed.join(","))
            },
        );
    }
    Ok(all_ok)
}

fn main() {
    let args = match parse() {
        Ok(args) => args,
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let limit = Duration::from_secs_f64(args.duration + args.drain + 120.0);
    let result = runtime.block_on(async move {
        tokio::time::timeout(limit, run(args))
            .await
            .unwrap_or_else(|_| Err(invalid("timed out")))
    });
    match result {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    }
}
