//! Load generator in the manner of uWebSockets' `load_test`, plus an idle
//! memory probe. Current-thread tokio runtime; bounded in time by itself.
//!
//! ```text
//! load echo ADDR CONNS SIZE [--raw] [--warmup SECS] [--duration SECS] [--pid PID]
//!     CONNS connections, each with one masked binary message of SIZE bytes in
//!     flight: send, read the whole echo, count, repeat. Prints msgs/s over
//!     DURATION (default 5 s) after WARMUP (default 1 s). With --raw the same
//!     frame bytes go to a plain TCP echo and the same byte count is read back.
//!     With --pid PID also the server's CPU time (user + system) per echo
//!     over the measured window.
//! load idle ADDR CONNS SIZE --pid PID [--settle SECS]
//!     Reads the server's VmRSS, opens CONNS upgraded connections, each sends
//!     one SIZE-byte message and reads its echo, then all sit idle; after
//!     SETTLE (default 1 s) reads VmRSS again and prints (after-before)/CONNS.
//! ```
//!
//! Output is one line of `key=value` pairs for scripts/echo_load.sh.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// Echoes completed, summed over connections.
static ECHOES: AtomicU64 = AtomicU64::new(0);
/// Connections that failed after the run started.
static FAILED: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Any masking key will do; a fixed one keeps the bytes reproducible.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The payload: deterministic and not all zeroes.
fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

/// One masked binary frame carrying `payload` (FIN set), built once.
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x82);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Connects and (unless `raw`) performs the client opening handshake.
async fn connect(addr: &str, raw: bool) -> io::Result<TcpStream> {
    // A server that has just printed its banner may still refuse for a moment.
    let mut tries = 0;
    let mut tcp = loop {
        match TcpStream::connect(addr).await {
            Ok(tcp) => break tcp,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    };
    tcp.set_nodelay(true)?;
    if raw {
        return Ok(tcp);
    }
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    // The server says nothing after its 101 until we send, so reading byte
    // by byte up to the blank line leaves nothing of the stream behind.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Err(invalid("handshake response truncated"));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(invalid(format!(
            "handshake refused: {}",
            String::from_utf8_lossy(&head)
        )));
    }
    Ok(tcp)
}

/// Reads one whole message (all its frames; control frames skipped) into
/// `buf`, returning the payload length.
async fn read_message(r: &mut BufReader<OwnedReadHalf>, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let mut head = [0u8; 2];
        r.read_exact(&mut head).await?;
        if head[1] & 0x80 != 0 {
            return Err(invalid("masked frame from a server"));
        }
        let len = match head[1] & 0x7f {
            126 => r.read_u16().await? as usize,
            127 => r.read_u64().await? as usize,
            n => n as usize,
        };
        let opcode = head[0] & 0x0f;
        if opcode >= 8 {
            let mut control = [0u8; 125];
            r.read_exact(&mut control[..len.min(125)]).await?;
            if opcode == 8 {
                return Err(invalid("server closed"));
            }
            continue;
        }
        if buf.len() < total + len {
            buf.resize(total + len, 0);
        }
        r.read_exact(&mut buf[total..total + len]).await?;
        total += len;
        if head[0] & 0x80 != 0 {
            return Ok(total);
        }
    }
}

/// Sends `frame`, reads the echo and checks it once against `expect`.
async fn exchange(
    w: &mut tokio::net::tcp::OwnedWriteHalf,
    r: &mut BufReader<OwnedReadHalf>,
    buf: &mut Vec<u8>,
    frame: &[u8],
    expect: &[u8],
    raw: bool,
) -> io::Result<()> {
    w.write_all(frame).await?;
    if raw {
        buf.resize(frame.len(), 0);
        r.read_exact(&mut buf[..frame.len()]).await?;
        if buf[..frame.len()] != *frame {
            return Err(invalid("raw echo differs"));
        }
    } else {
        let n = read_message(r, buf).await?;
        if buf[..n] != *expect {
            return Err(invalid(format!("echo differs ({n} bytes back)")));
        }
    }
    Ok(())
}

async fn load_conn(tcp: TcpStream, frame: Arc<Vec<u8>>, expect: Arc<Vec<u8>>, raw: bool) {
    let size = if raw { frame.len() } else { expect.len() };
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut buf = vec![0u8; size];
    // The first echo is compared byte for byte; after that only lengths.
    if let Err(e) = exchange(&mut w, &mut r, &mut buf, &frame, &expect, raw).await {
        eprintln!("first echo: {e}");
        FAILED.fetch_add(1, Relaxed);
        return;
    }
    ECHOES.fetch_add(1, Relaxed);
    while !STOP.load(Relaxed) {
        let result = async {
            w.write_all(&frame).await?;
            let n = if raw {
                r.read_exact(&mut buf[..size]).await?
            } else {
                read_message(&mut r, &mut buf).await?
            };
            if n != size {
                return Err(invalid(format!("echo of {n} bytes, sent {size}")));
            }
            Ok::<_, io::Error>(())
        }
        .await;
        if let Err(e) = result {
            if !STOP.load(Relaxed) {
                eprintln!("connection failed: {e}");
                FAILED.fetch_add(1, Relaxed);
            }
            return;
        }
        ECHOES.fetch_add(1, Relaxed);
    }
}

