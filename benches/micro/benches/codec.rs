//! Micro-benchmarks of the codec's hot paths.
//!
//! Run: `cargo bench --manifest-path benches/micro/Cargo.toml --bench codec`
//! (quick: `-- --warm-up-time 1 --measurement-time 3`), or `cargo bench --bench
//! codec` from `benches/micro`.
//!
//! Throughput is reported per item for small items and per byte for large
//! ones. Where an item (a frame, a header, a request) is under 4 KiB, the
//! per-item cost dominates and bytes per second would mostly restate it, so
//! those cases report elements per second (`elem/s`: frames, headers or
//! requests). Payloads of 4 KiB and more report bytes per second, counted
//! only where the bytes are really touched.
//!
//! - `mask/*`: `apply_mask` in place next to a plain `copy_from_slice`
//!   (memcpy) of the same size: the ceiling for a pass over the payload.
//!   Bytes per second at every size, 1 KiB included: it is a pass over a
//!   buffer, compared with memcpy, not a per-frame cost.
//! - `frame_header/*`: `FrameHeader::parse` and `encode` of the three length
//!   forms, in headers per second.
//! - `receive/*`: a server reading a stream of masked client frames (parse,
//!   checks, unmask, payload split off as `Bytes`): frames per second for
//!   16 B and 125 B frames, bytes per second for 64 KiB and 1 MiB ones.
//! - `send/*`: binary messages sent and the output written into a reused
//!   sink buffer through `output_chunks`/`advance_output`, as an adapter's
//!   vectored write takes it, as a server (unmasked) and as a client
//!   (masked: one copy while masking, one into the sink). Frames per second
//!   for 125 B messages; bytes per second for 64 KiB and 1 MiB ones, where
//!   the copy into the sink is the pass over the payload (a server queues a
//!   large `Bytes` payload by reference, so sending alone copies nothing).
//!   `server_queue_by_reference` times that queueing alone, without
//!   writing, in messages per second only.
//! - `utf8/*`: `Utf8Validator` on 64 KiB of ASCII and multibyte text, next
//!   to `core::str::from_utf8`.
//! - `reassembly/*`: a 64 KiB message received in 16 masked fragments.
//! - `handshake/*`: the server parsing the RFC 6455 §1.2 request, in
//!   requests per second.
//!
//! Input buffers are built outside the timed part (`iter_batched`), and what
//! a routine returns is dropped outside it.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use rfc6455::handshake::ServerHandshake;
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, DataKind, Message, Role, Utf8Validator};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn size_name(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{}MiB", n >> 20)
    } else if n >= 1024 {
        format!("{}KiB", n >> 10)
    } else {
        format!("{n}B")
    }
}

/// Deterministic filler bytes.
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

/// One frame as a client sends it: masked with `KEY`.
fn masked_frame(out: &mut Vec<u8>, opcode: OpCode, fin: bool, data: &[u8]) {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask: Some(KEY),
        payload_len: data.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    out.extend_from_slice(&head[..n]);
    let start = out.len();
    out.extend_from_slice(data);
    apply_mask(&mut out[start..], KEY, 0);
}

/// `count` masked binary frames of `size` bytes each.
fn masked_stream(size: usize, count: usize) -> Bytes {
    let data = payload(size);
    let mut out = Vec::with_capacity(count * (size + MAX_HEADER_LEN));
    for _ in 0..count {
        masked_frame(&mut out, OpCode::Binary, true, &data);
    }
    Bytes::from(out)
}

/// Payload size from which the connection queues a `Bytes` payload by
/// reference instead of copying it (`ZERO_COPY_THRESHOLD` in `output.rs`),
/// and from which these benchmarks count bytes rather than items.
const ZERO_COPY: usize = 4096;

