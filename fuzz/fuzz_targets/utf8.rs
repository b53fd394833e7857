//! `Utf8Validator` over an arbitrary chunking agrees with `core::str::from_utf8`,
//! never fails on a valid prefix, and fails as soon as the byte that shows
//! the input invalid has been fed.
//!
//! Input: bytes 0..4 are the chunk sizes (cycled; 0 = the rest), the rest is text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::Utf8Validator;
use rfc6455_fuzz::Chunker;

fuzz_target!(|data: &[u8]| {
    let (mut chunker, text) = Chunker::split(data);
    let expected = core::str::from_utf8(text);
    // Bytes that must be fed before an error is due, and bytes that may be
    // fed without one.
    let (due, safe) = match &expected {
        Ok(_) => (usize::MAX, text.len()),
        Err(e) => match e.error_len() {
            Some(len) => ((e.valid_up_to() + len + 1).min(text.len()), e.valid_up_to()),
            None => (usize::MAX, text.len()),
        },
    };
    let mut v = Utf8Validator::new();
    let mut fed = 0;
    let mut failed = false;
    for chunk in chunker.chunks(text) {
        fed += chunk.len();
        if v.feed(chunk).is_err() {
            assert!(fed > safe, "failed inside a valid prefix ({fed} <= {safe})");
            failed = true;
            break;
        }
        assert!(
            fed < due,
            "invalid byte fed without an error ({fed} >= {due})"
        );
    }
    if !failed {
        failed = v.finish().is_err();
    }
    assert_eq!(
        failed,
        expected.is_err(),
        "validator disagrees with from_utf8"
    );
});
