//! The `tracing` feature: a capturing subscriber sees the connection spans,
//! the handshake outcomes, close frames sent and received with their codes,
//! and a peer's protocol violation, and nothing per message above `trace`.
#![cfg(all(feature = "tracing", feature = "tokio"))]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use rfc6455::Config;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{accept_with, connect};
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One captured event: level, the fields of its span scope, its own fields.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    spans: String,
    fields: String,
}

struct SpanFields(String);

struct Recorder<'a>(&'a mut String);

impl Visit for Recorder<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut text = format!("{}: ", attrs.metadata().name());
        attrs.record(&mut Recorder(&mut text));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(text));
        }
    }

    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut Recorder(&mut fields.0));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = String::new();
        event.record(&mut Recorder(&mut fields));
        let mut spans = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<SpanFields>() {
                    spans.push_str(&f.0);
                    spans.push_str("| ");
                }
            }
        }
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            spans,
            fields,
        });
    }
}

impl Capture {
    fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    fn find(&self, message: &str, role: &str) -> Captured {
        self.events()
            .into_iter()
            .find(|e| {
                e.fields.contains(&format!("message={message}"))
                    && e.spans.contains(&format!("role={role}"))
            })
            .unwrap_or_else(|| panic!("no {message:?} for {role}: {:#?}", self.events()))
    }
}

#[test]
fn handshake_close_and_failure_events() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                let accept = |_: &_| Ok(Accept::new());
                let Ok(mut ws) = accept_with(tcp, Config::default(), accept).await else {
                    continue;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            }
        });

        // A clean session: the client closes with 1000.
        let (mut ws, _) = connect(&format!("ws://{addr}/")).await.unwrap();
        ws.send(Message::text("hello")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();

        // A peer that breaks the protocol: an unmasked frame from a client.
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(
            format!(
                "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        raw.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
        let mut sink = Vec::new();
        let _ = raw.read_to_end(&mut sink).await;
        server.await.unwrap();
    });

    let accepted = capture.find("websocket accepted", "server");
    assert_eq!(accepted.level, Level::INFO);
    assert!(accepted.spans.contains("websocket: "), "{accepted:?}");
    let connected = capture.find("websocket connected", "client");
    assert_eq!(connected.level, Level::INFO);
    assert!(connected.spans.contains("peer=127.0.0.1:"), "{connected:?}");

    let sent = capture.find("close frame sent", "client");
    assert!(sent.fields.contains("code=1000"), "{sent:?}");
    let received = capture.find("close frame received", "server");
    assert!(
        received.fields.contains("code=1000") && received.fields.contains("bye"),
        "{received:?}"
    );
    let echoed = capture.find("close frame received", "client");
    assert!(echoed.fields.contains("code=1000"), "{echoed:?}");
    capture.find("connection closed", "client");

    let failed = capture.find("connection failed", "server");
    assert_eq!(failed.level, Level::WARN);
    assert!(failed.fields.contains("close_code=1002"), "{failed:?}");

    // Nothing per message above trace.
    for e in capture.events() {
        if e.fields.contains("message=message ") {
            assert_eq!(e.level, Level::TRACE, "{e:?}");
        }
    }
}
