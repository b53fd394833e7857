//! The per-message codec of permessage-deflate (RFC 7692 §7.2), used by the
//! [`Connection`](crate::Connection).
//!
//! Sending (§7.2.1): a message is compressed with a sync flush and the
//! `00 00 ff ff` that ends it is removed; a fragmented message is compressed
//! fragment by fragment, each flushed, the tail removed from the last only.
//! Receiving (§7.2.2): each frame's payload is inflated as it arrives, and
//! `00 00 ff ff` is inflated after the last frame.
//!
//! Both directions allocate their zlib state on their first compressed
//! message. Where no context takeover applies, the state is dropped after each
//! message, so that an idle connection holds none.
//!
//! Inflation grows its output buffer by doubling, capped at the message size
//! limit plus one byte: a message that inflates past the limit fails with
//! [`Error::MessageTooLarge`] having allocated at most that much, however
//! large its claimed or actual size.

use alloc::vec::Vec;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::Agreed;
use crate::proto::config::Role;
use crate::proto::error::Error;

/// What ends every compressed message and is not sent (§7.2.1).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Smallest growth of the inflate output buffer.
pub(crate) const MIN_CHUNK: usize = 4 << 10;

/// How a connection sends a [`PreparedMessage`](crate::PreparedMessage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// As it is (too short to compress, or an 8-bit window).
    Uncompressed,
    /// Compressed from a fresh state with this window and level: the same
    /// bytes for every such connection.
    Shared { bits: u8, level: u32 },
    /// Compressed by this connection's own compressor (context takeover).
    Own,
}

/// Deflates `input` with a sync flush, removing the tail at the end of a
/// message (§7.2.1).
fn deflate_sync(c: &mut Compress, mut input: &[u8], fin: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    loop {
        if out.capacity() - out.len() < 32 {
            out.reserve(out.capacity().max(64));
        }
        let before = c.total_in();
        // A compressor that was set up correctly fails on no input.
        let status = c.compress_vec(input, &mut out, FlushCompress::Sync);
        debug_assert!(status.is_ok());
        input = &input[(c.total_in() - before) as usize..];
        // Room left in the output: the flush is complete (zlib's rule).
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
        if status.is_err() {
            break;
        }
    }
    if fin {
        debug_assert!(out.ends_with(&TAIL));
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
    }
    out
}

/// One whole message compressed from a fresh state (no context takeover),
/// or `None` if that does not make it smaller.
pub(crate) fn compress_fresh(data: &[u8], bits: u8, level: u32) -> Option<Bytes> {
    if data.is_empty() {
        return None;
    }
    let mut c = Compress::new_with_window_bits(Compression::new(level), false, bits);
    let out = deflate_sync(&mut c, data, true);
    (out.len() < data.len()).then(|| Bytes::from(out))
}

/// One connection's permessage-deflate state.
pub(crate) struct DeflateCodec {
    level: u32,
    threshold: usize,
    /// This endpoint's compressor window; 8 means "never compress".
    send_bits: u8,
    send_reset: bool,
    recv_bits: u8,
    recv_reset: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// Whether the outgoing (fragmented) message is being compressed.
    sending_compressed: bool,
    /// Inflated bytes not yet handed out.
    out: Vec<u8>,
}

impl core::fmt::Debug for DeflateCodec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeflateCodec")
            .field("send_bits", &self.send_bits)
            .field("recv_bits", &self.recv_bits)
            .field("compressor", &self.compressor.is_some())
            .field("decompressor", &self.decompressor.is_some())
            .finish_non_exhaustive()
    }
}

impl DeflateCodec {
    pub(crate) fn new(role: Role, agreed: &Agreed) -> Self {
        let p = &agreed.params;
        let (send_bits, send_reset, recv_bits, recv_reset) = match role {
            Role::Server => (
                p.server_max_window_bits,
                p.server_no_context_takeover,
                p.client_max_window_bits,
                p.client_no_context_takeover,
            ),
            Role::Client => (
                p.client_max_window_bits,
                p.client_no_context_takeover,
                p.server_max_window_bits,
                p.server_no_context_takeover,
            ),
        };
        DeflateCodec {
            level: agreed.level,
            threshold: agreed.threshold,
            send_bits,
            send_reset,
            recv_bits,
            recv_reset,
            compressor: None,
            decompressor: None,
            sending_compressed: false,
            out: Vec::new(),
        }
    }

    // ------------------------------------------------------------- sending

    /// Compresses one whole message, or returns `None` to send it as is
    /// (under the threshold, an 8-bit window, or, without context takeover,
    /// when compressing did not make it smaller).
    pub(crate) fn compress_message(&mut self, data: &[u8]) -> Option<Bytes> {
        if !self.should_compress(data.len()) {
            return None;
        }
        let out = self.compress(data, true);
        if self.send_reset && out.len() >= data.len() {
            // The compressor was reset: the peer's window need not see it.
            return None;
        }
        Some(out)
    }

