//! Mail: what the core asks to send, and the port that sends it. The core decides who
//! gets what, with which links and subject; the adapter renders the kind's template
//! (text and HTML) and speaks SMTP (or logs).

use std::fmt::Debug;

use async_trait::async_trait;

/// One mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Unique per message and the same on every attempt: the outbox message's id, for
    /// the `Message-ID` header (a receiver can tell a retry from a new mail).
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// The subject line (a contract text, see [`messages`](crate::messages)).
    pub subject: String,
    /// What the mail says.
    pub content: MailContent,
    /// For mail to a subscriber: the one-click unsubscribe link, sent as
    /// `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
    /// (RFC 8058) and shown in both parts.
    pub unsubscribe_url: Option<String>,
    /// Where replies go (`Reply-To`), when not to the sender.
    pub reply_to: Option<String>,
}

/// What a mail says; each kind has its template in the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailContent {
    /// The double opt-in mail: the link that confirms the subscription, and that nothing
    /// happens if the reader did not ask.
    Confirmation {
        /// The confirmation link (`…/backend/newsletter/confirm/?token=T`, or the
        /// website's own page with `?token=T`).
        confirm_url: String,
    },
    /// The staff mail about a new lead: every field with its label, in the admin's
    /// order (empty ones left out), and the link to it on the staff site.
    LeadNotification {
        /// `(label, value)` of each field the lead and its client info have.
        fields: Vec<(String, String)>,
        /// `PUBLIC_BASE_URL/backend/admin/leads/{id}/`.
        admin_url: String,
    },
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Worth trying again later: a 4xx reply, a connection that failed or timed out.
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Never worth trying again: a 5xx reply (the address or the mail is refused).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// Sends mail. Implementations must be safe to call concurrently.
#[async_trait]
pub trait Mailer: Send + Sync + Debug + 'static {
    /// Sends `mail` once; `Ok` when the server accepted it for delivery.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
