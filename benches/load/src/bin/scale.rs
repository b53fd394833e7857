//! Scale: thousands of connections held open against one server, in stages,
//! with the server's keepalive answered and every connection checked.
//! Current-thread tokio runtime; bounded in time by itself.
//!
//! ```text
//! scale hold ADDR --stages 1000,5000,15000 [--pings] [--pid PID] [--bind IP,IP,..]
//!       [--concurrency N] [--settle S] [--window S] [--hold S] [--every S]
//!       [--size B] [--limit S]
//!     Opens connections up to each stage's count (CONCURRENCY handshakes in
//!     flight, default 128) and reports the handshakes per second; lets them
//!     sit for SETTLE seconds (default 2), then over WINDOW seconds (default
//!     5) measures the server's CPU time (utime + stime from /proc/PID/stat)
//!     per ping answered and its VmRSS (minus the one read before the first
//!     connection, per connection); then an echo round: every connection
//!     sends one binary message of SIZE bytes (default 32: its number, the
//!     round's, a pattern) and must get it back unchanged. After the last
//!     stage, HOLD seconds (default 10) with an echo round every EVERY
//!     seconds (default 5) and VmRSS read every second.
//!     Every ping from the server is answered with its pong. With --pings
//!     the server is expected to ping (keepalive): every connection must
//!     have been pinged during the hold.
//! scale broadcast ADDR RECEIVERS [--messages K] [--size B] [--pings] [--pid PID]
//!       [--bind IP,IP,..] [--concurrency N] [--limit S]
//!     Against a fan-out server (protocol: `rfc6455_load::PRODUCE_PATH`):
//!     RECEIVERS connections to `/`, then a producer on `/produce` sends K
//!     messages (default 20) of SIZE bytes (default 32; the first 8 are the
//!     sequence number), one at a time: each is timed from its send until
//!     every receiver has it.
//! ```
//!
//! With --bind, connections come from those source addresses in turn.
//!
//! A connection the server closes or fails, an echo that does not come back
//! or comes back different, a broadcast message missed or out of order, and
//! (with --pings) a connection never pinged are failures: the process then
//! exits with status 1. Output: `key=value` lines (`stage ...`, `hold ...`,
//! `broadcast ...`, `result ...`) for scripts/scale.sh.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use rfc6455_load::PRODUCE_PATH;
use rfc6455_load::client::{
    ACCEPT, cpu_us, handshake_request, invalid, masked_frame_op, run_wait_us, server_frame,
    socket_from, vm_rss_kib,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};

/// Failures reported on stderr in full; the rest are only counted.
const REPORTED: u64 = 10;

/// What the receiving side of a connection expects of data messages.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The echo of the last message this connection sent.
    Echo,
    /// Broadcast messages, sequence numbers 0, 1, 2, ... in order.
    Broadcast,
}

/// State shared by every connection task and the controller (one runtime
/// thread; atomics because spawned tasks must be `Send`).
struct Shared {
    mode: Mode,
    size: usize,
    /// Per connection: pings received.
    pings: Vec<AtomicU32>,
    pings_total: AtomicU64,
    /// Longest time between two pings on one connection, µs.
    ping_gap_max_us: AtomicU64,
    /// Connections whose handshake completed.
    connected: AtomicU64,
    connect_failed: AtomicU64,
    /// Connections that ended (closed by the server, reset, garbage).
    dropped: AtomicU64,
    /// Echoes or broadcast messages received as expected.
    received: AtomicU64,
    /// Data messages that were not what was expected.
    wrong: AtomicU64,
    /// Rounds a connection could not take part in (its previous echo was
    /// still out).
    late: AtomicU64,
    /// Longest echo round trip of one connection, µs.
    echo_max_us: AtomicU64,
    /// The controller waits for `connected` or `received` to reach this.
    target: AtomicU64,
    notify: Notify,
    stop: AtomicBool,
}

