//! Waking the tasks that drive a [`WebSocketStream`](super::WebSocketStream):
//! the one reading and the one sending, which are different tasks once the
//! stream is split. The stream's one timer wakes both (whichever runs acts
//! on the deadline), and each side wakes the other when it changed what the
//! other waits for (output queued by a non-waiting send, the transport
//! closed).

use core::task::Waker;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Wake;

/// Which side of the stream is polling.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// `Stream::poll_next`.
    Reading,
    /// The `Sink` methods.
    Sending,
}

impl Side {
    /// The other side.
    pub(super) fn other(self) -> Side {
        match self {
            Side::Reading => Side::Sending,
            Side::Sending => Side::Reading,
        }
    }
}

#[derive(Default)]
pub(super) struct Wakers {
    reading: Mutex<Option<Waker>>,
    sending: Mutex<Option<Waker>>,
}

impl Wakers {
    fn slot(&self, side: Side) -> &Mutex<Option<Waker>> {
        match side {
            Side::Reading => &self.reading,
            Side::Sending => &self.sending,
        }
    }

    /// Remembers the task polling `side`.
    pub(super) fn set(&self, side: Side, waker: &Waker) {
        let mut slot = self
            .slot(side)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Wakes the task polling `side`, if one waits.
    pub(super) fn wake_side(&self, side: Side) {
        let waker = self
            .slot(side)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_side(Side::Reading);
        self.wake_side(Side::Sending);
    }
}
