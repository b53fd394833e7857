//! Broadcast fan-out load: one producer, many receivers, through a server
//! that relays (protocol: `rfc6455_load::PRODUCE_PATH`). Current-thread
//! tokio runtime; bounded in time by itself.
//!
//! ```text
//! fanout ADDR RECEIVERS SIZE [--warmup S] [--duration S] [--stall S]
//!        [--stall-mib M] [--stall-max S] [--stall-every N] [--stall-rcvbuf B]
//!        [--window W] [--window-timeout S] [--pid PID]
//! ```
//!
//! RECEIVERS connections to `/` read and count whole messages; then one
//! connection to `/produce` sends binary messages of SIZE bytes (at least 8:
//! the first 8 carry a sequence number, little-endian). The producer keeps
//! at most W messages in flight: it sends message k only once every reading
//! receiver has received some message numbered k − W or later, so the server
//! is kept busy without being flooded, and a server that drops a message for
//! some receiver does not stall the run (a later one counts). By default W
//! is 32 KiB ÷ SIZE, between 2 and 8 (8 for 1 KiB, 2 from 16 KiB up): with
//! one or two in flight a server that writes everything pending at once
//! (uWS) and the load generator take turns rather than overlap, and many
//! large ones in flight across thousands of receivers would run the kernel
//! into its TCP memory limits. The Rust servers' channels hold
//! `FANOUT_CAPACITY` (16) messages, so a receiver that reads is never more
//! than W behind and never skipped.
//! Should a wait last longer than `--window-timeout` (1 s) the producer
//! sends anyway and counts it (`window_timeouts`).
//!
//! Every receiver checks its first message byte for byte, and every message's
//! length and that sequence numbers only increase; a gap is messages the
//! server dropped for that receiver (not an error: `delivery_ratio`).
//!
//! 1. After WARMUP (1 s), over DURATION (5 s): `msgs_per_s` (messages
//!    delivered to receivers, summed), `producer_msgs_per_s`,
//!    `delivery_ratio` (delivered ÷ (delivered + dropped), from the sequence
//!    gaps), and with `--pid` the server's CPU time per delivery
//!    (`server_cpu_us_per_msg`) and share of a core; `load_cpu_share` is this
//!    process's own (near 1.00 means the load generator was the limit).
//! 2. Then every N-th receiver (default 10) stops reading, keeping its
//!    connection open, and the producer goes on with the others for at least
//!    `--stall` seconds (default 6; 0 skips this phase) and until M MiB
//!    (default 16) were sent towards each stuck receiver, but at most
//!    `--stall-max` seconds (default 30). The kernel holds a few MiB per
//!    stuck connection before the server has to: the server's send buffer
//!    (up to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by default) and the
//!    receiver's receive buffer, which is why those receivers are connected
//!    with a fixed `--stall-rcvbuf` (256 KiB; 0 leaves the kernel's
//!    autotuning, up to `net.ipv4.tcp_rmem`'s maximum, in place) and why the
//!    phase is reckoned in bytes (`stall_sent_mib` says how far it got: below
//!    ~6 MiB the kernel may have absorbed it all, as with small messages at
//!    the usual rates). With `--pid`, the server's VmRSS is sampled every
//!    250 ms (the series goes to stderr), reported at the start, the middle
//!    and the end of the phase, with its maximum and `rss_stall_growth_kib`,
//!    the growth over the second half: about zero for a server whose memory
//!    per stuck receiver is bounded, still growing for one that queues
//!    without limit. Also `stall_msgs_per_s` and `stall_delivery_ratio` for
//!    the receivers still reading.
//!
//! Output is one line of `key=value` pairs for scripts/echo_load.sh.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rfc6455_load::PRODUCE_PATH;
use rfc6455_load::client::{
    MASK, connect, connect_with, cpu_us, invalid, masked_frame, masked_header_len, payload,
    vm_rss_kib,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Connections opened at once while setting up.
const CONNECT_CONCURRENCY: usize = 64;
/// Size of the one read buffer every receiver reads into in turn.
const SCRATCH: usize = 256 << 10;

thread_local! {
    // The runtime has one thread, and a receiver holds this only between
    // two awaits, so one buffer serves all of them.
    static SCRATCH_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH]);
}

