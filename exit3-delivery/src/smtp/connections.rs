//! The connections of one [`SmtpMailer`](super::SmtpMailer): opened on demand, at most
//! `pool_size` at once, kept for the next mail when a mail went through, and dropped
//! otherwise.
//!
//! This is not lettre's `pool` feature on purpose. lettre's async transport bounds only
//! the TCP connect by its timeout, so each send needs an outer timeout; but a lettre
//! pooled connection whose send is cut short goes back into lettre's pool unchecked, its
//! replies out of step with its commands (the next mail would read the previous mail's
//! replies). Here a connection is owned by the send that uses it and only a send that
//! finished hands it back; a send cut short drops it, which closes it.

use std::{
    io,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use lettre::transport::smtp::{
    Error as SmtpError,
    authentication::{Credentials, Mechanism},
    client::{AsyncSmtpConnection, TlsParameters},
    extension::ClientId,
};
use tokio::{
    net::TcpStream,
    sync::{Semaphore, SemaphorePermit},
};

/// A connection idle longer than this is closed rather than reused (servers drop idle
/// clients after a few minutes; lettre's pool uses the same minute).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How to open a connection.
pub(super) struct Connector {
    pub host: String,
    pub port: u16,
    /// The limit of lettre's TCP connect (implicit TLS); the mailer bounds the whole
    /// set-up by it too.
    pub timeout: Duration,
    pub hello: ClientId,
    pub transport: Transport,
    pub credentials: Option<Credentials>,
}

/// How a [`Connector`] secures its connections.
pub(super) enum Transport {
    /// No TLS.
    Plain,
    /// Plain, then `STARTTLS`.
    StartTls(TlsParameters),
    /// TLS from the first byte.
    ImplicitTls(TlsParameters),
}

impl Connector {
    /// Connects, reads the greeting, says EHLO, upgrades with STARTTLS when asked (EHLO
    /// again), and logs in when there are credentials.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SetupError> {
        let mut connection = match &self.transport {
            // lettre wraps its own socket in TLS before the greeting.
            Transport::ImplicitTls(parameters) => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(parameters.clone()),
                    None,
                )
                .await?
            }
            // Our own socket, to set TCP_NODELAY: lettre writes a mail's data and its
            // final `.` in two writes, and Nagle would hold the second until the server
            // acknowledges the first (a delayed ACK: some 40 ms for every mail).
            Transport::Plain | Transport::StartTls(_) => {
                let stream = TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(SetupError::Connect)?;
                stream.set_nodelay(true).map_err(SetupError::Connect)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?
            }
        };
        if let Transport::StartTls(parameters) = &self.transport {
            connection.starttls(parameters.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }
}

/// Why no connection was ready.
#[derive(Debug)]
pub(super) enum SetupError {
    /// The TCP connection failed (refused, unreachable, name not found).
    Connect(io::Error),
    /// The SMTP conversation or TLS failed.
    Smtp(SmtpError),
}

impl From<SmtpError> for SetupError {
    fn from(error: SmtpError) -> Self {
        Self::Smtp(error)
    }
}

/// The open connections and the permits to use one.
pub(super) struct Connections {
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
}

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl Connections {
    /// At most `size` connections at once.
    pub fn new(size: u32) -> Self {
        let size = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
        }
    }

    /// Waits for a turn: one of at most `size` sends at once.
    pub async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// A connection ready for a mail: the most recently used idle one that still answers
    /// `NOOP`, or a new one.
    pub async fn get(&self, connector: &Connector) -> Result<AsyncSmtpConnection, SetupError> {
        while let Some(mut connection) = self.take_idle() {
            if connection.test_connected().await {
                return Ok(connection);
            }
            tracing::debug!(target: "exit3_delivery::smtp", "dropping a connection that no longer answers");
        }
        connector.connect().await
    }

    /// Keeps `connection` for the next mail, unless it broke.
    pub fn put(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        self.lock().push(Idle {
            connection,
            since: Instant::now(),
        });
    }

    /// How many connections wait for a mail.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.lock();
        // Dropping a connection closes its socket (no QUIT: it is idle, and a server
        // that has gone would not answer).
        idle.retain(|parked| parked.since.elapsed() < IDLE_TIMEOUT);
        idle.pop().map(|parked| parked.connection)
    }

    /// The idle list; nothing panics while holding it, and a list is usable even so.
    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
