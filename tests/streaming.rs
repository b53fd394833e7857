//! Streaming: both directions at once without deadlock, messages larger than
//! a frame, frames handed out in pieces as they arrive, pong coalescing, and
//! the hooks a proxy needs (pings and closes answered by hand). The core with
//! simulated I/O first, then both adapters over loopback.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
use rfc6455::{
    CloseCode, Config, Connection, DataKind, Error, Fragment, Message, Received, Role, State,
    StreamError, Timestamp,
};

/// Deterministic filler.
fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.pending_output() > 0 {
        for chunk in conn.output_chunks() {
            out.extend_from_slice(chunk);
        }
        conn.advance_output(conn.pending_output());
    }
    out
}

/// A client and a server connection on `config`, after a real handshake
/// (so that the extensions in `config` are negotiated).
fn pair(config: Config) -> (Connection, Connection) {
    let (request, mut pending) = ClientRequest::new("ws://example.com/")
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

/// The frames in `wire` (unmasked or masked): (first byte, payload length).
fn frames(wire: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let (first, second) = (wire[at], wire[at + 1]);
        let (len, mut head) = match second & 0x7f {
            126 => (u16::from_be_bytes([wire[at + 2], wire[at + 3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(wire[at + 2..at + 10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        if second & 0x80 != 0 {
            head += 4;
        }
        out.push((first, len));
        at += head + len;
    }
    out
}

/// Feeds `wire` to `conn` in reads of `chunk` bytes and collects the events,
/// checking after each read that the receive buffer holds no more than one
/// read's worth (memory follows the read buffer, not the frame).
fn feed_in_chunks(conn: &mut Connection, wire: &[u8], chunk: usize) -> Result<Vec<Message>, Error> {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for piece in wire.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Received::Message(e) = conn.receive(&mut buf)? {
            events.push(e);
        }
        assert!(buf.len() <= 2 * chunk + 14, "the buffer held {}", buf.len());
    }
    Ok(events)
}

/// Joins a stream of [`Message::Fragment`] pieces into messages.
fn join_pieces(events: &[Message]) -> Vec<(DataKind, Vec<u8>)> {
    let mut messages = Vec::new();
    let mut current = Vec::new();
    for event in events {
        let Message::Fragment(f) = event else {
            panic!("expected pieces only, got {event:?}")
        };
        current.extend_from_slice(&f.payload);
        if f.fin {
            messages.push((f.kind, std::mem::take(&mut current)));
        }
    }
    assert!(current.is_empty(), "an unfinished message");
    messages
}

// ------------------------------------------------------------ the core

#[test]
fn pongs_are_coalesced_while_the_peer_does_not_read() {
    let (mut client, mut server) = pair(Config::default().random_seed([1; 32]));
    let ping = |i: u32| {
        let mut payload = vec![0u8; 125];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        Bytes::from(payload)
    };
    for i in 0..10_000u32 {
        client.send_ping(ping(i)).unwrap();
    }
    let mut at_server = BytesMut::new();
    for chunk in client.output_chunks() {
        at_server.extend_from_slice(chunk);
    }
    let mut pings = 0;
    while let Received::Message(Message::Ping(_)) = server.receive(&mut at_server).unwrap() {
        pings += 1;
    }
    assert_eq!(pings, 10_000);
    // The server's transport took nothing: every pong up to the high-water
    // mark (128 KiB) is queued, then one more, and the rest coalesce.
    let queued = server.pending_output();
    assert!(queued > 128 << 10, "{queued}");
    assert!(queued <= (128 << 10) + 2 * 127, "{queued}");
    let mut at_client = BytesMut::new();
    let mut pongs = Vec::new();
    // The transport takes one chunk at a time.
    while server.pending_output() > 0 {
        let chunk = server.output_chunks().next().unwrap().to_vec();
        server.advance_output(chunk.len());
        at_client.extend_from_slice(&chunk);
        while let Received::Message(Message::Pong(p)) = client.receive(&mut at_client).unwrap() {
            pongs.push(u32::from_be_bytes(p[..4].try_into().unwrap()));
        }
    }
    let answered = pongs.len();
    assert!(answered > 1000 && answered < 1100, "{answered} pongs");
    assert!(pongs.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(
        pongs[..answered - 1],
        (0..answered as u32 - 1).collect::<Vec<_>>()[..]
    );
    assert_eq!(
        pongs.last(),
        Some(&9_999),
        "the latest ping is answered last"
    );
}

#[test]
fn a_message_longer_than_the_send_frame_size_goes_out_in_frames_sharing_its_buffer() {
    let mut server = Connection::new(Role::Server, Config::default().max_send_frame_size(6000));
    let message = pattern(17_000, 1);
    server.send_binary(message.clone()).unwrap();
    // The payload is queued by reference: each frame's payload is a slice of
    // the message's own buffer.
    let chunks: Vec<&[u8]> = server.output_chunks().collect();
    let base = message.as_ptr() as usize;
    let payloads: Vec<usize> = chunks
        .iter()
        .filter(|c| c.len() >= 4096)
        .map(|c| (c.as_ptr() as usize).wrapping_sub(base))
        .collect();
    assert_eq!(payloads, [0, 6000, 12_000]);
    let wire = drain(&mut server);
    assert_eq!(
        frames(&wire),
        [(0x02, 6000), (0x00, 6000), (0x80, 5000)],
        "binary, continuation, final continuation"
    );
    let mut client = Connection::new(Role::Client, Config::default());
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(
        client.receive(&mut buf).unwrap().message(),
        Some(Message::Binary(message))
    );
}

#[test]
fn twenty_megabytes_cross_between_default_endpoints_both_ways() {
    // 20 MB is over the default send frame size (16 MiB, the frame limit
    // of many stacks) and under the message limit (64 MiB).
    let (mut client, mut server) = pair(Config::default().random_seed([2; 32]));
    let message = pattern(20_000_000, 2);
    client.send_binary(message.clone()).unwrap();
    let wire = drain(&mut client);
    assert!(frames(&wire).iter().all(|&(_, len)| len <= 16 << 20));
    let mut buf = BytesMut::from(&wire[..]);
    let Some(Message::Binary(got)) = server.receive(&mut buf).unwrap().message() else {
        panic!("one binary message")
    };
    assert!(got == message);
    server.send_binary(got).unwrap();
    let mut buf = BytesMut::from(&drain(&mut server)[..]);
    let Some(Message::Binary(back)) = client.receive(&mut buf).unwrap().message() else {
        panic!("one binary message")
    };
    assert!(back == message);
}

#[cfg(feature = "deflate")]
#[test]
fn a_compressed_message_is_fragmented_with_rsv1_on_its_first_frame_only() {
    use rfc6455::extension::{DeflateConfig, ExtensionConfig};
    let config = Config::default()
        .random_seed([3; 32])
        .max_send_frame_size(1000)
        .extensions(ExtensionConfig::new().deflate(DeflateConfig::new()));
    let (mut client, mut server) = pair(config);
    // Text that compresses to several kilobytes.
    let text: String = (0..40_000u32)
        .map(|i| format!("{:x} ", i.wrapping_mul(2_654_435_761)))
        .collect();
    server.send_text(text.clone()).unwrap();
    let wire = drain(&mut server);
    let frames = frames(&wire);
    assert!(frames.len() > 3, "{frames:?}");
    assert_eq!(frames[0].0, 0x41, "text with RSV1, not final");
    assert!(
        frames[1..frames.len() - 1]
            .iter()
            .all(|&(first, len)| first == 0x00 && len == 1000)
    );
    assert_eq!(frames[frames.len() - 1].0, 0x80);
    // Fed one byte at a time, it inflates to the same text.
    let mut buf = BytesMut::new();
    let mut got = None;
    for b in wire {
        buf.extend_from_slice(&[b]);
        if let Received::Message(e) = client.receive(&mut buf).unwrap() {
            got = Some(e);
        }
    }
    assert_eq!(got, Some(Message::Text(text.into())));
}

#[test]
fn a_frame_is_handed_out_in_pieces_as_it_arrives() {
    let config = Config::default().fragments(true).random_seed([4; 32]);
    let (mut client, mut server) = pair(config);
    // One 1 MiB frame, then a two-frame message.
    client
        .send_fragment(DataKind::Binary, pattern(1 << 20, 4), true)
        .unwrap();
    client
        .send_fragment(DataKind::Binary, pattern(10, 5), false)
        .unwrap();
    client
        .send_fragment(DataKind::Binary, pattern(20, 6), true)
        .unwrap();
    let wire = drain(&mut client);
    let events = feed_in_chunks(&mut server, &wire, 4096).unwrap();
    assert!(
        events.len() > 200,
        "pieces as the bytes arrive: {}",
        events.len()
    );
    let messages = join_pieces(&events);
    assert_eq!(messages.len(), 2);
    assert!(messages[0].1 == pattern(1 << 20, 4)[..]);
    assert_eq!(
        messages[1].1,
        [&pattern(10, 5)[..], &pattern(20, 6)[..]].concat()
    );
    // One byte at a time gives the same messages.
    let (mut client, mut server) = pair(Config::default().fragments(true).random_seed([4; 32]));
    client.send_text("aé€😀".repeat(1000)).unwrap();
    let wire = drain(&mut client);
    let events = feed_in_chunks(&mut server, &wire, 1).unwrap();
    let messages = join_pieces(&events);
    assert_eq!(
        messages,
        [(DataKind::Text, "aé€😀".repeat(1000).into_bytes())]
    );
}

#[test]
fn invalid_text_fails_in_the_piece_that_carries_it() {
    let (mut client, mut server) = pair(Config::default().fragments(true).random_seed([5; 32]));
    let mut text = "é".repeat(5000).into_bytes();
    text[6001] = 0xff;
    // Sent as binary bytes under a text opcode through the fragment API,
    // which trusts the caller's UTF-8.
    client
        .send_fragment(DataKind::Text, Bytes::from(text), true)
        .unwrap();
    let wire = drain(&mut client);
    let mut buf = BytesMut::new();
    let mut delivered = 0;
    let mut result = Ok(());
    for piece in wire.chunks(1000) {
        buf.extend_from_slice(piece);
        match server.receive(&mut buf) {
            Ok(Received::Message(Message::Fragment(f))) => delivered += f.payload.len(),
            Ok(_) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    assert_eq!(result, Err(Error::InvalidUtf8));
    assert!(
        delivered <= 6001,
        "nothing past the invalid byte was handed out"
    );
    assert_eq!(frames(&drain(&mut server)), [(0x88, 2)], "close 1007");
}

#[test]
fn a_huge_length_claim_in_streaming_mode_costs_only_what_arrives() {
    let config = Config::default()
        .fragments(true)
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX);
    let mut server = Connection::new(Role::Server, config);
    // A binary frame claiming 2^62 bytes, masked with a zero key.
    let mut wire = vec![0x82, 0xff];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&[0; 4]);
    wire.extend_from_slice(&[7; 3000]);
    let mut buf = BytesMut::from(&wire[..]);
    let Some(Message::Fragment(f)) = server.receive(&mut buf).unwrap().message() else {
        panic!("a piece")
    };
    assert_eq!((f.payload.len(), f.fin), (3000, false));
    assert!(server.read_size_hint(buf.len(), buf.capacity()) <= 128 << 10);
    // The top bit set is a protocol error, as always.
    let mut server = Connection::new(Role::Server, Config::default().fragments(true));
    let mut wire = vec![0x82, 0xff];
    wire.extend_from_slice(&(1u64 << 63).to_be_bytes());
    wire.extend_from_slice(&[0; 4]);
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(server.receive(&mut buf), Err(Error::InvalidLength));
}

#[cfg(feature = "deflate")]
#[test]
fn a_compressed_message_streams_in_pieces_whatever_the_reads() {
    use rfc6455::extension::{DeflateConfig, ExtensionConfig};
    let config = Config::default()
        .random_seed([6; 32])
        .fragments(true)
        .max_send_frame_size(700)
        .extensions(ExtensionConfig::new().deflate(DeflateConfig::new()));
    let text: String = (0..20_000u32).map(|i| format!("{} ", i % 977)).collect();
    let mut expected = None;
    for chunk in [usize::MAX, 4096, 1] {
        let (mut client, mut server) = pair(config.clone());
        client.send_text(text.clone()).unwrap();
        let wire = drain(&mut client);
        let events = feed_in_chunks(&mut server, &wire, chunk.min(wire.len())).unwrap();
        let messages = join_pieces(&events);
        assert_eq!(messages, [(DataKind::Text, text.clone().into_bytes())]);
        if chunk == 1 {
            assert!(events.len() > 10, "inflated as it arrives");
        }
        expected.get_or_insert(messages);
    }
}

#[test]
fn pings_and_closes_answered_by_hand() {
    let config = Config::default()
        .answer_pings(false)
        .echo_close(false)
        .random_seed([7; 32]);
    let (mut client, mut server) = pair(config);
    client.send_ping("hello").unwrap();
    client.close(CloseCode::new(4001), "done").unwrap();
    let mut buf = BytesMut::from(&drain(&mut client)[..]);
    assert_eq!(
        server.receive(&mut buf).unwrap(),
        Received::Message(Message::Ping("hello".into()))
    );
    assert_eq!(server.pending_output(), 0, "no automatic pong");
    let Received::Message(Message::Close(Some(frame))) = server.receive(&mut buf).unwrap() else {
        panic!("the close")
    };
    assert_eq!((frame.code.as_u16(), frame.reason.as_str()), (4001, "done"));
    assert_eq!(server.state(), State::CloseReceived);
    assert_eq!(server.pending_output(), 0, "no automatic echo");
    assert!(!server.should_close_transport());
    // Nothing more is read, but the application may still send (a proxy
    // relaying what the far end had in flight), then answers the close.
    assert_eq!(server.receive(&mut buf).unwrap(), Received::Closed);
    assert!(server.can_send());
    server.send_pong("hello").unwrap();
    server.send_text("last words").unwrap();
    server.close(CloseCode::new(4002), "relayed").unwrap();
    assert_eq!(server.state(), State::Closed);
    assert!(!server.can_send());
    let mut buf = BytesMut::from(&drain(&mut server)[..]);
    assert!(server.should_close_transport());
    assert!(server.failure().is_none());
    let events: Vec<Message> =
        std::iter::from_fn(|| client.receive(&mut buf).unwrap().message()).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], Message::Pong("hello".into()));
    assert_eq!(events[1], Message::Text("last words".into()));
    assert!(matches!(&events[2], Message::Close(Some(f)) if f.code.as_u16() == 4002));
}

#[test]
fn an_unanswered_close_received_by_hand_ends_at_the_close_timeout() {
    let config = Config::default().echo_close(false).random_seed([8; 32]);
    let (mut client, mut server) = pair(config);
    client.close(CloseCode::NORMAL, "").unwrap();
    let mut buf = BytesMut::from(&drain(&mut client)[..]);
    server.handle_timeout(Timestamp::ZERO);
    assert!(matches!(
        server.receive(&mut buf).unwrap(),
        Received::Message(Message::Close(_))
    ));
    server.handle_timeout(Timestamp::from(Duration::from_secs(1)));
    let deadline = server.poll_timeout().unwrap();
    assert_eq!(deadline, Timestamp::from(Duration::from_secs(11)));
    server.handle_timeout(deadline);
    assert!(server.should_close_transport());
    assert_eq!(server.failure(), Some(&Error::AbnormalClosure));
}

/// A one-way pipe with a bounded buffer, as a socket's kernel buffers are.
struct Pipe {
    bytes: BytesMut,
    room: usize,
}

impl Pipe {
    fn new() -> Self {
        Pipe {
            bytes: BytesMut::new(),
            room: 256 << 10,
        }
    }

    /// Writes what the connection queued, as far as the pipe has room.
    fn write_from(&mut self, conn: &mut Connection) -> bool {
        let mut moved = false;
        while self.bytes.len() < self.room {
            let Some(chunk) = conn.output_chunks().next() else {
                break;
            };
            let n = chunk.len().min(self.room - self.bytes.len());
            self.bytes.extend_from_slice(&chunk[..n]);
            conn.advance_output(n);
            moved = true;
        }
        moved
    }
}

/// One endpoint following the driver contract: it always reads, writes
/// what the pipe takes, and sends its next message only while its output is
/// not over the high-water mark.
struct Streamer {
    conn: Connection,
    inbox: BytesMut,
    to_send: usize,
    received: usize,
}

impl Streamer {
    fn turn(&mut self, incoming: &mut Pipe, outgoing: &mut Pipe, message: &Bytes) -> bool {
        let mut moved = false;
        // Read whatever arrived (a socket read of up to the hint).
        let want = self
            .conn
            .read_size_hint(self.inbox.len(), self.inbox.capacity());
        let n = want.min(incoming.bytes.len());
        if n > 0 {
            self.inbox.extend_from_slice(&incoming.bytes.split_to(n));
            moved = true;
        }
        while let Received::Message(event) = self.conn.receive(&mut self.inbox).unwrap() {
            match event {
                Message::Binary(b) => self.received += b.len(),
                other => panic!("{other:?}"),
            }
        }
        while self.to_send > 0 && !self.conn.output_is_full() {
            self.conn.send_binary(message.clone()).unwrap();
            self.to_send -= 1;
            moved = true;
        }
        moved | outgoing.write_from(&mut self.conn)
    }
}

#[test]
fn two_default_endpoints_stream_fifty_megabytes_each_way_through_bounded_pipes() {
    const MESSAGES: usize = 50;
    let message = pattern(1 << 20, 9);
    let (client, server) = pair(Config::default().random_seed([9; 32]));
    let endpoint = |conn| Streamer {
        conn,
        inbox: BytesMut::new(),
        to_send: MESSAGES,
        received: 0,
    };
    let (mut a, mut b) = (endpoint(client), endpoint(server));
    let (mut a_to_b, mut b_to_a) = (Pipe::new(), Pipe::new());
    let mut idle_turns = 0;
    while a.received < MESSAGES << 20 || b.received < MESSAGES << 20 {
        let moved =
            a.turn(&mut b_to_a, &mut a_to_b, &message) | b.turn(&mut a_to_b, &mut b_to_a, &message);
        idle_turns = if moved { 0 } else { idle_turns + 1 };
        assert!(
            idle_turns < 2,
            "stalled: a got {}, b got {}",
            a.received,
            b.received
        );
        assert!(a.conn.pending_output() <= (128 << 10) + (1 << 20) + 14);
    }
}

// ------------------------------------------------------------ adapters

const STREAM_MESSAGES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_endpoints_on_defaults_stream_fifty_megabytes_each_way_at_once() {
    // Small socket buffers, so that the transport holds little of what
    // is in flight and each side's output fills quickly.
    let small = || {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(64 << 10).unwrap();
        socket.set_recv_buffer_size(64 << 10).unwrap();
        socket
    };
    let socket = small();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    /// Sends `STREAM_MESSAGES` MiB from one task while another counts what
    /// arrives; both ends run this.
    async fn stream_both_ways<S>(ws: rfc6455::tokio::WebSocketStream<S>, seed: u8) -> usize
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut reader, mut writer) = ws.split();
        let sending = tokio::spawn(async move {
            let message = pattern(1 << 20, seed);
            for _ in 0..STREAM_MESSAGES {
                writer.send(Message::Binary(message.clone())).await.unwrap();
            }
            writer
        });
        let mut received = 0;
        while received < STREAM_MESSAGES << 20 {
            match reader.next().await.unwrap().unwrap() {
                Message::Binary(b) => received += b.len(),
                other => panic!("{other:?}"),
            }
        }
        let mut writer = sending.await.unwrap();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        while let Some(m) = reader.next().await {
            m.unwrap();
        }
        received
    }
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = rfc6455::tokio::accept(tcp).await.unwrap();
        stream_both_ways(ws, 1).await
    });
    let run = async {
        let tcp = small().connect(addr).await.unwrap();
        let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
        let (ws, _) = rfc6455::tokio::client(tcp, request, Config::default())
            .await
            .unwrap();
        let received = stream_both_ways(ws, 2).await;
        (received, server.await.unwrap())
    };
    let (client_got, server_got) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("stalled");
    assert_eq!(client_got, STREAM_MESSAGES << 20);
    assert_eq!(server_got, STREAM_MESSAGES << 20);
}

#[tokio::test]
async fn tokio_a_twenty_megabyte_message_crosses_default_endpoints_and_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = rfc6455::tokio::accept(tcp).await.unwrap();
        while let Some(Ok(m)) = ws.next().await {
            if m.is_data() {
                ws.send(m).await.unwrap();
            }
        }
    });
    let (mut ws, _) = rfc6455::tokio::connect(&url).await.unwrap();
    let message = pattern(20_000_000, 3);
    ws.send(Message::Binary(message.clone())).await.unwrap();
    let back = ws.next().await.unwrap().unwrap();
    assert!(back == Message::Binary(message));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[test]