/// State shared by the receivers, the producer and the measuring task (all
/// on the one runtime thread; atomics only because spawned tasks must be
/// `Send`).
struct Shared {
    /// Per receiver: 1 + the sequence number of the last message it got
    /// (0: none yet).
    last: Vec<AtomicU64>,
    /// Per receiver: failed (the server closed it or sent garbage).
    dead: Vec<AtomicBool>,
    /// Every `stall_every`-th receiver has stopped reading.
    stalling: AtomicBool,
    stall_requested: AtomicBool,
    stall_every: usize,
    /// The producer waits until every reading receiver's `last` reaches
    /// this (0: not waiting); `missing` counts those that have not.
    wanted: AtomicU64,
    missing: AtomicUsize,
    notify: Notify,
    delivered: AtomicU64,
    /// Messages skipped by the server, from the receivers' sequence gaps.
    dropped: AtomicU64,
    sent: AtomicU64,
    window_timeouts: AtomicU64,
    failed: AtomicU64,
}

impl Shared {
    fn stalled(&self, i: usize) -> bool {
        self.stalling.load(Relaxed) && i.is_multiple_of(self.stall_every)
    }

    fn reading(&self, i: usize) -> bool {
        !self.stalled(i) && !self.dead[i].load(Relaxed)
    }

    /// Receiver `i` now has `last`, up from `prev`.
    fn advanced(&self, i: usize, prev: u64, last: u64) {
        let wanted = self.wanted.load(Relaxed);
        if prev < wanted && last >= wanted && self.reading(i) {
            self.settle_one();
        }
    }

    /// Receiver `i` will never read again.
    fn died(&self, i: usize) {
        let counted = self.reading(i) && self.last[i].load(Relaxed) < self.wanted.load(Relaxed);
        self.dead[i].store(true, Relaxed);
        self.failed.fetch_add(1, Relaxed);
        if counted {
            self.settle_one();
        }
    }

    fn settle_one(&self) {
        if self.missing.fetch_sub(1, Relaxed) == 1 {
            self.notify.notify_one();
        }
    }
}

/// Incremental parser of the server's frames on one receiver connection.
struct Receiver {
    index: usize,
    size: usize,
    head: [u8; 10],
    head_len: usize,
    /// Payload bytes left in the current frame (valid once the header is in).
    left: u64,
    opcode: u8,
    fin: bool,
    /// Bytes of the current message so far, and its first 8.
    msg_len: usize,
    seq: [u8; 8],
    first_checked: bool,
}

impl Receiver {
    fn new(index: usize, size: usize) -> Self {
        Receiver {
            index,
            size,
            head: [0; 10],
            head_len: 0,
            left: 0,
            opcode: 0,
            fin: false,
            msg_len: 0,
            seq: [0; 8],
            first_checked: false,
        }
    }

    /// How long the current frame header is, once its first two bytes are in.
    fn head_needed(&self) -> usize {
        if self.head_len < 2 {
            return 2;
        }
        match self.head[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        }
    }

    fn feed(&mut self, mut data: &[u8], expect: &[u8], shared: &Shared) -> io::Result<()> {
        while !data.is_empty() {
            let needed = self.head_needed();
            if self.head_len < needed {
                let take = (needed - self.head_len).min(data.len());
                self.head[self.head_len..self.head_len + take].copy_from_slice(&data[..take]);
                self.head_len += take;
                data = &data[take..];
                if self.head_len < self.head_needed() {
                    continue;
                }
                if self.head[1] & 0x80 != 0 {
                    return Err(invalid("masked frame from a server"));
                }
                self.fin = self.head[0] & 0x80 != 0;
                self.opcode = self.head[0] & 0x0f;
                self.left = match self.head[1] & 0x7f {
                    126 => u16::from_be_bytes([self.head[2], self.head[3]]) as u64,
                    127 => u64::from_be_bytes(self.head[2..10].try_into().unwrap()),
                    n => n as u64,
                };
                if self.opcode == 8 {
                    return Err(invalid("server closed"));
                }
                if self.left == 0 {
                    self.frame_done(shared)?;
                }
                continue;
            }
            let take = (self.left.min(data.len() as u64)) as usize;
            let (chunk, rest) = data.split_at(take);
            if self.opcode < 8 {
                self.payload(chunk, expect)?;
            }
            data = rest;
            self.left -= take as u64;
            if self.left == 0 {
                self.frame_done(shared)?;
            }
        }
        Ok(())
    }