/// The throughput of `count` items of `size` bytes each, `bytes` in all:
/// items per second under [`ZERO_COPY`], where the per-item cost dominates,
/// else bytes per second.
fn per_item_or_bytes(size: usize, count: usize, bytes: usize) -> Throughput {
    if size < ZERO_COPY {
        Throughput::Elements(count as u64)
    } else {
        Throughput::Bytes(bytes as u64)
    }
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// Reads every event off `buf`; returns (messages, payload bytes).
fn drain_events(conn: &mut Connection, buf: &mut BytesMut) -> (usize, usize) {
    let (mut n, mut bytes) = (0, 0);
    while let Some(event) = conn.receive(buf).expect("valid stream").message() {
        if let Message::Binary(b) = event {
            n += 1;
            bytes += b.len();
            black_box(b);
        }
    }
    (n, bytes)
}

fn bench_mask(c: &mut Criterion) {
    let mut g = c.benchmark_group("mask");
    for size in [1 << 10, 16 << 10, 64 << 10, 1 << 20] {
        g.throughput(Throughput::Bytes(size as u64));
        let name = size_name(size);
        let mut buf = payload(size);
        g.bench_function(BenchmarkId::new("apply_mask", &name), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), KEY, 0))
        });
        // An unaligned start: where the previous frame's header left off.
        let mut big = payload(size + 3);
        g.bench_function(BenchmarkId::new("apply_mask_offset3", &name), |b| {
            b.iter(|| apply_mask(black_box(&mut big[3..]), KEY, 1))
        });
        let src = payload(size);
        let mut dst = vec![0u8; size];
        g.bench_function(BenchmarkId::new("memcpy", &name), |b| {
            b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(&src)))
        });
        // glibc copies mid-sized buffers with `rep movsb`, which some CPUs run
        // slowly when source and destination share their page offset (both
        // buffers above are page-aligned); a destination 64 bytes further on
        // shows the copy without that penalty (measured on an AMD EPYC under KVM:
        // 16 KiB and 64 KiB copies run 20-30x slower page-aligned).
        let mut dst_off = vec![0u8; size + 64];
        g.bench_function(BenchmarkId::new("memcpy_dst_offset64", &name), |b| {
            b.iter(|| black_box(&mut dst_off[64..]).copy_from_slice(black_box(&src)))
        });
    }
    g.finish();
}

fn bench_header(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_header");
    let cases: [(&str, u64); 3] = [("7bit", 125), ("16bit", 65535), ("64bit", 1 << 20)];
    for (name, len) in cases {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: Some(KEY),
            payload_len: len,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        // Headers per second: 2 to 14 bytes each, the cost is per header.
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("parse", name), |b| {
            b.iter(|| FrameHeader::parse(black_box(&head[..n])).unwrap().unwrap())
        });
        g.bench_function(BenchmarkId::new("encode", name), |b| {
            let mut out = [0u8; MAX_HEADER_LEN];
            b.iter(|| black_box(&header).encode(black_box(&mut out)))
        });
    }
    g.finish();
}

