//! The server's request parser on arbitrary bytes in an arbitrary chunking:
//! never panics, and the outcome (request, error, bytes left) equals that of
//! a single feed. An accepted request's response carries the right accept key.
//!
//! Input: byte 0 picks the size limit (0 = default, else n * 16 bytes),
//! bytes 1..5 the chunk sizes (cycled; 0 = the rest), the rest is the request.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::Config;
use rfc6455::handshake::{Accept, HandshakeError, HandshakeRequest, ServerHandshake, accept_key};
use rfc6455_fuzz::Chunker;

#[derive(Debug, PartialEq)]
struct Summary {
    path: String,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: String,
    headers: Vec<(String, Vec<u8>)>,
}

fn summary(r: &HandshakeRequest) -> Summary {
    Summary {
        path: r.target().to_owned(),
        host: r.host().to_owned(),
        origin: r.origin().map(str::to_owned),
        key: r.key().unwrap_or_default().to_owned(),
        protocols: r.protocols().to_vec(),
        extensions: format!("{:?}", r.extensions()),
        headers: r
            .headers()
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
    }
}

type Outcome = (Result<Option<Summary>, HandshakeError>, Vec<u8>);

fn run(config: &Config, chunks: &[&[u8]]) -> Outcome {
    let mut server = ServerHandshake::new(config);
    let mut buf = BytesMut::new();
    let mut i = 0;
    let result = loop {
        if i == chunks.len() {
            break server.parse(&mut buf);
        }
        buf.extend_from_slice(chunks[i]);
        i += 1;
        match server.parse(&mut buf) {
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
    if let Err(e) = &result {
        // Sticky.
        assert_eq!(
            server.parse(&mut buf).err().as_ref(),
            Some(e),
            "error not sticky"
        );
        if e.status().is_some() {
            let resp = e.refusal().to_bytes();
            assert!(resp.starts_with(b"HTTP/1.1 4") || resp.starts_with(b"HTTP/1.1 5"));
        }
    }
    if let Ok(Some(req)) = &result {
        // The target names a resource: origin-form or an absolute URI.
        let path = req.target();
        assert!(
            path.starts_with('/') || path.contains("://"),
            "request-target {path:?} accepted"
        );
        let accepted = req
            .accept(Accept::new())
            .expect("a valid request can be accepted");
        let expected = format!(
            "Sec-WebSocket-Accept: {}\r\n",
            accept_key(req.key().unwrap_or_default().as_bytes())
        );
        let resp = &accepted.response.to_bytes();
        assert!(resp.starts_with(b"HTTP/1.1 101 "));
        assert!(
            resp.windows(expected.len())
                .any(|w| w == expected.as_bytes()),
            "accept key missing"
        );
        let _ = req.check_origin(&["http://example.com"]);
        let _ = req.select_protocol(&["chat", "superchat"]);
        let _ = rfc6455::handshake::Refusal::new(400).to_bytes();
    }
    // What was not consumed: the buffer and the chunks never fed.
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
    let (mut chunker, request) = Chunker::split(rest);
    let chunks = chunker.chunks(request);
    let chunked = run(&config, &chunks);
    let whole = run(&config, &[request]);
    assert_eq!(chunked, whole, "chunking changed the outcome");
});