fn blocking_split_endpoints_on_defaults_stream_fifty_megabytes_each_way_at_once() {
    use rfc6455::blocking;
    use std::thread;
    fn stream_both_ways(ws: blocking::WebSocket<std::net::TcpStream>, seed: u8) -> usize {
        let (mut reader, writer) = ws.split().unwrap();
        let sending = thread::spawn(move || {
            let message = pattern(1 << 20, seed);
            for _ in 0..STREAM_MESSAGES {
                writer.send(Message::Binary(message.clone())).unwrap();
            }
            writer
        });
        let mut received = 0;
        while received < STREAM_MESSAGES << 20 {
            match reader.read().unwrap() {
                Message::Binary(b) => received += b.len(),
                other => panic!("{other:?}"),
            }
        }
        let writer = sending.join().unwrap();
        writer.close(CloseCode::NORMAL, "").unwrap();
        loop {
            match reader.read() {
                Ok(_) => {}
                Err(StreamError::Closed) => break,
                Err(e) => panic!("{e}"),
            }
        }
        received
    }
    // Small socket buffers, as in the tokio test (set up with tokio's
    // socket builder, then used as blocking std sockets).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let small = || {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(64 << 10).unwrap();
        socket.set_recv_buffer_size(64 << 10).unwrap();
        socket
    };
    let listener = rt.block_on(async {
        let socket = small();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(16).unwrap().into_std().unwrap()
    });
    listener.set_nonblocking(false).unwrap();
    let addr = listener.local_addr().unwrap();
    let tcp = rt.block_on(async { small().connect(addr).await.unwrap().into_std().unwrap() });
    tcp.set_nonblocking(false).unwrap();
    let (done, result) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            stream_both_ways(blocking::accept(tcp).unwrap(), 1)
        });
        let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
        let (ws, _) = blocking::client(tcp, request, Config::default()).unwrap();
        let client_got = stream_both_ways(ws, 2);
        let _ = done.send((client_got, server.join().unwrap()));
    });
    let (client_got, server_got) = result
        .recv_timeout(Duration::from_secs(120))
        .expect("stalled");
    assert_eq!(client_got, STREAM_MESSAGES << 20);
    assert_eq!(server_got, STREAM_MESSAGES << 20);
}

