//! The newsletter operations: `newsletter/`, `newsletter/{id}/`,
//! `newsletter/unsubscribe/`, and the links of its mails — confirm (double opt-in) and
//! one-click unsubscribe (consent.md).

use std::time::Duration;

use super::{Exit3, RequestContext, Subscribed, SubscriberView};
use crate::{
    access::{Operation, Scope},
    domain::{
        Actor, NewSubscriber, Origin, RequestFacts, SubscribeRequest, Subscriber, SubscriberId,
        SubscriberPatch, Unsubscribe, UnsubscribeMethod,
    },
    error::{Error, FieldErrors},
    input::Payload,
    messages,
    query::{Page, QueryParams, SubscriberQuery},
    store::{ConfirmOutcome, UnsubscribeTarget},
    tokens::{ConfirmationToken, UnsubscribeToken},
};

/// The newsletter's settings (consent.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsletterSettings {
    /// `NEWSLETTER_DOUBLE_OPT_IN`: new subscribers wait for their confirmation (default
    /// true); false: active at once, no mail (the original backend).
    pub double_opt_in: bool,
    /// `NEWSLETTER_CONFIRM_TTL`: how long a confirmation link works (default 72 h).
    pub confirm_ttl: Duration,
    /// `NEWSLETTER_CONSENT_TEXT`: the consent wording recorded when a body carries none.
    pub consent_text: Option<String>,
    /// `PUBLIC_BASE_URL`: the absolute base of every link in a mail, without a trailing
    /// slash (default `http://127.0.0.1:8000`).
    pub public_base_url: String,
    /// `NEWSLETTER_CONFIRM_URL`: the website's own confirmation page (it gets
    /// `?token=…`); unset: the server's page.
    pub confirm_url: Option<String>,
}

impl Default for NewsletterSettings {
    fn default() -> Self {
        Self {
            double_opt_in: true,
            confirm_ttl: Duration::from_secs(72 * 3600),
            consent_text: None,
            public_base_url: "http://127.0.0.1:8000".to_owned(),
            confirm_url: None,
        }
    }
}

/// The path of the server's confirmation page.
pub const CONFIRM_PATH: &str = "/backend/newsletter/confirm/";
/// The path of the server's unsubscribe page.
pub const UNSUBSCRIBE_PATH: &str = "/backend/newsletter/unsubscribe/";

impl NewsletterSettings {
    fn base(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// `PUBLIC_BASE_URL` without a trailing slash, for links in mail.
    pub fn base_url(&self) -> &str {
        self.base()
    }

    /// The link a confirmation mail carries for `token`.
    pub fn confirm_link(&self, token: &str) -> String {
        match &self.confirm_url {
            Some(page) => {
                let joint = if page.contains('?') { '&' } else { '?' };
                format!("{page}{joint}token={token}")
            }
            None => format!("{}{CONFIRM_PATH}?token={token}", self.base()),
        }
    }

    /// The unsubscribe link of every mail to a subscriber, for `token`.
    pub fn unsubscribe_link(&self, token: &str) -> String {
        format!("{}{UNSUBSCRIBE_PATH}?token={token}", self.base())
    }
}

/// What a confirmation link answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The subscriber, active.
    pub subscriber: Subscriber,
    /// Whether this use confirmed it (`false`: it was confirmed already, a double click).
    pub now_confirmed: bool,
}

