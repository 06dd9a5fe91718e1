//! The ports: what the core needs from the outside world to deliver what the outbox
//! holds, as traits that adapters implement (`exit3-delivery`: SMTP, the console,
//! webhooks) and tests fake (`testing`). The core decides what to send and when; a
//! port only sends.

mod mailer;

use std::sync::Arc;

pub use self::mailer::{Mail, MailContent, MailError, Mailer};

/// Every port a delivery step uses.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Sends mail.
    pub mailer: Arc<dyn Mailer>,
}

impl Ports {
    /// Ports that send mail through `mailer`.
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer }
    }
}
