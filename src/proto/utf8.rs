//! Incremental UTF-8 validation across fragments and partial frames
//! (RFC 6455 §8.1).
//!
//! A text message may be split anywhere, even inside a code point, so the
//! validator carries up to three bytes of an unfinished code point from one
//! piece to the next. It fails at the first byte sequence that cannot start a
//! valid code point, not at the end of the message: a peer streaming an
//! invalid message is stopped as soon as the invalid bytes arrive.

use crate::proto::error::Error;

/// Validation state of one text message in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Bytes of a code point begun but not finished.
    partial: [u8; 4],
    partial_len: u8,
}

/// The length of the code point a leading byte starts, or 0 if it cannot
/// start one.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece of the message.
    ///
    /// # Errors
    /// [`Error::InvalidUtf8`] as soon as `bytes` holds a sequence that cannot
    /// be part of valid UTF-8, whatever follows.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]);
            let take = (need - have).min(bytes.len());
            self.partial[have..have + take].copy_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            let filled = have + take;
            if filled < need {
                // Still unfinished: the prefix must be a valid beginning.
                check_prefix(&self.partial[..filled])?;
                self.partial_len = filled as u8;
                return Ok(());
            }
            core::str::from_utf8(&self.partial[..need]).map_err(|_| Error::InvalidUtf8)?;
            self.partial_len = 0;
        }
        match simdutf8::compat::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // An unfinished code point at the end: keep it for the next piece.
                let tail = &bytes[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(Error::InvalidUtf8),
        }
    }

    /// Ends the message.
    ///
    /// # Errors
    /// [`Error::InvalidUtf8`] if the message stops inside a code point.
    pub fn finish(&mut self) -> Result<(), Error> {
        let complete = self.partial_len == 0;
        *self = Self::new();
        if complete {
            Ok(())
        } else {
            Err(Error::InvalidUtf8)
        }
    }
}

/// Checks that `prefix` (shorter than its code point) can still become valid.
fn check_prefix(prefix: &[u8]) -> Result<(), Error> {
    match simdutf8::compat::from_utf8(prefix) {
        Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => Ok(()),
        _ => Err(Error::InvalidUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn validate_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<(), Error> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts {
            let cut = cut.clamp(start, bytes.len());
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.feed(&bytes[start..])?;
        v.finish()
    }

    #[test]
    fn fails_at_first_invalid_byte_not_at_end() {
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        // 0xF4 0x90 encodes past U+10FFFF: invalid however the message goes on.
        assert_eq!(v.feed(&[0xf4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(Error::InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(
            v.feed(&[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80
            ]),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn unfinished_code_point_fails_at_finish() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xe2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(Error::InvalidUtf8));
        // And the validator is reset for the next message.
        v.feed(b"ok").unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    proptest! {
        #[test]
        fn any_split_of_valid_text_is_valid(s in ".{0,40}", cuts in proptest::collection::vec(0usize..200, 0..6)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            prop_assert_eq!(validate_in_pieces(s.as_bytes(), &cuts), Ok(()));
        }

        #[test]
        fn agrees_with_std_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40), cuts in proptest::collection::vec(0usize..40, 0..6)) {
            let mut cuts: Vec<usize> = cuts;
            cuts.sort_unstable();
            let expected = core::str::from_utf8(&bytes).is_ok();
            prop_assert_eq!(validate_in_pieces(&bytes, &cuts).is_ok(), expected);
        }

        #[test]
        fn one_byte_at_a_time_fails_at_first_bad_byte(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            // The first failing feed is the last byte of the longest prefix
            // that is not the start of valid UTF-8.
            let mut v = Utf8Validator::new();
            let failed_at = bytes.iter().position(|b| v.feed(core::slice::from_ref(b)).is_err());
            let first_bad = (0..bytes.len()).find(|&i| {
                matches!(simdutf8::compat::from_utf8(&bytes[..=i]), Err(e) if e.error_len().is_some())
            });
            prop_assert_eq!(failed_at, first_bad);
        }
    }
}
