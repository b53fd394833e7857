//! `examples/proxy.rs` end to end: two proxy processes chained (client →
//! proxy A → proxy B → upstream), with the client and the upstream in this
//! process, over loopback.
//!
//! `scripts/proxy_e2e.sh` builds the proxy and runs these tests with
//! `PROXY_BIN` set to it. Without `PROXY_BIN` every test says it was
//! skipped and passes, so that a plain `cargo test` stays fast.
//!
//! Measured figures (throughput, durations, the proxies' peak RSS) are
//! printed on lines starting with `measured:`; none is a pass/fail
//! threshold. The one bound checked is the requirement that each proxy's
//! peak RSS stays under 64 MiB while it streams 200 MB each way and a
//! 256 MiB frame: memory follows the read buffer, not the message.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Refusal};
use rfc6455::tokio::{WebSocketStream, accept_with, connect_with};
use rfc6455::{CloseCode, CloseFrame, Config, DataKind, Fragment, Message, StreamError};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Bound on any one wait for an event; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(30);
/// Phase 1: bytes each way, as one message of `PIECE`-byte fragments.
const STREAM_BYTES: u64 = 200_000_000;
const PIECE: usize = 64 << 10;
/// Phase 2: one frame of this size.
const FRAME_BYTES: usize = 256 << 20;
/// The requirement on each proxy's peak RSS.
const RSS_BOUND_KIB: u64 = 64 << 10;

/// The proxy binary, or `None` (with a message saying why the test does
/// nothing) when `PROXY_BIN` is not set.
fn proxy_bin() -> Option<String> {
    let bin = std::env::var("PROXY_BIN").ok();
    if bin.is_none() {
        // Straight to stderr rather than `eprintln!`, which the test
        // harness captures and shows only for a failing test: a skip is
        // said even in a plain `cargo test`.
        let test = std::thread::current().name().unwrap_or("test").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "proxy_e2e: {test} skipped, PROXY_BIN is not set \
             (scripts/proxy_e2e.sh builds examples/proxy.rs and sets it)"
        );
    }
    bin
}

async fn within<F: std::future::Future>(what: &str, work: F) -> F::Output {
    tokio::time::timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing after {LIMIT:?}"))
}

// ------------------------------------------------------------ processes

/// A proxy process, killed when dropped.
struct Proxy {
    child: Child,
    pid: u32,
    /// `host:port` it listens on.
    addr: String,
    /// Its open sockets before any connection: the listener and the
    /// runtime's own.
    idle_sockets: usize,
}

