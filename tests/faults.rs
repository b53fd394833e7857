//! Faults of real networks, injected between two network namespaces: a cable
//! cut, a blackhole during the close handshake, the link coming back under a
//! reconnecting client, 5% loss, a 1 Mbit/s link, a reset in the middle of a
//! frame. Against the tokio and the blocking adapter on both sides, and the
//! mio example's server (`examples/echo_server_mio`, a process of its own).
//!
//! `scripts/faults.sh` makes the namespaces (a server one and a client one,
//! joined by a veth pair) and runs these tests with `FAULTS_NETNS` and the
//! variables below set. Without `FAULTS_NETNS` every test says it was
//! skipped and passes, so that a plain `cargo test` stays fast and needs no
//! root network set-up.
//!
//! | variable | value |
//! |---|---|
//! | `FAULTS_NETNS` | `SERVER_NS,CLIENT_NS` |
//! | `FAULTS_DEVS` | the veth ends, `SERVER_DEV,CLIENT_DEV` |
//! | `FAULTS_ADDRS` | their IPv4 addresses, `SERVER_IP,CLIENT_IP` |
//! | `FAULTS_MIO_BIN` | the `echo_server_mio` executable |
//!
//! The endpoints of this process are threads that entered a namespace
//! (`setns`), each with its own tokio runtime or its own blocking sockets;
//! faults are made with `ip`, `iptables` and `tc` in the namespaces, and
//! undone after each test. Every test prints one `faults-row|...` line per
//! case, adapter and side (bound, measured, pass), which the script gathers
//! into its summary table; a test fails when a row does. A command the
//! machine refuses fails the test, loudly.
//!
//! Times to detection are measured from the moment just before the fault
//! is made to the moment the side's connection ended (its stream or read
//! returned the end); pass/fail compares them with the requirement's bound
//! plus `SLACK` (500 ms). The slack covers scheduling (a debug build on two
//! shared cores wakes late by tens of milliseconds) and, after a cable
//! cut, the moment the kernel still takes output queued ahead of a
//! keepalive ping (its wait counts from the transport's last progress:
//! measured here at up to 0.25 s).

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rfc6455::blocking::{self, Transport};
use rfc6455::extension::{DeflateConfig, ExtensionConfig};
use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
use rfc6455::tokio::{TrySendError, WebSocketStream};
use rfc6455::{
    Backoff, CloseCode, Config, Connection, Disconnect, Error, Keepalive, Message, Received,
    StreamError,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// Bound on any one wait for an event; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(30);
/// Bound on a whole transfer of the loss and slow link cases (the slow
/// link's echo alone takes 70 s).
const RUN_LIMIT: Duration = Duration::from_secs(150);
/// Allowance on top of each time bound (see the top).
const SLACK: Duration = Duration::from_millis(500);
/// Keepalive of the cable cut and the link coming back: a ping after
/// `KA_INTERVAL` of silence, failure `KA_TIMEOUT` after it.
const KA_INTERVAL: Duration = Duration::from_millis(500);
const KA_TIMEOUT: Duration = Duration::from_secs(1);
/// The cable cut's stream: a message of this size every `STREAM_PACE`
/// each way (1.6 MB/s), which every endpoint reads as fast as it comes:
/// bytes still waiting to be read when the link goes down are heard after
/// the cut, and would push the end past the bound measured from the cut.
/// The streaming side's bound counts from the later of the cut and the last
/// write its transport took (see `silent_from`).
const STREAM_SIZE: usize = 8 << 10;
const STREAM_PACE: Duration = Duration::from_millis(5);
/// The close timeout of the cases that bound closing.
const CLOSE: Duration = Duration::from_secs(1);
/// The loss case: messages each way, and the loss rate.
const SEQ_COUNT: usize = 1000;
const LOSS: &str = "0.05";
/// The slow link: the message, the rate, and keepalive on both ends.
const BIG: usize = 4 << 20;
const RATE: &str = "1mbit";
const SLOW_KA_TIMEOUT: Duration = Duration::from_secs(4);
/// The mio server's keepalive timeout on the slow link (see `slow_link`).
const MIO_SLOW_KA_TIMEOUT: Duration = Duration::from_secs(45);

// ------------------------------------------------------------ environment

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Server = 0,
    Client = 1,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// The namespaces, their veth ends and addresses, the mio server.
struct Env {
    ns: [String; 2],
    dev: [String; 2],
    ip: [String; 2],
    mio: String,
}

/// The environment `scripts/faults.sh` sets, or `None` (saying so) when
/// `FAULTS_NETNS` is not set.
fn env() -> Option<Env> {
    let Ok(netns) = std::env::var("FAULTS_NETNS") else {
        // Straight to stderr rather than `eprintln!`, which the harness
        // captures: a skip is said even in a plain `cargo test`.
        let test = thread::current().name().unwrap_or("test").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "faults: {test} skipped, FAULTS_NETNS is not set \
             (scripts/faults.sh makes the network namespaces and sets it)"
        );
        return None;
    };
    let pair = |var: &str, value: Option<String>| -> [String; 2] {
        let value = value
            .or_else(|| std::env::var(var).ok())
            .unwrap_or_else(|| panic!("FAULTS_NETNS is set but {var} is not"));
        let (a, b) = value
            .split_once(',')
            .unwrap_or_else(|| panic!("{var}={value}: expected two values, comma-separated"));
        [a.to_owned(), b.to_owned()]
    };
    let env = Env {
        ns: pair("FAULTS_NETNS", Some(netns)),
        dev: pair("FAULTS_DEVS", None),
        ip: pair("FAULTS_ADDRS", None),
        mio: std::env::var("FAULTS_MIO_BIN")
            .unwrap_or_else(|_| panic!("FAULTS_NETNS is set but FAULTS_MIO_BIN is not")),
    };
    for ns in &env.ns {
        let path = format!("/var/run/netns/{ns}");
        assert!(
            std::path::Path::new(&path).exists(),
            "network namespace {ns} does not exist ({path})"
        );
    }
    Some(env)
}

