//! Close frame payloads (RFC 6455 §5.5.1): a status code and a UTF-8 reason.

use bytes::{BufMut, Bytes, BytesMut};

pub use super::close_code::CloseCode;
use super::error::Error;
use super::text::Utf8Bytes;

/// The payload of a close frame that carried a status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, valid UTF-8, at most 123 bytes.
    pub reason: Utf8Bytes,
}

/// Longest reason that fits a control frame next to its two-byte code.
pub const MAX_REASON_LEN: usize = 123;

impl CloseFrame {
    /// Parses a received close payload: empty (no status), or a sendable code
    /// followed by a UTF-8 reason.
    ///
    /// # Errors
    /// [`Error::InvalidClosePayload`] for one byte, [`Error::InvalidCloseCode`]
    /// for a code that may not be sent, [`Error::InvalidUtf8`] for the reason.
    pub fn parse(payload: Bytes) -> Result<Option<CloseFrame>, Error> {
        match payload.len() {
            0 => Ok(None),
            1 => Err(Error::InvalidClosePayload),
            _ => {
                let code = CloseCode::new(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_sendable() {
                    return Err(Error::InvalidCloseCode(code.as_u16()));
                }
                let reason = Utf8Bytes::try_from(payload.slice(2..))?;
                Ok(Some(CloseFrame { code, reason }))
            }
        }
    }

    /// Checks that this frame may be sent: a sendable code and a reason of at
    /// most 123 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidCloseToSend`].
    pub fn validate_to_send(&self) -> Result<(), Error> {
        if self.code.is_sendable() && self.reason.len() <= MAX_REASON_LEN {
            Ok(())
        } else {
            Err(Error::InvalidCloseToSend)
        }
    }

    /// Writes the close payload: the code in network order, then the reason.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_u16(self.code.as_u16());
        dst.extend_from_slice(self.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_ranges_match_rfc_7_4() {
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode::new(code).is_sendable(), expected, "code {code}");
        }
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(CloseFrame::parse(Bytes::new()), Ok(None));
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[3])),
            Err(Error::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03, 0xed])),
            Err(Error::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03, 0xe8, 0xff])),
            Err(Error::InvalidUtf8)
        );
        let frame = CloseFrame::parse(Bytes::from_static(b"\x03\xe8bye"))
            .unwrap()
            .unwrap();
        assert_eq!(frame.code, CloseCode::NORMAL);
        assert_eq!(&*frame.reason, "bye");
    }

    #[test]
    fn reason_length_checked_before_sending() {
        let long = CloseFrame {
            code: CloseCode::NORMAL,
            reason: Utf8Bytes::from("x".repeat(124)),
        };
        assert_eq!(long.validate_to_send(), Err(Error::InvalidCloseToSend));
        let bad_code = CloseFrame {
            code: CloseCode::ABNORMAL,
            reason: Utf8Bytes::default(),
        };
        assert_eq!(bad_code.validate_to_send(), Err(Error::InvalidCloseToSend));
    }
}