    /// Starts or continues a fragmented message; returns the payload to send
    /// and whether the message is compressed.
    pub(crate) fn compress_fragment(
        &mut self,
        first: bool,
        data: Bytes,
        fin: bool,
    ) -> (Bytes, bool) {
        if first {
            self.sending_compressed = self.should_compress(data.len());
        }
        if !self.sending_compressed {
            return (data, false);
        }
        if fin {
            self.sending_compressed = false;
        }
        (self.compress(&data, fin), true)
    }

    fn should_compress(&self, len: usize) -> bool {
        self.send_bits >= 9 && len >= self.threshold
    }

    /// How this connection sends a prepared message of `len` bytes
    /// ([`PreparedMessage`](crate::PreparedMessage)).
    pub(crate) fn prepared(&self, len: usize) -> Prepared {
        if !self.should_compress(len) {
            Prepared::Uncompressed
        } else if self.send_reset {
            Prepared::Shared {
                bits: self.send_bits,
                level: self.level,
            }
        } else {
            Prepared::Own
        }
    }

    /// Deflates `input` with a sync flush; at the end of a message removes
    /// the tail, and drops the compressor without context takeover.
    fn compress(&mut self, input: &[u8], fin: bool) -> Bytes {
        if input.is_empty() {
            // zlib emits nothing for a repeated flush; an empty stored block
            // without its `00 00 ff ff` ends the message the same way.
            if fin && self.send_reset {
                self.compressor = None;
            }
            return if fin {
                Bytes::from_static(&[0x00])
            } else {
                Bytes::new()
            };
        }
        let (level, bits) = (self.level, self.send_bits);
        let c = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let out = deflate_sync(c, input, fin);
        if fin && self.send_reset {
            self.compressor = None;
        }
        Bytes::from(out)
    }

    // ----------------------------------------------------------- receiving

    /// Inflates `input`, a piece of a compressed message, appending to the
    /// output not yet taken, which may not exceed `limit` bytes.
    ///
    /// # Errors
    /// [`Error::InvalidCompressedData`] for invalid deflate data,
    /// [`Error::MessageTooLarge`] as soon as the output exceeds `limit`.
    pub(crate) fn inflate(&mut self, mut input: &[u8], limit: usize) -> Result<(), Error> {
        let bits = self.recv_bits.max(9);
        let d = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let cap_limit = limit.saturating_add(1);
        loop {
            if self.out.len() > limit {
                return Err(Error::MessageTooLarge);
            }
            if self.out.len() == self.out.capacity() {
                // Double, at least a chunk, at most the limit plus one byte.
                let len = self.out.len();
                let target = (len * 2)
                    .max(len + MIN_CHUNK)
                    .max(input.len().saturating_mul(2))
                    .min(cap_limit);
                self.out.reserve_exact(target - len);
            }
            let (in_before, out_before) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(input, &mut self.out, FlushDecompress::None)
                .map_err(|_| Error::InvalidCompressedData)?;
            let used = (d.total_in() - in_before) as usize;
            let produced = d.total_out() - out_before;
            input = &input[used..];
            if self.out.len() > limit {
                return Err(Error::MessageTooLarge);
            }
            if status == Status::StreamEnd {
                // A block with BFINAL set ended the stream (§7.2.3.4): what
                // follows starts a new one; the window is lost. Reset in
                // place: a peer sending a stream of empty final blocks must
                // not cost a new inflater each (2 bytes of input apiece).
                d.reset(false);
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if input.is_empty() && self.out.len() < self.out.capacity() {
                return Ok(());
            }
            if used == 0 && produced == 0 {
                // No progress with room and input left cannot happen with
                // valid data.
                if !input.is_empty() && self.out.len() < self.out.capacity() {
                    return Err(Error::InvalidCompressedData);
                }
                if input.is_empty() {
                    return Ok(());
                }
            }
        }
    }

    /// The inflated bytes not yet taken.
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    /// Takes the inflated bytes.
    pub(crate) fn take_output(&mut self) -> Bytes {
        Bytes::from(core::mem::take(&mut self.out))
    }

    /// Ends a received message: without context takeover, frees the inflater.
    pub(crate) fn end_received_message(&mut self) {
        if self.recv_reset {
            self.decompressor = None;
        }
    }

    /// Capacity of the inflate buffer, for tests of the bound.
    #[cfg(test)]
    pub(crate) fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Whether zlib state is allocated, in each direction.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> (bool, bool) {
        (self.compressor.is_some(), self.decompressor.is_some())
    }
}
