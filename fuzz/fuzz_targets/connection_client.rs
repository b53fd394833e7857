//! A client `Connection` fed arbitrary bytes in an arbitrary chunking.
//!
//! Input: byte 0 selects the config (bit 0 fragments, bit 1 a 300-byte frame
//! limit, bit 2 a 1000-byte message limit) and, in its high nibble, how the
//! output is drained; bytes 1..5 are the chunk sizes (cycled; 0 = the rest);
//! the rest is the stream. Invariants: see `rfc6455_fuzz::run_connection`;
//! and the events, error and output equal those of a single feed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::Role;
use rfc6455_fuzz::{Chunker, config_from, run_connection};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (mut chunker, stream) = Chunker::split(rest);
    let chunks = chunker.chunks(stream);
    let piece = usize::from(flags >> 4) * 3;
    let chunked = run_connection(Role::Client, config_from(flags), &chunks, piece);
    let whole = run_connection(Role::Client, config_from(flags), &[stream], 0);
    assert_eq!(
        chunked.normalized(),
        whole.normalized(),
        "chunking changed the outcome"
    );
});