impl Proxy {
    /// Starts `bin 127.0.0.1:0 upstream` and waits for its line saying
    /// where it listens.
    async fn start(bin: &str, upstream: &str) -> Proxy {
        let mut child = Command::new(bin)
            .args(["127.0.0.1:0", upstream])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e}"));
        let pid = child.id().expect("running");
        let stdout = child.stdout.take().expect("piped");
        let line = within("the proxy's first line", async {
            BufReader::new(stdout).lines().next_line().await.unwrap()
        })
        .await
        .expect("the proxy exited before listening");
        let addr = line
            .strip_prefix("proxy listening on ws://")
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let mut proxy = Proxy {
            child,
            pid,
            addr,
            idle_sockets: 0,
        };
        proxy.idle_sockets = proxy.sockets();
        proxy
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid))
    }

    /// Peak resident set size since the start or the last
    /// [`reset_peak`](Self::reset_peak), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// Starts a new peak RSS measurement (Linux: `5` to `clear_refs`).
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").unwrap();
    }

    /// Open sockets.
    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    /// Waits (polling, up to `LIMIT`) until the proxy holds no connection,
    /// only the sockets it started with; fails if it still holds one then.
    async fn wait_no_connections(&mut self, name: &str) {
        let deadline = Instant::now() + LIMIT;
        while self.sockets() > self.idle_sockets {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "proxy {name} exited"
            );
            assert!(
                Instant::now() < deadline,
                "proxy {name} still holds {} connections",
                self.sockets() - self.idle_sockets
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// client → A → B → upstream.
struct Chain {
    a: Proxy,
    b: Proxy,
}

impl Chain {
    async fn start(bin: &str, upstream_url: &str) -> Chain {
        let b = Proxy::start(bin, upstream_url).await;
        let a = Proxy::start(bin, &format!("ws://{}", b.addr)).await;
        Chain { a, b }
    }

    /// The URL of `target` (path and query) at the front of the chain.
    fn url(&self, target: &str) -> String {
        format!("ws://{}{target}", self.a.addr)
    }

    /// Both proxies let go of every connection.
    async fn wait_no_connections(&mut self) {
        self.a.wait_no_connections("A").await;
        self.b.wait_no_connections("B").await;
    }
}

// ------------------------------------------------------------ data

/// A prime period: a piece that arrived out of place, or twice, shifts the
/// pattern and shows.
const PERIOD: usize = 1_000_003;
/// The longest slice of the pattern handed out at once.
const SPAN: usize = 512 << 10;

/// Pseudo-random bytes repeating every `PERIOD`: the byte at stream offset
/// `i` is `bytes[i % PERIOD]`.
struct Pattern(Bytes);

impl Pattern {
    fn new() -> Pattern {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut bytes = Vec::with_capacity(PERIOD + SPAN);
        while bytes.len() < PERIOD {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.extend_from_slice(&state.to_le_bytes());
        }
        bytes.truncate(PERIOD);
        bytes.extend_from_within(..SPAN);
        Pattern(bytes.into())
    }

    /// The `len` (at most `SPAN`) bytes at stream offset `offset`.
    fn slice(&self, offset: u64, len: usize) -> Bytes {
        let start = (offset % PERIOD as u64) as usize;
        self.0.slice(start..start + len)
    }

    /// The first `len` bytes of the stream, in one buffer.
    fn prefix(&self, len: usize) -> Bytes {
        let mut buf = BytesMut::with_capacity(len);
        while buf.len() < len {
            let n = (len - buf.len()).min(SPAN);
            buf.extend_from_slice(&self.slice(buf.len() as u64, n));
        }
        buf.freeze()
    }
}

/// An order-sensitive checksum of a stream, FNV-1a style over 8-byte
/// words (a byte at a time would cost the harness more CPU than a proxy
/// spends forwarding), whatever the pieces the stream arrives in.
#[derive(Clone, Copy, Debug)]
struct Checksum {
    state: u64,
    /// Bytes of an unfinished word, and how many.
    tail: [u8; 8],
    tail_len: usize,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            state: 0xcbf2_9ce4_8422_2325,
            tail: [0; 8],
            tail_len: 0,
        }
    }

    fn mix(&mut self, word: [u8; 8]) {
        self.state = (self.state ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
    }

    fn feed(&mut self, mut data: &[u8]) {
        if self.tail_len > 0 {
            let n = data.len().min(8 - self.tail_len);
            self.tail[self.tail_len..self.tail_len + n].copy_from_slice(&data[..n]);
            self.tail_len += n;
            data = &data[n..];
            if self.tail_len < 8 {
                return;
            }
            self.mix(self.tail);
            self.tail_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for word in &mut words {
            self.mix(word.try_into().unwrap());
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The checksum of everything fed so far.
    fn value(&self) -> u64 {
        let mut last = *self;
        last.tail[last.tail_len..].fill(0);
        last.mix(last.tail);
        last.state ^ last.tail_len as u64
    }
}

/// The same stream, however it was split.
impl PartialEq for Checksum {
    fn eq(&self, other: &Checksum) -> bool {
        self.value() == other.value()
    }
}

/// Checks a received stream against the pattern, byte for byte and in
/// order, and sums it.
struct Check {
    pattern: Arc<Pattern>,
    offset: u64,
    sum: Checksum,
}

impl Check {
    fn new(pattern: Arc<Pattern>) -> Check {
        Check {
            pattern,
            offset: 0,
            sum: Checksum::new(),
        }
    }

    fn feed(&mut self, data: &[u8]) {
        for chunk in data.chunks(SPAN) {
            let expected = self.pattern.slice(self.offset, chunk.len());
            if chunk != &expected[..] {
                let at = chunk.iter().zip(&expected[..]).position(|(a, b)| a != b);
                panic!(
                    "stream differs from what was sent at offset {}",
                    self.offset + at.unwrap_or(0) as u64
                );
            }
            self.sum.feed(chunk);
            self.offset += chunk.len() as u64;
        }
    }
}

/// Client and upstream side: fragments handed out as they arrive, no size
/// limit, and (for the single frame) no limit on the frames sent either.
fn streaming_config() -> Config {
    Config::default()
        .fragments(true)
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX)
        .max_send_frame_size(usize::MAX)
}

/// Reads one whole message of binary fragments into `check`; returns how
/// many fragments it came in.
async fn read_fragments<S>(reader: &mut S, check: &mut Check) -> u64
where
    S: futures_util::Stream<Item = Result<Message, StreamError>> + Unpin,
{
    let mut pieces = 0;
    loop {
        match reader.next().await {
            Some(Ok(Message::Fragment(Fragment {
                kind: DataKind::Binary,
                payload,
                fin,
            }))) => {
                check.feed(&payload);
                pieces += 1;
                if fin {
                    return pieces;
                }
            }
            other => panic!("expected a binary fragment, got {other:?}"),
        }
    }
}

// ------------------------------------------------------------ upstream

/// What the upstream saw, reported to the test.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The request target of an accepted handshake.
    Target(String),
    /// An echoed message: its length and checksum.
    Echoed(u64, Checksum),
    Close(Option<(u16, String)>),
    Ping(Bytes),
    Pong(Bytes),
    /// The connection ended: cleanly, or with this error.
    End(Result<(), String>),
}

fn close_of(frame: Option<&CloseFrame>) -> Option<(u16, String)> {
    frame.map(|f| (f.code.as_u16(), f.reason.as_str().to_owned()))
}

/// An rfc6455 server in this process whose behaviour is chosen by the
/// request path; reports what it saw on the channel.
async fn upstream(pattern: Arc<Pattern>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (seen, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            // Small messages leave at once (the ping test's three in a row
            // would otherwise wait for delayed acknowledgements).
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(serve_upstream(tcp, seen.clone(), Arc::clone(&pattern)));
        }
    });
    (url, events)
}

