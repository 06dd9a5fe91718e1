//! The ports: what the core needs from the outside world to deliver what the outbox
//! holds, as traits that adapters implement (`exit3-delivery`: SMTP, the console,
//! webhooks) and tests fake (`testing`). The core decides what to send and when; a
//! port only sends.

mod mailer;
mod webhook;

use std::sync::Arc;

pub use self::{
    mailer::{Mail, MailContent, MailError, Mailer},
    webhook::{NoWebhooks, WebhookReply, WebhookRequest, WebhookSender},
};

/// Every port a delivery step uses.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Sends mail.
    pub mailer: Arc<dyn Mailer>,
    /// Calls webhooks.
    pub webhooks: Arc<dyn WebhookSender>,
}

impl Ports {
    /// Ports that send mail through `mailer`, and no webhooks ([`NoWebhooks`]: their
    /// deliveries wait for a worker that has a sender).
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self {
            mailer,
            webhooks: Arc::new(NoWebhooks),
        }
    }

    /// These ports, calling webhooks through `sender`.
    pub fn with_webhooks(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhooks = sender;
        self
    }
}
