//! Test support (feature `testing`): [`SmtpSink`], a small SMTP server on `127.0.0.1`
//! that keeps what it receives, for tests that send real mail over TCP; and
//! [`WebhookReceiver`], its HTTP counterpart for webhooks.
//!
//! ```
//! use std::time::Duration;
//!
//! use exit3_core::{Mail, MailContent, MailError, Mailer};
//! use exit3_delivery::{SmtpMailer, SmtpOptions, testing::SmtpSink};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sink = SmtpSink::start().await?;
//! let mailer = SmtpMailer::new(SmtpOptions {
//!     host: sink.host(),
//!     port: sink.port(),
//!     ..SmtpOptions::default()
//! })?;
//! let mail = Mail {
//!     id: "1".into(),
//!     to: "ada@example.com".into(),
//!     subject: "Please confirm your subscription".into(),
//!     content: MailContent::Confirmation {
//!         confirm_url: "https://exit3.agency/backend/newsletter/confirm/?token=T".into(),
//!     },
//!     unsubscribe_url: None,
//!     reply_to: None,
//! };
//!
//! mailer.send(&mail).await?;
//! let received = sink.wait_for(1, Duration::from_secs(5)).await?;
//! assert_eq!(received[0].recipients, ["ada@example.com"]);
//! assert!(received[0].data.contains("Message-ID: <exit3.1@localhost>"));
//!
//! sink.refuse_rcpt(550); // every recipient refused for good from now on
//! assert!(matches!(mailer.send(&mail).await, Err(MailError::Permanent(_))));
//! # Ok(())
//! # }
//! ```

mod session;
mod webhooks;

pub use self::webhooks::{Answer, Received, WebhookReceiver};

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// One mail the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without the angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order, without the angle brackets.
    pub recipients: Vec<String>,
    /// The message as received after `DATA`, dot-unstuffed, with its CRLF line ends and
    /// without the final `.` line (not valid UTF-8 is replaced, lossily).
    pub data: String,
}

/// A reply the sink gives instead of its usual one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (`451`, `550`, …).
    pub code: u16,
    /// The text after the code.
    pub text: String,
}

impl Reply {
    /// A reply with `code` and a text that says it was set by a test.
    pub fn code(code: u16) -> Self {
        Self {
            code,
            text: format!("{} set by the test", enhanced(code)),
        }
    }
}

fn enhanced(code: u16) -> &'static str {
    match code / 100 {
        2 => "2.0.0",
        4 => "4.0.0",
        _ => "5.0.0",
    }
}

/// What the sessions share: what arrived and which replies to give.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    connections: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<ReceivedMail>,
    rcpt_reply: Option<Reply>,
    data_reply: Option<Reply>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rcpt_reply(&self) -> Option<Reply> {
        self.lock().rcpt_reply.clone()
    }

    pub(crate) fn data_reply(&self) -> Option<Reply> {
        self.lock().data_reply.clone()
    }
}

