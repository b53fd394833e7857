//! Frame headers (RFC 6455 §5.2): parse and encode.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! [`FrameHeader::parse`] never needs more than the first two bytes to know
//! how long the header is ([`header_len`]), so a caller holding a partial
//! header learns how many bytes are missing in constant time instead of
//! parsing again from scratch.

use crate::proto::error::Error;

/// The longest header: 2 bytes, a 64-bit length and a mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Frame opcodes (§5.2, §11.8). Reserved opcodes are rejected when parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: a continuation of a fragmented message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for a 4-bit value.
    ///
    /// # Errors
    /// [`Error::ReservedOpcode`] for 0x3-0x7 and 0xB-0xF.
    pub fn from_bits(bits: u8) -> Result<OpCode, Error> {
        Ok(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(Error::ReservedOpcode(other)),
        })
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The FIN bit: this is the last frame of its message.
    pub fin: bool,
    /// RSV1, RSV2 and RSV3 as they sit in the first byte (mask `0x70`).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on frames sent by a client.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// RSV1, used by permessage-deflate (RFC 7692 §6).
pub const RSV1: u8 = 0x40;

/// How long a header is, judging from its first two bytes, or `None` if fewer
/// than two bytes are available.
#[inline]
pub fn header_len(buf: &[u8]) -> Option<usize> {
    let second = *buf.get(1)?;
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let ext = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    Some(2 + ext + mask)
}

impl FrameHeader {
    /// Parses a header from the front of `buf`.
    ///
    /// Returns `Ok(None)` if `buf` holds only part of a header, else the
    /// header and its length in bytes. Checks made here need no connection
    /// state: reserved opcodes, a fragmented or oversized control frame, and a
    /// 64-bit length with its top bit set. RSV bits, masking direction and
    /// size limits depend on the connection and are checked by it.
    ///
    /// # Errors
    /// [`Error::ReservedOpcode`], [`Error::FragmentedControlFrame`],
    /// [`Error::ControlFrameTooLong`], [`Error::InvalidLength`].
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        // Judge the first byte as soon as it arrives: a bad opcode fails fast.
        let opcode = OpCode::from_bits(first & 0x0f)?;
        let fin = first & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(Error::FragmentedControlFrame);
        }
        let Some(len) = header_len(buf) else {
            return Ok(None);
        };
        let second = buf[1];
        let short = second & 0x7f;
        if opcode.is_control() && short > MAX_CONTROL_PAYLOAD as u8 {
            return Err(Error::ControlFrameTooLong);
        }
        if short == 127 && buf.get(2).is_some_and(|b| b & 0x80 != 0) {
            return Err(Error::InvalidLength);
        }
        if buf.len() < len {
            return Ok(None);
        }
        let (payload_len, mask_at) = match short {
            126 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
            127 => (
                u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
                10,
            ),
            n => (u64::from(n), 2),
        };
        let mask =
            (second & 0x80 != 0).then(|| buf[mask_at..mask_at + 4].try_into().expect("4 bytes"));
        Ok(Some((
            FrameHeader {
                fin,
                rsv: first & 0x70,
                opcode,
                mask,
                payload_len,
            },
            len,
        )))
    }

    /// The encoded length of this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes this header into `dst` using the shortest length form, and
    /// returns the number of bytes written.
    pub fn encode(&self, dst: &mut [u8; MAX_HEADER_LEN]) -> usize {
        dst[0] = (u8::from(self.fin) << 7) | (self.rsv & 0x70) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                dst[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                dst[1] = mask_bit | 126;
                dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                dst[1] = mask_bit | 127;
                dst[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            dst[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_5_7_vectors() {
        let (h, n) = FrameHeader::parse(&[0x81, 0x05, 0x48, 0x65])
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        let (h, n) = FrameHeader::parse(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f])
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.mask, h.payload_len, n),
            (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
        );
        // Unfragmented 256-byte binary, and 64 KiB binary (§5.7).
        let (h, n) = FrameHeader::parse(&[0x82, 0x7e, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        let (h, n) = FrameHeader::parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
        // Fragmented "Hel" "lo" (§5.7).
        let (h, _) = FrameHeader::parse(&[0x01, 0x03]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
        let (h, _) = FrameHeader::parse(&[0x80, 0x02]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
    }

    #[test]
    fn partial_headers_need_more() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..cut]), Ok(None), "cut {cut}");
        }
        assert!(FrameHeader::parse(&full).unwrap().is_some());
    }

    #[test]
    fn header_errors() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op]),
                Err(Error::ReservedOpcode(op))
            );
        }
        assert_eq!(
            FrameHeader::parse(&[0x09]),
            Err(Error::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::parse(&[0x89, 126]),
            Err(Error::ControlFrameTooLong)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::InvalidLength)
        );
        // 2^63 - 1 is a legal claim at this layer; limits are the connection's.
        let (h, _) =
            FrameHeader::parse(&[0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .unwrap()
                .unwrap();
        assert_eq!(h.payload_len, (1 << 63) - 1);
    }

    fn opcode() -> impl Strategy<Value = OpCode> {
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ]
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(
            fin: bool, rsv in 0u8..8, opcode in opcode(), mask: Option<[u8; 4]>,
            len in prop_oneof![0u64..=125, 126u64..=0xffff, 0x10000u64..(1 << 63)],
        ) {
            let fin = fin || opcode.is_control();
            let len = if opcode.is_control() { len % 126 } else { len };
            let header = FrameHeader { fin, rsv: rsv << 4, opcode, mask, payload_len: len };
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut buf);
            prop_assert_eq!(n, header.encoded_len());
            prop_assert_eq!(header_len(&buf[..n]), Some(n));
            prop_assert_eq!(FrameHeader::parse(&buf[..n]), Ok(Some((header, n))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = FrameHeader::parse(&bytes);
        }
    }
}
