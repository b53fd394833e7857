//! The behaviour, stated once. Times are in units (see [`Rig`]); on the
//! simulated rigs a unit is a second, so "15, 30" is the common "ping every
//! 15 s of silence, dead after 30 s".

use rfc6455::handshake::HandshakeError;
use rfc6455::{Config, Error, Keepalive, Message};

use crate::rig::{
    Decide, ENDPOINT_SEED, PEER_SEED, Rig, STREAM_SIZE, close_code, pings, report, stream_chunk,
    unauthorized, units,
};

/// `at` is `expected` within the rig's slack (never earlier than half a
/// unit before: the endpoint's clock starts a moment before the rig's).
fn near<R: Rig>(at: f64, expected: f64, what: &str) {
    let early = R::SLACK.min(0.5);
    assert!(
        at >= expected - early && at <= expected + R::SLACK,
        "{what} at {at:.3} units, expected {expected}"
    );
}

fn keepalive<R: Rig>(interval: f64, timeout: f64) -> Config {
    Config::default().keepalive(Keepalive::new(units::<R>(interval), units::<R>(timeout)))
}

/// A ping goes out once nothing arrived for `interval`; after its pong, the
/// next goes out one `interval` later (not `max(interval, timeout)`), and
/// the round trip is measured.
pub fn keepalive_pings_after_an_interval_of_silence<R: Rig>() {
    let mut rig = R::start(keepalive::<R>(15.0, 30.0));
    let events = rig.listen(40.0, true);
    let pings = pings(&events);
    assert!(pings.len() >= 2, "pings at {pings:?}");
    near::<R>(pings[0], 15.0, "first ping");
    near::<R>(pings[1], 30.0, "second ping (15 after the first pong)");
    assert!(
        rig.ended(0.0).is_none(),
        "an answered keepalive keeps it open"
    );
    rig.send(Message::Close(None));
    let ended = rig.ended(5.0).expect("the endpoint ends after the close");
    assert_eq!(ended.failure, None);
    let latency = ended.latency.expect("the keepalive round trip is kept");
    assert!(latency <= units::<R>(1.0 + R::SLACK), "{latency:?}");
}

/// Any frame from the peer proves it alive: while messages arrive more
/// often than `interval`, no ping is sent; once they stop, one goes out
/// `interval` after the last.
pub fn no_keepalive_ping_while_messages_arrive<R: Rig>() {
    let mut rig = R::start(keepalive::<R>(15.0, 30.0));
    let mut events = Vec::new();
    let mut last_sent = 0.0;
    for _ in 0..6 {
        last_sent = rig.now();
        rig.send(Message::text("tick"));
        events.extend(rig.listen(10.0, true));
    }
    assert!(pings(&events).is_empty(), "pinged at {:?}", pings(&events));
    let echoes = events
        .iter()
        .filter(|(_, e)| matches!(e, Message::Text(_) | Message::Binary(_)))
        .count();
    assert_eq!(echoes, 6, "every message was echoed");
    let quiet = rig.listen(10.0, true);
    let pings = pings(&quiet);
    assert_eq!(pings.len(), 1, "pings at {pings:?}");
    near::<R>(
        pings[0],
        last_sent + 15.0,
        "ping after the messages stopped",
    );
}

/// A peer that neither reads nor answers (its host vanished without a FIN)
/// is found: the ping goes unanswered for `timeout`, the endpoint fails
/// with 1011 and ends.
pub fn a_dead_peer_is_found_by_keepalive<R: Rig>() {
    let mut rig = R::start(keepalive::<R>(15.0, 30.0));
    let events = rig.listen(50.0, false);
    near::<R>(pings(&events)[0], 15.0, "ping");
    let (at, code) = close_code(&events).expect("a close frame");
    assert_eq!(code, 1011);
    near::<R>(at, 45.0, "close frame");
    let ended = rig.ended(5.0).expect("the endpoint ended");
    assert_eq!(ended.failure, Some(Error::KeepaliveTimeout));
    near::<R>(ended.at, 45.0, "end");
}

/// A peer that stopped reading while the endpoint has megabytes queued for
/// it: the keepalive fails, its close frame cannot be written, and the
/// close timeout still ends the connection (the output is dropped).
pub fn keepalive_failure_with_a_peer_that_stopped_reading<R: Rig>() {
    let config = keepalive::<R>(1.0, 1.0).close_timeout(units::<R>(5.0));
    let mut rig = R::start(config);
    rig.send(Message::text("flood"));
    rig.stall(12.0);
    let ended = rig.ended(1.0).expect("ended within the close timeout");
    assert_eq!(ended.failure, Some(Error::KeepaliveTimeout));
    // Ping at 1, failure at 2, dropped at 2 + 5.
    near::<R>(ended.at, 7.0, "end");
}

/// Nothing arriving for `idle_timeout` fails the connection with 1001; a
/// message resets the wait.
pub fn idle_timeout_fails_with_1001<R: Rig>() {
    let mut rig = R::start(Config::default().idle_timeout(units::<R>(20.0)));
    let mut events = rig.listen(10.0, true);
    rig.send(Message::text("still here"));
    events.extend(rig.listen(30.0, true));
    let (at, code) = close_code(&events).expect("a close frame");
    assert_eq!(code, 1001);
    near::<R>(at, 30.0, "close frame (20 after the message)");
    let ended = rig.ended(5.0).expect("the endpoint ended");
    assert_eq!(ended.failure, Some(Error::IdleTimeout));
}