/// Runs a command; a failure fails the test with what the command said.
fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("`{}`: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "`{}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Runs a command, ignoring its failure (undoing what may not be there).
fn run_quiet(args: &[&str]) {
    let _ = Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A command's standard output (for counters).
fn output(args: &[&str]) -> String {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl Env {
    fn ns(&self, side: Side) -> &str {
        &self.ns[side as usize]
    }

    fn dev(&self, side: Side) -> &str {
        &self.dev[side as usize]
    }

    fn server_ip(&self) -> &str {
        &self.ip[0]
    }

    /// Runs `cmd` inside `side`'s namespace.
    fn exec(&self, side: Side, cmd: &[&str]) {
        let mut args = vec!["ip", "netns", "exec", self.ns(side)];
        args.extend_from_slice(cmd);
        run(&args);
    }

    /// Takes `side`'s end of the link down (no FIN, no RST: the packets
    /// just stop) or up.
    fn link(&self, side: Side, up: bool) {
        let state = if up { "up" } else { "down" };
        run(&[
            "ip",
            "-n",
            self.ns(side),
            "link",
            "set",
            self.dev(side),
            state,
        ]);
    }

    /// Appends an iptables rule to `side`'s INPUT chain, for packets coming
    /// in over the veth (a blackhole drops them there, on arrival).
    fn input_rule(&self, side: Side, rule: &[&str]) {
        let mut cmd = vec!["iptables", "-w", "-A", "INPUT", "-i", self.dev(side)];
        cmd.extend_from_slice(rule);
        self.exec(side, &cmd);
    }

    /// Packets dropped by `side`'s INPUT rules so far.
    fn dropped(&self, side: Side) -> u64 {
        let listing = output(&[
            "ip",
            "netns",
            "exec",
            self.ns(side),
            "iptables",
            "-w",
            "-L",
            "INPUT",
            "-v",
            "-x",
            "-n",
        ]);
        listing
            .lines()
            .filter(|l| l.contains("DROP"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// The link as it was made: both ends up, no rule, no shaping, no
    /// neighbour entry left failed by a cut (a connect would find the
    /// host unreachable), and the carrier back.
    fn reset(&self) {
        for side in [Side::Server, Side::Client] {
            self.link(side, true);
            self.exec(side, &["iptables", "-w", "-F", "INPUT"]);
            run_quiet(&[
                "ip",
                "netns",
                "exec",
                self.ns(side),
                "tc",
                "qdisc",
                "del",
                "dev",
                self.dev(side),
                "root",
            ]);
            run(&[
                "ip",
                "-n",
                self.ns(side),
                "neigh",
                "flush",
                "dev",
                self.dev(side),
            ]);
        }
        self.wait_carrier();
    }

    /// Waits until both ends report their carrier (polled: the kernel
    /// gives no event here), at most `LIMIT`.
    fn wait_carrier(&self) {
        let deadline = Instant::now() + LIMIT;
        for side in [Side::Server, Side::Client] {
            loop {
                let state = output(&[
                    "ip",
                    "-n",
                    self.ns(side),
                    "link",
                    "show",
                    "dev",
                    self.dev(side),
                ]);
                if state.contains("LOWER_UP") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: no carrier: {state}",
                    self.dev(side)
                );
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Undoes the faults of a test when it ends, even by a panic.
struct Faults<'a>(&'a Env);

impl<'a> Faults<'a> {
    fn new(env: &'a Env) -> Self {
        env.reset();
        Faults(env)
    }
}

impl Drop for Faults<'_> {
    fn drop(&mut self) {
        self.0.reset();
    }
}

/// Moves the calling thread into network namespace `ns`: the sockets it
/// makes from then on live there (a thread's namespace is its own).
fn enter(ns: &str) {
    let file = File::open(format!("/var/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("network namespace {ns}: {e}"));
    // SAFETY: setns on a namespace file descriptor we hold open; it only
    // changes this thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "setns({ns}): {} (needs root)",
        std::io::Error::last_os_error()
    );
}

/// A thread running in a namespace, joined with a bound.
struct Task<T> {
    name: String,
    done: mpsc::Receiver<thread::Result<T>>,
}

fn spawn_in<T: Send + 'static>(
    env: &Env,
    side: Side,
    name: impl Into<String>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Task<T> {
    let name = name.into();
    let ns = env.ns(side).to_owned();
    let (tx, done) = mpsc::channel();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            enter(&ns);
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        })
        .expect("thread");
    Task { name, done }
}

impl<T> Task<T> {
    /// Its result; a panic (reported as such) or no result within `LIMIT`
    /// fails the test.
    fn join(self) -> T {
        self.join_within(LIMIT)
    }

    /// Its result, within `limit`.
    fn join_within(self, limit: Duration) -> T {
        match self.done.recv_timeout(limit) {
            Ok(Ok(t)) => t,
            Ok(Err(panic)) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                panic!("{} panicked: {msg}", self.name)
            }
            Err(_) => panic!("{} did not end within {limit:?}", self.name),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ------------------------------------------------------------ sockets

/// The socket behind `fd`, as `/proc` names it (`socket:[INODE]`).
fn socket_of(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether any file descriptor of this process still refers to `socket`.
fn socket_open(socket: &str) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|p| p.to_string_lossy() == socket)
}

/// Sets SO_LINGER to zero: closing then resets the connection (RST).
fn linger_zero(fd: RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a pointer to a properly sized option.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

// ------------------------------------------------------------ events and reports

/// A milestone an endpoint reports to the test thread.
struct Ev {
    who: String,
    what: &'static str,
    n: usize,
    at: Instant,
    detail: String,
    report: Option<Report>,
}

/// What an endpoint is handed: where to report, and (for some programs) a
/// signal to act on.
struct Ctl {
    who: String,
    tx: mpsc::Sender<Ev>,
    go: Option<oneshot::Receiver<()>>,
}

impl Ctl {
    fn say(&self, what: &'static str, n: usize, detail: String) {
        let _ = self.tx.send(Ev {
            who: self.who.clone(),
            what,
            n,
            at: Instant::now(),
            detail,
            report: None,
        });
    }

    fn report(&self, n: usize, report: Report) {
        let _ = self.tx.send(Ev {
            who: self.who.clone(),
            what: "report",
            n,
            at: Instant::now(),
            detail: String::new(),
            report: Some(report),
        });
    }
}

struct Events {
    tx: mpsc::Sender<Ev>,
    rx: mpsc::Receiver<Ev>,
    seen: Vec<Ev>,
}

impl Events {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Events {
            tx,
            rx,
            seen: Vec::new(),
        }
    }

    fn ctl(&self, who: impl Into<String>) -> Ctl {
        Ctl {
            who: who.into(),
            tx: self.tx.clone(),
            go: None,
        }
    }

    /// A control with a signal; the sender gives it.
    fn ctl_go(&self, who: impl Into<String>) -> (Ctl, oneshot::Sender<()>) {
        let (go_tx, go_rx) = oneshot::channel();
        let mut ctl = self.ctl(who);
        ctl.go = Some(go_rx);
        (ctl, go_tx)
    }

    /// Waits (up to `LIMIT`) for `who`'s `what` numbered `n`.
    fn wait(&mut self, who: &str, what: &str, n: usize) -> Ev {
        let matches = |e: &Ev| e.who == who && e.what == what && e.n == n;
        if let Some(i) = self.seen.iter().position(matches) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) if matches(&e) => return e,
                Ok(e) => self.seen.push(e),
                Err(_) => panic!("{who}: no {what} {n} within {LIMIT:?}"),
            }
        }
    }

    /// Every event seen so far from `who` that is `what`.
    fn all(&mut self, who: &str, what: &str) -> Vec<Ev> {
        while let Ok(e) = self.rx.try_recv() {
            self.seen.push(e);
        }
        let (mine, rest) = std::mem::take(&mut self.seen)
            .into_iter()
            .partition(|e| e.who == who && e.what == what);
        self.seen = rest;
        mine
    }
}

/// How a connection ended, when it failed.
#[derive(Clone, Debug)]
struct Failure {
    code: Option<u16>,
    keepalive: bool,
    text: String,
}

impl Failure {
    fn of(e: &StreamError) -> Self {
        Failure {
            code: e.close_code().map(CloseCode::as_u16),
            keepalive: matches!(e, StreamError::Protocol(Error::KeepaliveTimeout)),
            text: format!("{e:?}"),
        }
    }
}

/// What an endpoint found.
#[derive(Debug, Default)]
struct Report {
    /// When the connection ended (its stream or read returned the end).
    ended: Option<Instant>,
    /// `None`: a clean end.
    failure: Option<Failure>,
    /// Whether the socket was released once the connection was dropped.
    fd_released: Option<bool>,
    /// Checks that failed (empty: all passed).
    broken: Vec<String>,
    /// Figures, for the log.
    info: Vec<String>,
    /// The slow link's sender: largest `pending_output()` seen, non-waiting
    /// sends refused for a full queue, and pings received.
    max_pending: usize,
    refused_full: usize,
    pings_in: usize,
    /// When a big message arrived whole (slow link), or the sequence did.
    done_at: Option<Instant>,
    /// The cable cut's streaming sides: when the transport last took a
    /// message. A kernel's send buffer goes on taking output for a while
    /// after the link is gone, and a keepalive ping queued behind that
    /// output counts its timeout from the last write (`Keepalive`).
    last_write: Option<Instant>,
}

impl Report {
    fn end(&mut self, result: Result<(), &StreamError>) {
        if self.ended.is_none() {
            self.ended = Some(Instant::now());
            self.failure = result.err().map(Failure::of);
        }
    }

    fn outcome(&self) -> String {
        match &self.failure {
            None => "clean".to_owned(),
            Some(f) => format!("{} ({:?})", f.text, f.code),
        }
    }
}

/// One line of the summary table.
struct Row {
    case: &'static str,
    adapter: String,
    side: &'static str,
    bound: String,
    measured: String,
    pass: bool,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Prints the rows (the script collects them) and fails on any failed one.
fn finish(rows: Vec<Row>) {
    let mut out = std::io::stdout().lock();
    for r in &rows {
        let _ = writeln!(
            out,
            "faults-row|{}|{}|{}|{}|{}|{}",
            r.case,
            r.adapter,
            r.side,
            r.bound,
            r.measured,
            if r.pass { "PASS" } else { "FAIL" }
        );
    }
    drop(out);
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.pass)
        .map(|r| format!("{} {} {}: {}", r.case, r.adapter, r.side, r.measured))
        .collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
}

/// A row checking a time to detection against `bound` (plus `SLACK`) and
/// the end's kind with `ok`.
/// When the link went silent for a streaming side: the cut, or the last
/// write its transport took after it (its kernel buffers the writes for a
/// while, and a keepalive ping queued behind them counts from the last).
fn silent_from(cut: Instant, report: &Report) -> Instant {
    if let Some(w) = report.last_write.filter(|&w| w > cut) {
        println!(
            "  (its transport took writes until {} after the cut)",
            secs(w - cut)
        );
        return w;
    }
    cut
}

fn timed_row(
    case: &'static str,
    adapter: &str,
    side: &'static str,
    bound: Duration,
    from: Instant,
    report: &Report,
    (ok, what): (bool, &str),
) -> Row {
    let measured = report.ended.map(|t| t.saturating_duration_since(from));
    let in_time = measured.is_some_and(|m| m <= bound + SLACK);
    let fd = match report.fd_released {
        Some(true) => "fd released",
        Some(false) => "FD STILL OPEN",
        None => "fd not checked",
    };
    let mut text = match measured {
        Some(m) => format!("{} {what}, {fd}", secs(m)),
        None => format!("never ended, {fd}"),
    };
    if !ok {
        text.push_str(&format!("; got {}", report.outcome()));
    }
    for b in &report.broken {
        text.push_str(&format!("; {b}"));
    }
    println!(
        "{case}: {adapter} {side}: ended {} after the fault ({}), bound {} + {} slack",
        measured.map_or("never".to_owned(), secs),
        report.outcome(),
        secs(bound),
        secs(SLACK)
    );
    Row {
        case,
        adapter: adapter.to_owned(),
        side,
        bound: format!("{} + {} slack", secs(bound), secs(SLACK)),
        measured: text,
        pass: in_time && ok && report.fd_released != Some(false) && report.broken.is_empty(),
    }
}

// ------------------------------------------------------------ messages

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `len` pseudo-random bytes from `seed`.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    let mut s = mix(seed) | 1;
    while v.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A checksum (64-bit, word at a time: a debug build hashes tens of MB).
fn checksum(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ data.len() as u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The size of message `i` of the loss sequence: 1 B first, 1 MiB every
/// hundredth (ten of them, 10 MiB), the rest spread evenly over the powers
/// of two from 1 B to 64 KiB (about 11 MB): 21 MB each way in all.
fn seq_len(i: usize) -> usize {
    if i == 0 {
        return 1;
    }
    if i % 100 == 50 {
        return 1 << 20;
    }
    let r = mix(i as u64);
    let base = 1usize << (r % 17);
    (base + (r >> 8) as usize % base).min(64 << 10)
}

/// Message `i` of the loss sequence: odd ones are text (compressible
/// words, led by the number in hex), even ones binary noise (led by the
/// number), so a message lost, doubled or swapped shows.
fn seq_message(i: usize) -> Message {
    let len = seq_len(i);
    if i % 2 == 1 {
        let tag = format!("{i:08x}");
        if len <= tag.len() {
            return Message::text(tag[tag.len() - len..].to_owned());
        }
        let words = ["lorem ", "ipsum ", "dolor ", "sit ", "amet ", "websocket "];
        let mut s = String::with_capacity(len + 16);
        s.push_str(&tag);
        let mut k = i;
        while s.len() < len {
            s.push_str(words[k % words.len()]);
            k = k.wrapping_mul(31).wrapping_add(7);
        }
        s.truncate(len);
        Message::text(s)
    } else {
        let mut v = (i as u32).to_le_bytes().to_vec();
        v.extend(noise(i as u64, len.saturating_sub(4)));
        v.truncate(len);
        Message::binary(v)
    }
}

/// (text, length, checksum) of each message of the loss sequence.
fn seq_expected() -> &'static [(bool, usize, u64)] {
    static TABLE: OnceLock<Vec<(bool, usize, u64)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..SEQ_COUNT)
            .map(|i| {
                let m = seq_message(i);
                (m.is_text(), m.len(), checksum(m.as_payload()))
            })
            .collect()
    })
}

/// Checks that the loss sequence arrives whole: every message once, in
/// order, intact.
struct Verifier {
    next: usize,
    bad: Option<String>,
}

impl Verifier {
    fn new() -> Self {
        Verifier { next: 0, bad: None }
    }

    fn check(&mut self, m: &Message) {
        if self.bad.is_some() {
            return;
        }
        let i = self.next;
        self.next += 1;
        let Some(&(text, len, sum)) = seq_expected().get(i) else {
            self.bad = Some(format!("message {i} beyond the {SEQ_COUNT} sent"));
            return;
        };
        let got = (m.is_text(), m.len(), checksum(m.as_payload()));
        if got != (text, len, sum) {
            self.bad = Some(format!(
                "message {i}: expected (text {text}, {len} B, {sum:016x}), got (text {}, {} B, {:016x})",
                got.0, got.1, got.2
            ));
        }
    }

    fn complete(&self) -> bool {
        self.next >= SEQ_COUNT
    }

    fn finish(&self, who: &str, r: &mut Report) {
        if let Some(bad) = &self.bad {
            r.broken.push(format!("{who}: {bad}"));
        } else if self.next != SEQ_COUNT {
            r.broken.push(format!(
                "{who}: {} of {SEQ_COUNT} messages arrived",
                self.next
            ));
        }
    }
}

/// The slow link's message: 4 MiB of noise.
fn big_message() -> (Message, u64) {
    static BIG_MSG: OnceLock<(Bytes, u64)> = OnceLock::new();
    let (data, sum) = BIG_MSG.get_or_init(|| {
        let data = Bytes::from(noise(0xb16, BIG));
        let sum = checksum(&data);
        (data, sum)
    });
    (Message::binary(data.clone()), *sum)
}

/// The small messages the slow link's sender adds once there is room.
fn filler(n: usize) -> Message {
    let mut v = (n as u32).to_le_bytes().to_vec();
    v.resize(1024, 0xf1);
    Message::binary(v)
}

// ------------------------------------------------------------ programs

/// What an endpoint does on its connection.
#[derive(Clone, Copy, Debug)]
enum Prog {
    /// Sends every data message back; with `verify`, checks that they are
    /// the loss sequence. Reads until the end; says `close-seen` when the
    /// peer's close frame arrives.
    Echo { verify: bool },
    /// Streams `STREAM_SIZE` messages (one every `STREAM_PACE`) while reading their echoes;
    /// says `flowing` after 20 echoes.
    Stream,
    /// Sends the loss sequence while checking its echo, then closes (1000).
    Exchange,
    /// Reads until told to close, then closes (1000) and reads to the end.
    CloseOnSignal,
    /// The slow link's sender: the big message, then small ones as the
    /// output makes room, then `end` and a close (with `echo`: after the
    /// echo of everything came back).
    SendBig { echo: bool },
    /// The slow link's receiver.
    ReceiveBig,
}

/// Every adapter under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    Tokio,
    Blocking,
}

impl Adapter {
    fn name(self) -> &'static str {
        match self {
            Adapter::Tokio => "tokio",
            Adapter::Blocking => "blocking",
        }
    }
}

// --------------------------------- tokio

async fn tokio_run<S: AsyncRead + AsyncWrite + Unpin>(
    ws: WebSocketStream<S>,
    prog: Prog,
    ctl: Ctl,
) -> Report {
    ctl.say("established", 0, String::new());
    match prog {
        Prog::Echo { verify } => tokio_echo(ws, verify, &ctl).await,
        Prog::Stream => tokio_stream(ws, &ctl).await,
        Prog::Exchange => tokio_exchange(ws).await,
        Prog::CloseOnSignal => tokio_close_on_signal(ws, ctl).await,
        Prog::SendBig { echo } => tokio_send_big(ws, echo).await,
        Prog::ReceiveBig => tokio_receive_big(ws).await,
    }
}

async fn tokio_echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    verify: bool,
    ctl: &Ctl,
) -> Report {
    let mut r = Report::default();
    let mut check = verify.then(Verifier::new);
    while let Some(item) = ws.next().await {
        match item {
            Ok(m) if m.is_text() || m.is_binary() => {
                if let Some(c) = &mut check {
                    c.check(&m);
                    if c.complete() && r.done_at.is_none() {
                        r.done_at = Some(Instant::now());
                    }
                }
                // A failure is the stream's to report.
                let _ = ws.send(m).await;
            }
            Ok(Message::Close(_)) => ctl.say("close-seen", 0, String::new()),
            Ok(_) => {}
            Err(e) => r.end(Err(&e)),
        }
    }
    r.end(Ok(()));
    if let Some(c) = check {
        c.finish("echo server", &mut r);
    }
    r
}

async fn tokio_stream<S: AsyncRead + AsyncWrite + Unpin>(
    ws: WebSocketStream<S>,
    ctl: &Ctl,
) -> Report {
    let (mut rd, mut wr) = ws.split();
    let done = Cell::new(false);
    let reader = async {
        let mut r = Report::default();
        let mut echoes = 0;
        while let Some(item) = rd.next().await {
            match item {
                Ok(m) if m.is_binary() => {
                    echoes += 1;
                    if echoes == 20 {
                        ctl.say("flowing", 0, String::new());
                    }
                }
                Ok(_) => {}
                Err(e) => r.end(Err(&e)),
            }
        }
        r.end(Ok(()));
        done.set(true);
        r.info.push(format!("{echoes} echoes"));
        r
    };
    let last_write = Cell::new(None);
    let writer = async {
        let message = Message::binary(vec![0x5a; STREAM_SIZE]);
        while !done.get() {
            if wr.send(message.clone()).await.is_err() {
                break;
            }
            last_write.set(Some(Instant::now()));
            tokio::time::sleep(STREAM_PACE).await;
        }
    };
    let (mut r, ()) = tokio::join!(reader, writer);
    r.last_write = last_write.get();
    r
}

async fn tokio_exchange<S: AsyncRead + AsyncWrite + Unpin>(ws: WebSocketStream<S>) -> Report {
    let (mut rd, mut wr) = ws.split();
    let writer = async {
        for i in 0..SEQ_COUNT {
            if wr.send(seq_message(i)).await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        let mut r = Report::default();
        let mut v = Verifier::new();
        while !v.complete() {
            match rd.next().await {
                Some(Ok(m)) if m.is_text() || m.is_binary() => v.check(&m),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    r.end(Err(&e));
                    break;
                }
                None => {
                    r.end(Ok(()));
                    break;
                }
            }
        }
        r.done_at = Some(Instant::now());
        (r, v)
    };
    let ((), (mut r, v)) = tokio::join!(writer, reader);
    if r.ended.is_none() {
        let _ = wr.close(CloseCode::NORMAL, "done").await;
        while let Some(item) = rd.next().await {
            if let Err(e) = item {
                r.end(Err(&e));
            }
        }
        r.end(Ok(()));
    }
    v.finish("client (echoes)", &mut r);
    r
}

async fn tokio_close_on_signal<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    mut ctl: Ctl,
) -> Report {
    let mut r = Report::default();
    let go = ctl.go.take().expect("a signal");
    let drain = async {
        while let Some(item) = ws.next().await {
            item?;
        }
        Ok(())
    };
    tokio::select! {
        _ = go => {}
        end = drain => {
            r.end(end.as_ref().map(|_| ()));
            r.broken.push("the connection ended before the close".to_owned());
            return r;
        }
    }
    let closed = ws.close(CloseCode::NORMAL, "bye").await;
    r.end(closed.as_ref().map(|_| ()));
    r
}

async fn tokio_send_big<S: AsyncRead + AsyncWrite + Unpin>(
    ws: WebSocketStream<S>,
    echo: bool,
) -> Report {
    let hwm = ws.connection().settings().write_buffer_size;
    let (big, sum) = big_message();
    let (mut rd, mut wr) = ws.split();
    let echoed = Cell::new(false);
    let reader_done = Cell::new(false);
    let reader = async {
        let mut r = Report::default();
        let mut fillers = 0;
        let mut big_ok = false;
        while let Some(item) = rd.next().await {
            match item {
                Ok(Message::Ping(_)) => r.pings_in += 1,
                Ok(m) if echo && m.len() == BIG => {
                    big_ok = checksum(m.as_payload()) == sum;
                    r.done_at = Some(Instant::now());
                }
                Ok(m) if echo && m.is_binary() => fillers += 1,
                Ok(m) if echo && m.is_text() => echoed.set(true),
                Ok(_) => {}
                Err(e) => r.end(Err(&e)),
            }
        }
        r.end(Ok(()));
        reader_done.set(true);
        if echo {
            if !big_ok {
                r.broken
                    .push("the echo of the big message is wrong or missing".to_owned());
            }
            r.info.push(format!("{fillers} small messages echoed"));
        }
        r
    };
    let sender = async {
        let started = Instant::now();
        let mut max = 0;
        let mut refused = 0;
        let mut fillers = 0;
        let mut drained = None;
        let mut broken = Vec::new();
        // The queue is empty: the message is taken whole.
        if let Err(e) = wr.try_send(big) {
            broken.push(format!("the big message was refused: {e}"));
        }
        while broken.is_empty() {
            let pending = wr.pending_output();
            max = max.max(pending);
            if pending <= hwm && drained.is_none() {
                drained = Some(started.elapsed());
            }
            match wr.try_send(filler(fillers)) {
                Ok(()) => {
                    fillers += 1;
                    max = max.max(wr.pending_output());
                }
                Err(TrySendError::Full(_)) => refused += 1,
                Err(e) => broken.push(format!("try_send: {e}")),
            }
            if drained.is_some() && fillers >= 5 {
                break;
            }
            // The sampling period.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if broken.is_empty() {
            if let Err(e) = wr.send(Message::text("end")).await {
                broken.push(format!("sending the end: {e}"));
            }
        }
        if echo {
            // The close would be answered after the echo of everything,
            // well past the close timeout at this rate: wait for it.
            while !echoed.get() && !reader_done.get() && started.elapsed() < RUN_LIMIT {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = wr.close(CloseCode::NORMAL, "done").await;
        (max, refused, fillers, drained, broken)
    };
    let (mut r, (max, refused, fillers, drained, broken)) = tokio::join!(reader, sender);
    r.max_pending = max;
    r.refused_full = refused;
    r.broken.extend(broken);
    r.info.push(format!(
        "big message written in {}, {fillers} small messages after it",
        drained.map_or("never".to_owned(), secs)
    ));
    r
}

async fn tokio_receive_big<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
) -> Report {
    let mut r = Report::default();
    let (_, sum) = big_message();
    let mut seen = ReceivedBig::default();
    while let Some(item) = ws.next().await {
        match item {
            Ok(m) => seen.take(&m, sum, &mut r),
            Err(e) => r.end(Err(&e)),
        }
    }
    r.end(Ok(()));
    seen.finish(&mut r);
    r
}

/// What the slow link's receiver checks: the big message intact, then the
/// small ones in order, then `end`.
#[derive(Default)]
struct ReceivedBig {
    big: bool,
    fillers: usize,
    end: bool,
    bad: Vec<String>,
}

impl ReceivedBig {
    fn take(&mut self, m: &Message, sum: u64, r: &mut Report) {
        match m {
            Message::Ping(_) => r.pings_in += 1,
            Message::Binary(data) if !self.big => {
                if data.len() == BIG && checksum(data) == sum {
                    self.big = true;
                    r.done_at = Some(Instant::now());
                } else {
                    self.bad
                        .push(format!("first message: {} B, not the big one", data.len()));
                }
            }
            Message::Binary(data) => {
                let n = data
                    .get(..4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4")) as usize);
                if n != Some(self.fillers) || data.len() != 1024 {
                    self.bad
                        .push(format!("small message {} out of order", self.fillers));
                }
                self.fillers += 1;
            }
            Message::Text(t) if t.as_str() == "end" => self.end = true,
            _ => {}
        }
    }

    fn finish(self, r: &mut Report) {
        if !self.big {
            r.broken
                .push("the big message did not arrive whole".to_owned());
        }
        if !self.end {
            r.broken.push("`end` did not arrive".to_owned());
        }
        r.broken.extend(self.bad);
        r.info.push(format!("{} small messages", self.fillers));
    }
}

// --------------------------------- blocking

/// Splitting a blocking connection, for both socket types.
trait Splits: Transport + Sized {
    fn split_ws(ws: blocking::WebSocket<Self>) -> (blocking::Reader, blocking::Writer);
}

impl Splits for StdStream {
    fn split_ws(ws: blocking::WebSocket<Self>) -> (blocking::Reader, blocking::Writer) {
        ws.split().expect("split")
    }
}

impl Splits for blocking::ClientStream {
    fn split_ws(ws: blocking::WebSocket<Self>) -> (blocking::Reader, blocking::Writer) {
        ws.split().expect("split")
    }
}

fn blocking_run<S: Splits>(ws: blocking::WebSocket<S>, prog: Prog, ctl: Ctl) -> Report {
    ctl.say("established", 0, String::new());
    match prog {
        Prog::Echo { verify } => blocking_echo(ws, verify, &ctl),
        Prog::Stream => blocking_stream(ws, &ctl),
        Prog::Exchange => blocking_exchange(ws),
        Prog::CloseOnSignal => blocking_close_on_signal(ws, ctl),
        Prog::SendBig { echo } => {
            assert!(!echo, "the blocking sender does not take an echo");
            blocking_send_big(ws)
        }
        Prog::ReceiveBig => blocking_receive_big(ws),
    }
}

/// Reads from a blocking connection until it ends: the error it ended
/// with is returned once, then `Closed` (or by a send that closed it).
fn blocking_ended(
    r: &mut Report,
    e: StreamError,
    send_failure: &mut Option<(Instant, StreamError)>,
) {
    match e {
        StreamError::Closed => match send_failure.take() {
            Some((at, e)) if r.ended.is_none() => {
                r.ended = Some(at);
                r.failure = Some(Failure::of(&e));
            }
            _ => r.end(Ok(())),
        },
        e => r.end(Err(&e)),
    }
}

fn blocking_echo<S: Transport>(mut ws: blocking::WebSocket<S>, verify: bool, ctl: &Ctl) -> Report {
    let mut r = Report::default();
    let mut check = verify.then(Verifier::new);
    let mut send_failure = None;
    loop {
        match ws.read() {
            Ok(m) if m.is_text() || m.is_binary() => {
                if let Some(c) = &mut check {
                    c.check(&m);
                    if c.complete() && r.done_at.is_none() {
                        r.done_at = Some(Instant::now());
                    }
                }
                if let Err(e) = ws.send(m) {
                    // Reported by the read that follows, unless this send
                    // was what closed the connection.
                    send_failure.get_or_insert((Instant::now(), e));
                }
            }
            Ok(Message::Close(_)) => ctl.say("close-seen", 0, String::new()),
            Ok(_) => {}
            Err(e) => {
                blocking_ended(&mut r, e, &mut send_failure);
                break;
            }
        }
    }
    if let Some(c) = check {
        c.finish("echo server", &mut r);
    }
    r
}

fn blocking_stream<S: Splits>(ws: blocking::WebSocket<S>, ctl: &Ctl) -> Report {
    let (mut rd, wr) = S::split_ws(ws);
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let writer = thread::spawn(move || {
        let message = Message::binary(vec![0x5a; STREAM_SIZE]);
        let mut last_write = None;
        while !stop.load(Ordering::SeqCst) {
            if wr.send(message.clone()).is_err() {
                break;
            }
            last_write = Some(Instant::now());
            thread::sleep(STREAM_PACE);
        }
        last_write
    });
    let mut r = Report::default();
    let mut echoes = 0;
    loop {
        match rd.read() {
            Ok(m) if m.is_binary() => {
                echoes += 1;
                if echoes == 20 {
                    ctl.say("flowing", 0, String::new());
                }
            }
            Ok(_) => {}
            Err(e) => {
                blocking_ended(&mut r, e, &mut None);
                break;
            }
        }
    }
    done.store(true, Ordering::SeqCst);
    match writer.join() {
        Ok(last_write) => r.last_write = last_write,
        Err(_) => r.broken.push("the writer thread panicked".to_owned()),
    }
    drop(rd);
    r.info.push(format!("{echoes} echoes"));
    r
}

fn blocking_exchange<S: Splits>(ws: blocking::WebSocket<S>) -> Report {
    let (mut rd, wr) = S::split_ws(ws);
    let wr2 = wr.clone();
    let writer = thread::spawn(move || {
        for i in 0..SEQ_COUNT {
            if wr2.send(seq_message(i)).is_err() {
                break;
            }
        }
    });
    let mut r = Report::default();
    let mut v = Verifier::new();
    while !v.complete() {
        match rd.read() {
            Ok(m) if m.is_text() || m.is_binary() => v.check(&m),
            Ok(_) => {}
            Err(e) => {
                blocking_ended(&mut r, e, &mut None);
                break;
            }
        }
    }
    r.done_at = Some(Instant::now());
    if writer.join().is_err() {
        r.broken.push("the writer thread panicked".to_owned());
    }
    if r.ended.is_none() {
        let _ = wr.close(CloseCode::NORMAL, "done");
        loop {
            match rd.read() {
                Ok(_) => {}
                Err(e) => {
                    blocking_ended(&mut r, e, &mut None);
                    break;
                }
            }
        }
    }
    v.finish("client (echoes)", &mut r);
    r
}

fn blocking_close_on_signal<S: Transport>(mut ws: blocking::WebSocket<S>, mut ctl: Ctl) -> Report {
    let mut r = Report::default();
    // Idle until then (no keepalive in this case: nothing to drive).
    let _ = ctl.go.take().expect("a signal").blocking_recv();
    let mut send_failure = None;
    if let Err(e) = ws.close(CloseCode::NORMAL, "bye") {
        send_failure = Some((Instant::now(), e));
    }
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(e) => {
                blocking_ended(&mut r, e, &mut send_failure);
                break;
            }
        }
    }
    r
}

fn blocking_send_big<S: Transport>(mut ws: blocking::WebSocket<S>) -> Report {
    let mut r = Report::default();
    let hwm = ws.connection().settings().write_buffer_size;
    let (big, _) = big_message();
    let started = Instant::now();
    // Writes return after 10 ms with the rest queued: the samples' period.
    ws.set_write_timeout(Some(Duration::from_millis(10)));
    let timed_out = |e: &StreamError| matches!(e, StreamError::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock));
    let mut fillers = 0;
    let mut drained = None;
    match ws.write(big) {
        Ok(()) => {}
        Err(e) if timed_out(&e) => {}
        Err(e) => r.broken.push(format!("sending the big message: {e}")),
    }
    while r.broken.is_empty() {
        let pending = ws.connection().pending_output();
        r.max_pending = r.max_pending.max(pending);
        if pending <= hwm && drained.is_none() {
            drained = Some(started.elapsed());
        }
        // The blocking adapter's "full": queue no more past the mark, write.
        let result = if ws.connection().output_is_full() {
            r.refused_full += 1;
            ws.flush()
        } else {
            fillers += 1;
            ws.write(filler(fillers - 1))
        };
        r.max_pending = r.max_pending.max(ws.connection().pending_output());
        match result {
            Ok(()) => {}
            Err(e) if timed_out(&e) => {}
            Err(e) => r.broken.push(format!("writing: {e}")),
        }
        if drained.is_some() && fillers >= 5 {
            break;
        }
    }
    ws.set_write_timeout(None);
    let mut send_failure = None;
    if let Err(e) = ws
        .send(Message::text("end"))
        .and_then(|()| ws.close(CloseCode::NORMAL, "done"))
    {
        send_failure = Some((Instant::now(), e));
    }
    loop {
        match ws.read() {
            Ok(Message::Ping(_)) => r.pings_in += 1,
            Ok(_) => {}
            Err(e) => {
                blocking_ended(&mut r, e, &mut send_failure);
                break;
            }
        }
    }
    r.info.push(format!(
        "big message written in {}, {fillers} small messages after it",
        drained.map_or("never".to_owned(), secs)
    ));
    r
}

fn blocking_receive_big<S: Transport>(mut ws: blocking::WebSocket<S>) -> Report {
    let mut r = Report::default();
    let (_, sum) = big_message();
    let mut seen = ReceivedBig::default();
    loop {
        match ws.read() {
            Ok(m) => seen.take(&m, sum, &mut r),
            Err(e) => {
                blocking_ended(&mut r, e, &mut None);
                break;
            }
        }
    }
    seen.finish(&mut r);
    r
}

// --------------------------------- endpoints

/// Accepts one connection in the server namespace (on an address of its
/// own) and runs `prog` on it; the report includes whether its socket
/// was released.
fn serve_one(
    env: &Env,
    adapter: Adapter,
    config: Config,
    prog: Prog,
    ctl: Ctl,
) -> (String, Task<Report>) {
    let ip = env.server_ip().to_owned();
    let (addr_tx, addr_rx) = mpsc::channel();
    let task = spawn_in(
        env,
        Side::Server,
        format!("{} server", adapter.name()),
        move || {
            let listener = StdListener::bind((ip.as_str(), 0)).expect("bind");
            addr_tx
                .send(listener.local_addr().expect("address"))
                .expect("the test waits");
            let (tcp, _) = listener.accept().expect("accept");
            drop(listener);
            let socket = socket_of(tcp.as_raw_fd());
            let mut r = match adapter {
                Adapter::Tokio => runtime().block_on(async move {
                    tcp.set_nonblocking(true).expect("nonblocking");
                    let tcp = tokio::net::TcpStream::from_std(tcp).expect("tokio socket");
                    match rfc6455::tokio::accept_with(tcp, config, |_| Ok(Accept::new())).await {
                        Ok(ws) => tokio_run(ws, prog, ctl).await,
                        Err(e) => panic!("tokio accept: {e}"),
                    }
                }),
                Adapter::Blocking => {
                    match blocking::accept_with(tcp, config, |_| Ok(Accept::new())) {
                        Ok(ws) => blocking_run(ws, prog, ctl),
                        Err(e) => panic!("blocking accept: {e}"),
                    }
                }
            };
            r.fd_released = Some(!socket_open(&socket));
            r
        },
    );
    let addr: SocketAddr = addr_rx.recv_timeout(LIMIT).expect("the server's address");
    (addr.to_string(), task)
}

/// Connects a client of `adapter` from the client namespace to `addr` and
/// runs `prog`.
fn connect_one(
    env: &Env,
    adapter: Adapter,
    config: Config,
    addr: &str,
    prog: Prog,
    ctl: Ctl,
) -> Task<Report> {
    let url = format!("ws://{addr}/");
    spawn_in(
        env,
        Side::Client,
        format!("{} client", adapter.name()),
        move || {
            let request = ClientRequest::new(&url).expect("url");
            let (socket, mut r) = match adapter {
                Adapter::Tokio => runtime().block_on(async move {
                    let (ws, _) = rfc6455::tokio::connect_with(request, config)
                        .await
                        .unwrap_or_else(|e| panic!("tokio connect: {e}"));
                    let socket = socket_of(ws.get_ref().get_ref().as_raw_fd());
                    (socket, tokio_run(ws, prog, ctl).await)
                }),
                Adapter::Blocking => {
                    let (ws, _) = blocking::connect_with(request, config)
                        .unwrap_or_else(|e| panic!("blocking connect: {e}"));
                    let socket = socket_of(ws.get_ref().tcp().as_raw_fd());
                    (socket, blocking_run(ws, prog, ctl))
                }
            };
            r.fd_released = Some(!socket_open(&socket));
            r
        },
    )
}

// --------------------------------- the mio example's server

/// `examples/echo_server_mio`, a process in the server namespace.
struct Mio {
    child: Child,
    pid: u32,
    addr: String,
    lines: mpsc::Receiver<(Instant, String)>,
    /// Its sockets while it holds no connection (the listener).
    idle_sockets: usize,
}

impl Mio {
    fn start(env: &Env, args: &[&str]) -> Mio {
        let listen = format!("{}:0", env.server_ip());
        let mut child = Command::new("ip")
            .args(["netns", "exec", env.ns(Side::Server), &env.mio, &listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", env.mio));
        // `ip netns exec` execs the program: the child is the server.
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped");
        let first = BufReader::new(stdout)
            .lines()
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("echo_server_mio printed nothing"));
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("echo_server_mio: unexpected first line {first:?}"))
            .to_owned();
        let stderr = child.stderr.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut mio = Mio {
            child,
            pid,
            addr,
            lines,
            idle_sockets: 0,
        };
        mio.idle_sockets = mio.sockets();
        mio
    }

    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|p| p.to_string_lossy().starts_with("socket:"))
            .count()
    }

    /// When it was back to its idle sockets (polled every 5 ms: another
    /// process's descriptors give no event), within `limit`.
    fn wait_idle(&self, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            if self.sockets() <= self.idle_sockets {
                return Some(Instant::now());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Its next line on stderr (it says how each failed connection
    /// ended), within `limit`.
    fn next_line(&self, limit: Duration) -> Option<(Instant, String)> {
        self.lines.recv_timeout(limit).ok()
    }

    /// Every line it printed so far.
    fn lines_so_far(&self) -> Vec<String> {
        self.lines.try_iter().map(|(_, l)| l).collect()
    }

    fn alive(&mut self) -> bool {
        match self.child.try_wait() {
            Ok(None) => true,
            other => {
                println!("echo_server_mio is gone: {other:?}");
                false
            }
        }
    }

    /// A report of the connection that ended with line `line`.
    fn report(&self, line: Option<(Instant, String)>, idle: Option<Instant>) -> Report {
        let mut r = Report {
            fd_released: Some(idle.is_some()),
            ..Report::default()
        };
        match line {
            Some((at, text)) => {
                r.ended = Some(at);
                let code = if text.contains(&Error::KeepaliveTimeout.to_string()) {
                    Some(1011)
                } else if text.contains(&Error::AbnormalClosure.to_string()) || text.contains("I/O")
                {
                    Some(1006)
                } else {
                    None
                };
                r.failure = Some(Failure {
                    code,
                    keepalive: code == Some(1011),
                    text,
                });
            }
            None => {
                // A clean end prints nothing: it ended when its socket went.
                r.ended = idle;
            }
        }
        r
    }
}

impl Drop for Mio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ configs

fn keepalive_config() -> Config {
    Config::default()
        .keepalive(Keepalive::new(KA_INTERVAL, KA_TIMEOUT))
        .close_timeout(CLOSE)
}

fn deflate(config: Config) -> Config {
    config.extensions(ExtensionConfig::new().deflate(DeflateConfig::default()))
}

fn seconds_arg(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

// ------------------------------------------------------------ cases

/// The link goes down mid-stream (`ip link set DEV down` on the server's
/// end: no FIN, no RST). Each side must end within keepalive interval +
/// timeout + close timeout (its 1011 close frame is owed and may not get
/// out), report `KeepaliveTimeout` (1011) and release its socket.
#[test]
fn cable_cut() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let config = keepalive_config();
    let bound = KA_INTERVAL + KA_TIMEOUT + CLOSE;
    let mut events = Events::new();
    let mut pairs = Vec::new();
    for adapter in [Adapter::Tokio, Adapter::Blocking] {
        let name = adapter.name();
        let (addr, server) = serve_one(
            &env,
            adapter,
            config.clone(),
            Prog::Echo { verify: false },
            events.ctl(format!("{name} server")),
        );
        let client = connect_one(
            &env,
            adapter,
            config.clone(),
            &addr,
            Prog::Stream,
            events.ctl(format!("{name} client")),
        );
        pairs.push((name, server, client));
    }
    let ka = format!("{},{}", seconds_arg(KA_INTERVAL), seconds_arg(KA_TIMEOUT));
    let mio = Mio::start(
        &env,
        &["--keepalive", &ka, "--close-timeout", &seconds_arg(CLOSE)],
    );
    let mio_client = connect_one(
        &env,
        Adapter::Tokio,
        config.clone(),
        &mio.addr,
        Prog::Stream,
        events.ctl("tokio client of mio"),
    );
    for who in ["tokio client", "blocking client", "tokio client of mio"] {
        events.wait(who, "flowing", 0);
    }
    let cut = Instant::now();
    env.link(Side::Server, false);
    let mut rows = Vec::new();
    let ok = |r: &Report| {
        r.failure
            .as_ref()
            .is_some_and(|f| f.keepalive && f.code == Some(1011))
    };
    let what = "KeepaliveTimeout (1011)";
    for (name, server, client) in pairs {
        let s = server.join();
        let c = client.join();
        rows.push(timed_row(
            "cable cut",
            name,
            "server",
            bound,
            cut,
            &s,
            (ok(&s), what),
        ));
        rows.push(timed_row(
            "cable cut",
            name,
            "client",
            bound,
            silent_from(cut, &c),
            &c,
            (ok(&c), what),
        ));
    }
    let line = mio.next_line(bound + LIMIT);
    let idle = mio.wait_idle(LIMIT);
    let m = mio.report(line, idle);
    rows.push(timed_row(
        "cable cut",
        "mio",
        "server",
        bound,
        cut,
        &m,
        (ok(&m), what),
    ));
    let c = mio_client.join();
    rows.push(timed_row(
        "cable cut",
        "tokio (vs mio)",
        "client",
        bound,
        silent_from(cut, &c),
        &c,
        (ok(&c), what),
    ));
    finish(rows);
}

/// A blackhole during the close handshake: one side (A) sends its close
/// frame; the other's answer (B's close frame, its FIN) and everything
/// after are dropped. The drop of B's packets is armed before A's close
/// and the drop of A's added once B has the close frame, so that it is
/// the answer that vanishes, every time. Both must end within the close
/// timeout: A without an answer (1006), B as its role allows (a server
/// closes at once, a client waits for the server's FIN up to the close
/// timeout).
#[test]
fn close_handshake_blackhole() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let config = Config::default().close_timeout(CLOSE);
    let mut rows = Vec::new();
    let mut events = Events::new();
    for adapter in [Adapter::Tokio, Adapter::Blocking] {
        for initiator in [Side::Client, Side::Server] {
            env.reset();
            let name = adapter.name();
            let (a_who, b_who) = (
                format!("{name} {} (closing)", initiator.name()),
                format!("{name} answering"),
            );
            let (a_ctl, go) = events.ctl_go(&a_who);
            let b_ctl = events.ctl(&b_who);
            let (server_prog, server_ctl, client_prog, client_ctl) = match initiator {
                Side::Client => (
                    Prog::Echo { verify: false },
                    b_ctl,
                    Prog::CloseOnSignal,
                    a_ctl,
                ),
                Side::Server => (
                    Prog::CloseOnSignal,
                    a_ctl,
                    Prog::Echo { verify: false },
                    b_ctl,
                ),
            };
            let (addr, server) = serve_one(&env, adapter, config.clone(), server_prog, server_ctl);
            let port = addr.rsplit(':').next().expect("port").to_owned();
            let client = connect_one(
                &env,
                adapter,
                config.clone(),
                &addr,
                client_prog,
                client_ctl,
            );
            events.wait(&a_who, "established", 0);
            events.wait(&b_who, "established", 0);
            let answerer = match initiator {
                Side::Client => Side::Server,
                Side::Server => Side::Client,
            };
            // B's packets vanish on arrival at A.
            let from_b = match initiator {
                Side::Client => ["-p", "tcp", "--sport", &port, "-j", "DROP"],
                Side::Server => ["-p", "tcp", "--dport", &port, "-j", "DROP"],
            };
            env.input_rule(initiator, &from_b);
            let t0 = Instant::now();
            go.send(()).expect("the initiator waits");
            events.wait(&b_who, "close-seen", 0);
            // Then A's too: a blackhole both ways.
            let from_a = match answerer {
                Side::Client => ["-p", "tcp", "--sport", &port, "-j", "DROP"],
                Side::Server => ["-p", "tcp", "--dport", &port, "-j", "DROP"],
            };
            env.input_rule(answerer, &from_a);
            let (s, c) = (server.join(), client.join());
            let (a, b) = match initiator {
                Side::Client => (c, s),
                Side::Server => (s, c),
            };
            let a_ok = a.failure.as_ref().is_some_and(|f| f.code == Some(1006));
            rows.push(timed_row(
                "close blackhole",
                &format!("{name} ({} closes)", initiator.name()),
                initiator.name(),
                CLOSE,
                t0,
                &a,
                (a_ok, "no answer: 1006"),
            ));
            let b_ok = b.failure.is_none();
            rows.push(timed_row(
                "close blackhole",
                &format!("{name} ({} closes)", initiator.name()),
                answerer.name(),
                CLOSE,
                t0,
                &b,
                (b_ok, "answered: clean"),
            ));
        }
    }
    // The mio server answers a tokio client's close.
    env.reset();
    let mio = Mio::start(&env, &["--close-timeout", &seconds_arg(CLOSE)]);
    let port = mio.addr.rsplit(':').next().expect("port").to_owned();
    let (a_ctl, go) = events.ctl_go("tokio client of mio");
    let client = connect_one(
        &env,
        Adapter::Tokio,
        config.clone(),
        &mio.addr,
        Prog::CloseOnSignal,
        a_ctl,
    );
    events.wait("tokio client of mio", "established", 0);
    env.input_rule(Side::Client, &["-p", "tcp", "--sport", &port, "-j", "DROP"]);
    let t0 = Instant::now();
    go.send(()).expect("the client waits");
    // Nothing in the mio server tells that the close frame came but its
    // socket going: that is its answer's end, and then A's packets drop.
    let idle = mio.wait_idle(LIMIT);
    env.input_rule(Side::Server, &["-p", "tcp", "--dport", &port, "-j", "DROP"]);
    let a = client.join();
    let b = mio.report(None, idle);
    let a_ok = a.failure.as_ref().is_some_and(|f| f.code == Some(1006));
    rows.push(timed_row(
        "close blackhole",
        "tokio client / mio",
        "client",
        CLOSE,
        t0,
        &a,
        (a_ok, "no answer: 1006"),
    ));
    let b_ok = mio.lines_so_far().is_empty();
    rows.push(timed_row(
        "close blackhole",
        "mio (client closes)",
        "server",
        CLOSE,
        t0,
        &b,
        (b_ok, "answered: clean"),
    ));
    finish(rows);
}

/// What a reconnecting client saw, for the test thread.
struct Reconnecting {
    who: String,
    stop: Box<dyn FnOnce() + Send>,
    task: Task<Report>,
}

fn reconnect_backoff() -> Backoff {
    Backoff::default()
        .initial(Duration::from_millis(200))
        .max(Duration::from_secs(1))
}

/// A reconnecting client of `adapter`: after each connection it sends
/// `hello N` and waits for the echo (says `connected` N), reads until the
/// connection ends (says `ended` N: once, however the end came), and hands
/// it back to `reconnect`; every retry is reported (`retry`, with the
/// disconnect). Told to stop, it closes with 1000.
fn reconnecting_client(
    env: &Env,
    adapter: Adapter,
    config: Config,
    addr: &str,
    ctl: Ctl,
) -> Reconnecting {
    let url = format!("ws://{addr}/");
    let who = ctl.who.clone();
    let tx = ctl.tx.clone();
    let on_retry = move |d: &Disconnect, delay: Duration| {
        let session = matches!(
            d,
            Disconnect::Failed(_) | Disconnect::Closed(_) | Disconnect::Abandoned
        );
        let _ = tx.send(Ev {
            who: who.clone(),
            what: if session {
                "retry-session"
            } else {
                "retry-connect"
            },
            n: 0,
            at: Instant::now(),
            detail: format!(
                "{d} (code {:?}), next attempt in {}",
                d.close_code().map(CloseCode::as_u16),
                secs(delay)
            ),
            report: None,
        });
    };
    let request = ClientRequest::new(&url).expect("url");
    let who = ctl.who.clone();
    match adapter {
        Adapter::Tokio => {
            let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
            let task = spawn_in(env, Side::Client, who.clone(), move || {
                runtime().block_on(async move {
                    let mut r = Report::default();
                    let mut client = rfc6455::tokio::Reconnect::new(request, config)
                        .backoff(reconnect_backoff())
                        .on_retry(on_retry);
                    let (mut ws, _) = client
                        .connect()
                        .await
                        .unwrap_or_else(|d| panic!("connect: {d}"));
                    let mut session = 0;
                    loop {
                        let socket = socket_of(ws.get_ref().get_ref().as_raw_fd());
                        let hello = format!("hello {session}");
                        ws.send(Message::text(hello.clone()))
                            .await
                            .unwrap_or_else(|e| panic!("hello: {e}"));
                        loop {
                            match ws.next().await {
                                Some(Ok(Message::Text(t))) if t.as_str() == hello => break,
                                Some(Ok(_)) => {}
                                other => panic!("no echo of {hello}: {other:?}"),
                            }
                        }
                        ctl.say("connected", session, String::new());
                        let mut errors = Vec::new();
                        let stopped = tokio::select! {
                            _ = &mut stop_rx => true,
                            () = async {
                                while let Some(item) = ws.next().await {
                                    if let Err(e) = item {
                                        errors.push(Failure::of(&e));
                                    }
                                }
                            } => false,
                        };
                        if stopped {
                            let _ = ws.close(CloseCode::NORMAL, "done").await;
                            drop(ws);
                            if socket_open(&socket) {
                                r.broken
                                    .push(format!("session {session}: socket still open"));
                            }
                            break;
                        }
                        let detail = errors
                            .iter()
                            .map(|f| format!("{} ({:?})", f.text, f.code))
                            .collect::<Vec<_>>()
                            .join(" / ");
                        ctl.say(
                            "ended",
                            session,
                            format!("{} error(s): {detail}", errors.len()),
                        );
                        if errors.len() != 1 || !errors[0].keepalive {
                            r.broken.push(format!(
                                "session {session} ended with {} error(s): {detail}",
                                errors.len()
                            ));
                        }
                        match client.reconnect(ws).await {
                            Ok((next, _)) => {
                                if socket_open(&socket) {
                                    r.broken
                                        .push(format!("session {session}: socket still open"));
                                }
                                ws = next;
                                session += 1;
                            }
                            Err(d) => {
                                r.broken.push(format!("gave up: {d}"));
                                break;
                            }
                        }
                    }
                    r.info.push(format!("{} sessions", session + 1));
                    r
                })
            });
            Reconnecting {
                who,
                stop: Box::new(move || {
                    let _ = stop_tx.send(());
                }),
                task,
            }
        }
        Adapter::Blocking => {
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = Arc::clone(&stop);
            let task = spawn_in(env, Side::Client, who.clone(), move || {
                let mut r = Report::default();
                let mut client = blocking::Reconnect::new(request, config)
                    .backoff(reconnect_backoff())
                    .on_retry(on_retry);
                let (mut ws, _) = client.connect().unwrap_or_else(|d| panic!("connect: {d}"));
                let mut session = 0;
                loop {
                    let socket = socket_of(ws.get_ref().tcp().as_raw_fd());
                    let hello = format!("hello {session}");
                    ws.send(Message::text(hello.clone()))
                        .unwrap_or_else(|e| panic!("hello: {e}"));
                    loop {
                        match ws.read() {
                            Ok(Message::Text(t)) if t.as_str() == hello => break,
                            Ok(_) => {}
                            Err(e) => panic!("no echo of {hello}: {e}"),
                        }
                    }
                    ctl.say("connected", session, String::new());
                    // Bounded reads, to look at the stop flag in between
                    // (a read's timeout loses nothing).
                    ws.set_read_timeout(Some(Duration::from_millis(50)));
                    let mut errors = Vec::new();
                    let stopped = loop {
                        if stopping.load(Ordering::SeqCst) {
                            break true;
                        }
                        match ws.read() {
                            Ok(_) => {}
                            Err(StreamError::Io(e))
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(StreamError::Closed) => break false,
                            Err(e) => errors.push(Failure::of(&e)),
                        }
                    };
                    if stopped {
                        let _ = ws.close(CloseCode::NORMAL, "done");
                        ws.set_read_timeout(None);
                        while ws.read().is_ok() {}
                        drop(ws);
                        if socket_open(&socket) {
                            r.broken
                                .push(format!("session {session}: socket still open"));
                        }
                        break;
                    }
                    let detail = errors
                        .iter()
                        .map(|f| format!("{} ({:?})", f.text, f.code))
                        .collect::<Vec<_>>()
                        .join(" / ");
                    ctl.say(
                        "ended",
                        session,
                        format!("{} error(s): {detail}", errors.len()),
                    );
                    if errors.len() != 1 || !errors[0].keepalive {
                        r.broken.push(format!(
                            "session {session} ended with {} error(s): {detail}",
                            errors.len()
                        ));
                    }
                    match client.reconnect(ws) {
                        Ok((next, _)) => {
                            if socket_open(&socket) {
                                r.broken
                                    .push(format!("session {session}: socket still open"));
                            }
                            ws = next;
                            session += 1;
                        }
                        Err(d) => {
                            r.broken.push(format!("gave up: {d}"));
                            break;
                        }
                    }
                }
                r.info.push(format!("{} sessions", session + 1));
                r
            });
            Reconnecting {
                who,
                stop: Box::new(move || stop.store(true, Ordering::SeqCst)),
                task,
            }
        }
    }
}

/// An echo server taking any number of connections; each connection's
/// report comes as a `report` event numbered by its order.
fn serve_many(env: &Env, adapter: Adapter, config: Config, events: &Events, who: &str) -> String {
    let ip = env.server_ip().to_owned();
    let (addr_tx, addr_rx) = mpsc::channel();
    let tx = events.tx.clone();
    let who = who.to_owned();
    let ns = env.ns(Side::Server).to_owned();
    // Detached: it serves until the process ends.
    thread::spawn(move || {
        enter(&ns);
        let listener = StdListener::bind((ip.as_str(), 0)).expect("bind");
        addr_tx
            .send(listener.local_addr().expect("address"))
            .expect("the test waits");
        let count = AtomicUsize::new(0);
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let ctl = Ctl {
                who: who.clone(),
                tx: tx.clone(),
                go: None,
            };
            let config = config.clone();
            thread::spawn(move || {
                let socket = socket_of(tcp.as_raw_fd());
                let report = match adapter {
                    Adapter::Tokio => runtime().block_on(async {
                        tcp.set_nonblocking(true).expect("nonblocking");
                        let tcp = tokio::net::TcpStream::from_std(tcp).expect("tokio socket");
                        match rfc6455::tokio::accept_with(tcp, config, |_| Ok(Accept::new())).await
                        {
                            Ok(ws) => Some(tokio_echo(ws, false, &ctl).await),
                            Err(_) => None,
                        }
                    }),
                    Adapter::Blocking => {
                        match blocking::accept_with(tcp, config, |_| Ok(Accept::new())) {
                            Ok(ws) => Some(blocking_echo(ws, false, &ctl)),
                            Err(_) => None,
                        }
                    }
                };
                if let Some(mut r) = report {
                    r.fd_released = Some(!socket_open(&socket));
                    ctl.report(n, r);
                }
            });
        }
    });
    let addr: SocketAddr = addr_rx.recv_timeout(LIMIT).expect("the server's address");
    addr.to_string()
}

/// The link comes back: reconnecting clients (tokio and blocking
/// `Reconnect`, each against a server of its adapter, and a tokio one
/// against the mio server), keepalive 0.5 s / 1 s, backoff from 0.2 s up to
/// 1 s. Twice the client's end of the link goes down until each client
/// found its connection dead and failed at least one attempt to connect
/// again, then comes back. Each client must end its session within the
/// keepalive and close bounds, see that end once (one error, then the end
/// of the stream; one retry for it), and be connected again within its
/// longest backoff of the link's return; each server must drop the dead
/// connection within the same bound.
#[test]
fn link_comes_back() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let config = keepalive_config().handshake_timeout(Duration::from_secs(1));
    let bound = KA_INTERVAL + KA_TIMEOUT + CLOSE;
    let backoff_max = reconnect_backoff().max;
    let mut events = Events::new();
    let ka = format!("{},{}", seconds_arg(KA_INTERVAL), seconds_arg(KA_TIMEOUT));
    let mio = Mio::start(
        &env,
        &["--keepalive", &ka, "--close-timeout", &seconds_arg(CLOSE)],
    );
    let mut clients = Vec::new();
    for (adapter, server) in [
        (Adapter::Tokio, Some(Adapter::Tokio)),
        (Adapter::Blocking, Some(Adapter::Blocking)),
        (Adapter::Tokio, None),
    ] {
        let (addr, label) = match server {
            Some(s) => (
                serve_many(
                    &env,
                    s,
                    config.clone(),
                    &events,
                    &format!("{} server", s.name()),
                ),
                adapter.name().to_owned(),
            ),
            None => (mio.addr.clone(), format!("{} (vs mio)", adapter.name())),
        };
        let ctl = events.ctl(format!("{label} reconnecting client"));
        clients.push((
            label,
            server,
            reconnecting_client(&env, adapter, config.clone(), &addr, ctl),
        ));
    }
    let mut rows = Vec::new();
    const CUTS: usize = 2;
    for (_, _, c) in &clients {
        events.wait(&c.who, "connected", 0);
    }
    for cut_no in 0..CUTS {
        let cut = Instant::now();
        env.link(Side::Client, false);
        let mut ends = Vec::new();
        for (_, _, c) in &clients {
            let ended = events.wait(&c.who, "ended", cut_no);
            // Down until it failed to connect at least once.
            events.wait(&c.who, "retry-connect", 0);
            ends.push(ended);
        }
        let up = Instant::now();
        env.link(Side::Client, true);
        for ((label, server, c), ended) in clients.iter().zip(ends) {
            let again = events.wait(&c.who, "connected", cut_no + 1);
            let detection = ended.at.saturating_duration_since(cut);
            let reconnect = again.at.saturating_duration_since(up);
            println!(
                "link comes back: {label} client, cut {cut_no}: ended after {} ({}), connected again {} after the link came back",
                secs(detection),
                ended.detail,
                secs(reconnect)
            );
            rows.push(Row {
                case: "link back: detection",
                adapter: format!("{label}, cut {}", cut_no + 1),
                side: "client",
                bound: format!("{} + {} slack", secs(bound), secs(SLACK)),
                measured: format!("{} ({})", secs(detection), ended.detail),
                pass: detection <= bound + SLACK
                    && ended.detail.starts_with("1 error(s)")
                    && ended.detail.contains("1011"),
            });
            rows.push(Row {
                case: "link back: reconnect",
                adapter: format!("{label}, cut {}", cut_no + 1),
                side: "client",
                bound: format!(
                    "{} (longest backoff) + {} slack",
                    secs(backoff_max),
                    secs(SLACK)
                ),
                measured: secs(reconnect),
                pass: reconnect <= backoff_max + SLACK,
            });
            // The server's side of the dead connection.
            let server_end = match server {
                Some(s) => {
                    let ev = events.wait(&format!("{} server", s.name()), "report", cut_no);
                    ev.report.expect("a report")
                }
                None => {
                    let line = mio.next_line(LIMIT);
                    let mut r = mio.report(line, Some(Instant::now()));
                    // Its socket count includes the new connection.
                    r.fd_released = None;
                    r
                }
            };
            let ok = server_end
                .failure
                .as_ref()
                .is_some_and(|f| f.keepalive && f.code == Some(1011));
            rows.push(timed_row(
                "link back: detection",
                &format!(
                    "{}, cut {}",
                    server.map_or("mio", Adapter::name),
                    cut_no + 1
                ),
                "server",
                bound,
                cut,
                &server_end,
                (ok, "KeepaliveTimeout (1011)"),
            ));
        }
    }
    for (label, _, c) in clients {
        (c.stop)();
        let r = c.task.join();
        let session_retries = events.all(&c.who, "retry-session");
        let connect_retries = events.all(&c.who, "retry-connect").len() + 1;
        let once = session_retries.len() == CUTS && r.broken.is_empty();
        for ev in &session_retries {
            println!(
                "link comes back: {label} client retried after: {}",
                ev.detail
            );
        }
        rows.push(Row {
            case: "link back: each end once",
            adapter: label.clone(),
            side: "client",
            bound: format!("{CUTS} ends, {CUTS} retries, {} sessions", CUTS + 1),
            measured: format!(
                "{} retries for a session's end, {connect_retries} failed connects; {}{}",
                session_retries.len(),
                r.info.join(", "),
                r.broken
                    .iter()
                    .map(|b| format!("; {b}"))
                    .collect::<String>()
            ),
            pass: once,
        });
    }
    finish(rows);
}

/// 5% random loss both ways (iptables `statistic` on each side's INPUT):
/// 1,000 messages of 1 B to 1 MiB (21 MB) echoed, with and without
/// permessage-deflate; each side checks every message arrives once, in
/// order and intact (length and checksum).
#[test]
fn loss() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let _ = seq_expected();
    for side in [Side::Server, Side::Client] {
        env.input_rule(
            side,
            &[
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                LOSS,
                "-j",
                "DROP",
            ],
        );
    }
    let mut rows = Vec::new();
    let events = Events::new();
    let mio = Mio::start(&env, &[]);
    for compress in [false, true] {
        let config = if compress {
            deflate(Config::default())
        } else {
            Config::default()
        };
        let label = |name: &str| {
            if compress {
                format!("{name} + deflate")
            } else {
                name.to_owned()
            }
        };
        let dropped_before = env.dropped(Side::Server) + env.dropped(Side::Client);
        let started = Instant::now();
        let mut runs = Vec::new();
        for adapter in [Adapter::Tokio, Adapter::Blocking] {
            let (addr, server) = serve_one(
                &env,
                adapter,
                config.clone(),
                Prog::Echo { verify: true },
                events.ctl(label(adapter.name())),
            );
            let client = connect_one(
                &env,
                adapter,
                config.clone(),
                &addr,
                Prog::Exchange,
                events.ctl(label(adapter.name())),
            );
            runs.push((label(adapter.name()), Some(server), client));
        }
        let client = connect_one(
            &env,
            Adapter::Tokio,
            config.clone(),
            &mio.addr,
            Prog::Exchange,
            events.ctl(label("tokio (vs mio)")),
        );
        runs.push((label("tokio (vs mio)"), None, client));
        for (name, server, client) in runs {
            let c = client.join_within(RUN_LIMIT);
            let mut checked = vec![("client", c)];
            if let Some(server) = server {
                checked.push(("server", server.join_within(RUN_LIMIT)));
            }
            for (side, r) in checked {
                let took = r.done_at.map(|t| t.saturating_duration_since(started));
                let pass = r.broken.is_empty() && r.failure.is_none() && r.ended.is_some();
                println!(
                    "loss: {name} {side}: {} ({}), sequence done after {}",
                    if pass { "intact" } else { "BROKEN" },
                    r.outcome(),
                    took.map_or("never".into(), secs)
                );
                rows.push(Row {
                    case: "loss 5%",
                    adapter: name.clone(),
                    side,
                    bound: format!("{SEQ_COUNT} messages once, in order, intact"),
                    measured: if pass {
                        format!(
                            "{SEQ_COUNT}/{SEQ_COUNT} intact in {}, clean close",
                            took.map_or("?".into(), secs)
                        )
                    } else {
                        format!("{}; ended {}", r.broken.join("; "), r.outcome())
                    },
                    pass,
                });
            }
        }
        let dropped = env.dropped(Side::Server) + env.dropped(Side::Client) - dropped_before;
        println!("loss: {} packets dropped by the 5% rules", dropped);
        if dropped == 0 {
            rows.push(Row {
                case: "loss 5%",
                adapter: label("all"),
                side: "both",
                bound: "packets dropped".into(),
                measured: "none dropped: the loss rule did not apply".into(),
                pass: false,
            });
        }
    }
    let mut mio = mio;
    let lines = mio.lines_so_far();
    rows.push(Row {
        case: "loss 5%",
        adapter: "mio".into(),
        side: "server",
        bound: "no failure, alive".into(),
        measured: if lines.is_empty() {
            "no failure reported".into()
        } else {
            lines.join("; ")
        },
        pass: lines.is_empty() && mio.alive(),
    });
    finish(rows);
}

/// Shapes the flow of the connection to the server's `port` through a tbf
/// of its own at `RATE` in each direction (htb classes picked by port; the
/// tbf does the shaping).
fn shape(env: &Env, class: u32, port: &str) {
    for (side, dir) in [(Side::Server, "sport"), (Side::Client, "dport")] {
        let dev = env.dev(side);
        let classid = format!("1:{class}");
        env.exec(
            side,
            &[
                "tc", "class", "add", "dev", dev, "parent", "1:", "classid", &classid, "htb",
                "rate", "1gbit", "quantum", "60000",
            ],
        );
        env.exec(
            side,
            &[
                "tc",
                "qdisc",
                "add",
                "dev",
                dev,
                "parent",
                &classid,
                "handle",
                &format!("{}:", class + 100),
                "tbf",
                "rate",
                RATE,
                "burst",
                "5kb",
                "latency",
                "100ms",
            ],
        );
        env.exec(
            side,
            &[
                "tc", "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1",
                "u32", "match", "ip", dir, port, "0xffff", "flowid", &classid,
            ],
        );
    }
}

/// A slow link: each connection's packets go through a tbf at 1 Mbit/s
/// each way. A 4 MiB message must arrive whole; the sender's queue is
/// sampled every 10 ms while it adds small messages whenever there is room:
/// it must stay at or under the high-water mark plus one message (the
/// core takes a message whole, so the bound is 128 KiB + the 4 MiB frame),
/// with full sends refused; and the keepalive (0.5 s / 4 s, on both ends)
/// must not fire while bytes arrive. Five connections side by side, each
/// its own flow: tokio and blocking senders and receivers on both sides,
/// and a tokio client whose 4 MiB the mio server receives and echoes (its
/// keepalive timeout is 45 s: it reads nothing while its echo goes out).
#[test]
fn slow_link() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let _ = big_message();
    let config = Config::default().keepalive(Keepalive::new(KA_INTERVAL, SLOW_KA_TIMEOUT));
    let hwm = config.write_buffer_size;
    for side in [Side::Server, Side::Client] {
        env.exec(
            side,
            &[
                "tc",
                "qdisc",
                "add",
                "dev",
                env.dev(side),
                "root",
                "handle",
                "1:",
                "htb",
                "default",
                "999",
            ],
        );
    }
    let events = Events::new();
    // The mio server stops reading while its echo of the 4 MiB is queued
    // (an echo's backpressure on its peer, as the driver contract allows):
    // for the 33 s the echo takes it reads no pong, so its keepalive
    // timeout must outlast the echo.
    let ka = format!(
        "{},{}",
        seconds_arg(KA_INTERVAL),
        seconds_arg(MIO_SLOW_KA_TIMEOUT)
    );
    let mio = Mio::start(&env, &["--keepalive", &ka]);
    shape(&env, 10, mio.addr.rsplit(':').next().expect("port"));
    // (sender adapter, sender side, receiver adapter)
    let plan = [
        (Adapter::Tokio, Side::Client, Adapter::Blocking),
        (Adapter::Tokio, Side::Server, Adapter::Blocking),
        (Adapter::Blocking, Side::Client, Adapter::Tokio),
        (Adapter::Blocking, Side::Server, Adapter::Tokio),
    ];
    let started = Instant::now();
    let mut runs = Vec::new();
    for (k, (sender, sender_side, receiver)) in plan.into_iter().enumerate() {
        let (server_adapter, server_prog, client_adapter, client_prog) = match sender_side {
            Side::Server => (
                sender,
                Prog::SendBig { echo: false },
                receiver,
                Prog::ReceiveBig,
            ),
            Side::Client => (
                receiver,
                Prog::ReceiveBig,
                sender,
                Prog::SendBig { echo: false },
            ),
        };
        let who = format!("{} {} sends", sender.name(), sender_side.name());
        let (gate_ctl, go) = events.ctl_go(format!("{who} (gate)"));
        let (addr, server) = {
            // The flow is shaped before the client connects.
            let (addr_tx, addr_rx) = mpsc::channel();
            let ip = env.server_ip().to_owned();
            let config = config.clone();
            let ctl = events.ctl(who.clone());
            let task = spawn_in(&env, Side::Server, format!("{who} server"), move || {
                let listener = StdListener::bind((ip.as_str(), 0)).expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("address"))
                    .expect("waits");
                let mut gate_ctl = gate_ctl;
                let _ = gate_ctl.go.take().expect("gate").blocking_recv();
                let (tcp, _) = listener.accept().expect("accept");
                let socket = socket_of(tcp.as_raw_fd());
                let mut r = match server_adapter {
                    Adapter::Tokio => runtime().block_on(async move {
                        tcp.set_nonblocking(true).expect("nonblocking");
                        let tcp = tokio::net::TcpStream::from_std(tcp).expect("tokio");
                        let ws = rfc6455::tokio::accept_with(tcp, config, |_| Ok(Accept::new()))
                            .await
                            .expect("accept");
                        tokio_run(ws, server_prog, ctl).await
                    }),
                    Adapter::Blocking => {
                        let ws = blocking::accept_with(tcp, config, |_| Ok(Accept::new()))
                            .expect("accept");
                        blocking_run(ws, server_prog, ctl)
                    }
                };
                r.fd_released = Some(!socket_open(&socket));
                r
            });
            let addr: SocketAddr = addr_rx.recv_timeout(LIMIT).expect("address");
            (addr.to_string(), task)
        };
        shape(&env, 11 + k as u32, addr.rsplit(':').next().expect("port"));
        go.send(()).expect("the server waits");
        let client = connect_one(
            &env,
            client_adapter,
            config.clone(),
            &addr,
            client_prog,
            events.ctl(format!("{who} (client)")),
        );
        runs.push((sender, sender_side, receiver, server, client));
    }
    let mio_client = connect_one(
        &env,
        Adapter::Tokio,
        config.clone(),
        &mio.addr,
        Prog::SendBig { echo: true },
        events.ctl("tokio client of mio"),
    );
    let mut rows = Vec::new();
    let bound = hwm + BIG + 14;
    let sender_row = |adapter: &str, side: &'static str, r: &Report| -> Row {
        let pass = r.max_pending <= bound
            && r.refused_full > 0
            && r.failure.is_none()
            && r.broken.is_empty();
        println!(
            "slow link: {adapter} {side} sending: max pending {} B, {} sends refused (full), {}; ended {}",
            r.max_pending,
            r.refused_full,
            r.info.join(", "),
            r.outcome()
        );
        Row {
            case: "slow link: sender queue",
            adapter: adapter.to_owned(),
            side,
            bound: format!(
                "pending <= HWM {hwm} + one message {} = {bound} B",
                BIG + 14
            ),
            measured: format!(
                "max {} B, {} refused as full, {}; {}{}",
                r.max_pending,
                r.refused_full,
                r.info.join(", "),
                r.outcome(),
                r.broken
                    .iter()
                    .map(|b| format!("; {b}"))
                    .collect::<String>()
            ),
            pass,
        }
    };
    let receiver_row = |adapter: &str, side: &'static str, r: &Report, pings: usize| -> Row {
        let took = r.done_at.map(|t| t.saturating_duration_since(started));
        // A ping during a stall (a segment the tbf dropped, waiting for its
        // retransmission) is keepalive at work; firing is failing.
        let pass = r.failure.is_none() && r.broken.is_empty() && r.done_at.is_some();
        println!(
            "slow link: {adapter} {side} receiving: 4 MiB after {}, {} keepalive pings sent, ended {}",
            took.map_or("never".into(), secs),
            pings,
            r.outcome()
        );
        Row {
            case: "slow link: receiver",
            adapter: adapter.to_owned(),
            side,
            bound: "4 MiB intact, keepalive does not fire while bytes arrive".into(),
            measured: format!(
                "4 MiB in {}, {pings} pings sent, {}{}",
                took.map_or("never".into(), secs),
                r.outcome(),
                r.broken
                    .iter()
                    .map(|b| format!("; {b}"))
                    .collect::<String>()
            ),
            pass,
        }
    };
    for (sender, sender_side, receiver, server, client) in runs {
        let (s, c) = (server.join_within(RUN_LIMIT), client.join_within(RUN_LIMIT));
        let (tx, rx) = match sender_side {
            Side::Server => (s, c),
            Side::Client => (c, s),
        };
        let receiver_side = if sender_side == Side::Server {
            "client"
        } else {
            "server"
        };
        rows.push(sender_row(sender.name(), sender_side.name(), &tx));
        rows.push(receiver_row(
            receiver.name(),
            receiver_side,
            &rx,
            tx.pings_in,
        ));
    }
    let c = mio_client.join_within(RUN_LIMIT);
    rows.push(sender_row("tokio (vs mio)", "client", &c));
    let mut mio = mio;
    let lines: Vec<String> = mio
        .lines
        .try_iter()
        .map(|(at, l)| {
            format!(
                "{l} (after {})",
                secs(at.saturating_duration_since(started))
            )
        })
        .collect();
    let took = c.done_at.map(|t| t.saturating_duration_since(started));
    rows.push(Row {
        case: "slow link: receiver",
        adapter: "mio (echoing)".into(),
        side: "server",
        bound: "4 MiB received and echoed intact, no keepalive failure (0.5 s / 45 s)".into(),
        measured: format!(
            "echo back after {}, {} pings sent; {}{}",
            took.map_or("never".into(), secs),
            c.pings_in,
            if lines.is_empty() {
                "no failure".to_owned()
            } else {
                lines.join("; ")
            },
            c.broken
                .iter()
                .map(|b| format!("; {b}"))
                .collect::<String>()
        ),
        pass: lines.is_empty() && mio.alive() && c.broken.is_empty() && c.failure.is_none(),
    });
    finish(rows);
}

// --------------------------------- a peer that resets mid-frame

/// Writes everything `conn` queued.
fn write_out(tcp: &mut StdStream, conn: &mut Connection) {
    let mut out = Vec::new();
    for chunk in conn.output_chunks() {
        out.extend_from_slice(chunk);
    }
    conn.advance_output(out.len());
    tcp.write_all(&out).expect("write");
}

/// The raw peer's part once the handshake is done: a ping and, in the
/// same write, the first 10 KiB of a 64 KiB frame; once the pong shows the
/// adapter read both, a reset (SO_LINGER 0). Returns when it reset.
fn reset_after_part_of_a_frame(
    mut tcp: StdStream,
    mut conn: Connection,
    mut buf: BytesMut,
) -> Instant {
    conn.send(Message::Ping(Bytes::from_static(b"mid")))
        .expect("ping");
    let mut out = Vec::new();
    for chunk in conn.output_chunks() {
        out.extend_from_slice(chunk);
    }
    conn.advance_output(out.len());
    conn.send(Message::binary(vec![0x42; 64 << 10]))
        .expect("frame");
    let mut frame = Vec::new();
    for chunk in conn.output_chunks() {
        frame.extend_from_slice(chunk);
    }
    out.extend_from_slice(&frame[..10 << 10]);
    tcp.write_all(&out).expect("write");
    tcp.set_read_timeout(Some(LIMIT)).expect("timeout");
    'pong: loop {
        loop {
            match conn.receive(&mut buf).expect("the adapter's frames") {
                Received::Message(Message::Pong(_)) => break 'pong,
                Received::Message(_) => {}
                _ => break,
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).expect("the pong");
        assert!(n > 0, "the adapter closed before its pong");
        buf.extend_from_slice(&chunk[..n]);
    }
    linger_zero(tcp.as_raw_fd());
    let at = Instant::now();
    drop(tcp);
    at
}

/// A raw client: the handshake by hand, then `reset_after_part_of_a_frame`.
fn raw_client(env: &Env, addr: &str) -> Task<Instant> {
    let url = format!("ws://{addr}/");
    let addr = addr.to_owned();
    spawn_in(env, Side::Client, "raw client", move || {
        let config = Config::default().random_seed([7; 32]);
        let mut tcp = StdStream::connect(&addr).expect("connect");
        let (request, mut pending) = ClientRequest::new(&url)
            .expect("url")
            .build(&config)
            .expect("request");
        tcp.write_all(&request).expect("request");
        let mut buf = BytesMut::new();
        let response = loop {
            if let Some(r) = pending.parse(&mut buf).expect("response") {
                break r;
            }
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let conn = response.into_connection(config);
        reset_after_part_of_a_frame(tcp, conn, buf)
    })
}

/// A raw server, ready before the client of `adapter` connects.
fn raw_server(env: &Env) -> (String, Task<Instant>) {
    let ip = env.server_ip().to_owned();
    let (addr_tx, addr_rx) = mpsc::channel();
    let task = spawn_in(env, Side::Server, "raw server", move || {
        let listener = StdListener::bind((ip.as_str(), 0)).expect("bind");
        addr_tx
            .send(listener.local_addr().expect("address"))
            .expect("waits");
        let (mut tcp, _) = listener.accept().expect("accept");
        let config = Config::default();
        let mut handshake = ServerHandshake::new(&config);
        let mut buf = BytesMut::new();
        let request = loop {
            if let Some(r) = handshake.parse(&mut buf).expect("request") {
                break r;
            }
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).expect("read");
            assert!(n > 0, "the client closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let accepted = request.accept(Accept::new()).expect("accept");
        tcp.write_all(&accepted.response.to_bytes())
            .expect("response");
        let mut conn = accepted.into_connection(config);
        write_out(&mut tcp, &mut conn);
        reset_after_part_of_a_frame(tcp, conn, buf)
    });
    let addr: SocketAddr = addr_rx.recv_timeout(LIMIT).expect("address");
    (addr.to_string(), task)
}

/// The peer resets its TCP connection in the middle of a frame (a raw peer
/// sends part of a frame and closes with SO_LINGER 0): the side under test
/// must report an abnormal closure (1006, `StreamError::Io` or
/// `Error::AbnormalClosure`) at once (no timer is involved: the next read
/// fails), not panic, and release its socket.
#[test]
fn reset_mid_frame() {
    let Some(env) = env() else { return };
    let _faults = Faults::new(&env);
    let config = Config::default();
    let events = Events::new();
    let mut rows = Vec::new();
    let ok = |r: &Report| r.failure.as_ref().is_some_and(|f| f.code == Some(1006));
    for adapter in [Adapter::Tokio, Adapter::Blocking] {
        let (addr, server) = serve_one(
            &env,
            adapter,
            config.clone(),
            Prog::Echo { verify: false },
            events.ctl(format!("{} server", adapter.name())),
        );
        let reset = raw_client(&env, &addr).join();
        let r = server.join();
        rows.push(timed_row(
            "reset mid-frame",
            adapter.name(),
            "server",
            Duration::ZERO,
            reset,
            &r,
            (ok(&r), "1006"),
        ));
        let (addr, peer) = raw_server(&env);
        let client = connect_one(
            &env,
            adapter,
            config.clone(),
            &addr,
            Prog::Echo { verify: false },
            events.ctl(format!("{} client", adapter.name())),
        );
        let reset = peer.join();
        let r = client.join();
        rows.push(timed_row(
            "reset mid-frame",
            adapter.name(),
            "client",
            Duration::ZERO,
            reset,
            &r,
            (ok(&r), "1006"),
        ));
    }
    let mut mio = Mio::start(&env, &[]);
    let reset = raw_client(&env, &mio.addr).join();
    let line = mio.next_line(LIMIT);
    let idle = mio.wait_idle(LIMIT);
    let mut r = mio.report(line, idle);
    if !mio.alive() {
        r.broken.push("the mio server exited".into());
    }
    rows.push(timed_row(
        "reset mid-frame",
        "mio",
        "server",
        Duration::ZERO,
        reset,
        &r,
        (ok(&r), "1006"),
    ));
    finish(rows);
}
