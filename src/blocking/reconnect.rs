//! [`Reconnect`]: the blocking reconnecting client, with the same
//! decisions and backoff as the tokio one ([`crate::Disconnect`],
//! [`crate::Backoff`]).

use super::client_stream::ClientStream;
use std::sync::Arc;

use super::handshake::connect_with;
use super::socket::WebSocket;
use crate::proto::handshake::{ClientRequest, HandshakeResponse};
use crate::shared::reconnect::Policy;
use crate::{Backoff, Config, Disconnect};

/// A reconnecting client (`wss://` too, with the `rustls` feature): the
/// blocking twin of `rfc6455::tokio::Reconnect` (feature `tokio`), with the
/// same decisions; its waits are `thread::sleep`s.
///
/// ```no_run
/// use rfc6455::handshake::ClientRequest;
/// use rfc6455::{Config, Disconnect};
///
/// let request = ClientRequest::new("ws://127.0.0.1:9002/api/ws").unwrap();
/// let mut client = rfc6455::blocking::Reconnect::new(request, Config::default());
/// let (mut ws, _) = client.connect()?;
/// loop {
///     while let Ok(message) = ws.read() {
///         println!("{message:?}");
///     }
///     (ws, _) = client.reconnect(ws)?;
/// }
/// # Ok::<(), Disconnect>(())
/// ```
#[derive(Debug)]
pub struct Reconnect {
    request: ClientRequest,
    config: Config,
    policy: Policy,
}

impl Reconnect {
    /// Connects with `request` and `config`, with the default [`Backoff`]
    /// and the default decision ([`Disconnect::is_retryable`]).
    pub fn new(request: ClientRequest, config: Config) -> Self {
        Reconnect {
            policy: Policy::new(config.random_seed),
            request,
            config,
        }
    }

    /// Sets the waits between attempts.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// Sets which disconnections are final: `give_up(d)` true ends the
    /// reconnecting with `d`. Replaces the default, so call
    /// [`Disconnect::is_retryable`] inside to keep its answers.
    #[must_use]
    pub fn give_up_when(
        mut self,
        give_up: impl Fn(&Disconnect) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.policy.give_up_when(Arc::new(give_up));
        self
    }

    /// Calls `on_retry` before each wait: why, and how long until the next
    /// attempt (for logging).
    #[must_use]
    pub fn on_retry(
        mut self,
        on_retry: impl Fn(&Disconnect, core::time::Duration) + Send + Sync + 'static,
    ) -> Self {
        self.policy.on_retry(Arc::new(on_retry));
        self
    }

    /// Connects, waiting and trying again while connecting fails in a way
    /// worth retrying.
    ///
    /// # Errors
    /// The final [`Disconnect::Connect`].
    pub fn connect(&mut self) -> Result<(WebSocket<ClientStream>, HandshakeResponse), Disconnect> {
        loop {
            match connect_with(self.request.clone(), self.config.clone()) {
                Ok(connected) => {
                    self.policy.connected();
                    return Ok(connected);
                }
                Err(e) => {
                    let delay = self.policy.retry_after(Disconnect::Connect(e))?;
                    std::thread::sleep(delay);
                }
            }
        }
    }

    /// Hands back a connection whose session is over: if how it ended is
    /// worth a retry, waits the backoff and connects again.
    ///
    /// # Errors
    /// How it ended, if that is final, or a final failure to connect.
    pub fn reconnect(
        &mut self,
        ended: WebSocket<ClientStream>,
    ) -> Result<(WebSocket<ClientStream>, HandshakeResponse), Disconnect> {
        let d = Disconnect::of(ended.connection());
        drop(ended);
        let delay = self.policy.retry_after(d)?;
        std::thread::sleep(delay);
        self.connect()
    }
}