fn bench_receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive");
    for (size, count) in [(16, 1000), (125, 1000), (64 << 10, 16), (1 << 20, 2)] {
        let stream = masked_stream(size, count);
        // Checked once, outside the timing: every frame is decoded.
        let mut check = BytesMut::from(&stream[..]);
        assert_eq!(
            drain_events(&mut server(), &mut check),
            (count, size * count)
        );
        g.throughput(per_item_or_bytes(size, count, stream.len()));
        let name = format!("{}x{}", count, size_name(size));
        g.bench_function(BenchmarkId::new("server_masked", name), |b| {
            b.iter_batched(
                || (server(), BytesMut::from(&stream[..])),
                |(mut conn, mut buf)| drain_events(&mut conn, &mut buf),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// Write everything `conn` has queued into `sink`, as an adapter's
/// vectored write takes it: all chunks, then one `advance_output`.
fn write_out(conn: &mut Connection, sink: &mut Vec<u8>) {
    let mut n = 0;
    for chunk in conn.output_chunks() {
        sink.extend_from_slice(chunk);
        n += chunk.len();
    }
    conn.advance_output(n);
}

fn bench_send(c: &mut Criterion) {
    let mut g = c.benchmark_group("send");
    for (size, count) in [(125, 1000), (64 << 10, 16), (1 << 20, 2)] {
        let data = Bytes::from(payload(size));
        let name = format!("{}x{}", count, size_name(size));
        // One sink for all iterations, allocated here and first written by
        // the check below: a kernel's socket buffer is warm too, and a fresh
        // buffer would time page faults.
        let mut sink = Vec::with_capacity(count * (size + MAX_HEADER_LEN));
        g.throughput(per_item_or_bytes(size, count, size * count));
        for role in [Role::Server, Role::Client] {
            let conn = || {
                let mut conn = Connection::new(role, Config::default());
                conn.set_mask_seed([1; 32]);
                conn
            };
            // Checked once, outside the timing: the whole wire is written.
            let mut check = conn();
            for _ in 0..count {
                check.send_binary(data.clone()).unwrap();
            }
            sink.clear();
            write_out(&mut check, &mut sink);
            let wire_len = sink.len();
            let header_len = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Binary,
                mask: (role == Role::Client).then_some(KEY),
                payload_len: size as u64,
            }
            .encoded_len();
            assert_eq!(wire_len, count * (size + header_len));
            let id = if role == Role::Server {
                "server_to_sink"
            } else {
                "client_masked_to_sink"
            };
            g.bench_function(BenchmarkId::new(id, &name), |b| {
                b.iter_batched(
                    conn,
                    |mut conn| {
                        sink.clear();
                        for _ in 0..count {
                            conn.send_binary(data.clone()).unwrap();
                        }
                        write_out(&mut conn, &mut sink);
                        black_box(&sink);
                        conn
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        if size >= ZERO_COPY {
            // Queueing a large payload by reference costs the same whatever
            // its size: messages per second, no bytes per second.
            g.throughput(Throughput::Elements(count as u64));
            g.bench_function(BenchmarkId::new("server_queue_by_reference", &name), |b| {
                b.iter_batched(
                    || Connection::new(Role::Server, Config::default()),
                    |mut conn| {
                        for _ in 0..count {
                            conn.send_binary(data.clone()).unwrap();
                        }
                        black_box(conn.pending_output());
                        conn
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    g.finish();
}

fn bench_utf8(c: &mut Criterion) {
    let mut g = c.benchmark_group("utf8");
    let ascii: Vec<u8> = (0..64 << 10).map(|i| b' ' + (i % 95) as u8).collect();
    let sample = "κόσμε – Grüße, 世界! 😀 ";
    let multibyte: Vec<u8> = sample.bytes().cycle().take(64 << 10).collect();
    // Cut on a character boundary so the whole is valid.
    let cut = (0..=multibyte.len())
        .rev()
        .find(|&i| core::str::from_utf8(&multibyte[..i]).is_ok())
        .unwrap();
    let multibyte = multibyte[..cut].to_vec();
    for (name, text) in [("ascii_64KiB", &ascii), ("multibyte_64KiB", &multibyte)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(BenchmarkId::new("validator", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(text)).unwrap();
                v.finish().unwrap();
            })
        });
        // The same text in 16 pieces cut at arbitrary byte positions.
        g.bench_function(BenchmarkId::new("validator_16_pieces", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(text).chunks(text.len() / 16 + 1) {
                    v.feed(piece).unwrap();
                }
                v.finish().unwrap();
            })
        });
        g.bench_function(BenchmarkId::new("core_str_from_utf8", name), |b| {
            b.iter(|| core::str::from_utf8(black_box(text)).unwrap().len())
        });
    }
    g.finish();
}

fn bench_reassembly(c: &mut Criterion) {
    let mut g = c.benchmark_group("reassembly");
    let total = 64 << 10;
    let pieces = 16;
    for kind in [DataKind::Binary, DataKind::Text] {
        let data: Vec<u8> = match kind {
            DataKind::Binary => payload(total),
            DataKind::Text => (0..total).map(|i| b'a' + (i % 26) as u8).collect(),
        };
        let mut stream = Vec::new();
        for (i, part) in data.chunks(total / pieces).enumerate() {
            let opcode = match (i, kind) {
                (0, DataKind::Binary) => OpCode::Binary,
                (0, DataKind::Text) => OpCode::Text,
                _ => OpCode::Continuation,
            };
            masked_frame(&mut stream, opcode, i == pieces - 1, part);
        }
        let stream = Bytes::from(stream);
        let receive = |buf: &mut BytesMut| {
            let mut conn = server();
            match conn.receive(buf).unwrap().message() {
                Some(Message::Binary(b)) => b.len(),
                Some(Message::Text(t)) => t.len(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(receive(&mut BytesMut::from(&stream[..])), total);
        g.throughput(Throughput::Bytes(stream.len() as u64));
        let name = if kind == DataKind::Binary {
            "binary_64KiB_in_16"
        } else {
            "text_64KiB_in_16"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || BytesMut::from(&stream[..]),
                |mut buf| receive(&mut buf),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

fn bench_handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let config = Config::default();
    // Requests per second: the request is a few hundred bytes.
    g.throughput(Throughput::Elements(1));
    g.bench_function("server_parse_rfc_request", |b| {
        b.iter_batched(
            || BytesMut::from(REQUEST),
            |mut buf| {
                ServerHandshake::new(&config)
                    .parse(&mut buf)
                    .unwrap()
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("server_parse_and_accept", |b| {
        b.iter_batched(
            || BytesMut::from(REQUEST),
            |mut buf| {
                let req = ServerHandshake::new(&config)
                    .parse(&mut buf)
                    .unwrap()
                    .unwrap();
                req.accept(rfc6455::handshake::Accept::new().protocol("chat"))
                    .unwrap()
                    .response
                    .to_bytes()
                    .len()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_mask,
    bench_header,
    bench_receive,
    bench_send,
    bench_utf8,
    bench_reassembly,
    bench_handshake
);
criterion_main!(benches);
