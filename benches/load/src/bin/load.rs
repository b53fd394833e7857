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

use rfc6455_load::client::{
    connect, cpu_us, invalid, masked_frame, payload, read_message, vm_rss_kib,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// Echoes completed, summed over connections.
static ECHOES: AtomicU64 = AtomicU64::new(0);
/// Connections that failed after the run started.
static FAILED: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

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
        conns.push(connect(&args.addr, "/", args.raw).await?);
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
        let (r, mut w) = connect(&args.addr, "/", false).await?.into_split();
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