    /// Part of a data message, starting at message offset `self.msg_len`.
    fn payload(&mut self, chunk: &[u8], expect: &[u8]) -> io::Result<()> {
        let at = self.msg_len;
        let end = at + chunk.len();
        if end > self.size {
            return Err(invalid(format!("message longer than {}", self.size)));
        }
        if at < 8 {
            let n = (8 - at).min(chunk.len());
            self.seq[at..at + n].copy_from_slice(&chunk[..n]);
        }
        if !self.first_checked && end > 8 {
            let from = at.max(8);
            if chunk[from - at..] != expect[from..end] {
                return Err(invalid("relayed payload differs from what was sent"));
            }
        }
        self.msg_len = end;
        Ok(())
    }

    fn frame_done(&mut self, shared: &Shared) -> io::Result<()> {
        self.head_len = 0;
        if self.opcode >= 8 || !self.fin {
            return Ok(());
        }
        if self.msg_len != self.size {
            return Err(invalid(format!(
                "message of {} bytes, sent {}",
                self.msg_len, self.size
            )));
        }
        self.msg_len = 0;
        self.first_checked = true;
        let last = u64::from_le_bytes(self.seq) + 1;
        let prev = shared.last[self.index].swap(last, Relaxed);
        if last <= prev {
            return Err(invalid(format!(
                "message {} after {} (out of order or repeated)",
                last - 1,
                prev.wrapping_sub(1)
            )));
        }
        shared.delivered.fetch_add(1, Relaxed);
        // Receivers connect before the producer, so the first is number 0.
        shared.dropped.fetch_add(last - prev - 1, Relaxed);
        shared.advanced(self.index, prev, last);
        Ok(())
    }
}

async fn receive(tcp: TcpStream, mut rx: Receiver, expect: Arc<Vec<u8>>, shared: Arc<Shared>) {
    let result = async {
        loop {
            if shared.stalled(rx.index) {
                // Stop reading, but keep the connection open.
                std::future::pending::<()>().await;
            }
            tcp.readable().await?;
            let read = SCRATCH_BUF.with_borrow_mut(|buf| match tcp.try_read(buf) {
                Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => rx.feed(&buf[..n], &expect, &shared),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                Err(e) => Err(e),
            });
            read?;
        }
    }
    .await;
    if let Err::<(), io::Error>(e) = result {
        eprintln!("receiver {}: {e}", rx.index);
        shared.died(rx.index);
    }
}

async fn produce(
    mut tcp: TcpStream,
    size: usize,
    window: u64,
    window_timeout: Duration,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let mut frame = masked_frame(&payload(size));
    let at = masked_header_len(size);
    let receivers = shared.last.len();
    for k in 0u64.. {
        if shared.stall_requested.load(Relaxed) {
            shared.stalling.store(true, Relaxed);
        }
        if k >= window {
            // Everyone reading must have some message numbered k - window or
            // later, i.e. `last` >= k - window + 1.
            let wanted = k - window + 1;
            shared.wanted.store(wanted, Relaxed);
            let missing = (0..receivers)
                .filter(|&i| shared.reading(i) && shared.last[i].load(Relaxed) < wanted)
                .count();
            shared.missing.store(missing, Relaxed);
            let deadline = tokio::time::Instant::now() + window_timeout;
            while shared.missing.load(Relaxed) > 0 {
                // A permit left over from an earlier wait only costs a recheck.
                if tokio::time::timeout_at(deadline, shared.notify.notified())
                    .await
                    .is_err()
                {
                    shared.window_timeouts.fetch_add(1, Relaxed);
                    break;
                }
            }
            shared.wanted.store(0, Relaxed);
        }
        for (j, b) in k.to_le_bytes().iter().enumerate() {
            frame[at + j] = b ^ MASK[j % 4];
        }
        tcp.write_all(&frame).await?;
        shared.sent.fetch_add(1, Relaxed);
    }
    Ok(())
}

/// The counters at one moment, or their growth over a phase.
struct Counts {
    delivered: u64,
    dropped: u64,
    sent: u64,
    window_timeouts: u64,
}

impl Counts {
    fn now(shared: &Shared) -> Counts {
        Counts {
            delivered: shared.delivered.load(Relaxed),
            dropped: shared.dropped.load(Relaxed),
            sent: shared.sent.load(Relaxed),
            window_timeouts: shared.window_timeouts.load(Relaxed),
        }
    }

    fn since(&self, before: &Counts) -> Counts {
        Counts {
            delivered: self.delivered - before.delivered,
            dropped: self.dropped - before.dropped,
            sent: self.sent - before.sent,
            window_timeouts: self.window_timeouts - before.window_timeouts,
        }
    }

