//! permessage-deflate cost and gain: one message from a client to a server
//! (compress, mask, frame, unmask, inflate, validate UTF-8), compressed and
//! not, on a JSON-like corpus. Prints the compression ratio per size.
//!
//! `cargo bench --manifest-path benches/micro/Cargo.toml --bench deflate --features deflate`

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::extension::{DeflateConfig, ExtensionConfig};
use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
use rfc6455::{Config, Connection, Message};

/// JSON-like text of about `len` bytes: records with repeated keys and
/// varying values, as an API or a game server sends.
fn corpus(len: usize) -> String {
    let mut s = String::from("[");
    let mut i: u64 = 0;
    while s.len() < len {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
        s.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"score\":{},\"active\":{},\"tags\":[\"t{}\",\"t{}\"],\
             \"pos\":{{\"x\":{}.{},\"y\":{}.{}}}}},",
            x % 1000,
            x % 100_000,
            x % 2 == 0,
            x % 7,
            x % 13,
            x % 500,
            x % 97,
            x % 300,
            x % 89
        ));
        i += 1;
    }
    s.truncate(len - 1);
    s.push(']');
    s
}

fn pair(ext: ExtensionConfig) -> (Connection, Connection) {
    let config = Config::default().extensions(ext);
    let (request, mut pending) = ClientRequest::new("ws://bench/")
        .unwrap()
        .build(&config)
        .unwrap();
    let mut at_server = BytesMut::from(&request[..]);
    let req = ServerHandshake::new(&config)
        .parse(&mut at_server)
        .unwrap()
        .unwrap();
    let accepted = req.accept(Accept::new()).unwrap();
    let mut at_client = BytesMut::from(&accepted.response.to_bytes()[..]);
    let server = accepted.into_connection(config.clone());
    let client = pending
        .parse(&mut at_client)
        .unwrap()
        .unwrap()
        .into_connection(config);
    (client, server)
}

/// Sends `text` from the client and receives it on the server; returns the
/// bytes that crossed the wire.
fn round_trip(
    client: &mut Connection,
    server: &mut Connection,
    buf: &mut BytesMut,
    text: &str,
) -> usize {
    client.send_text(text).unwrap();
    let mut wire = 0;
    while client.pending_output() > 0 {
        for chunk in client.output_chunks() {
            wire += chunk.len();
            buf.extend_from_slice(chunk);
        }
        client.advance_output(client.pending_output());
    }
    match server.receive(buf).unwrap().message() {
        Some(Message::Text(t)) => assert_eq!(t.len(), text.len()),
        other => panic!("{other:?}"),
    }
    wire
}

fn variants() -> [(&'static str, ExtensionConfig); 4] {
    [
        ("plain", ExtensionConfig::new()),
        (
            "deflate-level6",
            ExtensionConfig::new().deflate(DeflateConfig::new().level(6)),
        ),
        (
            "deflate",
            ExtensionConfig::new().deflate(DeflateConfig::new()),
        ),
        (
            "deflate-no-takeover",
            ExtensionConfig::new().deflate(
                DeflateConfig::new()
                    .client_no_context_takeover(true)
                    .server_no_context_takeover(true),
            ),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let sizes = [256usize, 4 << 10, 64 << 10];
    // Different messages in turn, so that context takeover sees realistic
    // (not identical) traffic.
    let messages: Vec<Vec<String>> = sizes
        .iter()
        .map(|&n| (0..8).map(|k| corpus(n + k * 3)).collect())
        .collect();
    for (size, msgs) in sizes.iter().zip(&messages) {
        for (name, ext) in variants() {
            let (mut client, mut server) = pair(ext);
            let mut buf = BytesMut::new();
            let raw: usize = msgs.iter().map(String::len).sum();
            let wire: usize = (0..4)
                .flat_map(|_| msgs.iter())
                .map(|m| round_trip(&mut client, &mut server, &mut buf, m))
                .sum();
            println!(
                "ratio {name:>20} {size:>6} B: wire/raw = {:.3}",
                wire as f64 / (4 * raw) as f64
            );
        }
    }
    let mut group = c.benchmark_group("client_to_server");
    for (size, msgs) in sizes.iter().zip(&messages) {
        group.throughput(Throughput::Bytes(msgs[0].len() as u64));
        for (name, ext) in variants() {
            let (mut client, mut server) = pair(ext);
            let mut buf = BytesMut::new();
            let mut i = 0;
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| {
                    i = (i + 1) % msgs.len();
                    round_trip(&mut client, &mut server, &mut buf, &msgs[i])
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