impl Shared {
    fn new(mode: Mode, size: usize, conns: usize) -> Self {
        Shared {
            mode,
            size,
            pings: (0..conns).map(|_| AtomicU32::new(0)).collect(),
            pings_total: AtomicU64::new(0),
            ping_gap_max_us: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            connect_failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            received: AtomicU64::new(0),
            wrong: AtomicU64::new(0),
            late: AtomicU64::new(0),
            echo_max_us: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            notify: Notify::new(),
            stop: AtomicBool::new(false),
        }
    }

    /// Adds one to `counter` and wakes the controller if it reached the target.
    fn count(&self, counter: &AtomicU64) {
        if counter.fetch_add(1, Relaxed) + 1 >= self.target.load(Relaxed) {
            self.notify.notify_one();
        }
    }

    fn failures(&self) -> u64 {
        self.connect_failed.load(Relaxed) + self.dropped.load(Relaxed) + self.wrong.load(Relaxed)
    }

    /// Waits until `counter` reaches `target` (true), a failure happens or
    /// `limit` passes (false).
    async fn wait_for(&self, counter: &AtomicU64, target: u64, limit: Duration) -> bool {
        self.target.store(target, Relaxed);
        let deadline = tokio::time::Instant::now() + limit;
        let failures = self.failures();
        loop {
            let notified = self.notify.notified();
            if counter.load(Relaxed) >= target {
                return true;
            }
            if self.failures() > failures {
                return false;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return counter.load(Relaxed) >= target;
            }
        }
    }

    fn fail(&self, counter: &AtomicU64, what: std::fmt::Arguments) {
        let n = counter.fetch_add(1, Relaxed);
        if n < REPORTED {
            eprintln!("{what}");
        }
        // The controller waits for counts; a failure ends the wait early.
        self.notify.notify_one();
    }
}

/// The echo message connection `id` sends in round `round`.
fn echo_payload(id: usize, round: u64, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(12));
    p.extend_from_slice(&(id as u32).to_le_bytes());
    p.extend_from_slice(&round.to_le_bytes());
    p.extend((p.len()..size).map(|i| (i * 31 + id) as u8));
    p
}