    /// Share of the messages the receivers should have had that they got.
    fn ratio(&self) -> f64 {
        self.delivered as f64 / (self.delivered + self.dropped).max(1) as f64
    }
}

struct Args {
    addr: String,
    receivers: usize,
    size: usize,
    warmup: f64,
    duration: f64,
    stall: f64,
    stall_mib: f64,
    stall_max: f64,
    stall_rcvbuf: u32,
    stall_every: usize,
    window: u64,
    window_timeout: f64,
    pid: Option<u32>,
}

fn parse() -> Result<Args, String> {
    let usage = "usage: fanout ADDR RECEIVERS SIZE [--warmup S] [--duration S] [--stall S] \
                 [--stall-mib M] [--stall-max S] [--stall-every N] [--stall-rcvbuf B] \
                 [--window W] [--window-timeout S] [--pid PID]";
    let mut it = std::env::args().skip(1);
    let addr = it.next().ok_or(usage)?;
    let receivers = it.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let size: usize = it.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let mut args = Args {
        addr,
        receivers,
        size,
        warmup: 1.0,
        duration: 5.0,
        stall: 6.0,
        stall_mib: 16.0,
        stall_max: 30.0,
        stall_rcvbuf: 256 << 10,
        stall_every: 10,
        window: 0,
        window_timeout: 1.0,
        pid: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--warmup" => args.warmup = value.parse().map_err(|_| bad())?,
            "--duration" => args.duration = value.parse().map_err(|_| bad())?,
            "--stall" => args.stall = value.parse().map_err(|_| bad())?,
            "--stall-every" => args.stall_every = value.parse().map_err(|_| bad())?,
            "--stall-mib" => args.stall_mib = value.parse().map_err(|_| bad())?,
            "--stall-max" => args.stall_max = value.parse().map_err(|_| bad())?,
            "--stall-rcvbuf" => args.stall_rcvbuf = value.parse().map_err(|_| bad())?,
            "--window" => args.window = value.parse().map_err(|_| bad())?,
            "--window-timeout" => args.window_timeout = value.parse().map_err(|_| bad())?,
            "--pid" => args.pid = Some(value.parse().map_err(|_| bad())?),
            _ => return Err(usage.into()),
        }
    }
    if args.window == 0 {
        args.window = (32768 / args.size.max(1)).clamp(2, 8) as u64;
    }
    if args.size < 8 || args.receivers == 0 || args.stall_every == 0 {
        return Err(format!("{usage}\n(SIZE >= 8, RECEIVERS, W and N >= 1)"));
    }
    Ok(args)
}