async fn serve_upstream(tcp: TcpStream, seen: mpsc::UnboundedSender<Seen>, pattern: Arc<Pattern>) {
    let mut path = String::new();
    // Streaming (for the echo) and closes and pings answered by hand (for
    // the others), whatever the path.
    let config = streaming_config().echo_close(false).answer_pings(false);
    let accepted = accept_with(tcp, config, |request| {
        path = request.path().to_owned();
        let _ = seen.send(Seen::Target(request.target().to_owned()));
        if path == "/refuse" {
            return Err(Refusal::new(403)
                .header("X-Upstream-Target", request.target())
                .text("refused by upstream"));
        }
        // The last subprotocol offered: the upstream's own choice, which
        // the proxies must pass back rather than pick one themselves.
        Ok(match request.protocols().last() {
            Some(protocol) => Accept::new().protocol(protocol),
            None => Accept::new(),
        })
    })
    .await;
    let Ok(ws) = accepted else { return };
    match path.as_str() {
        "/echo" => echo(ws, &seen, pattern).await,
        "/close-by-client" => close_by_client(ws, &seen).await,
        "/close-by-upstream" => close_by_upstream(ws, &seen).await,
        "/ping" => ping(ws, &seen).await,
        "/hold" => hold(ws, &seen).await,
        "/reset" => reset(ws).await,
        other => panic!("no upstream behaviour for {other}"),
    }
}

