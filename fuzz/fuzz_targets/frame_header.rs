//! `FrameHeader::parse` on arbitrary bytes: never panics; a parsed header
//! re-encodes (shortest form) to bytes that parse back to the same header;
//! every shorter prefix of a valid header is "need more"; an error does not
//! depend on bytes after the ones that caused it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN, header_len};

fuzz_target!(|data: &[u8]| {
    let result = FrameHeader::parse(data);
    match result {
        Ok(Some((header, n))) => {
            assert_eq!(
                Some(n),
                header_len(data),
                "length disagrees with header_len"
            );
            assert!(n <= data.len() && n <= MAX_HEADER_LEN);
            assert_eq!(header.rsv & !0x70, 0, "rsv outside its bits");
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
            assert!(header.payload_len < 1 << 63);

            let mut buf = [0u8; MAX_HEADER_LEN];
            let m = header.encode(&mut buf);
            assert_eq!(m, header.encoded_len());
            assert!(m <= n, "shortest encoding longer than the input's");
            let (again, m2) = FrameHeader::parse(&buf[..m])
                .expect("re-encoded header is an error")
                .expect("re-encoded header is incomplete");
            assert_eq!((again, m2), (header, m));
            // Bytes after the header are not looked at.
            let mut longer = buf;
            longer[m..].fill(0xff);
            assert_eq!(FrameHeader::parse(&longer), Ok(Some((header, m))));

            for k in 0..n {
                assert_eq!(
                    FrameHeader::parse(&data[..k]),
                    Ok(None),
                    "prefix of {k} bytes"
                );
            }
        }
        Ok(None) => {
            assert!(data.len() < header_len(data).unwrap_or(2));
        }
        Err(ref e) => {
            assert!(e.close_code().is_some());
            // The error is final: more bytes do not change it.
            let mut more = data.to_vec();
            more.extend_from_slice(&[0u8; MAX_HEADER_LEN]);
            assert_eq!(FrameHeader::parse(&more), result);
        }
    }
});
