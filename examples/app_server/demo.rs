//! `--demo`: a producer for session `demo`, so that the viewer page has
//! something to show. It is a WebSocket client of this very server, as a
//! real producer would be (a headless browser sending its screen): ten
//! times a second, a JSON frame with a counter and an SVG image of a square
//! moving along a grey field, with a mark where a viewer last clicked.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::ClientRequest;
use rfc6455::{Config, Message};
use serde::Deserialize;

/// A viewer's click, in the image's pixels (other fields are ignored).
#[derive(Deserialize)]
struct Click {
    x: u32,
    y: u32,
}

/// Sends frames to session `demo` of the server at `addr` until the
/// connection ends.
pub async fn producer(mut addr: SocketAddr, token: String) {
    // A server listening on every address is reached on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("ws://{addr}/ws/captcha/demo?role=producer");
    let request = ClientRequest::new(&url)
        .expect("a valid URL")
        .header("Authorization", &format!("Bearer {token}"));
    let mut ws = match rfc6455::tokio::connect_with(request, Config::default()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            eprintln!("demo producer: {e}");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut click = None;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let frame = serde_json::json!({
                    "type": "frame",
                    "seq": seq,
                    "image": image(seq, click.as_ref()),
                });
                seq += 1;
                if ws.send(Message::text(frame.to_string())).await.is_err() {
                    break;
                }
            }
            event = ws.next() => match event {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(at) = serde_json::from_str::<Click>(text.as_str()) {
                        click = Some(at);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    eprintln!("demo producer: {e}");
                    break;
                }
                None => break,
            },
        }
    }
}

/// A 200 x 128 SVG image as a data URL: a grey field, a 32-pixel square
/// moving along it, and a 6-pixel black mark centred on the last click.
fn image(seq: u64, click: Option<&Click>) -> String {
    let x = seq * 4 % (200 - 32);
    let mark = click.map_or(String::new(), |c| {
        let (x, y) = (c.x.saturating_sub(3), c.y.saturating_sub(3));
        format!(r#"<rect x="{x}" y="{y}" width="6" height="6" fill="black"/>"#)
    });
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="128">
<rect width="200" height="128" fill="rgb(200,200,200)"/>
<rect x="{x}" y="48" width="32" height="32" fill="rgb(220,90,40)"/>{mark}</svg>"#
    );
    format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))
}
