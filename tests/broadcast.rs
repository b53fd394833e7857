//! Fan-out and backpressure: one prepared frame for many connections,
//! non-waiting sends that skip slow receivers, and the counters and close
//! details a service reads.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::tokio::{Broadcast, TrySendError, Writer, accept_with, broadcast, connect_with};
use rfc6455::{CloseCode, Config, Connection, Error, Message, PreparedMessage, Received, Role};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for anything a test waits on; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(20);

fn all_output(conn: &mut Connection) -> Vec<Bytes> {
    let mut handles = Vec::new();
    conn.output_handles(&mut handles, usize::MAX);
    conn.advance_output(conn.pending_output());
    handles
}

#[test]
fn server_connections_queue_the_same_frame_bytes() {
    let message = PreparedMessage::binary(vec![7u8; 10_000]);
    for _ in 0..3 {
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.send_prepared(&message).unwrap();
        let out = all_output(&mut conn);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], message.frame());
        assert_eq!(
            out[0].as_ptr(),
            message.frame().as_ptr(),
            "queued by reference: no copy, no re-framing"
        );
        assert_eq!(conn.stats().messages_sent, 1);
    }
}

#[test]
fn a_client_masks_a_prepared_message_itself() {
    let message = PreparedMessage::text("to the server");
    let mut client = Connection::new(Role::Client, Config::default().random_seed([1; 32]));
    client.send_prepared(&message).unwrap();
    let wire: Vec<u8> = all_output(&mut client).concat();
    assert_ne!(wire, message.frame()[..], "masked");
    let mut server = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(
        server.receive(&mut buf).unwrap(),
        Received::Message(Message::Text("to the server".into()))
    );
}

#[test]
fn a_closed_or_failed_connection_refuses_a_prepared_message() {
    let message = PreparedMessage::text("late");
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(conn.send_prepared(&message), Err(Error::SendAfterClose));
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.fail(CloseCode::POLICY_VIOLATION);
    assert_eq!(
        conn.send_prepared(&message),
        Err(Error::Failed(CloseCode::POLICY_VIOLATION))
    );
}

#[test]
fn stats_count_messages_and_wire_bytes_both_ways() {
    let config = Config::default().random_seed([2; 32]);
    let mut client = Connection::new(Role::Client, config.clone());
    let mut server = Connection::new(Role::Server, config);
    client.send_text("hello").unwrap();
    client.send_binary(vec![0u8; 200]).unwrap();
    let wire: Vec<u8> = all_output(&mut client).concat();
    let mut buf = BytesMut::from(&wire[..]);
    while server.receive(&mut buf).unwrap().message().is_some() {}
    let (c, s) = (client.stats(), server.stats());
    assert_eq!((c.messages_sent, s.messages_received), (2, 2));
    // 2 + 4 + 5 bytes, and 4 + 4 + 200 (a 16-bit length).
    assert_eq!(c.bytes_sent, 11 + 208);
    assert_eq!(s.bytes_received, c.bytes_sent);
    assert_eq!(s.bytes_sent, 0);
    assert_eq!(c.latency, None);
}

