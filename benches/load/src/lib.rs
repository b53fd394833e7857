//! Shared plumbing for the echo servers in `src/bin/`: the `[ADDR]` argument
//! and a current-thread runtime, the same shape as the crate's own
//! `examples/echo_server.rs`.

use std::future::Future;

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