/// A test SMTP server on `127.0.0.1` (a free port), speaking enough SMTP for lettre:
/// `EHLO`/`HELO` (no extensions advertised: no `STARTTLS`, no `AUTH`), `MAIL FROM`,
/// `RCPT TO`, `DATA` (dot-unstuffed), `RSET`, `NOOP`, `QUIT`. Each connection is served
/// on its own task, so many clients can send at once.
///
/// It keeps every mail it accepts ([`messages`](Self::messages),
/// [`wait_for`](Self::wait_for), [`clear`](Self::clear)); a test can make it refuse
/// recipients or mails with a code ([`refuse_rcpt`](Self::refuse_rcpt),
/// [`refuse_data`](Self::refuse_data), [`accept_all`](Self::accept_all)), and stop it —
/// the port then refuses connections — and start it again on the same port
/// ([`stop`](Self::stop), [`restart`](Self::restart)). Dropping it stops it.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    count: watch::Sender<usize>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (count, _) = watch::channel(0);
        let sink = Self {
            addr,
            shared: Arc::default(),
            count,
            server: Mutex::new(None),
        };
        sink.serve(listener);
        Ok(sink)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its host, `127.0.0.1`, for [`SmtpOptions::host`](crate::SmtpOptions::host).
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// Its port, for [`SmtpOptions::port`](crate::SmtpOptions::port).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every mail accepted so far (since the last [`clear`](Self::clear)), in the order
    /// they arrived.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.lock().received.clone()
    }

    /// Waits until at least `count` mails arrived, for at most `timeout`, and answers
    /// them all; after the timeout, the error says how many did.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMail>, WaitTimeout> {
        let mut arrived = self.count.subscribe();
        match tokio::time::timeout(timeout, arrived.wait_for(|n| *n >= count)).await {
            Ok(Ok(_)) => Ok(self.messages()),
            _ => Err(WaitTimeout {
                wanted: count,
                arrived: self.shared.lock().received.len(),
                timeout,
            }),
        }
    }

    /// How many connections it accepted since it started (a client that reuses its
    /// connections opens few).
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Forgets every mail received.
    pub fn clear(&self) {
        let mut state = self.shared.lock();
        state.received.clear();
        self.count.send_replace(0);
    }

    /// From now on, answers every `RCPT TO` with `code` (a 4xx or 5xx refuses the
    /// recipient; lettre then gives up on the mail).
    pub fn refuse_rcpt(&self, code: u16) {
        self.set_rcpt_reply(Some(Reply::code(code)));
    }

    /// From now on, answers the end of every mail's data with `code` instead of `250`;
    /// a mail answered with anything but 2xx is not kept.
    pub fn refuse_data(&self, code: u16) {
        self.set_data_reply(Some(Reply::code(code)));
    }

    /// Sets (or, with `None`, clears) the reply to `RCPT TO`.
    pub fn set_rcpt_reply(&self, reply: Option<Reply>) {
        self.shared.lock().rcpt_reply = reply;
    }

    /// Sets (or, with `None`, clears) the reply to the end of a mail's data.
    pub fn set_data_reply(&self, reply: Option<Reply>) {
        self.shared.lock().data_reply = reply;
    }

    /// Back to accepting every recipient and mail.
    pub fn accept_all(&self) {
        let mut state = self.shared.lock();
        state.rcpt_reply = None;
        state.data_reply = None;
    }

    /// Stops: closes the listening socket (new connections are refused) and every open
    /// connection. What was received is kept.
    pub async fn stop(&self) {
        let server = self.server_slot().take();
        if let Some(server) = server {
            server.abort();
            // Wait until the listener and the sessions are dropped.
            let _ = server.await;
        }
    }

    /// Starts again on the same port after [`stop`](Self::stop) (does nothing if it is
    /// running).
    pub async fn restart(&self) -> io::Result<()> {
        if self.server_slot().is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&self, listener: TcpListener) {
        let shared = Arc::clone(&self.shared);
        let count = self.count.clone();
        let server = tokio::spawn(async move {
            // The sessions live in the set: dropping it (abort) closes them all.
            let mut sessions = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            shared.connections.fetch_add(1, Ordering::Relaxed);
                            let shared = Arc::clone(&shared);
                            let count = count.clone();
                            sessions.spawn(session::serve(stream, shared, count));
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    },
                    Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                }
            }
        });
        *self.server_slot() = Some(server);
    }

    fn server_slot(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(server) = self.server_slot().take() {
            server.abort();
        }
    }
}

/// [`SmtpSink::wait_for`] gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {timeout:?} for {wanted} mails, {arrived} arrived")]
pub struct WaitTimeout {
    /// How many were waited for.
    pub wanted: usize,
    /// How many had arrived.
    pub arrived: usize,
    /// How long it waited.
    pub timeout: Duration,
}

/// Records an accepted mail (called by a session).
pub(crate) fn record(shared: &Shared, count: &watch::Sender<usize>, mail: ReceivedMail) {
    // Counted under the lock, so that counts are published in order.
    let mut state = shared.lock();
    state.received.push(mail);
    count.send_replace(state.received.len());
}