/// Echoes each fragment as it arrives, checking it against the pattern.
async fn echo(
    ws: WebSocketStream<TcpStream>,
    seen: &mpsc::UnboundedSender<Seen>,
    pattern: Arc<Pattern>,
) {
    let (mut reader, mut writer) = ws.split();
    let mut check = Check::new(pattern);
    while let Some(item) = reader.next().await {
        match item {
            Ok(Message::Fragment(fragment)) => {
                check.feed(&fragment.payload);
                let fin = fragment.fin;
                writer.send(Message::Fragment(fragment)).await.unwrap();
                if fin {
                    let _ = seen.send(Seen::Echoed(check.offset, check.sum));
                    check = Check::new(Arc::clone(&check.pattern));
                }
            }
            Ok(Message::Close(frame)) => {
                let _ = writer.close(CloseCode::NORMAL, "").await;
                let _ = seen.send(Seen::Close(close_of(frame.as_ref())));
            }
            Ok(other) => panic!("echo: {other:?}"),
            Err(e) => {
                let _ = seen.send(Seen::End(Err(e.to_string())));
                return;
            }
        }
    }
    let _ = seen.send(Seen::End(Ok(())));
}

/// Waits for the client's close, then answers with its own code and reason.
async fn close_by_client(mut ws: WebSocketStream<TcpStream>, seen: &mpsc::UnboundedSender<Seen>) {
    match ws.next().await {
        Some(Ok(Message::Close(frame))) => {
            let _ = seen.send(Seen::Close(close_of(frame.as_ref())));
        }
        other => panic!("close-by-client: {other:?}"),
    }
    let ended = ws.close(CloseCode::from(4001), "upstream reply").await;
    let _ = seen.send(Seen::End(ended.map_err(|e| e.to_string())));
}

/// Closes once the client says `go`; reports the client's reply.
async fn close_by_upstream(mut ws: WebSocketStream<TcpStream>, seen: &mpsc::UnboundedSender<Seen>) {
    let go = next_joined(&mut ws).await;
    assert_eq!(go.unwrap().unwrap(), Message::text("go"));
    let ended = ws.close(CloseCode::from(4002), "upstream bye").await;
    let _ = seen.send(Seen::Close(close_of(
        ws.connection().peer_close().flatten(),
    )));
    let _ = seen.send(Seen::End(ended.map_err(|e| e.to_string())));
}

/// Answers the client's ping by hand, after a text message (a pong made by
/// a proxy would come before it); then pings the client and reports its
/// pong.
async fn ping(mut ws: WebSocketStream<TcpStream>, seen: &mpsc::UnboundedSender<Seen>) {
    while let Some(item) = next_joined(&mut ws).await {
        match item.unwrap() {
            Message::Ping(payload) => {
                let _ = seen.send(Seen::Ping(payload.clone()));
                ws.send(Message::text("before-pong")).await.unwrap();
                ws.send(Message::Pong(payload)).await.unwrap();
                ws.send(Message::Ping(Bytes::from_static(b"from-upstream")))
                    .await
                    .unwrap();
            }
            Message::Pong(payload) => {
                let _ = seen.send(Seen::Pong(payload));
            }
            Message::Text(text) => assert_eq!(text, "before-pong-2"),
            Message::Close(frame) => {
                let _ = ws.send(Message::Close(frame)).await;
            }
            other => panic!("ping: {other:?}"),
        }
    }
    let _ = seen.send(Seen::End(Ok(())));
}