/// TCP connect (from `bind` if given) and the client handshake; returns the
/// stream and whatever arrived after the response.
async fn connect(
    addr: SocketAddr,
    bind: Option<IpAddr>,
    path: &str,
) -> io::Result<(TcpStream, BytesMut)> {
    let mut tcp = socket_from(addr, bind)?.connect(addr).await?;
    tcp.set_nodelay(true)?;
    tcp.write_all(handshake_request(&addr.to_string(), path, "13").as_bytes())
        .await?;
    let mut buf = BytesMut::with_capacity(256);
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 8192 || tcp.read_buf(&mut buf).await? == 0 {
            return Err(invalid("handshake response truncated"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    if !head.starts_with("HTTP/1.1 101") || !head.contains(ACCEPT) {
        return Err(invalid(format!("handshake refused: {head:?}")));
    }
    buf.advance(end);
    Ok((tcp, buf))
}

/// One connection: answers pings, checks data messages, sends an echo
/// message when the controller starts a round.
async fn drive(
    id: usize,
    mut tcp: TcpStream,
    mut buf: BytesMut,
    shared: Arc<Shared>,
    mut rounds: watch::Receiver<u64>,
) {
    rounds.mark_unchanged();
    let mut outstanding: Option<(Vec<u8>, Instant)> = None;
    let mut next_seq = 0u64;
    let mut last_ping: Option<Instant> = None;
    let mut message = Vec::new();
    let ended = 'conn: loop {
        loop {
            let frame = match server_frame(&buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => break 'conn e.to_string(),
            };
            let payload = &buf[frame.start..frame.end()];
            match frame.opcode {
                9 => {
                    let pong = masked_frame_op(10, true, payload);
                    if let Err(e) = tcp.write_all(&pong).await {
                        break 'conn format!("writing a pong: {e}");
                    }
                    let now = Instant::now();
                    if let Some(last) = last_ping {
                        let gap = now.duration_since(last).as_micros() as u64;
                        shared.ping_gap_max_us.fetch_max(gap, Relaxed);
                    }
                    last_ping = Some(now);
                    shared.pings[id].fetch_add(1, Relaxed);
                    shared.pings_total.fetch_add(1, Relaxed);
                }
                10 => {}
                8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    break 'conn format!("closed by the server, code {code:?}");
                }
                0..=2 => {
                    message.extend_from_slice(payload);
                    if frame.fin {
                        let ok = match shared.mode {
                            Mode::Echo => match outstanding.take() {
                                Some((sent, at)) if sent == message => {
                                    let rtt = at.elapsed().as_micros() as u64;
                                    shared.echo_max_us.fetch_max(rtt, Relaxed);
                                    true
                                }
                                _ => false,
                            },
                            Mode::Broadcast => {
                                let seq = message
                                    .get(..8)
                                    .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
                                let ok = seq == Some(next_seq) && message.len() == shared.size;
                                next_seq += 1;
                                ok
                            }
                        };
                        if ok {
                            shared.count(&shared.received);
                        } else {
                            shared.fail(
                                &shared.wrong,
                                format_args!(
                                    "connection {id}: unexpected message of {} bytes",
                                    message.len()
                                ),
                            );
                        }
                        message.clear();
                    }
                }
                op => break 'conn format!("opcode {op}"),
            }
            buf.advance(frame.end());
        }
        if buf.capacity() - buf.len() < 128 {
            buf.reserve(256);
        }
        tokio::select! {
            read = tcp.read_buf(&mut buf) => match read {
                Ok(0) => break "the server ended the connection".into(),
                Ok(_) => {}
                Err(e) => break e.to_string(),
            },
            changed = rounds.changed() => {
                if changed.is_err() {
                    return;
                }
                let round = *rounds.borrow_and_update();
                if outstanding.is_some() {
                    shared.late.fetch_add(1, Relaxed);
                    continue;
                }
                let payload = echo_payload(id, round, shared.size);
                if let Err(e) = tcp.write_all(&masked_frame_op(2, true, &payload)).await {
                    break format!("sending: {e}");
                }
                outstanding = Some((payload, Instant::now()));
            }
        }
    };
    if !shared.stop.load(Relaxed) {
        shared.fail(
            &shared.dropped,
            format_args!("connection {id} dropped: {ended}"),
        );
    }
}

struct Args {
    mode: String,
    addr: SocketAddr,
    stages: Vec<usize>,
    pings: bool,
    pid: Option<u32>,
    bind: Vec<IpAddr>,
    concurrency: usize,
    settle: f64,
    window: f64,
    hold: f64,
    every: f64,
    size: usize,
    messages: usize,
    limit: f64,
}

fn parse() -> Result<Args, String> {
    let usage = "usage: scale hold ADDR --stages N,N,.. [--pings] [--pid PID] [--bind IP,..] \
                 [--concurrency N] [--settle S] [--window S] [--hold S] [--every S] [--size B] [--limit S]\n       \
                 scale broadcast ADDR RECEIVERS [--messages K] [--size B] [--pings] [--pid PID] \
                 [--bind IP,..] [--concurrency N] [--limit S]";
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or(usage)?;
    let addr = it
        .next()
        .ok_or(usage)?
        .parse()
        .map_err(|_| "ADDR must be IP:PORT")?;
    let mut args = Args {
        stages: Vec::new(),
        mode,
        addr,
        pings: false,
        pid: None,
        bind: Vec::new(),
        concurrency: 128,
        settle: 2.0,
        window: 5.0,
        hold: 10.0,
        every: 5.0,
        size: 32,
        messages: 20,
        limit: 600.0,
    };
    if args.mode == "broadcast" {
        args.stages = vec![it.next().ok_or(usage)?.parse().map_err(|_| usage)?];
    } else if args.mode != "hold" {
        return Err(usage.into());
    }
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |_| format!("bad value for {flag}");
        match flag.as_str() {
            "--stages" => {
                args.stages = value()?
                    .split(',')
                    .map(|n| n.parse().map_err(|_| format!("bad stage {n}")))
                    .collect::<Result<_, _>>()?
            }
            "--pings" => args.pings = true,
            "--pid" => args.pid = Some(value()?.parse().map_err(|_| "bad --pid")?),
            "--bind" => {
                args.bind = value()?
                    .split(',')
                    .map(|ip| ip.parse().map_err(|_| format!("bad --bind address {ip}")))
                    .collect::<Result<_, _>>()?
            }
            "--concurrency" => {
                args.concurrency = value()?.parse().map_err(|_| "bad --concurrency")?
            }
            "--settle" => args.settle = value()?.parse().map_err(bad)?,
            "--window" => args.window = value()?.parse().map_err(bad)?,
            "--hold" => args.hold = value()?.parse().map_err(bad)?,
            "--every" => args.every = value()?.parse().map_err(bad)?,
            "--size" => args.size = value()?.parse().map_err(|_| "bad --size")?,
            "--messages" => args.messages = value()?.parse().map_err(|_| "bad --messages")?,
            "--limit" => args.limit = value()?.parse().map_err(bad)?,
            _ => return Err(usage.into()),
        }
    }
    if args.stages.is_empty() || args.stages.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--stages: increasing counts, e.g. 1000,5000,15000".into());
    }
    if args.mode == "broadcast" && args.size < 8 {
        return Err("--size: at least 8 for a broadcast".into());
    }
    Ok(args)
}

