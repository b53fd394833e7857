//! The same masked client→server byte streams decoded by rfc6455 and by
//! other Rust WebSocket libraries, each in the server role, each unmasking
//! every frame and handing out every message.
//!
//! Run from this directory: `cargo bench --bench decode`
//! (quick: `-- --warm-up-time 1 --measurement-time 3`).
//!
//! Each group is one stream; its members are the libraries, so criterion's
//! throughput figures sit side by side. Streams: 1000 frames of 16 B and of
//! 125 B, 16 frames of 64 KiB, 2 frames of 1 MiB, all binary, FIN, masked.
//!
//! Every library reads the stream through its own I/O path from an
//! in-memory source, which copies the bytes into the library's buffer as a
//! socket read would:
//! - `rfc6455`: its tokio adapter, a `WebSocketStream` polled with
//!   `StreamExt::next` (reading as the adapter reads: an idle read on the
//!   stack, then what the core's `read_size_hint` asks for), and
//!   `rfc6455_prefilled` with the bytes already in the buffer (the sans-IO
//!   core alone).
//! - `tungstenite`: `WebSocket::from_raw_socket(.., Role::Server, ..)` over a
//!   blocking in-memory stream; `read()` per message. (Its `FrameSocket` does
//!   not unmask, so it would not be a like-for-like comparison.)
//! - `fastwebsockets`: `WebSocket::after_handshake(.., Role::Server)` with
//!   `set_auto_close(false)`, `read_frame()` per frame (it unmasks in the
//!   server role), on a current-thread tokio runtime.
//! - `tokio_websockets`: `ServerBuilder::new().serve(..)`, a
//!   `WebSocketStream` polled with `StreamExt::next`, same runtime.
//!
//! Each library's count of messages and payload bytes is asserted once,
//! outside the timing.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `count` masked binary frames of `size` bytes, encoded by hand (RFC 6455 §5.2).
fn masked_stream(size: usize, count: usize) -> Bytes {
    let data = payload(size);
    let mut out = Vec::with_capacity(count * (size + 14));
    for _ in 0..count {
        out.push(0x82);
        match size {
            0..=125 => out.push(0x80 | size as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(size as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(size as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&KEY);
        out.extend(data.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    }
    Bytes::from(out)
}

/// An in-memory transport: reads come from a fixed stream, writes vanish.
struct Mem {
    data: Bytes,
    pos: usize,
}

impl Mem {
    fn new(data: &Bytes) -> Self {
        Mem {
            data: data.clone(),
            pos: 0,
        }
    }
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Mem {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf.remaining().min(this.data.len() - this.pos);
        buf.put_slice(&this.data[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Mem {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

type Tally = (usize, usize);

fn rfc6455_core(buf: &mut BytesMut) -> Tally {
    let mut conn = rfc6455::Connection::new(rfc6455::Role::Server, rfc6455::Config::default());
    let mut t = (0, 0);
    while let Some(event) = conn.receive(buf).expect("valid stream").message() {
        if let rfc6455::Message::Binary(b) = event {
            t = (t.0 + 1, t.1 + b.len());
            black_box(b);
        }
    }
    t
}

/// rfc6455 through its tokio adapter, as users run it: a `WebSocketStream`
/// over the in-memory transport, reading the way the adapter reads (an idle
/// read on the stack, then the core's `read_size_hint`), `next()` per
/// message.
async fn rfc6455_read(mem: Mem, count: usize) -> Tally {
    let conn = rfc6455::Connection::new(rfc6455::Role::Server, rfc6455::Config::default());
    let mut ws = rfc6455::tokio::WebSocketStream::from_parts(mem, conn, BytesMut::new(), None);
    let mut t = (0, 0);
    for _ in 0..count {
        match ws.next().await.expect("a message").expect("valid stream") {
            rfc6455::Message::Binary(b) => {
                t = (t.0 + 1, t.1 + b.len());
                black_box(b);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    t
}

fn tungstenite_read(mem: Mem, count: usize) -> Tally {
    use tungstenite::protocol::{Role, WebSocket};
    let mut ws = WebSocket::from_raw_socket(mem, Role::Server, None);
    let mut t = (0, 0);
    for _ in 0..count {
        match ws.read().expect("valid stream") {
            tungstenite::Message::Binary(b) => {
                t = (t.0 + 1, t.1 + b.len());
                black_box(b);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    t
}

async fn fastwebsockets_read(mem: Mem, count: usize) -> Tally {
    use fastwebsockets::{OpCode, Role, WebSocket};
    let mut ws = WebSocket::after_handshake(mem, Role::Server);
    ws.set_auto_close(false);
    let mut t = (0, 0);
    for _ in 0..count {
        let frame = ws.read_frame().await.expect("valid stream");
        assert_eq!(frame.opcode, OpCode::Binary);
        t = (t.0 + 1, t.1 + frame.payload.len());
        black_box(frame.payload);
    }
    t
}

async fn tokio_websockets_read(mem: Mem, count: usize) -> Tally {
    let mut ws = tokio_websockets::ServerBuilder::new().serve(mem);
    let mut t = (0, 0);
    for _ in 0..count {
        let msg = ws.next().await.expect("a message").expect("valid stream");
        assert!(msg.is_binary());
        let p = msg.into_payload();
        t = (t.0 + 1, t.1 + p.len());
        black_box(p);
    }
    t
}

fn bench_decode(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (size, count) in [(16, 1000), (125, 1000), (64 << 10, 16), (1 << 20, 2)] {
        let stream = masked_stream(size, count);
        let expect = (count, size * count);
        // Every library decodes every frame: checked once, untimed.
        assert_eq!(rfc6455_core(&mut BytesMut::from(&stream[..])), expect);
        assert_eq!(rt.block_on(rfc6455_read(Mem::new(&stream), count)), expect);
        assert_eq!(tungstenite_read(Mem::new(&stream), count), expect);
        assert_eq!(
            rt.block_on(fastwebsockets_read(Mem::new(&stream), count)),
            expect
        );
        assert_eq!(
            rt.block_on(tokio_websockets_read(Mem::new(&stream), count)),
            expect
        );
        // And unmasks it: the first payload matches.
        let first = payload(size);
        let mut buf = BytesMut::from(&stream[..]);
        let mut conn = rfc6455::Connection::new(rfc6455::Role::Server, rfc6455::Config::default());
        assert!(
            matches!(conn.receive(&mut buf).unwrap().message(), Some(rfc6455::Message::Binary(b)) if b == first)
        );
        let mut ws = tungstenite::protocol::WebSocket::from_raw_socket(
            Mem::new(&stream),
            tungstenite::protocol::Role::Server,
            None,
        );
        assert_eq!(ws.read().unwrap().into_data(), first);
        let fw = rt.block_on(async {
            let mut ws = fastwebsockets::WebSocket::after_handshake(
                Mem::new(&stream),
                fastwebsockets::Role::Server,
            );
            ws.read_frame().await.unwrap().payload.to_vec()
        });
        assert_eq!(fw, first);
        let tw = rt.block_on(async {
            let mut ws = tokio_websockets::ServerBuilder::new().serve(Mem::new(&stream));
            ws.next().await.unwrap().unwrap().into_payload().to_vec()
        });
        assert_eq!(tw, first);

        let name = if size >= 1024 {
            format!("{}x{}KiB", count, size >> 10)
        } else {
            format!("{count}x{size}B")
        };
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Bytes(stream.len() as u64));
        g.bench_function(BenchmarkId::from_parameter("rfc6455"), |b| {
            b.iter_batched(
                || Mem::new(&stream),
                |m| rt.block_on(rfc6455_read(m, count)),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::from_parameter("rfc6455_prefilled"), |b| {
            b.iter_batched(
                || BytesMut::from(&stream[..]),
                |mut buf| rfc6455_core(&mut buf),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::from_parameter("tungstenite"), |b| {
            b.iter_batched(
                || Mem::new(&stream),
                |m| tungstenite_read(m, count),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::from_parameter("fastwebsockets"), |b| {
            b.iter_batched(
                || Mem::new(&stream),
                |m| rt.block_on(fastwebsockets_read(m, count)),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::from_parameter("tokio_websockets"), |b| {
            b.iter_batched(
                || Mem::new(&stream),
                |m| rt.block_on(tokio_websockets_read(m, count)),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
