//! Asynchronous handshake decisions in the tokio adapter, and a gateway
//! passing its upstream's answer on, over real loopback sockets.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Refusal, RefusedResponse};
use rfc6455::tokio::{accept_with, accept_with_async, connect_with};
use rfc6455::{Config, Message, StreamError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Upper bound for anything a test waits on; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(20);

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    (l, url)
}

/// The refusal a client received, from its connect error.
fn refused(err: &StreamError) -> &RefusedResponse {
    err.handshake()
        .and_then(HandshakeError::refused)
        .unwrap_or_else(|| panic!("not a refusal: {err:?}"))
}

/// The decision waits for another task (standing in for an authorisation
/// service) to choose among the offered subprotocols, then accepts: the
/// client sees that subprotocol, and the connection carries messages.
#[tokio::test]
async fn an_async_decision_accepts_with_the_chosen_subprotocol() {
    // The "service": answers each question with the last protocol offered.
    let (ask, mut questions) = mpsc::channel::<(Vec<String>, oneshot::Sender<String>)>(1);
    tokio::spawn(async move {
        while let Some((offered, reply)) = questions.recv().await {
            let _ = reply.send(offered.last().cloned().unwrap_or_default());
        }
    });

    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with_async(tcp, Config::default(), move |request| async move {
            let (reply, answer) = oneshot::channel();
            ask.send((request.protocols().to_vec(), reply))
                .await
                .map_err(|_| Refusal::new(503))?;
            let chosen = answer.await.map_err(|_| Refusal::new(503))?;
            Ok(Accept::new().protocol(&chosen))
        })
        .await
        .unwrap();
        let protocol = ws.protocol().map(str::to_owned);
        let echoed = ws.next().await.unwrap().unwrap();
        ws.send(echoed).await.unwrap();
        protocol
    });

    let request = ClientRequest::new(&url)
        .unwrap()
        .protocol("chat.v1")
        .protocol("chat.v2");
    let (mut ws, response) = tokio::time::timeout(LIMIT, connect_with(request, Config::default()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat.v2"));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    let server_protocol = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(server_protocol.as_deref(), Some("chat.v2"));
}

/// The decision does some asynchronous work, then refuses with a status, a
/// header and a JSON body: the client receives exactly those, and the
/// server reports the refusal.
#[tokio::test]
async fn an_async_decision_refuses_with_status_header_and_body() {
    const DENIED: &str = r#"{"error":"invalid_token"}"#;
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        accept_with_async(tcp, Config::default(), |request| async move {
            // Work, not synchronisation: the answer does not depend on it.
            tokio::time::sleep(Duration::from_millis(5)).await;
            match request.bearer_token() {
                Some("let-me-in") => Ok(Accept::new()),
                _ => Err(Refusal::new(401)
                    .header("WWW-Authenticate", "Bearer realm=\"chat\"")
                    .json(DENIED)),
            }
        })
        .await
        .map(drop)
        .unwrap_err()
    });

    let request = ClientRequest::new(&url).unwrap();
    let err = tokio::time::timeout(LIMIT, connect_with(request, Config::default()))
        .await
        .unwrap()
        .unwrap_err();
    let refused = refused(&err);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.headers.get("WWW-Authenticate"),
        Some("Bearer realm=\"chat\"")
    );
    assert_eq!(
        refused.headers.get("Content-Type"),
        Some("application/json")
    );
    assert_eq!(
        (refused.body_text(), refused.truncated),
        (Some(DENIED), false)
    );

    let server_err = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(server_err.handshake(), Some(&HandshakeError::Rejected(401)));
}

