//! The newsletter operations: `newsletter/`, `newsletter/{id}/`,
//! `newsletter/unsubscribe/`.

use super::{Exit3, RequestContext, Subscribed, SubscriberView};
use crate::{
    access::{Operation, Scope},
    domain::{NewSubscriber, Subscriber, SubscriberId, SubscriberPatch, Unsubscribe},
    error::Error,
    input::Payload,
    messages,
    query::{Page, QueryParams, SubscriberQuery},
};

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
        let (subscriber, outcome) = self.inner.store.subscribe(&new, self.now()).await?;
        let view = match caller.scope() {
            Scope::Admin => SubscriberView::Full(subscriber),
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
        self.admit(ctx, Operation::UpdateSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.get_subscriber(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = SubscriberPatch::parse(payload, self.policy())?;
        self.inner
            .store
            .update_subscriber(id, &patch, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `DELETE newsletter/{id}/`.
    pub async fn delete_subscriber(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        self.admit(ctx, Operation::DeleteSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.delete_subscriber(id).await? {
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
        self.admit(ctx, Operation::Unsubscribe).await?;
        let request = Unsubscribe::parse(payload)?;
        self.inner
            .store
            .unsubscribe(request.email(), self.now())
            .await?;
        Ok(messages::UNSUBSCRIBED)
    }
}