/// Says `ready`, then reads until the connection ends; reports how.
async fn hold(mut ws: WebSocketStream<TcpStream>, seen: &mpsc::UnboundedSender<Seen>) {
    ws.send(Message::text("ready")).await.unwrap();
    while let Some(item) = next_joined(&mut ws).await {
        match item {
            Ok(Message::Close(frame)) => {
                let _ = seen.send(Seen::Close(close_of(frame.as_ref())));
                let _ = ws.send(Message::Close(frame)).await;
            }
            Ok(other) => panic!("hold: {other:?}"),
            Err(e) => {
                let _ = seen.send(Seen::End(Err(e.to_string())));
                return;
            }
        }
    }
    let _ = seen.send(Seen::End(Ok(())));
}

/// Says `ready`, and once the client says `reset`, drops the connection
/// with a TCP reset.
async fn reset(mut ws: WebSocketStream<TcpStream>) {
    ws.send(Message::text("ready")).await.unwrap();
    let reset = next_joined(&mut ws).await;
    assert_eq!(reset.unwrap().unwrap(), Message::text("reset"));
    // With a zero linger, closing the socket (dropping `ws`) resets it.
    ws.get_ref().set_zero_linger().unwrap();
    drop(ws);
}

/// The next message, with a (short) text message's fragments joined.
async fn next_joined(ws: &mut WebSocketStream<TcpStream>) -> Option<Result<Message, StreamError>> {
    let mut text = Vec::new();
    loop {
        match ws.next().await? {
            Ok(Message::Fragment(Fragment {
                kind: DataKind::Text,
                payload,
                fin,
            })) => {
                text.extend_from_slice(&payload);
                if fin {
                    return Some(Ok(Message::text(String::from_utf8(text).unwrap())));
                }
            }
            other if text.is_empty() => return Some(other),
            other => panic!("{other:?} within a text message"),
        }
    }
}

/// The next event the upstream reports.
async fn next_seen(events: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    within("an upstream event", events.recv())
        .await
        .expect("upstream gone")
}

// ------------------------------------------------------------ tests

