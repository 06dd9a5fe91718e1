//! Webhook calls: the signed request the core asks for, and the port that sends it. The
//! core decides what is sent, how it is signed and what an answer means; the adapter
//! only speaks HTTP — and refuses to connect to an address that is not public.

use std::{fmt::Debug, time::Duration};

use async_trait::async_trait;

/// One webhook call: `POST url` with the Standard Webhooks headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where.
    pub url: String,
    /// `webhook-id`.
    pub message_id: String,
    /// `webhook-timestamp`: unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    /// The JSON body (`Content-Type: application/json`).
    pub body: String,
}

/// How a call ended, as far as HTTP goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookReply {
    /// The receiver answered (redirects are not followed: a 3xx is an answer).
    Answered {
        /// Its status code.
        status: u16,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// No answer: the address was refused, the connection failed or the call timed out.
    NoAnswer(String),
}

/// Sends webhook calls.
#[async_trait]
pub trait WebhookSender: Send + Sync + Debug + 'static {
    /// Sends one call and tells how it ended.
    async fn post(&self, request: &WebhookRequest) -> WebhookReply;
}

/// The sender of a process that sends no webhooks: every call fails (and is retried
/// later, by a process that has a sender).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWebhooks;

#[async_trait]
impl WebhookSender for NoWebhooks {
    async fn post(&self, _request: &WebhookRequest) -> WebhookReply {
        WebhookReply::NoAnswer("this process has no webhook sender".to_owned())
    }
}
