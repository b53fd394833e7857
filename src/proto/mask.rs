//! Payload masking (RFC 6455 §5.3).
//!
//! Masking XORs each payload byte with `key[i % 4]`. It runs over every byte a
//! server receives, so it works a word at a time: the key is widened to a
//! `u64` and the bulk of the buffer is processed in 32-byte blocks of four
//! independent words, which the compiler turns into vector instructions,
//! starting at a 64-byte boundary so that no store straddles cache lines. With
//! `std` on x86-64, the same code is also compiled for AVX2 and chosen at run
//! time where the CPU has it (32-byte vectors instead of SSE2's 16: half the
//! instructions per byte). A benchmark (`benches/micro/benches/codec.rs`, `mask/*`) compares
//! it with a plain `memcpy` of the same size.

/// From this length on, the bulk of a buffer is masked in aligned vector
/// blocks (below it, the alignment prologue would cost more than it saves).
const BULK: usize = 128;

/// XORs `buf` in place with `key`, starting at position `offset` of the key
/// cycle (the index of `buf[0]` within the frame payload). Masking twice with
/// the same key and offset restores the input.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() < BULK {
        mask_words(buf, key, offset);
        return;
    }
    // A payload starts wherever its header ended (14 bytes into a read
    // buffer, say), and vector stores straddling cache lines cost twice:
    // the bytes up to a 64-byte boundary first, then aligned blocks. This
    // halved the time to unmask 1 MiB at such an offset (20.0 to 11.0 µs
    // on the benchmark machine, AVX2).
    let head = buf.as_ptr().align_offset(64).min(buf.len());
    let (head_bytes, body) = buf.split_at_mut(head);
    mask_words(head_bytes, key, offset);
    let offset = offset.wrapping_add(head);
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `apply_mask_avx2` only needs the CPU to support AVX2, which
        // was just checked (the answer is cached after the first call).
        unsafe { apply_mask_avx2(body, key, offset) };
        return;
    }
    mask_words(body, key, offset);
}

/// [`mask_words`] compiled with AVX2 enabled.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn apply_mask_avx2(buf: &mut [u8], key: [u8; 4], offset: usize) {
    mask_words(buf, key, offset);
}

/// The masking loop, in safe code the compiler vectorizes for the target
/// features of its caller.
#[inline(always)]
fn mask_words(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    let key32 = u32::from_ne_bytes(key);
    let key64 = u64::from(key32) * 0x1_0000_0001;

    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            let w = u64::from_ne_bytes(word.try_into().expect("8-byte chunk")) ^ key64;
            word.copy_from_slice(&w.to_ne_bytes());
        }
    }
    // Each block and word is a multiple of four bytes, so the key phase is
    // unchanged through the tail.
    let rest = blocks.into_remainder();
    let mut words = rest.chunks_exact_mut(8);
    for word in &mut words {
        let w = u64::from_ne_bytes(word.try_into().expect("8-byte chunk")) ^ key64;
        word.copy_from_slice(&w.to_ne_bytes());
    }
    let mut rest = words.into_remainder();
    if rest.len() >= 4 {
        let (quad, tail) = rest.split_at_mut(4);
        let w = u32::from_ne_bytes(quad.try_into().expect("4-byte chunk")) ^ key32;
        quad.copy_from_slice(&w.to_ne_bytes());
        rest = tail;
    }
    for (byte, k) in rest.iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// The key as seen from payload position `offset`: byte `i` of the result
/// is `key[(i + offset) % 4]`.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // One rotation of the key read as a little-endian word, rather than a
    // generic slice rotation.
    let bits = 8 * (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(bits).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(i + offset) % 4];
        }
    }

    #[test]
    fn rfc_5_7_masked_hello() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    proptest! {
        #[test]
        fn matches_bytewise_xor(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4], offset in 0usize..8) {
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, key, offset);
            naive(&mut slow, key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn masking_twice_is_identity(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4]) {
            let mut buf = data.clone();
            apply_mask(&mut buf, key, 0);
            apply_mask(&mut buf, key, 0);
            prop_assert_eq!(buf, data);
        }

        #[test]
        fn split_masking_equals_whole(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4], cut in 0usize..300) {
            let cut = cut.min(data.len());
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut parts: Vec<u8> = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            prop_assert_eq!(parts, whole);
        }
    }
}
