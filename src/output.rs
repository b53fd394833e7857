//! The queue of bytes waiting to be written to the transport.
//!
//! Small frames are encoded back to back into one buffer; a large payload the
//! caller already owns as [`Bytes`] is queued by reference after its header,
//! so an adapter can write header and payload with one vectored write and the
//! payload is never copied.

use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are queued by reference rather than copied.
pub(crate) const ZERO_COPY_THRESHOLD: usize = 4096;

/// Capacity above which an emptied encode buffer is released, so that an idle
/// connection does not keep the memory of its largest burst.
const RETAIN_CAPACITY: usize = 8192;

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Chunks frozen ahead of `tail`.
    queued: VecDeque<Bytes>,
    /// Where small frames are encoded; written after `queued`.
    tail: BytesMut,
    /// Total bytes pending.
    len: usize,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The buffer to encode into.
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Records `n` bytes appended to `tail`.
    pub(crate) fn grew(&mut self, n: usize) {
        self.len += n;
    }

    /// Queues `payload` by reference after what `tail` holds.
    pub(crate) fn push_shared(&mut self, payload: Bytes) {
        if !self.tail.is_empty() {
            self.queued.push_back(self.tail.split().freeze());
        }
        self.len += payload.len();
        self.queued.push_back(payload);
    }

    /// The pending chunks, in order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.queued
            .iter()
            .map(|b| &b[..])
            .chain(core::iter::once(&self.tail[..]))
            .filter(|c| !c.is_empty())
    }

    /// Drops the first `n` pending bytes, which the caller has written (all
    /// of them if `n` is larger: the queue was cleared meanwhile).
    pub(crate) fn advance(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.queued.front_mut() else {
                self.tail.advance(n);
                break;
            };
            let step = n.min(front.len());
            front.advance(step);
            n -= step;
            if front.is_empty() {
                self.queued.pop_front();
            }
        }
        if self.len == 0 {
            self.release();
        }
    }

    /// Appends shared handles to the pending chunks to `dst`, at most
    /// `max`, leaving them queued.
    pub(crate) fn handles(&mut self, dst: &mut alloc::vec::Vec<Bytes>, max: usize) {
        if !self.tail.is_empty() {
            self.queued.push_back(self.tail.split().freeze());
        }
        dst.extend(self.queued.iter().take(max).cloned());
    }

    /// Takes the next pending chunk whole.
    pub(crate) fn pop_chunk(&mut self) -> Option<Bytes> {
        let chunk = match self.queued.pop_front() {
            Some(chunk) => chunk,
            None if !self.tail.is_empty() => self.tail.split().freeze(),
            None => return None,
        };
        self.len -= chunk.len();
        if self.len == 0 {
            self.release();
        }
        Some(chunk)
    }

    /// Drops everything pending (the transport can take no more).
    pub(crate) fn clear(&mut self) {
        self.queued.clear();
        self.len = 0;
        self.release();
    }

    fn release(&mut self) {
        self.tail.clear();
        if self.tail.capacity() > RETAIN_CAPACITY {
            self.tail = BytesMut::new();
        }
        if self.queued.capacity() > 16 {
            self.queued = VecDeque::new();
        }
    }
}
