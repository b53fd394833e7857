//! One behaviour suite for time, closing and flow: keepalive, idle, the
//! close deadline (the flush of a close frame included), handshake
//! refusals, and streaming both ways at once, each stated once in
//! [`scenarios`] and run against these rigs:
//!
//! - `core`: the sans-IO [`Connection`](rfc6455::Connection) driven by a
//!   few lines of driver with simulated time (deterministic, no sleeps);
//! - `tokio` and `blocking`: the adapters over loopback sockets with small
//!   buffers in real time, a scenario's unit scaled down to 100 ms;
//!   `blocking_split` with the connection split into a reader and a writer
//!   thread.
//!
//! The endpoint under test is a server running the same small program on
//! each rig (see [`rig::Program`]); the peer is a client [`Connection`] used
//! as a codec over a raw socket, so that a scenario decides whether the peer
//! reads, answers pings, or goes silent.
//!
//! [`Connection`]: rfc6455::Connection

mod blocking_rig;
mod core_rig;
mod mio_rig;
mod rig;
mod scenarios;
mod tokio_rig;

/// The scenarios as tests, once per rig. An attribute after the rig goes on
/// the full-duplex scenario: an `ignore`, with its reason, for a rig that
/// is not [`Rig::FULL_DUPLEX`](rig::Rig::FULL_DUPLEX).
macro_rules! suite {
    ($name:ident, $rig:ty $(, #[$not_full_duplex:meta])?) => {
        mod $name {
            use crate::scenarios;

            #[test]
            fn keepalive_pings_after_an_interval_of_silence_and_measures_latency() {
                scenarios::keepalive_pings_after_an_interval_of_silence::<$rig>();
            }

            #[test]
            fn no_keepalive_ping_while_messages_arrive() {
                scenarios::no_keepalive_ping_while_messages_arrive::<$rig>();
            }

            #[test]
            fn a_dead_peer_is_found_by_keepalive_with_1011() {
                scenarios::a_dead_peer_is_found_by_keepalive::<$rig>();
            }

            #[test]
            fn keepalive_failure_with_a_peer_that_stopped_reading_ends_within_the_close_timeout() {
                scenarios::keepalive_failure_with_a_peer_that_stopped_reading::<$rig>();
            }

            #[test]
            fn idle_timeout_fails_with_1001() {
                scenarios::idle_timeout_fails_with_1001::<$rig>();
            }

            #[test]
            fn an_unanswered_close_ends_at_the_close_timeout() {
                scenarios::an_unanswered_close_ends_at_the_close_timeout::<$rig>();
            }

            #[test]
            fn refusals_are_answered_alike() {
                scenarios::refusals_are_answered_alike::<$rig>();
            }

            #[test]
            $(#[$not_full_duplex])?
            fn streams_both_ways_while_its_output_is_full() {
                scenarios::streams_both_ways_while_its_output_is_full::<$rig>();
            }
        }
    };
}

suite!(core, crate::core_rig::CoreRig);
suite!(tokio, crate::tokio_rig::TokioRig);
// One thread reads or writes: a send waiting for a peer that is not
// reading stops the reading (`Rig::FULL_DUPLEX` is false), so streaming
// both ways at once is for the split connection.
suite!(
    blocking,
    crate::blocking_rig::BlockingRig<false>,
    #[ignore = "not full duplex: one thread reads or writes (Rig::FULL_DUPLEX)"]
);
suite!(blocking_split, crate::blocking_rig::BlockingRig<true>);
suite!(mio, crate::mio_rig::MioRig);
