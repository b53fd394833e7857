//! Shared plumbing for the servers in `src/bin/` (the `[ADDR]` argument, a
//! current-thread runtime, the same shape as the crate's own
//! `examples/echo_server.rs`, and the fan-out servers' common settings), and
//! in [`client`] for the load generators `load` and `fanout`.

use std::future::Future;

pub mod client;

/// The listen address: the first argument, or `127.0.0.1:9001`.
pub fn addr() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned())
}

/// Runs `f` on a current-thread tokio runtime with I/O and timers enabled.
pub fn run<F: Future<Output = std::io::Result<()>>>(f: F) -> std::io::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

/// Fan-out protocol: a connection to this path is the producer, whose every
/// message the server sends to every other connection (the receivers, any
/// other path) as a binary message. Receivers send nothing; the producer
/// receives nothing.
pub const PRODUCE_PATH: &str = "/produce";

/// Messages a Rust fan-out server's `tokio::sync::broadcast` channel holds.
/// A receiver further behind than this skips ahead (`RecvError::Lagged`) and
/// loses the messages in between, so a receiver that stops reading costs at
/// most the one message its task is stuck writing; memory does not grow with
/// the time it stays stuck. The channel drops a message once every receiver
/// has taken it, so while all read it holds only the few in flight; once one
/// receiver stops, it fills up to this many messages (shared, not per
/// receiver). The load generator keeps at most 8 messages in flight by
/// default, so receivers that read never come near this.
pub const FANOUT_CAPACITY: usize = 16;

/// sockudo-ws settings for both of its servers: its defaults, except that the
/// 120 s inbound-idle timeout and automatic pings after 30 s of inbound
/// silence are off. No other server here times out or pings on its own
/// (uWS runs with `idleTimeout: 0`), and fan-out receivers never send.
#[cfg(feature = "peers")]
pub fn sockudo_config() -> sockudo_ws::Config {
    sockudo_ws::Config::builder()
        .idle_timeout(0)
        .auto_ping(false)
        .build()
}