#[test]
fn blocking_a_twenty_megabyte_message_crosses_default_endpoints_and_back() {
    use rfc6455::blocking;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(tcp).unwrap();
        while let Ok(m) = ws.read() {
            if m.is_data() {
                ws.send(m).unwrap();
            }
        }
    });
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let message = pattern(20_000_000, 4);
    ws.send(Message::Binary(message.clone())).unwrap();
    assert!(ws.read().unwrap() == Message::Binary(message));
    ws.close(CloseCode::NORMAL, "").unwrap();
}

#[test]
fn fragment_type_is_unchanged_for_whole_small_frames() {
    // A frame that arrives whole is one piece, as before.
    let (mut client, mut server) = pair(Config::default().fragments(true).random_seed([10; 32]));
    client.send_fragment(DataKind::Text, "ab", false).unwrap();
    client.send_fragment(DataKind::Text, "cd", true).unwrap();
    let mut buf = BytesMut::from(&drain(&mut client)[..]);
    let events: Vec<Message> =
        std::iter::from_fn(|| server.receive(&mut buf).unwrap().message()).collect();
    assert_eq!(
        events,
        [
            Message::Fragment(Fragment {
                kind: DataKind::Text,
                payload: "ab".into(),
                fin: false
            }),
            Message::Fragment(Fragment {
                kind: DataKind::Text,
                payload: "cd".into(),
                fin: true
            }),
        ]
    );
}
