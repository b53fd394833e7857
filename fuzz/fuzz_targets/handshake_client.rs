//! The client's response parser on arbitrary bytes in an arbitrary chunking:
//! never panics, the outcome equals that of a single feed, and an accepted
//! response carries the expected accept key and an offered protocol.
//!
//! The request is the one of RFC 6455 §1.2 (nonce "the sample nonce",
//! protocols "chat" and "superchat"), so the RFC's response is accepted.
//! Input: byte 0 picks the size limit (0 = default, else n * 16 bytes),
//! bytes 1..5 the chunk sizes (cycled; 0 = the rest), the rest is the response.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::Config;
use rfc6455::handshake::{ClientHandshake, ClientRequest, HandshakeError, HandshakeResponse};
use rfc6455_fuzz::Chunker;

type Outcome = (
    Result<Option<(Option<String>, Vec<(String, Vec<u8>)>)>, HandshakeError>,
    Vec<u8>,
);

fn summary(r: &HandshakeResponse) -> (Option<String>, Vec<(String, Vec<u8>)>) {
    (
        r.protocol.clone(),
        r.headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
    )
}

fn handshake(config: &Config) -> ClientHandshake {
    let (_, hs) = ClientRequest::new("ws://server.example.com/chat")
        .expect("valid url")
        .protocol("chat")
        .protocol("superchat")
        .key(*b"the sample nonce")
        .build(config)
        .expect("valid request");
    assert_eq!(
        hs.expected_accept().expect("an upgrade has a key"),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    hs
}

fn run(config: &Config, chunks: &[&[u8]]) -> Outcome {
    let mut client = handshake(config);
    let mut buf = BytesMut::new();
    let mut i = 0;
    let result = loop {
        if i == chunks.len() {
            break client.parse(&mut buf);
        }
        buf.extend_from_slice(chunks[i]);
        i += 1;
        match client.parse(&mut buf) {
            Ok(None) => {
                assert!(
                    buf.len() < config.max_handshake_size,
                    "limit reached without an error"
                );
                continue;
            }
            other => break other,
        }
    };
    match &result {
        Err(e) => assert_eq!(
            client.parse(&mut buf).err().as_ref(),
            Some(e),
            "error not sticky"
        ),
        Ok(Some(resp)) => {
            assert_eq!(resp.status, 101);
            assert!(matches!(
                resp.protocol.as_deref(),
                None | Some("chat") | Some("superchat")
            ));
            assert_eq!(
                resp.headers.get("Sec-WebSocket-Accept"),
                Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            );
        }
        Ok(None) => {}
    }
    let mut left = buf.to_vec();
    for c in &chunks[i..] {
        left.extend_from_slice(c);
    }
    (result.map(|r| r.as_ref().map(summary)), left)
}

fuzz_target!(|data: &[u8]| {
    let Some((&limit, rest)) = data.split_first() else {
        return;
    };
    let mut config = Config::default();
    if limit != 0 {
        config = config.max_handshake_size(usize::from(limit) * 16);
    }
    let (mut chunker, response) = Chunker::split(rest);
    let chunks = chunker.chunks(response);
    let chunked = run(&config, &chunks);
    let whole = run(&config, &[response]);
    assert_eq!(chunked, whole, "chunking changed the outcome");
});