/// Opens connections `from..to` (at most `concurrency` handshakes at once)
/// and waits until all of them are up; returns the seconds it took.
async fn open(
    args: &Args,
    path: &'static str,
    range: std::ops::Range<usize>,
    shared: &Arc<Shared>,
    rounds: &watch::Sender<u64>,
) -> io::Result<f64> {
    let start = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency));
    for id in range.clone() {
        let (gate, shared, rounds) = (gate.clone(), shared.clone(), rounds.subscribe());
        // Connections take the source addresses in turn: connect's search
        // for a free source port slows down as one address's ports fill.
        let bind = (!args.bind.is_empty()).then(|| args.bind[id % args.bind.len()]);
        let addr = args.addr;
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            match connect(addr, bind, path).await {
                Ok((tcp, buf)) => {
                    drop(permit);
                    shared.count(&shared.connected);
                    drive(id, tcp, buf, shared, rounds).await;
                }
                Err(e) => shared.fail(&shared.connect_failed, format_args!("connection {id}: {e}")),
            }
        });
    }
    let limit = Duration::from_secs(60 + range.len() as u64 / 50);
    if !shared
        .wait_for(&shared.connected, range.end as u64, limit)
        .await
    {
        return Err(invalid(format!(
            "{} of {} connections up",
            shared.connected.load(Relaxed),
            range.end
        )));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// An echo round over `conns` connections: returns its duration in seconds.
async fn echo_round(shared: &Shared, rounds: &watch::Sender<u64>, conns: usize) -> io::Result<f64> {
    let start = Instant::now();
    let target = shared.received.load(Relaxed) + conns as u64;
    rounds.send_modify(|r| *r += 1);
    if !shared
        .wait_for(&shared.received, target, Duration::from_secs(60))
        .await
    {
        return Err(invalid(format!(
            "echo round: {} of {conns} echoes back",
            conns as u64 - (target - shared.received.load(Relaxed).min(target))
        )));
    }
    Ok(start.elapsed().as_secs_f64())
}

fn rss(pid: Option<u32>) -> io::Result<u64> {
    pid.map(vm_rss_kib).transpose().map(|r| r.unwrap_or(0))
}

fn wait(pid: Option<u32>) -> io::Result<f64> {
    pid.map(run_wait_us).transpose().map(|c| c.unwrap_or(0.0))
}

fn cpu(pid: Option<u32>) -> io::Result<f64> {
    pid.map(cpu_us).transpose().map(|c| c.unwrap_or(0.0))
}

async fn hold(args: Args) -> io::Result<()> {
    let max = *args.stages.last().unwrap();
    let shared = Arc::new(Shared::new(Mode::Echo, args.size, max));
    let (rounds, _) = watch::channel(0u64);
    let base = rss(args.pid)?;
    println!("base rss_kib={base}");
    let mut from = 0;
    for &stage in &args.stages {
        let (cpu_h, wait_h) = (cpu(args.pid)?, wait(args.pid)?);
        let took = open(&args, "/", from..stage, &shared, &rounds).await?;
        let (cpu_h, wait_h) = (cpu(args.pid)? - cpu_h, wait(args.pid)? - wait_h);
        let new = stage - from;
        from = stage;
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        let (cpu0, wait0, pings0, t0) = (
            cpu(args.pid)?,
            wait(args.pid)?,
            shared.pings_total.load(Relaxed),
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_secs_f64(args.window)).await;
        let (cpu1, wait1, pings1, secs) = (
            cpu(args.pid)?,
            wait(args.pid)?,
            shared.pings_total.load(Relaxed),
            t0.elapsed().as_secs_f64(),
        );
        let now = rss(args.pid)?;
        let pings = pings1 - pings0;
        let per_ping = if pings > 0 {
            format!("{:.2}", (cpu1 - cpu0) / pings as f64)
        } else {
            "n/a".into()
        };
        let round = echo_round(&shared, &rounds, stage).await?;
        println!(
            "stage conns={stage} new={new} connect_s={took:.3} handshakes_per_s={:.0} \
             cpu_us_per_handshake={:.1} connect_wait_share={:.2} rss_kib={now} rss_per_conn_b={:.0} \
             pings_per_s={:.0} server_cpu_share={:.3} cpu_us_per_ping={per_ping} ping_wait_share={:.3} \
             echo_round_ms={:.1} failures={}",
            new as f64 / took,
            cpu_h / new as f64,
            wait_h / 1e6 / took,
            (now as f64 - base as f64) * 1024.0 / stage as f64,
            pings as f64 / secs,
            (cpu1 - cpu0) / 1e6 / secs,
            (wait1 - wait0) / 1e6 / secs,
            round * 1e3,
            shared.failures(),
        );
    }
    // The hold: echo rounds every `every` seconds, VmRSS every second.
    let pinged: Vec<u32> = shared.pings.iter().map(|p| p.load(Relaxed)).collect();
    let start = Instant::now();
    let (mut rss_min, mut rss_max, mut round_max, mut n_rounds) = (u64::MAX, 0, 0f64, 0);
    let mut next_round = args.every;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while start.elapsed().as_secs_f64() < args.hold {
        tick.tick().await;
        let r = rss(args.pid)?;
        (rss_min, rss_max) = (rss_min.min(r), rss_max.max(r));
        if start.elapsed().as_secs_f64() >= next_round {
            round_max = round_max.max(echo_round(&shared, &rounds, max).await?);
            n_rounds += 1;
            next_round += args.every;
        }
    }
    let unpinged = shared
        .pings
        .iter()
        .zip(&pinged)
        .filter(|(p, before)| p.load(Relaxed) == **before)
        .count();
    shared.stop.store(true, Relaxed);
    let per_conn = |kib: u64| (kib as f64 - base as f64) * 1024.0 / max as f64;
    println!(
        "hold conns={max} secs={:.0} rounds={n_rounds} echo_round_max_ms={:.1} rss_min_kib={rss_min} \
         rss_max_kib={rss_max} rss_per_conn_min_b={:.0} rss_per_conn_max_b={:.0} unpinged={unpinged}",
        start.elapsed().as_secs_f64(),
        round_max * 1e3,
        per_conn(rss_min),
        per_conn(rss_max),
    );
    result(&shared, args.pings && unpinged > 0)
}

async fn broadcast(args: Args) -> io::Result<()> {
    let receivers = args.stages[0];
    let shared = Arc::new(Shared::new(Mode::Broadcast, args.size, receivers));
    let (rounds, _) = watch::channel(0u64);
    let base = rss(args.pid)?;
    let cpu_h = cpu(args.pid)?;
    let took = open(&args, "/", 0..receivers, &shared, &rounds).await?;
    let cpu_h = cpu(args.pid)? - cpu_h;
    let (producer, _) = connect(args.addr, args.bind.first().copied(), PRODUCE_PATH).await?;
    let (mut producer_r, producer_w) = producer.into_split();
    let producer_w = Arc::new(tokio::sync::Mutex::new(producer_w));
    // The producer gets nothing but pings, answered (the server's keepalive
    // applies to it too), and a close.
    let pong_w = producer_w.clone();
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(256);
        while producer_r.read_buf(&mut buf).await.is_ok_and(|n| n > 0) {
            while let Ok(Some(frame)) = server_frame(&buf) {
                if frame.opcode == 9 {
                    let pong = masked_frame_op(10, true, &buf[frame.start..frame.end()]);
                    if pong_w.lock().await.write_all(&pong).await.is_err() {
                        return;
                    }
                }
                buf.advance(frame.end());
            }
            buf.reserve(256);
        }
    });
    let after_connect = rss(args.pid)?;
    let mut times = Vec::with_capacity(args.messages);
    let (cpu0, wait0, t0) = (cpu(args.pid)?, wait(args.pid)?, Instant::now());
    for seq in 0..args.messages as u64 {
        let mut payload = seq.to_le_bytes().to_vec();
        payload.resize(args.size, 0x5a);
        let target = shared.received.load(Relaxed) + receivers as u64;
        let start = Instant::now();
        producer_w
            .lock()
            .await
            .write_all(&masked_frame_op(2, true, &payload))
            .await?;
        if !shared
            .wait_for(&shared.received, target, Duration::from_secs(60))
            .await
        {
            return Err(invalid(format!(
                "broadcast {seq}: {} of {receivers} received",
                receivers as u64 - (target - shared.received.load(Relaxed).min(target))
            )));
        }
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (cpu1, wait1, secs) = (cpu(args.pid)?, wait(args.pid)?, t0.elapsed().as_secs_f64());
    shared.stop.store(true, Relaxed);
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "broadcast receivers={receivers} size={} messages={} connect_s={took:.3} handshakes_per_s={:.0} \
         cpu_us_per_handshake={:.1} rss_per_conn_b={:.0} ms_min={:.2} ms_median={:.2} ms_max={:.2} \
         server_cpu_ms_per_broadcast={:.2} wait_share={:.3}",
        args.size,
        args.messages,
        receivers as f64 / took,
        cpu_h / receivers as f64,
        (after_connect as f64 - base as f64) * 1024.0 / receivers as f64,
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        (cpu1 - cpu0) / 1e3 / args.messages as f64,
        (wait1 - wait0) / 1e6 / secs,
    );
    result(&shared, false)
}

