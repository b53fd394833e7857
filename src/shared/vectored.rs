//! The one vectored write of the adapters: a connection's queued output
//! (a frame header and its payload apart, frames by reference) as the
//! slices of one `write_vectored`.

use std::io::IoSlice;

/// Most slices handed to one vectored write: enough for a burst of frames
/// queued by reference (a broadcast), under every system's `IOV_MAX`.
pub(crate) const MAX_SLICES: usize = 64;

/// Fills `dst` with `chunks`, in order, as far as it has room; returns how
/// many slices were filled.
pub(crate) fn fill<'a>(chunks: impl Iterator<Item = &'a [u8]>, dst: &mut [IoSlice<'a>]) -> usize {
    let mut n = 0;
    for (slot, chunk) in dst.iter_mut().zip(chunks) {
        *slot = IoSlice::new(chunk);
        n += 1;
    }
    n
}