/// 200 MB each way at once, then a single 256 MiB frame, each checked byte
/// for byte; each proxy's peak RSS stays under 64 MiB in both phases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_large_data_both_ways_in_bounded_memory() {
    let Some(bin) = proxy_bin() else { return };
    let pattern = Arc::new(Pattern::new());
    let (upstream_url, mut events) = upstream(Arc::clone(&pattern)).await;
    let mut chain = Chain::start(&bin, &upstream_url).await;
    let idle = (chain.a.peak_rss_kib(), chain.b.peak_rss_kib());
    println!(
        "measured: idle proxies: peak RSS A {} KiB, B {} KiB",
        idle.0, idle.1
    );

    // Phase 1: one message of 200 MB in 64 KiB fragments, sent from one
    // task while this one reads the echo.
    let request = ClientRequest::new(&chain.url("/echo?phase=stream"))
        .unwrap()
        .protocol("p.one")
        .protocol("p.two");
    let (ws, response) = within("connect", connect_with(request, streaming_config()))
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("p.two"));
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Target("/echo?phase=stream".into())
    );
    chain.a.reset_peak();
    chain.b.reset_peak();
    let started = Instant::now();
    let (mut reader, mut writer) = ws.split();
    let sent = {
        let pattern = Arc::clone(&pattern);
        tokio::spawn(async move {
            let mut sum = Checksum::new();
            let mut offset = 0;
            while offset < STREAM_BYTES {
                let len = (STREAM_BYTES - offset).min(PIECE as u64) as usize;
                let payload = pattern.slice(offset, len);
                sum.feed(&payload);
                offset += len as u64;
                let fin = offset == STREAM_BYTES;
                let fragment = Fragment {
                    kind: DataKind::Binary,
                    payload,
                    fin,
                };
                writer.send(Message::Fragment(fragment)).await.unwrap();
            }
            (writer, sum, Instant::now())
        })
    };
    let mut check = Check::new(Arc::clone(&pattern));
    let pieces = within(
        "the echo of 200 MB",
        read_fragments(&mut reader, &mut check),
    )
    .await;
    let elapsed = started.elapsed();
    let (mut writer, sent_sum, sent_at) = sent.await.unwrap();
    assert_eq!(check.offset, STREAM_BYTES);
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Echoed(STREAM_BYTES, sent_sum)
    );
    assert_eq!(check.sum, sent_sum);
    let peak1 = (chain.a.peak_rss_kib(), chain.b.peak_rss_kib());
    println!(
        "measured: phase 1: 200 MB each way at once in {:.2} s ({:.0} MB/s each way; \
         all sent after {:.2} s), echo in {pieces} fragments, checksum {:016x}; \
         peak RSS A {} KiB, B {} KiB",
        elapsed.as_secs_f64(),
        STREAM_BYTES as f64 / 1e6 / elapsed.as_secs_f64(),
        (sent_at - started).as_secs_f64(),
        sent_sum.value(),
        peak1.0,
        peak1.1
    );
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    while let Some(item) = within("the end", reader.next()).await {
        item.unwrap();
    }
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Close(Some((1000, String::new())))
    );
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));

    // Phase 2: one 256 MiB frame (the client's max_send_frame_size lets it
    // go out whole), echoed back as the upstream receives it.
    let payload = pattern.prefix(FRAME_BYTES);
    let (ws, _) = within(
        "connect",
        connect_with(
            ClientRequest::new(&chain.url("/echo")).unwrap(),
            streaming_config(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(next_seen(&mut events).await, Seen::Target("/echo".into()));
    chain.a.reset_peak();
    chain.b.reset_peak();
    let started = Instant::now();
    let (mut reader, mut writer) = ws.split();
    let sent = tokio::spawn(async move {
        writer.send(Message::Binary(payload)).await.unwrap();
        writer
    });
    let mut check = Check::new(Arc::clone(&pattern));
    let pieces = within(
        "the echo of 256 MiB",
        read_fragments(&mut reader, &mut check),
    )
    .await;
    let elapsed = started.elapsed();
    let mut writer = sent.await.unwrap();
    assert_eq!(check.offset, FRAME_BYTES as u64);
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Echoed(FRAME_BYTES as u64, check.sum)
    );
    let peak2 = (chain.a.peak_rss_kib(), chain.b.peak_rss_kib());
    println!(
        "measured: phase 2: one 256 MiB frame there and back in {:.2} s ({:.0} MB/s), \
         echo in {pieces} fragments; peak RSS A {} KiB, B {} KiB",
        elapsed.as_secs_f64(),
        FRAME_BYTES as f64 / 1e6 / elapsed.as_secs_f64(),
        peak2.0,
        peak2.1
    );
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    while let Some(item) = within("the end", reader.next()).await {
        item.unwrap();
    }
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Close(Some((1000, String::new())))
    );
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    chain.wait_no_connections().await;

    for (phase, (a, b)) in [(1, peak1), (2, peak2)] {
        assert!(
            a < RSS_BOUND_KIB && b < RSS_BOUND_KIB,
            "phase {phase}: peak RSS A {a} KiB, B {b} KiB; the bound is {RSS_BOUND_KIB} KiB"
        );
    }
}

