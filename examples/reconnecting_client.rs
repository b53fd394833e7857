//! A bot client of a JSON WebSocket service that must stay connected: an
//! application heartbeat, WebSocket keepalive, and reconnection with
//! exponential backoff and jitter, except after the server says the token
//! expired (4001).
//!
//! ```text
//! reconnecting_client URL [--token TOKEN] [--heartbeat SECS] [--dead-after SECS]
//!                         [--keepalive INTERVAL,TIMEOUT] [--backoff INITIAL,MAX]
//! ```
//!
//! Against `app_server` (`cargo run --features axum --example app_server`):
//! `reconnecting_client ws://127.0.0.1:9002/api/ws --token demo`.
//!
//! - Every `--heartbeat` seconds (default 15) it sends
//!   `{"type":"heartbeat","seq":N}`; the service answers it (app_server
//!   echoes it). With no answer for `--dead-after` seconds (default 30) the
//!   session is declared dead and abandoned.
//! - WebSocket keepalive (default `15,30`) finds a dead transport too.
//! - After a session ends (the server going away, a lost connection, a
//!   dead session) or when connecting fails, it connects again after
//!   `INITIAL` seconds (default 1), doubling up to `MAX` (default 60), with
//!   jitter. A close with 4001 (token expired) or another final close
//!   ends it: exit code 0 for 4001, 1 otherwise.
//!
//! Each event is one line on stdout.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::ClientRequest;
use rfc6455::tokio::{ClientStream, Reconnect};
use rfc6455::{Backoff, CloseCode, Config, Disconnect, Keepalive, Message};
use tokio::time::{Instant, interval_at};

const USAGE: &str = "usage: reconnecting_client URL [--token TOKEN] [--heartbeat SECS] \
                     [--dead-after SECS] [--keepalive INTERVAL,TIMEOUT] [--backoff INITIAL,MAX]";
const TOKEN_EXPIRED: u16 = 4001;

struct Args {
    request: ClientRequest,
    config: Config,
    backoff: Backoff,
    heartbeat: Duration,
    dead_after: Duration,
}

/// Seconds as given on the command line (`15`, `0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("not a number of seconds: {text}"))
}

/// `A,B` as two durations.
fn pair(text: &str) -> Result<(Duration, Duration), String> {
    let (a, b) = text.split_once(',').ok_or(USAGE)?;
    Ok((seconds(a)?, seconds(b)?))
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.starts_with('-')).ok_or(USAGE)?;
    let mut token = None;
    let mut heartbeat = Duration::from_secs(15);
    let mut dead_after = Duration::from_secs(30);
    let mut keepalive = Keepalive::new(Duration::from_secs(15), Duration::from_secs(30));
    let mut backoff = Backoff::default();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(USAGE);
        match arg.as_str() {
            "--token" => token = Some(value()?),
            "--heartbeat" => heartbeat = seconds(&value()?)?,
            "--dead-after" => dead_after = seconds(&value()?)?,
            "--keepalive" => {
                let (interval, timeout) = pair(&value()?)?;
                keepalive = Keepalive::new(interval, timeout);
            }
            "--backoff" => {
                let (initial, max) = pair(&value()?)?;
                backoff = backoff.initial(initial).max(max);
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let mut request = ClientRequest::new(&url).map_err(|e| format!("{url}: {e}"))?;
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    Ok(Args {
        request,
        config: Config::default().keepalive(keepalive),
        backoff,
        heartbeat,
        dead_after,
    })
}

/// One session: heartbeats out, answers in, until the connection ends or
/// the service stops answering.
async fn session(ws: &mut ClientStream, heartbeat: Duration, dead_after: Duration) {
    let mut beats = interval_at(Instant::now() + heartbeat, heartbeat);
    let mut answered = Instant::now();
    let mut seq = 0u64;
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let reply: serde_json::Value =
                        serde_json::from_str(text.as_str()).unwrap_or_default();
                    if reply["type"] == "heartbeat" {
                        answered = Instant::now();
                        println!("heartbeat answered: {}", text.as_str());
                    } else {
                        println!("message: {}", text.as_str());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    println!("connection failed: {e}");
                    return;
                }
                None => return,
            },
            _ = beats.tick() => {
                if answered.elapsed() > dead_after {
                    println!("no answer for {dead_after:?}: session declared dead");
                    return;
                }
                seq += 1;
                let beat = serde_json::json!({ "type": "heartbeat", "seq": seq });
                if ws.send(Message::text(beat.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut client = Reconnect::new(args.request, args.config)
        .backoff(args.backoff)
        .give_up_when(|d: &Disconnect| {
            d.close_code() == Some(CloseCode::new(TOKEN_EXPIRED)) || !d.is_retryable()
        })
        .on_retry(|d: &Disconnect, delay| println!("retrying in {delay:.1?} ({d})"));
    let mut connected = client.connect().await;
    let end = loop {
        let (mut ws, _) = match connected {
            Ok(ws) => ws,
            Err(end) => break end,
        };
        println!("connected");
        session(&mut ws, args.heartbeat, args.dead_after).await;
        println!("session ended: {}", Disconnect::of(ws.connection()));
        connected = client.reconnect(ws).await;
    };
    println!("giving up: {end}");
    let expired = end.close_code() == Some(CloseCode::new(TOKEN_EXPIRED));
    std::process::exit(if expired { 0 } else { 1 });
}
