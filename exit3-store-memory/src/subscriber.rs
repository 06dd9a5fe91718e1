//! Subscribers, their confirmation tokens, and the consent transitions of the core,
//! applied under the data lock.

use async_trait::async_trait;
use exit3_core::{
    Actor, HistoryAction, HistoryObject, Ordering, Page, PageRequest, SubscribeOutcome, Subscriber,
    SubscriberFilter, SubscriberId, SubscriberPatch, SubscriberStatus, Timestamp,
    domain::{
        ConfirmDecision, NewHistoryEntry, RequestFacts, SubscribeRequest, UnsubscribeMethod,
        subscription,
    },
    events::Event,
    outbox::OutboxMessage,
    store::{
        ConfirmOutcome, Conflict, StoreError, StoreResult, SubscriberStore, UnsubscribeTarget,
    },
    tokens::TokenHash,
};

use crate::{Data, MemoryStore, first_of, page_of, read, write};

impl Data {
    /// In the change's write: the event its change of status announces (from `before`,
    /// see [`Event::subscriber_change`]) and, when asked, its confirmation mail.
    fn side_effects(
        &mut self,
        before: Option<SubscriberStatus>,
        subscriber: &Subscriber,
        confirmation_mail: bool,
        now: Timestamp,
    ) {
        self.announce(Event::subscriber_change(before, subscriber, now), now);
        if confirmation_mail {
            self.enqueue(
                OutboxMessage::Confirmation {
                    subscriber: subscriber.id,
                },
                now,
            );
        }
    }
}