/// A close from either end reaches the other with its code and reason, and
/// the reply comes back the same way; a close without a code stays one.
#[tokio::test]
async fn closes_travel_end_to_end_with_code_and_reason() {
    let Some(bin) = proxy_bin() else { return };
    let (upstream_url, mut events) = upstream(Arc::new(Pattern::new())).await;
    let mut chain = Chain::start(&bin, &upstream_url).await;

    // From the client.
    let (mut ws, _) = within(
        "connect",
        rfc6455::tokio::connect(&chain.url("/close-by-client")),
    )
    .await
    .unwrap();
    next_seen(&mut events).await;
    let started = Instant::now();
    within("close", ws.close(CloseCode::from(4000), "client bye"))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        ws.connection().peer_close(),
        Some(Some(&CloseFrame {
            code: CloseCode::from(4001),
            reason: "upstream reply".into()
        }))
    );
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Close(Some((4000, "client bye".into())))
    );
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    chain.wait_no_connections().await;
    println!(
        "measured: close from the client (4000 there, 4001 back) completed at the client in {:.1} ms",
        took.as_secs_f64() * 1e3
    );

    // From the client, without a status code.
    let (mut ws, _) = within(
        "connect",
        rfc6455::tokio::connect(&chain.url("/close-by-client")),
    )
    .await
    .unwrap();
    next_seen(&mut events).await;
    ws.send(Message::Close(None)).await.unwrap();
    while let Some(item) = within("the end", ws.next()).await {
        item.unwrap();
    }
    assert_eq!(next_seen(&mut events).await, Seen::Close(None));
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    assert_eq!(
        ws.connection().peer_close().flatten().map(|f| f.code),
        Some(CloseCode::from(4001))
    );
    chain.wait_no_connections().await;

    // From the upstream: the client answers by hand with its own code.
    let config = Config::default().echo_close(false);
    let request = ClientRequest::new(&chain.url("/close-by-upstream")).unwrap();
    let (mut ws, _) = within("connect", connect_with(request, config))
        .await
        .unwrap();
    next_seen(&mut events).await;
    let started = Instant::now();
    ws.send(Message::text("go")).await.unwrap();
    let close = within("the upstream's close", ws.next()).await;
    assert_eq!(
        close.unwrap().unwrap(),
        Message::close(4002, "upstream bye")
    );
    within("close", ws.close(CloseCode::from(4003), "client reply"))
        .await
        .unwrap();
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Close(Some((4003, "client reply".into())))
    );
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    let took = started.elapsed();
    chain.wait_no_connections().await;
    println!(
        "measured: close from the upstream (4002 there, 4003 back) completed at the upstream in {:.1} ms",
        took.as_secs_f64() * 1e3
    );
}

/// The upstream's refusal reaches the client with its status, header and
/// body; with the upstream down, the client gets 502.
#[tokio::test]
async fn refusals_reach_the_client() {
    let Some(bin) = proxy_bin() else { return };
    let (upstream_url, mut events) = upstream(Arc::new(Pattern::new())).await;
    let mut chain = Chain::start(&bin, &upstream_url).await;
    let err = within(
        "connect",
        rfc6455::tokio::connect(&chain.url("/refuse?who=client")),
    )
    .await
    .map(drop)
    .unwrap_err();
    let refused = err
        .handshake()
        .and_then(HandshakeError::refused)
        .unwrap_or_else(|| panic!("not a refusal: {err:?}"));
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.headers.get("X-Upstream-Target"),
        Some("/refuse?who=client")
    );
    assert_eq!(
        (refused.body_text(), refused.truncated),
        (Some("refused by upstream"), false)
    );
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Target("/refuse?who=client".into())
    );
    chain.wait_no_connections().await;

    // Nothing listens where B's upstream should be.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("ws://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut chain = Chain::start(&bin, &down).await;
    let err = within("connect", rfc6455::tokio::connect(&chain.url("/any")))
        .await
        .map(drop)
        .unwrap_err();
    let refused = err.handshake().and_then(HandshakeError::refused);
    assert_eq!(refused.map(|r| (r.status, r.body.len())), Some((502, 0)));
    chain.wait_no_connections().await;
}

