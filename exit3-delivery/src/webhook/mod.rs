//! [`HttpWebhookSender`]: webhook calls over HTTP(S) with `reqwest` (rustls), for the
//! core's [`WebhookSender`] port. No redirects, a 15-second limit per call, and the
//! SSRF guard of capture.md §3 on the address actually connected to: names resolve
//! through a resolver that drops every address that is not public (unless private
//! addresses are allowed, for development), and literal addresses are checked before
//! the call.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use exit3_core::{
    ports::{WebhookReply, WebhookRequest, WebhookSender},
    webhooks::is_public,
};
use reqwest::{
    Client,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect::Policy,
};

/// The longest a receiver may take to answer (capture.md §3).
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends webhook calls over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    /// A sender; `allow_private` is `WEBHOOK_ALLOW_PRIVATE` (development: loopback and
    /// private addresses may be called).
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        Self::with_timeout(allow_private, WEBHOOK_TIMEOUT)
    }

    /// A sender whose calls give up after `timeout` (tests).
    pub fn with_timeout(allow_private: bool, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .redirect(Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("exit3-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .build()?;
        Ok(Self {
            client,
            allow_private,
        })
    }
}

/// Resolves names, keeping only the addresses a webhook may reach.
#[derive(Debug)]
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// A `Retry-After` of delay-seconds (an HTTP date is not honoured: the schedule is).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, request: &WebhookRequest) -> WebhookReply {
        let url = match reqwest::Url::parse(&request.url) {
            Ok(url) => url,
            Err(e) => return WebhookReply::NoAnswer(format!("invalid URL: {e}")),
        };
        let literal: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && !is_public(ip)
        {
            return WebhookReply::NoAnswer(format!("{ip} is not a public address"));
        }
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &request.message_id)
            .header("webhook-timestamp", request.timestamp.to_string())
            .header("webhook-signature", &request.signature)
            .body(request.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => WebhookReply::Answered {
                status: response.status().as_u16(),
                retry_after: retry_after(&response),
            },
            Err(e) if e.is_timeout() => WebhookReply::NoAnswer("timed out".to_owned()),
            Err(e) => WebhookReply::NoAnswer(error_chain(&e)),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