/// The endpoint closes and the peer never answers: the connection ends at
/// the close timeout, as an abnormal closure.
pub fn an_unanswered_close_ends_at_the_close_timeout<R: Rig>() {
    let mut rig = R::start(Config::default().close_timeout(units::<R>(10.0)));
    rig.send(Message::text("close"));
    let events = rig.listen(15.0, false);
    let (_, code) = close_code(&events).expect("the endpoint's close frame");
    assert_eq!(code, 1000);
    let ended = rig.ended(1.0).expect("ended at the close timeout");
    assert_eq!(ended.failure, Some(Error::AbnormalClosure));
    let at = ended.at;
    assert!(
        at >= 10.0 - R::SLACK.min(0.5) && at <= 10.0 + R::SLACK,
        "ended at {at:.3} units, expected 10"
    );
}

/// MiB streamed each way by [`streams_both_ways_while_its_output_is_full`].
const STREAM_MIB: usize = 50;
/// How long (in units) each half of that scenario may wait: 20 s on the
/// real-time rigs, where each half takes well under a second in a debug
/// build (its bound only turns a stall into a failure).
const STREAM_WAIT: f64 = 200.0;

/// The endpoint streams to the peer and the peer to the endpoint at once,
/// on the defaults: the endpoint's sending waits for room in its output
/// (1 MiB messages, the high-water mark being 128 KiB), its reading never
/// does.
///
/// The peer asks for the endpoint's stream, then sends its own before
/// reading anything: the endpoint's output fills (the transport holds far
/// less than one 1 MiB message) and stays full until the peer reads, so the
/// peer's writes complete only if the endpoint reads while its output is
/// full. An endpoint that stopped reading while its output was full would
/// leave both sides writing: the peer's writes wait out their bound, and
/// the scenario fails. The endpoint counts what arrives (an echo would wait
/// for room, and stop the reading itself) and reports the count, with how
/// much of it arrived while its output was full (the condition under test
/// must have occurred); then the peer reads the endpoint's stream, whole.
pub fn streams_both_ways_while_its_output_is_full<R: Rig>() {
    if !R::FULL_DUPLEX {
        eprintln!(
            "skipped on {}: one thread reads or writes, not both",
            std::any::type_name::<R>()
        );
        return;
    }
    let mut rig = R::start(Config::default());
    rig.send(Message::text(format!("stream {STREAM_MIB}")));
    let mine = stream_chunk(PEER_SEED);
    let until = rig.now() + STREAM_WAIT;
    for sent in 0..STREAM_MIB {
        assert!(
            rig.send_within(Message::Binary(mine.clone()), (until - rig.now()).max(0.0)),
            "the peer's writes stalled after {sent} of {STREAM_MIB} MiB: \
             the endpoint stopped reading while its output was full"
        );
    }
    let is_data = |e: &Message| matches!(e, Message::Binary(_) | Message::Text(_));
    let events = rig.listen_until(STREAM_WAIT, true, &mut |events| {
        events.iter().filter(|(_, e)| is_data(e)).count() > STREAM_MIB
    });
    let theirs = stream_chunk(ENDPOINT_SEED);
    let (mut streamed, mut reported) = (0, None);
    for (_, event) in &events {
        match event {
            Message::Binary(b) => {
                assert!(*b == theirs, "message {streamed} of the stream differs");
                streamed += 1;
            }
            Message::Text(t) => {
                assert_eq!(reported, None, "one report");
                reported = Some(report(t).unwrap_or_else(|| panic!("a report: {t:?}")));
            }
            _ => {}
        }
    }
    assert_eq!(streamed, STREAM_MIB, "the endpoint's stream, whole");
    let (received, while_full) = reported.expect("the endpoint's report");
    assert_eq!(
        received,
        STREAM_MIB * STREAM_SIZE,
        "bytes the endpoint received"
    );
    assert!(
        while_full > 0,
        "the endpoint's output was never full while the peer's stream arrived"
    );
    rig.send(Message::Close(None));
    let ended = rig.ended(5.0).expect("the endpoint ends after the close");
    assert_eq!(ended.failure, None);
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request(method: &str, version: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// Every adapter answers a refused handshake with the core's refusal: the
/// request's status, the application's refusal (with its fields and body),
/// and 500 for the application's own mistake.
pub fn refusals_are_answered_alike<R: Rig>() {
    let cases = [
        (
            request("GET", "8", ""),
            Decide::Accept,
            HandshakeError::UnsupportedVersion.refusal(),
        ),
        (
            request("POST", "13", ""),
            Decide::Accept,
            HandshakeError::MethodNotAllowed.refusal(),
        ),
        (
            request("GET", "13", "Origin: https://elsewhere.example\r\n"),
            Decide::ForbidOrigin,
            HandshakeError::OriginRefused.refusal(),
        ),
        (
            request("GET", "13", ""),
            Decide::UnofferedProtocol,
            HandshakeError::ProtocolNotOffered.refusal(),
        ),
        (
            request("GET", "13", ""),
            Decide::Unauthorized,
            unauthorized(),
        ),
    ];
    for (request, decide, refusal) in cases {
        assert_eq!(
            String::from_utf8_lossy(&R::refusal(&request, decide)),
            String::from_utf8_lossy(&refusal.to_bytes()),
            "{decide:?}"
        );
    }
}