/// Pings and pongs go end to end both ways, each answered by the far end:
/// the pong comes after a message the far end sent first, where a pong
/// from a proxy would come before it.
#[tokio::test]
async fn pings_and_pongs_travel_end_to_end() {
    let Some(bin) = proxy_bin() else { return };
    let (upstream_url, mut events) = upstream(Arc::new(Pattern::new())).await;
    let mut chain = Chain::start(&bin, &upstream_url).await;
    let config = Config::default().answer_pings(false);
    let request = ClientRequest::new(&chain.url("/ping")).unwrap();
    let (mut ws, _) = within("connect", connect_with(request, config))
        .await
        .unwrap();
    next_seen(&mut events).await;

    let started = Instant::now();
    ws.send(Message::Ping(Bytes::from_static(b"from-client")))
        .await
        .unwrap();
    let mut received = Vec::new();
    while received.len() < 3 {
        received.push(
            within("the upstream's answer", ws.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let round_trip = started.elapsed();
    assert_eq!(
        received,
        [
            Message::text("before-pong"),
            Message::Pong(Bytes::from_static(b"from-client")),
            Message::Ping(Bytes::from_static(b"from-upstream")),
        ]
    );
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Ping(Bytes::from_static(b"from-client"))
    );

    // The client answers the upstream's ping by hand, after a message.
    ws.send(Message::text("before-pong-2")).await.unwrap();
    ws.send(Message::Pong(Bytes::from_static(b"from-upstream")))
        .await
        .unwrap();
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Pong(Bytes::from_static(b"from-upstream"))
    );
    within("close", ws.close(CloseCode::NORMAL, ""))
        .await
        .unwrap();
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    chain.wait_no_connections().await;
    println!(
        "measured: ping to the upstream and its pong back through two proxies in {:.2} ms",
        round_trip.as_secs_f64() * 1e3
    );
}

/// A client that vanishes (TCP reset) gets the upstream connection closed
/// (1014), and an upstream that vanishes gets the client's closed; neither
/// proxy keeps a connection afterwards.
#[tokio::test]
async fn an_abrupt_end_on_one_side_closes_the_other() {
    let Some(bin) = proxy_bin() else { return };
    let (upstream_url, mut events) = upstream(Arc::new(Pattern::new())).await;
    let mut chain = Chain::start(&bin, &upstream_url).await;
    let bad_gateway = Some((CloseCode::BAD_GATEWAY.as_u16(), String::new()));

    // The client resets its connection.
    let tcp = TcpStream::connect(&chain.a.addr).await.unwrap();
    let request = ClientRequest::new(&chain.url("/hold")).unwrap();
    let (mut ws, _) = within(
        "connect",
        rfc6455::tokio::client(tcp, request, Config::default()),
    )
    .await
    .unwrap();
    next_seen(&mut events).await;
    let ready = within("ready", ws.next()).await.unwrap().unwrap();
    assert_eq!(ready, Message::text("ready"));
    let started = Instant::now();
    ws.get_ref().set_zero_linger().unwrap();
    drop(ws);
    assert_eq!(
        next_seen(&mut events).await,
        Seen::Close(bad_gateway.clone())
    );
    assert_eq!(next_seen(&mut events).await, Seen::End(Ok(())));
    let took = started.elapsed();
    chain.wait_no_connections().await;
    println!(
        "measured: client reset: the upstream had its 1014 close {:.1} ms later",
        took.as_secs_f64() * 1e3
    );

    // The upstream resets its connection.
    let (mut ws, _) = within("connect", rfc6455::tokio::connect(&chain.url("/reset")))
        .await
        .unwrap();
    next_seen(&mut events).await;
    let ready = within("ready", ws.next()).await.unwrap().unwrap();
    assert_eq!(ready, Message::text("ready"));
    let started = Instant::now();
    ws.send(Message::text("reset")).await.unwrap();
    let close = within("the proxy's close", ws.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        close,
        Message::Close(Some(CloseFrame {
            code: CloseCode::BAD_GATEWAY,
            reason: "".into()
        }))
    );
    while let Some(item) = within("the end", ws.next()).await {
        item.unwrap();
    }
    let took = started.elapsed();
    chain.wait_no_connections().await;
    println!(
        "measured: upstream reset: the client had its 1014 close and the end {:.1} ms later",
        took.as_secs_f64() * 1e3
    );
}
