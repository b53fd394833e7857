//! One behaviour suite for time and closing: keepalive, idle, the close
//! deadline (the flush of a close frame included) and handshake refusals,
//! each stated once in [`scenarios`] and run against three rigs:
//!
//! - `core`: the sans-IO [`Connection`](rfc6455::Connection) driven by a
//!   few lines of driver with simulated time (deterministic, no sleeps);
//! - `tokio` and `blocking`: the adapters over loopback sockets in real
//!   time, a scenario's unit scaled down to 100 ms; `blocking_split` with
//!   the connection split into a reader and a writer thread.
//!
//! The endpoint under test is a server running the same small program on
//! each rig (see [`rig::Action`]); the peer is a client [`Connection`] used
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

/// The scenarios as tests, once per rig.
macro_rules! suite {
    ($name:ident, $rig:ty) => {
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
        }
    };
}

suite!(core, crate::core_rig::CoreRig);
suite!(tokio, crate::tokio_rig::TokioRig);
suite!(blocking, crate::blocking_rig::BlockingRig<false>);
suite!(blocking_split, crate::blocking_rig::BlockingRig<true>);
suite!(mio, crate::mio_rig::MioRig);