#[async_trait]
impl SubscriberStore for MemoryStore {
    async fn subscribe(
        &self,
        request: &SubscribeRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)> {
        let mut data = write(&self.data);
        let (subscriber, effect, before, was) =
            match data.subscriber_by_email(request.subscriber.email())? {
                Some(existing) => {
                    let was = existing.clone();
                    let before = existing.announced_status();
                    let effect = request.apply(existing, now);
                    (existing.clone(), effect, before, Some(was))
                }
                None => {
                    let id = data.last_subscriber_id + 1;
                    let id_ = SubscriberId::new(id)
                        .ok_or_else(|| StoreError::other("subscriber id overflow"))?;
                    let (subscriber, effect) = request.create(id_, now);
                    data.last_subscriber_id = id;
                    data.emails.insert(subscriber.email.clone(), id);
                    data.subscribers.insert(id, subscriber.clone());
                    (subscriber, effect, None, None)
                }
            };
        data.side_effects(before, &subscriber, effect.confirmation_mail, now);
        data.record(NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Changed,
            was.as_ref(),
            &subscriber,
            now,
        ))?;
        Ok((subscriber, effect.outcome))
    }

    async fn release_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        let mut data = write(&self.data);
        let Some(subscriber) = data.subscribers.get_mut(&id.get()) else {
            return Ok(None);
        };
        let before = subscriber.clone();
        let Some(released) = subscription::release(subscriber, now) else {
            return Ok(Some(subscriber.clone()));
        };
        let subscriber = subscriber.clone();
        data.side_effects(None, &subscriber, released.confirmation_mail, now);
        data.record(NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Released,
            Some(&before),
            &subscriber,
            now,
        ))?;
        Ok(Some(subscriber))
    }

    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Option<Subscriber>> {
        Ok(read(&self.data).subscribers.get(&id.get()).cloned())
    }

    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        let mut data = write(&self.data);
        let Data {
            subscribers,
            emails,
            ..
        } = &mut *data;
        let Some(subscriber) = subscribers.get_mut(&id.get()) else {
            return Ok(None);
        };
        if let Some(email) = patch.email() {
            if emails.get(email).is_some_and(|&owner| owner != id.get()) {
                return Err(StoreError::Conflict {
                    what: Conflict::SubscriberEmail,
                });
            }
            emails.remove(&subscriber.email);
            emails.insert(email.to_owned(), id.get());
        }
        let was = subscriber.clone();
        let before = subscriber.announced_status();
        patch.apply(subscriber, now);
        let after = subscriber.clone();
        data.announce(Event::subscriber_change(before, &after, now), now);
        data.record(NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Changed,
            Some(&was),
            &after,
            now,
        ))?;
        Ok(Some(after))
    }

    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut data = write(&self.data);
        let Some(gone) = data.subscribers.remove(&id.get()) else {
            return Ok(false);
        };
        data.emails.remove(&gone.email);
        data.tokens.retain(|_, t| t.subscriber != id);
        data.record(Some(NewHistoryEntry::new(
            actor,
            HistoryAction::Deleted,
            HistoryObject::Subscriber(id),
            now,
        )))?;
        Ok(true)
    }

    async fn unsubscribe(
        &self,
        target: UnsubscribeTarget<'_>,
        method: UnsubscribeMethod,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut data = write(&self.data);
        let subscriber = match target {
            UnsubscribeTarget::Email(email) => data.subscriber_by_email(email)?,
            UnsubscribeTarget::Id(id) => data.subscribers.get_mut(&id.get()),
        };
        let Some(subscriber) = subscriber else {
            return Ok(false);
        };
        let was = subscriber.clone();
        let before = subscriber.announced_status();
        if !subscription::unsubscribe(subscriber, method, now) {
            return Ok(false);
        }
        let event = Event::subscriber_change(before, subscriber, now);
        let entry = NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Unsubscribed,
            Some(&was),
            subscriber,
            now,
        );
        data.announce(event, now);
        data.record(entry)?;
        Ok(true)
    }

    async fn confirm(
        &self,
        token: TokenHash,
        facts: &RequestFacts,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<ConfirmOutcome> {
        let mut data = write(&self.data);
        let Data {
            tokens,
            subscribers,
            ..
        } = &mut *data;
        let record = tokens.get_mut(&token.0);
        let subscriber = record
            .as_ref()
            .and_then(|r| subscribers.get_mut(&r.subscriber.get()));
        let decision = subscription::decide_confirm(record.as_deref(), subscriber.as_deref(), now);
        Ok(match (decision, record, subscriber) {
            (ConfirmDecision::Confirm, Some(record), Some(subscriber)) => {
                record.used_at = Some(now);
                let was = subscriber.clone();
                let before = subscriber.announced_status();
                subscription::confirm(subscriber, facts, now);
                let confirmed = subscriber.clone();
                data.announce(Event::subscriber_change(before, &confirmed, now), now);
                data.record(NewHistoryEntry::subscriber(
                    actor,
                    HistoryAction::Confirmed,
                    Some(&was),
                    &confirmed,
                    now,
                ))?;
                ConfirmOutcome::Confirmed(confirmed)
            }
            (ConfirmDecision::AlreadyConfirmed, Some(record), Some(subscriber)) => {
                record.used_at.get_or_insert(now);
                ConfirmOutcome::AlreadyConfirmed(subscriber.clone())
            }
            _ => ConfirmOutcome::Invalid,
        })
    }

    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        let data = read(&self.data);
        let page = page_of(
            data.subscribers.values(),
            |s| filter.matches(s),
            |a, b| ordering.compare_subscribers(a, b),
            page,
        );
        Ok(page.map(Subscriber::clone))
    }

    async fn list_subscribers_after(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        after: Option<&Subscriber>,
        limit: u32,
    ) -> StoreResult<Vec<Subscriber>> {
        let data = read(&self.data);
        let batch = first_of(
            data.subscribers.values(),
            |s| {
                filter.matches(s)
                    && after.is_none_or(|a| {
                        ordering.compare_subscribers(s, a) == std::cmp::Ordering::Greater
                    })
            },
            |a, b| ordering.compare_subscribers(a, b),
            limit,
        );
        Ok(batch.into_iter().cloned().collect())
    }
}
