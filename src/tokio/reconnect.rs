//! [`Reconnect`]: a client that connects again after its connection ended,
//! waiting with exponential backoff and jitter, until a disconnection the
//! caller deems final (the decisions are [`crate::Disconnect`]'s and
//! [`crate::Backoff`]'s, shared with the blocking adapter).

use std::sync::Arc;

use super::handshake::connect_with;
use super::tls::ClientStream;
use crate::proto::handshake::{ClientRequest, HandshakeResponse};
use crate::shared::reconnect::Policy;
use crate::{Backoff, Config, Disconnect};

/// A reconnecting client, in the spirit of python-websockets' `async for
/// websocket in connect(...)`: every connection uses the same request and
/// [`Config`] (so the same keepalive), and after each one ends the caller
/// hands it back to learn whether, and when, to connect again.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use rfc6455::handshake::ClientRequest;
/// use rfc6455::{CloseCode, Config, Disconnect, Keepalive};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Disconnect> {
/// let config = Config::default().keepalive(Keepalive::new(Duration::from_secs(15), Duration::from_secs(30)));
/// let request = ClientRequest::new("ws://127.0.0.1:9002/api/ws?token=t").unwrap();
/// let mut client = rfc6455::tokio::Reconnect::new(request, config)
///     // 4001 (token expired) is final; other closes and failures retry.
///     .give_up_when(|d: &Disconnect| d.close_code() == Some(CloseCode::new(4001)) || !d.is_retryable());
/// let (mut ws, _) = client.connect().await?;
/// loop {
///     while let Some(Ok(message)) = ws.next().await {
///         println!("{message:?}");
///     }
///     (ws, _) = client.reconnect(ws).await?;
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Reconnect {
    request: ClientRequest,
    config: Config,
    policy: Policy,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Reconnect {
    /// Connects with `request` and `config`, with the default [`Backoff`]
    /// and the default decision ([`Disconnect::is_retryable`]).
    pub fn new(request: ClientRequest, config: Config) -> Self {
        Reconnect {
            policy: Policy::new(config.random_seed),
            request,
            config,
            #[cfg(feature = "rustls")]
            tls: None,
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

    /// Uses this TLS configuration for `wss://` (the default trusts the web
    /// PKI roots).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    async fn attempt(&self) -> Result<(ClientStream, HandshakeResponse), crate::StreamError> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = &self.tls {
            return super::connect_tls_with(self.request.clone(), self.config.clone(), tls.clone())
                .await;
        }
        connect_with(self.request.clone(), self.config.clone()).await
    }

    /// Connects, waiting and trying again while connecting fails in a way
    /// worth retrying (the server unreachable, a timeout, a 5xx refusal).
    ///
    /// # Errors
    /// The final [`Disconnect::Connect`].
    pub async fn connect(&mut self) -> Result<(ClientStream, HandshakeResponse), Disconnect> {
        loop {
            match self.attempt().await {
                Ok(connected) => {
                    self.policy.connected();
                    return Ok(connected);
                }
                Err(e) => {
                    let delay = self.policy.retry_after(Disconnect::Connect(e))?;
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Hands back a connection whose session is over (its stream ended, or
    /// the application gave up on it): if how it ended is worth a retry,
    /// waits the backoff and [`connect`](Self::connect)s again.
    ///
    /// # Errors
    /// How it ended ([`Disconnect::of`]) if that is final, or a final
    /// failure to connect.
    pub async fn reconnect(
        &mut self,
        ended: ClientStream,
    ) -> Result<(ClientStream, HandshakeResponse), Disconnect> {
        let d = Disconnect::of(ended.connection());
        drop(ended);
        let delay = self.policy.retry_after(d)?;
        tokio::time::sleep(delay).await;
        self.connect().await
    }
}
