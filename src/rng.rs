//! Randomness for mask keys (RFC 6455 §5.3) and handshake keys (§4.1).
//!
//! Mask keys must be unpredictable to the application, so they come from a
//! ChaCha12 stream seeded once per client connection by the operating system:
//! one system call per connection, none per frame. Servers never mask and hold
//! no generator at all.

use alloc::boxed::Box;
use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng, TryRngCore};

/// A source of frame mask keys.
pub(crate) struct MaskRng(Box<ChaCha12Rng>);

impl MaskRng {
    /// A generator seeded from the operating system.
    pub(crate) fn from_os() -> Self {
        let mut seed = [0u8; 32];
        fill_os_random(&mut seed);
        Self::from_seed(seed)
    }

    /// A deterministic generator, for reproducible tests.
    pub(crate) fn from_seed(seed: [u8; 32]) -> Self {
        MaskRng(Box::new(ChaCha12Rng::from_seed(seed)))
    }

    /// The next mask key.
    pub(crate) fn next_key(&mut self) -> [u8; 4] {
        self.0.next_u32().to_ne_bytes()
    }
}

/// Fills `buf` from the operating system's generator.
///
/// # Panics
/// If the operating system has no randomness to give, which no supported
/// platform does after boot; a WebSocket client cannot work safely without it.
pub(crate) fn fill_os_random(buf: &mut [u8]) {
    rand_chacha::rand_core::OsRng
        .try_fill_bytes(buf)
        .expect("the operating system random source failed");
}