fn result(shared: &Shared, unpinged: bool) -> io::Result<()> {
    let line = format!(
        "result connected={} connect_failed={} dropped={} wrong={} late={} received={} pings={} \
         ping_gap_max_ms={:.0} echo_max_ms={:.1}",
        shared.connected.load(Relaxed),
        shared.connect_failed.load(Relaxed),
        shared.dropped.load(Relaxed),
        shared.wrong.load(Relaxed),
        shared.late.load(Relaxed),
        shared.received.load(Relaxed),
        shared.pings_total.load(Relaxed),
        shared.ping_gap_max_us.load(Relaxed) as f64 / 1e3,
        shared.echo_max_us.load(Relaxed) as f64 / 1e3,
    );
    println!("{line}");
    if shared.failures() > 0 {
        return Err(invalid("connections failed, dropped or answered wrongly"));
    }
    if unpinged {
        return Err(invalid(
            "some connections were never pinged during the hold",
        ));
    }
    Ok(())
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
    let limit = Duration::from_secs_f64(args.limit);
    let result = runtime.block_on(async move {
        let work = async move {
            match args.mode.as_str() {
                "hold" => hold(args).await,
                _ => broadcast(args).await,
            }
        };
        tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(invalid("timed out")))
    });
    if let Err(e) = result {
        eprintln!("scale: {e}");
        std::process::exit(1);
    }
    // Connection tasks still running are dropped with the process.
    std::process::exit(0);
}