/// User + system CPU time of a whole process (all its threads, live and
/// exited), in microseconds, from /proc/PID/stat.
fn cpu_us(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| invalid("bad stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().map_err(|_| invalid("utime"))?
        + fields[12].parse::<f64>().map_err(|_| invalid("stime"))?;
    // CLK_TCK is 100 on Linux (x86_64, aarch64).
    Ok(ticks * 10_000.0)
}

fn vm_rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| invalid("no VmRSS"))
}

struct Args {
    mode: String,
    addr: String,
    conns: usize,
    size: usize,
    raw: bool,
    warmup: f64,
    duration: f64,
    pid: Option<u32>,
    settle: f64,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let usage = "usage: load (echo|idle) ADDR CONNS SIZE [--raw] [--warmup S] [--duration S] [--pid PID] [--settle S]";
    let mode = it.next().ok_or(usage)?;
    let addr = it.next().ok_or(usage)?;
    let conns = it.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let size = it.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let mut args = Args {
        mode,
        addr,
        conns,
        size,
        raw: false,
        warmup: 1.0,
        duration: 5.0,
        pid: None,
        settle: 1.0,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--raw" => args.raw = true,
            "--warmup" => args.warmup = value()?.parse().map_err(|_| usage)?,
            "--duration" => args.duration = value()?.parse().map_err(|_| usage)?,
            "--settle" => args.settle = value()?.parse().map_err(|_| usage)?,
            "--pid" => args.pid = Some(value()?.parse().map_err(|_| usage)?),
            _ => return Err(usage.into()),
        }
    }
    Ok(args)
}

async fn echo(args: Args) -> io::Result<()> {
    let expect = Arc::new(payload(args.size));
    let frame = Arc::new(masked_frame(&expect));
    let mut conns = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        conns.push(connect(&args.addr, args.raw).await?);
    }
    for tcp in conns {
        tokio::spawn(load_conn(tcp, frame.clone(), expect.clone(), args.raw));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let cpu_before = args.pid.map(cpu_us).transpose()?;
    let (start, before) = (Instant::now(), ECHOES.load(Relaxed));
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let (elapsed, after) = (start.elapsed(), ECHOES.load(Relaxed));
    let cpu_after = args.pid.map(cpu_us).transpose()?;
    STOP.store(true, Relaxed);
    let rate = (after - before) as f64 / elapsed.as_secs_f64();
    // Server CPU per echo: less sensitive than msgs/s to other processes
    // sharing the cores (it still includes cache and scheduler effects).
    let cpu = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if after > before => format!(
            " server_cpu_us_per_msg={:.2} server_cpu_share={:.2}",
            (a - b) / (after - before) as f64,
            (a - b) / 1e6 / elapsed.as_secs_f64()
        ),
        _ => String::new(),
    };
    println!(
        "conns={} size={} msgs_per_s={:.0} mib_per_s={:.1} failed={}{cpu}",
        args.conns,
        args.size,
        rate,
        rate * args.size as f64 / (1 << 20) as f64,
        FAILED.load(Relaxed)
    );
    if FAILED.load(Relaxed) > 0 || after == before {
        return Err(invalid("connections failed or no echoes counted"));
    }
    Ok(())
}

async fn idle(args: Args) -> io::Result<()> {
    let pid = args.pid.ok_or_else(|| invalid("idle needs --pid"))?;
    let expect = payload(args.size);
    let frame = masked_frame(&expect);
    let before = vm_rss_kib(pid)?;
    let mut held = Vec::with_capacity(args.conns);
    let mut buf = Vec::new();
    for _ in 0..args.conns {
        let (r, mut w) = connect(&args.addr, false).await?.into_split();
        let mut r = BufReader::with_capacity(1024, r);
        exchange(&mut w, &mut r, &mut buf, &frame, &expect, false).await?;
        held.push((r, w));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let after = vm_rss_kib(pid)?;
    println!(
        "conns={} size={} rss_before_kib={before} rss_after_kib={after} kib_per_conn={:.1}",
        args.conns,
        args.size,
        (after as f64 - before as f64) / args.conns as f64
    );
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
    // A hard bound whatever the server does: warm-up + run + setup slack.
    let limit = Duration::from_secs_f64(args.warmup + args.duration + args.settle + 60.0);
    let result = runtime.block_on(async move {
        let work = async move {
            match args.mode.as_str() {
                "echo" => echo(args).await,
                "idle" => idle(args).await,
                other => Err(invalid(format!("unknown mode {other}"))),
            }
        };
        tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(invalid("timed out")))
    });
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
    // Connection tasks still in flight are dropped with the process.
    std::process::exit(0);
}