/// Sends on its channel when dropped: tells the test that the decision's
/// future was cancelled.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A decision that never completes: at the handshake deadline the server
/// drops it and returns the timeout, and the client, which would wait much
/// longer, fails as soon as the server closes, without an upgrade.
#[tokio::test]
async fn a_decision_past_the_deadline_times_out() {
    const DEADLINE: Duration = Duration::from_millis(200);
    let (l, url) = listener().await;
    let (dropped_tx, dropped) = oneshot::channel();
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let started = Instant::now();
        let signal = DropSignal(Some(dropped_tx));
        let config = Config::default().handshake_timeout(DEADLINE);
        let result = accept_with_async(tcp, config, move |_| async move {
            let _signal = signal;
            std::future::pending::<Result<Accept, Refusal>>().await
        })
        .await;
        (result.map(drop).unwrap_err(), started.elapsed())
    });

    // The client's own deadline is far away: its failure is the server's doing.
    let started = Instant::now();
    let config = Config::default().handshake_timeout(Duration::from_secs(60));
    let err = tokio::time::timeout(
        LIMIT,
        connect_with(ClientRequest::new(&url).unwrap(), config),
    )
    .await
    .expect("the client fails once the server gives up")
    .unwrap_err();
    let client_waited = started.elapsed();

    let (server_err, server_waited) = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(
        matches!(server_err, StreamError::HandshakeTimeout),
        "{server_err:?}"
    );
    assert!(server_waited >= DEADLINE, "{server_waited:?}");
    tokio::time::timeout(LIMIT, dropped)
        .await
        .unwrap()
        .expect("the pending decision was dropped");

    // No answer was written: the connection ended (or was reset) before a
    // response head, which is neither a refusal nor the client's timeout.
    assert!(
        matches!(
            &err,
            StreamError::Io(_) | StreamError::Handshake(HandshakeError::ResponseIncomplete)
        ),
        "{err:?}"
    );
    assert!(client_waited < Duration::from_secs(10), "{client_waited:?}");
}

/// An upstream (an rfc6455 server) that refuses every handshake with 403, a
/// header and a body.
async fn refusing_upstream() -> String {
    let (l, url) = listener().await;
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            tokio::spawn(accept_with(tcp, Config::default(), |request| {
                Err(Refusal::new(403)
                    .header("X-Denied-Path", request.path())
                    .text("banned here"))
            }));
        }
    });
    url
}

/// An upstream that accepts with the first subprotocol offered.
async fn accepting_upstream() -> String {
    let (l, url) = listener().await;
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            tokio::spawn(accept_with(tcp, Config::default(), |request| {
                Ok(match request.protocols().first() {
                    Some(p) => Accept::new().protocol(p),
                    None => Accept::new(),
                })
            }));
        }
    });
    url
}

/// A gateway for one client: it connects to `upstream` with the client's
/// path and subprotocols, then accepts the client with the upstream's
/// subprotocol or answers with [`StreamError::gateway_refusal`]. Reports
/// what connecting upstream gave, then its own outcome.
async fn gateway(
    upstream: String,
) -> (
    String,
    oneshot::Receiver<Result<Option<String>, StreamError>>,
    tokio::task::JoinHandle<Result<Option<String>, StreamError>>,
) {
    let (l, url) = listener().await;
    let (upstream_tx, upstream_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let ws = accept_with_async(tcp, Config::default(), move |request| async move {
            let base = upstream.trim_end_matches('/');
            let mut to_upstream = ClientRequest::new(&format!("{base}{}", request.target()))?;
            for protocol in request.protocols() {
                to_upstream = to_upstream.protocol(protocol);
            }
            let config = Config::default().handshake_timeout(Duration::from_secs(5));
            let connected = connect_with(to_upstream, config).await;
            let outcome = match &connected {
                Ok((_, response)) => Ok(response.protocol.clone()),
                Err(e) => Err(e.gateway_refusal()),
            };
            let _ = upstream_tx.send(connected.map(|(_, response)| response.protocol));
            Ok(match outcome? {
                Some(protocol) => Accept::new().protocol(&protocol),
                None => Accept::new(),
            })
        })
        .await?;
        Ok(ws.protocol().map(str::to_owned))
    });
    (url, upstream_rx, task)
}