impl Exit3 {
    /// `GET newsletter/`: a page of subscribers.
    pub async fn list_subscribers(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<Subscriber>, Error> {
        self.admit(ctx, Operation::ListSubscribers).await?;
        let query = SubscriberQuery::from_params(params, self.policy())?;
        let page = self
            .inner
            .store
            .list_subscribers(&query.filter, query.ordering, query.page)
            .await?;
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// `POST newsletter/`: subscribes, idempotently and case-insensitively.
    pub async fn subscribe(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Subscribed, Error> {
        let caller = self.admit(ctx, Operation::Subscribe).await?;
        let new = NewSubscriber::parse(payload, self.policy())?;
        let now = self.now();
        let quarantine = match caller.scope() {
            Scope::Admin => None,
            Scope::Public => self.judge(payload, now).await?,
        };
        let settings = &self.inner.newsletter;
        let request = SubscribeRequest {
            subscriber: new,
            facts: RequestFacts::from_origin(&ctx.origin),
            default_consent_text: settings.consent_text.clone(),
            double_opt_in: settings.double_opt_in,
            quarantine,
        };
        let (subscriber, outcome) = self
            .inner
            .store
            .subscribe(&request, &caller.actor(), now)
            .await?;
        let view = match caller.scope() {
            Scope::Admin => SubscriberView::Full(Box::new(subscriber)),
            Scope::Public => SubscriberView::Receipt {
                email: subscriber.email,
                status: subscriber.status,
            },
        };
        Ok(Subscribed { outcome, view })
    }

    /// `GET newsletter/{id}/`.
    pub async fn get_subscriber(&self, ctx: &RequestContext, id: i64) -> Result<Subscriber, Error> {
        self.admit(ctx, Operation::GetSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        self.inner
            .store
            .get_subscriber(id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// `PATCH newsletter/{id}/`.
    pub async fn patch_subscriber(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Subscriber, Error> {
        let caller = self.admit(ctx, Operation::UpdateSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.get_subscriber(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = SubscriberPatch::parse(payload, self.policy())?;
        self.inner
            .store
            .update_subscriber(id, &patch, &caller.actor(), self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `POST newsletter/{id}/release/`: clears the quarantine and only then sends what
    /// acceptance would have (the confirmation mail, or `subscriber.confirmed`).
    pub async fn release_subscriber(
        &self,
        ctx: &RequestContext,
        id: i64,
    ) -> Result<Subscriber, Error> {
        let caller = self.admit(ctx, Operation::ReleaseSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        self.inner
            .store
            .release_subscriber(id, &caller.actor(), self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `DELETE newsletter/{id}/`.
    pub async fn delete_subscriber(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        let caller = self.admit(ctx, Operation::DeleteSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self
            .inner
            .store
            .delete_subscriber(id, &caller.actor(), self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `POST newsletter/unsubscribe/`: answers the same whether or not the address was
    /// known ([`messages::UNSUBSCRIBED`]).
    pub async fn unsubscribe(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<&'static str, Error> {
        let caller = self.admit(ctx, Operation::Unsubscribe).await?;
        let request = Unsubscribe::parse(payload)?;
        self.inner
            .store
            .unsubscribe(
                UnsubscribeTarget::Email(request.email()),
                UnsubscribeMethod::Api,
                &caller.actor(),
                self.now(),
            )
            .await?;
        Ok(messages::UNSUBSCRIBED)
    }

    /// `POST newsletter/confirm/` (admin or public key): a website that hosts its own
    /// confirmation page confirms with the token it got in `?token=`.
    pub async fn confirm_subscription(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Confirmed, Error> {
        let caller = self.admit(ctx, Operation::ConfirmSubscription).await?;
        let token = payload.text("token").unwrap_or_default();
        self.confirm_as(&token, &ctx.origin, &caller.actor()).await
    }

    /// The server's confirmation page (`POST /backend/newsletter/confirm/`): no key, the
    /// token is the proof. An unknown, expired or used token (unless its subscriber is
    /// active now: a double click answers as a success) is the field error
    /// [`messages::LINK_INVALID_OR_EXPIRED`] on `token`.
    pub async fn confirm_link(&self, token: &str, origin: &Origin) -> Result<Confirmed, Error> {
        self.confirm_as(token, origin, &Actor::Public).await
    }

    async fn confirm_as(
        &self,
        token: &str,
        origin: &Origin,
        actor: &Actor,
    ) -> Result<Confirmed, Error> {
        let invalid = || FieldErrors::single("token", messages::LINK_INVALID_OR_EXPIRED);
        let hash = ConfirmationToken::hash_of(token).ok_or_else(invalid)?;
        match self
            .inner
            .store
            .confirm(hash, &RequestFacts::from_origin(origin), actor, self.now())
            .await?
        {
            ConfirmOutcome::Confirmed(subscriber) => Ok(Confirmed {
                subscriber,
                now_confirmed: true,
            }),
            ConfirmOutcome::AlreadyConfirmed(subscriber) => Ok(Confirmed {
                subscriber,
                now_confirmed: false,
            }),
            ConfirmOutcome::Invalid => Err(invalid().into()),
        }
    }

    /// Whether `token` is a valid unsubscribe link (for the page a GET shows; nothing
    /// changes).
    pub fn check_unsubscribe_link(&self, token: &str) -> Result<SubscriberId, Error> {
        UnsubscribeToken::verify(&self.inner.secrets, token)
            .ok_or_else(|| FieldErrors::single("token", messages::LINK_INVALID).into())
    }

    /// The unsubscribe link of a mail, followed (`Link`, from the page's button) or
    /// posted by a mail client (`OneClick`, RFC 8058): no key, no cookie, the signature
    /// is the proof. A subscriber that is gone or already unsubscribed answers the same
    /// success; a bad signature is the field error [`messages::LINK_INVALID`] on `token`.
    pub async fn unsubscribe_link(
        &self,
        token: &str,
        method: UnsubscribeMethod,
    ) -> Result<(), Error> {
        let id = self.check_unsubscribe_link(token)?;
        self.inner
            .store
            .unsubscribe(
                UnsubscribeTarget::Id(id),
                method,
                &Actor::Public,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// The unsubscribe link of `subscriber`'s mails.
    pub fn unsubscribe_url(&self, subscriber: SubscriberId) -> String {
        let token = UnsubscribeToken::issue(&self.inner.secrets, subscriber);
        self.inner.newsletter.unsubscribe_link(&token)
    }
}
