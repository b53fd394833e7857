//! Randomness for mask keys (RFC 6455 §5.3) and handshake nonces (§4.1).
//!
//! Mask keys must be unpredictable to the application, so they come from a
//! ChaCha12 stream seeded once per client connection: from
//! [`Config::random_seed`](crate::Config::random_seed) when one is given
//! (reproducible tests; `no_std` targets with their own entropy), else from
//! the operating system (feature `std`): one system call per connection,
//! none per frame. Servers never mask and hold no generator at all. The
//! handshake nonce and the mask keys are drawn from different ChaCha streams
//! of the same seed, so neither reveals the other.

use alloc::boxed::Box;
use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The ChaCha stream mask keys are drawn from.
const MASK_STREAM: u64 = 0;
/// The ChaCha stream handshake nonces are drawn from.
const NONCE_STREAM: u64 = 1;

/// A source of frame mask keys.
pub(crate) struct MaskRng(Box<ChaCha12Rng>);

impl MaskRng {
    /// The generator of one client connection: from `seed`, else seeded by
    /// the operating system. `None` without `std` and without a seed.
    pub(crate) fn new(seed: Option<[u8; 32]>) -> Option<Self> {
        let mut rng = ChaCha12Rng::from_seed(seed.or_else(os_seed)?);
        rng.set_stream(MASK_STREAM);
        Some(MaskRng(Box::new(rng)))
    }

    /// The next mask key.
    pub(crate) fn next_key(&mut self) -> [u8; 4] {
        self.0.next_u32().to_ne_bytes()
    }
}

/// A fresh handshake nonce: from `seed`, else from the operating system.
/// `None` without `std` and without a seed.
pub(crate) fn nonce(seed: Option<[u8; 32]>) -> Option<[u8; 16]> {
    let mut rng = ChaCha12Rng::from_seed(seed.or_else(os_seed)?);
    rng.set_stream(NONCE_STREAM);
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    Some(nonce)
}

/// 32 bytes from the operating system's generator.
///
/// # Panics
/// If the operating system has no randomness to give, which no supported
/// platform does after boot; a WebSocket client cannot work safely without it.
#[cfg(feature = "std")]
pub(crate) fn os_seed() -> Option<[u8; 32]> {
    use rand_chacha::rand_core::TryRngCore;
    let mut seed = [0u8; 32];
    rand_chacha::rand_core::OsRng
        .try_fill_bytes(&mut seed)
        .expect("the operating system random source failed");
    Some(seed)
}

/// Without `std` there is no operating system to ask.
#[cfg(not(feature = "std"))]
pub(crate) fn os_seed() -> Option<[u8; 32]> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_are_reproducible_and_distinct() {
        let seed = [7u8; 32];
        let mut a = MaskRng::new(Some(seed)).unwrap();
        let mut b = MaskRng::new(Some(seed)).unwrap();
        let keys: [[u8; 4]; 4] = core::array::from_fn(|_| a.next_key());
        assert_eq!(keys, core::array::from_fn(|_| b.next_key()));
        assert_eq!(nonce(Some(seed)), nonce(Some(seed)));
        // The nonce is not the first mask keys.
        let first: alloc::vec::Vec<u8> = keys.iter().flatten().copied().collect();
        assert_ne!(&nonce(Some(seed)).unwrap()[..], &first[..]);
    }

    #[cfg(feature = "std")]
    #[test]
    fn unseeded_generators_differ() {
        assert_ne!(nonce(None), nonce(None));
        let (mut a, mut b) = (MaskRng::new(None).unwrap(), MaskRng::new(None).unwrap());
        assert_ne!([a.next_key(), a.next_key()], [b.next_key(), b.next_key()]);
    }
}