/// An upstream's refusal, fetched by the gateway's client and converted,
/// reaches the gateway's own client with the same status, fields and body.
#[tokio::test]
async fn an_upstream_refusal_reaches_the_client_through_a_gateway() {
    let upstream = refusing_upstream().await;
    let (gateway_url, upstream_outcome, gateway_task) = gateway(upstream).await;

    let request = ClientRequest::new(&format!("{}private?x=1", gateway_url)).unwrap();
    let err = tokio::time::timeout(LIMIT, connect_with(request, Config::default()))
        .await
        .unwrap()
        .unwrap_err();
    let received = refused(&err);
    assert_eq!(received.status, 403);
    assert_eq!(received.headers.get("X-Denied-Path"), Some("/private"));
    assert_eq!(
        received.headers.get("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        (received.body_text(), received.truncated),
        (Some("banned here"), false)
    );

    // What the gateway received from the upstream, field for field: both
    // answers were written by `Refusal::to_bytes`, which sets `Connection`
    // and `Content-Length` in the same place.
    let upstream_err = tokio::time::timeout(LIMIT, upstream_outcome)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(refused(&upstream_err), received);

    let gateway_err = tokio::time::timeout(LIMIT, gateway_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        gateway_err.handshake(),
        Some(&HandshakeError::Rejected(403))
    );
}

/// The gateway accepts its client with the subprotocol the upstream chose.
#[tokio::test]
async fn a_gateway_accepts_with_the_upstreams_subprotocol() {
    let upstream = accepting_upstream().await;
    let (gateway_url, upstream_outcome, gateway_task) = gateway(upstream).await;

    let request = ClientRequest::new(&gateway_url)
        .unwrap()
        .protocol("relay.v3")
        .protocol("relay.v2");
    let (_ws, response) = tokio::time::timeout(LIMIT, connect_with(request, Config::default()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("relay.v3"));
    let upstream_protocol = upstream_outcome.await.unwrap().unwrap();
    assert_eq!(upstream_protocol.as_deref(), Some("relay.v3"));
    let gateway_protocol = tokio::time::timeout(LIMIT, gateway_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(gateway_protocol.as_deref(), Some("relay.v3"));
}

/// Nothing listens upstream: the connect error converts to 502 Bad Gateway,
/// which is what the gateway's client receives.
#[tokio::test]
async fn an_unreachable_upstream_gives_502() {
    let (closed, closed_url) = listener().await;
    drop(closed);

    let err = connect_with(ClientRequest::new(&closed_url).unwrap(), Config::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Connect(_)), "{err:?}");
    let refusal = err.gateway_refusal();
    assert_eq!(refusal.status(), 502);
    assert_eq!(
        refusal.to_bytes(),
        b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );

    let (gateway_url, upstream_outcome, gateway_task) = gateway(closed_url).await;
    let err = tokio::time::timeout(
        LIMIT,
        connect_with(ClientRequest::new(&gateway_url).unwrap(), Config::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    let received = refused(&err);
    assert_eq!(received.status, 502);
    assert!(received.body.is_empty());
    let upstream_err = upstream_outcome.await.unwrap().unwrap_err();
    assert!(
        matches!(upstream_err, StreamError::Connect(_)),
        "{upstream_err:?}"
    );
    let gateway_err = tokio::time::timeout(LIMIT, gateway_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        gateway_err.handshake(),
        Some(&HandshakeError::Rejected(502))
    );
}

/// Other failures than a refusal are 502 too; a refusal with a status a
/// server cannot pass on is also 502.
#[test]
fn failures_other_than_a_refusal_are_502() {
    for err in [
        StreamError::HandshakeTimeout,
        StreamError::TlsUnsupported,
        StreamError::Io(std::io::ErrorKind::ConnectionReset.into()),
        StreamError::from(HandshakeError::AcceptKeyMismatch),
        StreamError::from(HandshakeError::ResponseIncomplete),
    ] {
        assert_eq!(err.gateway_refusal().status(), 502, "{err:?}");
    }
}
