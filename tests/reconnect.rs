//! Reconnecting clients against servers that go away, come back, refuse,
//! or close with an application's code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest, Refusal};
use rfc6455::tokio::{Reconnect, accept_with};
use rfc6455::{Backoff, CloseCode, Config, Disconnect, Message};
use tokio::net::TcpListener;

/// Upper bound for anything a test waits on; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(20);

fn quick() -> Backoff {
    Backoff::default()
        .initial(Duration::from_millis(10))
        .max(Duration::from_millis(40))
}

/// A server that closes the n-th connection (from 0) with `codes[n]`, the
/// last code for every later one; counts connections.
async fn closing_server(codes: Vec<u16>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let code = codes[n.min(codes.len() - 1)];
            tokio::spawn(async move {
                let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                    .await
                    .unwrap();
                ws.send(Message::text(format!("connection {n}")))
                    .await
                    .unwrap();
                ws.send(Message::close(code, "")).await.unwrap();
                while ws.next().await.is_some() {}
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn reconnects_after_going_away_and_stops_on_an_application_code() {
    tokio::time::timeout(LIMIT, async {
        let (url, count) = closing_server(vec![1001, 1012, 4001]).await;
        let mut client = Reconnect::new(ClientRequest::new(&url).unwrap(), Config::default())
            .backoff(quick())
            .give_up_when(|d: &Disconnect| {
                d.close_code() == Some(CloseCode::new(4001)) || !d.is_retryable()
            });
        let (mut ws, _) = client.connect().await.unwrap();
        let mut greetings = Vec::new();
        let end = loop {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    greetings.push(t.as_str().to_owned());
                }
            }
            match client.reconnect(ws).await {
                Ok((next, _)) => ws = next,
                Err(end) => break end,
            }
        };
        assert_eq!(greetings, ["connection 0", "connection 1", "connection 2"]);
        assert_eq!(end.close_code(), Some(CloseCode::new(4001)));
        assert!(matches!(end, Disconnect::Closed(Some(_))), "{end:?}");
        assert_eq!(count.load(Ordering::SeqCst), 3);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_normal_close_is_final_by_default() {
    tokio::time::timeout(LIMIT, async {
        let (url, count) = closing_server(vec![1000]).await;
        let mut client =
            Reconnect::new(ClientRequest::new(&url).unwrap(), Config::default()).backoff(quick());
        let (mut ws, _) = client.connect().await.unwrap();
        while ws.next().await.is_some() {}
        let end = client.reconnect(ws).await.unwrap_err();
        assert_eq!(end.close_code(), Some(CloseCode::NORMAL));
        assert_eq!(count.load(Ordering::SeqCst), 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn waits_for_a_server_that_is_not_up_yet() {
    tokio::time::timeout(LIMIT, async {
        // Take a free port, then leave it closed for a while.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("ws://127.0.0.1:{port}/");
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                .await
                .unwrap();
            ws.send(Message::text("up")).await.unwrap();
        });
        let mut client =
            Reconnect::new(ClientRequest::new(&url).unwrap(), Config::default()).backoff(quick());
        let (mut ws, _) = client.connect().await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("up"));
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_refusal_is_final_unless_the_server_is_overloaded() {
    tokio::time::timeout(LIMIT, async {
        for (status, retried) in [(401u16, false), (503, true)] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let attempts = Arc::new(AtomicUsize::new(0));
            let seen = Arc::clone(&attempts);
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let _ = accept_with(tcp, Config::default(), |_| {
                            if n == 0 {
                                Err(Refusal::new(status))
                            } else {
                                Ok(Accept::new())
                            }
                        })
                        .await;
                    });
                }
            });
            let mut client = Reconnect::new(ClientRequest::new(&url).unwrap(), Config::default())
                .backoff(quick());
            let result = client.connect().await;
            assert_eq!(result.is_ok(), retried, "{status}");
            assert_eq!(attempts.load(Ordering::SeqCst), if retried { 2 } else { 1 });
        }
    })
    .await
    .unwrap();
}

#[test]
fn the_blocking_client_reconnects_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, count) = rt.block_on(closing_server(vec![1001, 4001]));
    let mut client =
        rfc6455::blocking::Reconnect::new(ClientRequest::new(&url).unwrap(), Config::default())
            .backoff(quick())
            .give_up_when(|d: &Disconnect| {
                d.close_code() == Some(CloseCode::new(4001)) || !d.is_retryable()
            });
    let (mut ws, _) = client.connect().unwrap();
    let end = loop {
        while ws.read().is_ok() {}
        match client.reconnect(ws) {
            Ok((next, _)) => ws = next,
            Err(end) => break end,
        }
    };
    assert_eq!(end.close_code(), Some(CloseCode::new(4001)));
    assert_eq!(count.load(Ordering::SeqCst), 2);
}