async fn fanout(args: Args) -> io::Result<()> {
    let mut expect = payload(args.size);
    expect[..8].fill(0);
    let expect = Arc::new(expect);
    let shared = Arc::new(Shared {
        last: (0..args.receivers).map(|_| AtomicU64::new(0)).collect(),
        dead: (0..args.receivers)
            .map(|_| AtomicBool::new(false))
            .collect(),
        stalling: AtomicBool::new(false),
        stall_requested: AtomicBool::new(false),
        stall_every: args.stall_every,
        wanted: AtomicU64::new(0),
        missing: AtomicUsize::new(0),
        notify: Notify::new(),
        delivered: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        window_timeouts: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });

    let setup = Instant::now();
    let addr = args.addr.as_str();
    // The receivers that will stop reading get a fixed receive buffer.
    let rcvbuf = |i: usize| {
        (args.stall > 0.0 && args.stall_rcvbuf > 0 && i.is_multiple_of(args.stall_every))
            .then_some(args.stall_rcvbuf)
    };
    let mut conns: Vec<(usize, io::Result<TcpStream>)> =
        futures_util::stream::iter(0..args.receivers)
            .map(|i| async move { (i, connect_with(addr, "/", false, rcvbuf(i)).await) })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect()
            .await;
    conns.sort_by_key(|(i, _)| *i);
    for (i, tcp) in conns {
        let rx = Receiver::new(i, args.size);
        tokio::spawn(receive(tcp?, rx, expect.clone(), shared.clone()));
    }
    let producer = connect(addr, PRODUCE_PATH, false).await?;
    eprintln!(
        "{} receivers and the producer connected in {:.2} s",
        args.receivers,
        setup.elapsed().as_secs_f64()
    );
    let window_timeout = Duration::from_secs_f64(args.window_timeout);
    let producing = tokio::spawn(produce(
        producer,
        args.size,
        args.window,
        window_timeout,
        shared.clone(),
    ));

    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let me = std::process::id();
    let (cpu0, own0) = (args.pid.map(cpu_us).transpose()?, cpu_us(me)?);
    let (start, before) = (Instant::now(), Counts::now(&shared));
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu1, own1) = (args.pid.map(cpu_us).transpose()?, cpu_us(me)?);
    let measured = Counts::now(&shared).since(&before);
    let failed_measuring = shared.failed.load(Relaxed);
    if producing.is_finished() {
        return Err(invalid(format!(
            "producer failed: {:?}",
            producing.await.ok()
        )));
    }
    let delivered = measured.delivered;
    let rate = delivered as f64 / elapsed;
    let mut out = format!(
        "receivers={} size={} window={} msgs_per_s={rate:.0} mib_per_s={:.1} producer_msgs_per_s={:.1} \
         delivery_ratio={:.3} load_cpu_share={:.2}",
        args.receivers,
        args.size,
        args.window,
        rate * args.size as f64 / (1 << 20) as f64,
        measured.sent as f64 / elapsed,
        measured.ratio(),
        (own1 - own0) / 1e6 / elapsed,
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1)
        && delivered > 0
    {
        out += &format!(
            " server_cpu_us_per_msg={:.3} server_cpu_share={:.2}",
            (b - a) / delivered as f64,
            (b - a) / 1e6 / elapsed
        );
    }
    out += &format!(" window_timeouts={}", measured.window_timeouts);

    if args.stall > 0.0 {
        shared.stall_requested.store(true, Relaxed);
        let stalled = args.receivers.div_ceil(args.stall_every);
        let (start, before) = (Instant::now(), Counts::now(&shared));
        let mut samples = Vec::new();
        loop {
            let at = start.elapsed().as_secs_f64();
            if let Some(pid) = args.pid {
                samples.push((at, vm_rss_kib(pid)?));
            }
            let sent_mib = (shared.sent.load(Relaxed) - before.sent) as f64 * args.size as f64
                / (1 << 20) as f64;
            let enough = at >= args.stall && sent_mib >= args.stall_mib;
            if enough || at >= args.stall_max.max(args.stall) || producing.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let stall = Counts::now(&shared).since(&before);
        out += &format!(
            " stalled={stalled} stall_seconds={elapsed:.1} stall_sent_mib={:.1} \
             stall_msgs_per_s={:.0} stall_delivery_ratio={:.3} stall_window_timeouts={}",
            stall.sent as f64 * args.size as f64 / (1 << 20) as f64,
            stall.delivered as f64 / elapsed,
            stall.ratio(),
            stall.window_timeouts,
        );
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            let mid = samples
                .iter()
                .find(|(at, _)| *at >= elapsed / 2.0)
                .unwrap_or(last);
            let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
            out += &format!(
                " rss_stall_start_kib={} rss_stall_mid_kib={} rss_stall_end_kib={} \
                 rss_stall_max_kib={max} rss_stall_growth_kib={}",
                first.1,
                mid.1,
                last.1,
                last.1 as i64 - mid.1 as i64
            );
            let series: Vec<String> = samples
                .iter()
                .map(|(at, kib)| format!("{at:.2}s:{kib}"))
                .collect();
            eprintln!("server VmRSS (KiB) while stalled: {}", series.join(" "));
        }
        if producing.is_finished() {
            return Err(invalid(format!(
                "producer failed: {:?}",
                producing.await.ok()
            )));
        }
    }
    let failed = shared.failed.load(Relaxed);
    println!("{out} failed={failed}");
    if failed_measuring > 0 || delivered == 0 {
        return Err(invalid("receivers failed or nothing delivered"));
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
    // A hard bound whatever the server does: the phases plus setup slack.
    let stall = if args.stall > 0.0 {
        args.stall.max(args.stall_max)
    } else {
        0.0
    };
    let limit = Duration::from_secs_f64(args.warmup + args.duration + stall + 120.0);
    let result = runtime.block_on(async move {
        tokio::time::timeout(limit, fanout(args))
            .await
            .unwrap_or_else(|_| Err(invalid("timed out")))
    });
    if let Err(e) = result {
        eprintln!("fanout: {e}");
        std::process::exit(1);
    }
    // Receiver tasks still in flight are dropped with the process.
    std::process::exit(0);
}
