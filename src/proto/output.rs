//! The queue of bytes waiting to be written to the transport.
//!
//! Small frames are encoded back to back into one buffer. A large payload the
//! caller already owns as [`Bytes`] is queued by reference, its frame header
//! kept inline beside it, so that an adapter writes header and payload with
//! one vectored write, the payload is never copied, and queueing it costs no
//! allocation. An emptied queue releases what it grew to, so that an idle
//! connection does not keep the memory of its largest burst.

use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

use crate::proto::frame::MAX_HEADER_LEN;

/// Payloads at least this long are queued by reference rather than copied.
pub(crate) const ZERO_COPY_THRESHOLD: usize = 4096;

/// Capacity above which an emptied encode buffer is released.
const RETAIN_CAPACITY: usize = 8192;

/// A queued piece written before `tail`.
#[derive(Debug)]
enum Piece {
    /// Bytes encoded earlier (what `tail` held when a frame by reference
    /// was queued after it), or a prepared frame.
    Bytes(Bytes),
    /// A frame whose payload is queued by reference: its header inline
    /// (`head[start..end]` still to write), then the payload.
    Frame {
        head: [u8; MAX_HEADER_LEN],
        start: u8,
        end: u8,
        payload: Bytes,
    },
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Bytes(b) => b.len(),
            Piece::Frame {
                start,
                end,
                payload,
                ..
            } => usize::from(end - start) + payload.len(),
        }
    }

    /// Its non-empty slices, in order.
    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let (first, second): (&[u8], &[u8]) = match self {
            Piece::Bytes(b) => (b, &[]),
            Piece::Frame {
                head,
                start,
                end,
                payload,
            } => (&head[usize::from(*start)..usize::from(*end)], payload),
        };
        [first, second].into_iter().filter(|s| !s.is_empty())
    }

    /// Drops up to `n` bytes off its front; returns how many.
    fn advance(&mut self, n: usize) -> usize {
        match self {
            Piece::Bytes(b) => {
                let k = n.min(b.len());
                b.advance(k);
                k
            }
            Piece::Frame {
                start,
                end,
                payload,
                ..
            } => {
                let in_head = n.min(usize::from(*end - *start));
                // Fits: at most MAX_HEADER_LEN.
                *start += in_head as u8;
                let in_payload = (n - in_head).min(payload.len());
                payload.advance(in_payload);
                in_head + in_payload
            }
        }
    }

    /// Shared handles to its slices.
    fn handles(&self, dst: &mut alloc::vec::Vec<Bytes>) {
        match self {
            Piece::Bytes(b) => dst.push(b.clone()),
            Piece::Frame {
                head,
                start,
                end,
                payload,
            } => {
                if start < end {
                    dst.push(Bytes::copy_from_slice(
                        &head[usize::from(*start)..usize::from(*end)],
                    ));
                }
                if !payload.is_empty() {
                    dst.push(payload.clone());
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Pieces ahead of `tail`.
    queued: VecDeque<Piece>,
    /// Where small frames are encoded; written after `queued`.
    tail: BytesMut,
    /// Total bytes pending.
    len: usize,
    /// Bytes written (or dropped) since the start: with `len`, where in
    /// the output stream each queued frame lies.
    written: u64,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The position in the output stream (bytes since the start) of the end
    /// of what is queued.
    pub(crate) fn end(&self) -> u64 {
        self.written + self.len as u64
    }

    /// The position in the output stream up to which everything was written.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// The buffer to encode into.
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Records `n` bytes appended to `tail`.
    pub(crate) fn grew(&mut self, n: usize) {
        self.len += n;
    }

    /// Moves what `tail` holds ahead of a piece about to be queued.
    fn flush_tail(&mut self) {
        if !self.tail.is_empty() {
            self.queued
                .push_back(Piece::Bytes(self.tail.split().freeze()));
        }
    }

    /// Queues encoded bytes (a prepared frame) by reference.
    pub(crate) fn push_shared(&mut self, bytes: Bytes) {
        self.flush_tail();
        self.len += bytes.len();
        self.queued.push_back(Piece::Bytes(bytes));
    }

    /// Queues a frame: `header` copied inline, `payload` by reference.
    pub(crate) fn push_frame(&mut self, header: &[u8], payload: Bytes) {
        self.flush_tail();
        let mut head = [0u8; MAX_HEADER_LEN];
        head[..header.len()].copy_from_slice(header);
        self.len += header.len() + payload.len();
        self.queued.push_back(Piece::Frame {
            head,
            start: 0,
            // At most MAX_HEADER_LEN.
            end: header.len() as u8,
            payload,
        });
    }

    /// The pending bytes, in order, as a few contiguous slices.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.queued
            .iter()
            .flat_map(Piece::slices)
            .chain(core::iter::once(&self.tail[..]))
            .filter(|c| !c.is_empty())
    }

    /// Drops the first `n` pending bytes, which the caller has written (all
    /// of them if `n` is larger: the queue was cleared meanwhile).
    pub(crate) fn advance(&mut self, n: usize) {
        self.written += n.min(self.len) as u64;
        if n >= self.len {
            // Everything written (the common case): nothing to walk, and the
            // encode buffer is emptied without moving its start, so the next
            // frame reuses it as it is.
            self.queued.clear();
            self.tail.clear();
            self.len = 0;
            self.release();
            return;
        }
        let mut n = n;
        self.len -= n;
        while n > 0 {
            let Some(front) = self.queued.front_mut() else {
                self.tail.advance(n);
                break;
            };
            n -= front.advance(n);
            if front.len() == 0 {
                self.queued.pop_front();
            }
        }
        if self.len == 0 {
            self.release();
        }
    }

    /// Appends shared handles to the pending chunks to `dst` (at most `max`
    /// pieces), leaving them queued.
    pub(crate) fn handles(&mut self, dst: &mut alloc::vec::Vec<Bytes>, max: usize) {
        self.flush_tail();
        for piece in self.queued.iter().take(max) {
            piece.handles(dst);
        }
    }

    /// Drops everything pending (the transport can take no more).
    pub(crate) fn clear(&mut self) {
        self.queued.clear();
        self.written += self.len as u64;
        self.len = 0;
        self.release();
    }

    fn release(&mut self) {
        self.tail.clear();
        if self.tail.capacity() > RETAIN_CAPACITY {
            self.tail = BytesMut::new();
        }
        // Only frames by reference (large payloads) use the queue: an
        // allocation per such message is nothing next to its size, and an
        // idle connection keeps none.
        if self.queued.capacity() > 0 {
            self.queued = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn pending(out: &Output) -> Vec<u8> {
        out.chunks().flatten().copied().collect()
    }

    #[test]
    fn pieces_keep_their_order_through_partial_writes() {
        let mut out = Output::default();
        out.tail().extend_from_slice(b"ab");
        out.grew(2);
        let payload = Bytes::from(alloc::vec![b'x'; 5000]);
        out.push_frame(b"HDR", payload.clone());
        out.tail().extend_from_slice(b"cd");
        out.grew(2);
        let all: Vec<u8> = [&b"abHDR"[..], &payload[..], b"cd"].concat();
        assert_eq!(pending(&out), all);
        assert_eq!(out.len(), all.len());
        // The payload is queued by reference.
        assert!(out.chunks().any(|c| c.as_ptr() == payload.as_ptr()));
        for step in [1, 3, 4000, 1000, 1, 2] {
            let before = pending(&out);
            out.advance(step);
            assert_eq!(pending(&out), before[step.min(before.len())..]);
        }
        assert_eq!(out.len(), 0);
        assert_eq!(out.chunks().count(), 0);
        assert_eq!(out.written(), all.len() as u64);
    }

    #[test]
    fn handles_give_the_pending_bytes() {
        let mut a = Output::default();
        a.push_frame(b"H1", Bytes::from_static(b"payload one"));
        a.tail().extend_from_slice(b"small");
        a.grew(5);
        a.push_shared(Bytes::from_static(b"prepared"));
        let whole = pending(&a);
        let mut handles = Vec::new();
        a.handles(&mut handles, 64);
        assert_eq!(handles.concat(), whole);
        a.advance(whole.len());
        assert_eq!(a.len(), 0);
    }
}