/// A server whose accepted connections' writers come out of a channel.
async fn server(config: Config) -> (String, tokio::sync::mpsc::Receiver<Writer<TcpStream>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = accept_with(tcp, config.clone(), |_| Ok(Accept::new()))
                .await
                .unwrap();
            let (mut reader, writer) = ws.split();
            tx.send(writer).await.unwrap();
            // The reader drives the connection: it writes what the
            // broadcaster queued.
            tokio::spawn(async move { while let Some(Ok(_)) = reader.next().await {} });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn broadcast_skips_a_receiver_that_stopped_reading_and_its_memory_stays_bounded() {
    tokio::time::timeout(LIMIT, async {
        const HIGH_WATER: usize = 256 << 10;
        let (url, mut writers) = server(Config::default().write_buffer_size(HIGH_WATER)).await;
        let mut fast = Vec::new();
        for _ in 0..2 {
            let (ws, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
                .await
                .unwrap();
            fast.push(ws);
        }
        // A raw client that completes the handshake, then never reads.
        let (slow, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
            .await
            .unwrap();
        let mut viewers = Vec::new();
        for _ in 0..3 {
            viewers.push(writers.recv().await.unwrap());
        }
        const FRAMES: usize = 200;
        let frame = vec![b'x'; 100_000];
        let mut totals = Broadcast::default();
        let mut readers = Vec::new();
        for ws in fast {
            readers.push(tokio::spawn(async move {
                let mut ws = ws;
                let mut got = 0;
                while got < FRAMES {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) => {
                            assert_eq!(t.len(), 100_000);
                            got += 1;
                        }
                        other => panic!("{other:?}"),
                    }
                }
                got
            }));
        }
        let mut peak = 0;
        for _ in 0..FRAMES {
            let message = PreparedMessage::text(String::from_utf8(frame.clone()).unwrap());
            // The fast receivers keep up: wait until they took the last one.
            loop {
                let report = broadcast(&message, &viewers[..2]);
                if report.sent == 2 {
                    break;
                }
                assert_eq!(report.closed, 0);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let slow_report = broadcast(&message, &viewers[2..]);
            totals.sent += slow_report.sent;
            totals.full += slow_report.full;
            peak = peak.max(viewers[2].pending_output());
        }
        for r in readers {
            assert_eq!(r.await.unwrap(), FRAMES, "fast receivers got every frame");
        }
        // 20 MB is more than loopback's socket buffers hold: past them, the
        // slow receiver misses frames.
        assert!(totals.full > 0 && totals.sent < FRAMES, "{totals:?}");
        assert!(
            peak <= HIGH_WATER + 100_010,
            "queued at most one message past the mark, held {peak}"
        );
        drop(slow);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn try_send_reports_full_and_closed_and_gives_the_message_back() {
    tokio::time::timeout(LIMIT, async {
        let (url, mut writers) = server(Config::default().write_buffer_size(1000)).await;
        let (client, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
            .await
            .unwrap();
        let writer = writers.recv().await.unwrap();
        // Over the mark once queued faster than written: the 2nd try of a
        // burst is refused while the first is still queued.
        let big = Message::binary(vec![1u8; 4000]);
        writer.try_send(big.clone()).unwrap();
        match writer.try_send(big.clone()) {
            Err(TrySendError::Full(m)) => assert_eq!(m, big),
            other => panic!("{other:?}"),
        }
        let mut closer = writer.clone();
        closer.close(CloseCode::NORMAL, "bye").await.unwrap();
        match writer.try_send(Message::text("after")) {
            Err(TrySendError::Closed(m)) => assert_eq!(m, Message::text("after")),
            other => panic!("{other:?}"),
        }
        let report = broadcast(&PreparedMessage::text("x"), [&writer]);
        assert_eq!(report.closed, 1);
        drop(client);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_peers_close_frame_is_kept_after_the_stream_ends() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                .await
                .unwrap();
            ws.send(Message::close(4002, "kicked")).await.unwrap();
            while ws.next().await.is_some() {}
        });
        let (mut ws, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
            .await
            .unwrap();
        let mut messages = Vec::new();
        while let Some(m) = ws.next().await {
            messages.push(m.unwrap());
        }
        assert_eq!(messages, vec![Message::close(4002, "kicked")]);
        let frame = ws.connection().peer_close().flatten().unwrap();
        assert_eq!(
            (frame.code.as_u16(), frame.reason.as_str()),
            (4002, "kicked")
        );
        assert_eq!(ws.connection().failure(), None);
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_invalid_close_code_is_refused_locally() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let _ = accept_with(&mut tcp, Config::default(), |_| Ok(Accept::new())).await;
        let _ = tcp.shutdown().await;
    });
    let (mut ws, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
        .await
        .unwrap();
    let err = ws.send(Message::close(1006, "")).await.unwrap_err();
    assert!(
        matches!(
            err,
            rfc6455::StreamError::Protocol(Error::InvalidCloseToSend)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_writer_closes_a_peer_that_stopped_reading_within_the_close_timeout() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let config = Config::default()
            .write_buffer_size(64 << 10)
            .close_timeout(Duration::from_secs(1));
        let accepted = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            accept_with(tcp, config, |_| Ok(Accept::new()))
                .await
                .unwrap()
        });
        // Connected, then never read: what the server sends piles up.
        let (_stuck, _) = connect_with(ClientRequest::new(&url).unwrap(), Config::default())
            .await
            .unwrap();
        let (mut reader, mut writer) = accepted.await.unwrap().split();
        let reading = tokio::spawn(async move { while let Some(Ok(_)) = reader.next().await {} });
        // Until the socket buffers are full too: the queue stays over the
        // mark however long the reader's task has to write it.
        let message = PreparedMessage::binary(vec![0u8; 100_000]);
        let mut full_since = None;
        loop {
            match writer.try_send_prepared(&message) {
                Ok(()) => full_since = None,
                Err(TrySendError::Full(())) => {
                    let since = *full_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() > Duration::from_millis(300) {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The close frame is queued at once, past the mark, so the close
        // timeout bounds the rest: the writer gives up on the stuck peer,
        // and the reader ends, instead of both waiting for it forever.
        let closing = tokio::time::timeout(
            Duration::from_secs(5),
            writer.close(CloseCode::new(4002), "kicked"),
        )
        .await;
        assert!(closing.is_ok(), "close() still waiting after 5 s");
        tokio::time::timeout(Duration::from_secs(5), reading)
            .await
            .expect("the reader still running after 5 s")
            .unwrap();
    })
    .await
    .unwrap();
}
