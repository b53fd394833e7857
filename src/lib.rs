//! # rfc6455
//!
//! A sans-IO WebSocket codec (RFC 6455). (Crate docs are written with the connection.)
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod close;
mod config;
mod error;
pub mod extension;
pub mod handshake;
mod rng;
mod text;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Role};
pub use error::Error;
pub use text::Utf8Bytes;

mod connection;
pub mod frame;
pub mod mask;
mod message;
mod output;
mod utf8;

pub use connection::{Connection, State, Timer};
pub use message::{DataKind, Event, Fragment, Message};
pub use utf8::Utf8Validator;

#[cfg(feature = "std")]
mod stream_error;
#[cfg(feature = "std")]
pub use stream_error::StreamError;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(feature = "std")]
pub mod blocking;
