//! The conformance of the consent flow and of [`OutboxStore`](crate::store::OutboxStore):
//! a confirmation mail is queued with the change that causes it, tokens work once, and
//! leases keep two workers from sending one message twice.

use std::{collections::HashSet, sync::Arc};

use serde_json::json;

use super::{at, subscribe_request};
use crate::{
    domain::{RequestFacts, SubscribeOutcome, SubscriberId, SubscriberStatus, UnsubscribeMethod},
    outbox::{AttemptOutcome, Claimed, OutboxKind, OutboxMessage},
    store::{ConfirmOutcome, DynStore, UnsubscribeTarget},
    tokens::ConfirmationToken,
};

/// Claims everything due at `t` (with a long lease).
async fn claim_all(store: &DynStore, t: i64) -> Vec<Claimed> {
    store
        .claim_due(at(t), 1000, at(t + 60))
        .await
        .expect("claim")
}

/// Claims everything due at `t` and records it delivered.
async fn deliver_all(store: &DynStore, t: i64) -> Vec<Claimed> {
    let claimed = claim_all(store, t).await;
    for c in &claimed {
        assert!(
            store
                .record_attempt(c.id, c.attempt, &AttemptOutcome::Delivered, None, at(t))
                .await
                .expect("record")
        );
    }
    claimed
}

fn confirmations_of(claimed: &[Claimed]) -> Vec<SubscriberId> {
    claimed
        .iter()
        .filter_map(|c| match c.message {
            OutboxMessage::Confirmation { subscriber } => Some(subscriber),
            _ => None,
        })
        .collect()
}

/// Under double opt-in a new address is pending and its confirmation mail is queued in
/// the same call; a pending address gets another at most every 10 minutes; an active one
/// none; an unsubscribed one comes back pending with a mail. Without double opt-in
/// nothing is queued. Every message names its subscriber.
pub async fn double_opt_in_queues_each_confirmation_with_its_change(store: DynStore) {
    let request = subscribe_request(json!({"email": "ada@example.com"}), true);
    let (ada, outcome) = store
        .subscribe(&request, &crate::Actor::System, at(0))
        .await
        .expect("subscribe");
    assert_eq!(
        (outcome, ada.status),
        (SubscribeOutcome::Created, SubscriberStatus::Pending)
    );
    assert_eq!(ada.consent.subscribed_at, Some(at(0)));
    assert_eq!(ada.consent.subscribed_ip, "203.0.113.50".parse().ok());
    assert_eq!(
        ada.consent.subscribed_user_agent.as_deref(),
        Some("conformance/1.0")
    );
    assert_eq!(ada.consent.text.as_deref(), Some("Send me the newsletter."));
    let claimed = deliver_all(&store, 1).await;
    assert_eq!(confirmations_of(&claimed), vec![ada.id]);
    assert_eq!(claimed[0].attempt, 1);
    assert_eq!(claimed[0].message.kind(), OutboxKind::Mail);
    // Again within 10 minutes: the same answer, no mail.
    let (_, outcome) = store
        .subscribe(&request, &crate::Actor::System, at(300))
        .await
        .expect("again");
    assert_eq!(outcome, SubscribeOutcome::StillPending);
    assert!(deliver_all(&store, 301).await.is_empty());
    // After 10 minutes: another mail.
    store
        .subscribe(&request, &crate::Actor::System, at(601))
        .await
        .expect("later");
    assert_eq!(
        confirmations_of(&deliver_all(&store, 602).await),
        vec![ada.id]
    );
    // Read back, the subscriber is as the call answered.
    let read = store
        .get_subscriber(ada.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read.status, SubscriberStatus::Pending);
    assert_eq!(read.consent, ada.consent);
    // Without double opt-in: active, nothing queued.
    let plain = subscribe_request(json!({"email": "bob@example.com"}), false);
    let (bob, outcome) = store
        .subscribe(&plain, &crate::Actor::System, at(700))
        .await
        .expect("bob");
    assert_eq!(
        (outcome, bob.status),
        (SubscribeOutcome::Created, SubscriberStatus::Active)
    );
    assert!(deliver_all(&store, 701).await.is_empty());
    // Unsubscribed, then back under double opt-in: pending again, mailed.
    store
        .unsubscribe(
            UnsubscribeTarget::Id(bob.id),
            UnsubscribeMethod::Api,
            &crate::Actor::System,
            at(800),
        )
        .await
        .expect("unsubscribe");
    let back = subscribe_request(json!({"email": "BOB@example.com"}), true);
    let (bob, outcome) = store
        .subscribe(&back, &crate::Actor::System, at(900))
        .await
        .expect("back");
    assert_eq!(
        (outcome, bob.status, bob.unsubscribed_at),
        (
            SubscribeOutcome::Reactivated,
            SubscriberStatus::Pending,
            None
        )
    );
    assert_eq!(
        confirmations_of(&deliver_all(&store, 901).await),
        vec![bob.id]
    );
}

/// A token issued for a pending subscriber confirms it once (active, `confirmed_at`, the
/// consent record's confirmation facts); a second use answers "already confirmed"; an
/// unknown or expired token is invalid; no token is issued for a subscriber who is not
/// pending.
pub async fn confirmation_tokens_confirm_once_until_they_expire(store: DynStore) {
    let (ada, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), true),
            &crate::Actor::System,
            at(0),
        )
        .await
        .expect("subscribe");
    let token = ConfirmationToken::generate();
    let issued = store
        .issue_confirmation(ada.id, token.hash(), at(100), at(1))
        .await
        .expect("issue");
    assert_eq!(issued.map(|s| s.id), Some(ada.id));
    let stale = ConfirmationToken::generate();
    store
        .issue_confirmation(ada.id, stale.hash(), at(10), at(1))
        .await
        .expect("issue");
    let facts = RequestFacts {
        ip: "198.51.100.8".parse().ok(),
        user_agent: Some("mail client".into()),
    };
    assert_eq!(
        store
            .confirm(stale.hash(), &facts, &crate::Actor::System, at(10))
            .await
            .expect("expired"),
        ConfirmOutcome::Invalid
    );
    assert_eq!(
        store
            .confirm(
                ConfirmationToken::generate().hash(),
                &facts,
                &crate::Actor::System,
                at(11)
            )
            .await
            .expect("unknown"),
        ConfirmOutcome::Invalid
    );
    let ConfirmOutcome::Confirmed(confirmed) = store
        .confirm(token.hash(), &facts, &crate::Actor::System, at(12))
        .await
        .expect("confirm")
    else {
        panic!("the token should confirm");
    };
    assert_eq!(
        (confirmed.status, confirmed.confirmed_at),
        (SubscriberStatus::Active, Some(at(12)))
    );
    assert_eq!(confirmed.consent.confirmed_ip, facts.ip);
    assert_eq!(confirmed.consent.confirmed_user_agent, facts.user_agent);
    let again = store
        .confirm(token.hash(), &facts, &crate::Actor::System, at(500))
        .await
        .expect("again");
    assert!(
        matches!(again, ConfirmOutcome::AlreadyConfirmed(ref s) if s.id == ada.id),
        "{again:?}"
    );
    let read = store
        .get_subscriber(ada.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read, confirmed);
    assert_eq!(
        store
            .issue_confirmation(
                ada.id,
                ConfirmationToken::generate().hash(),
                at(900),
                at(600)
            )
            .await
            .expect("issue for active"),
        None
    );
    // Unsubscribed since: the used token no longer answers as a success.
    store
        .unsubscribe(
            UnsubscribeTarget::Id(ada.id),
            UnsubscribeMethod::Link,
            &crate::Actor::System,
            at(700),
        )
        .await
        .expect("unsubscribe");
    assert_eq!(
        store
            .confirm(token.hash(), &facts, &crate::Actor::System, at(701))
            .await
            .expect("after"),
        ConfirmOutcome::Invalid
    );
}

/// Twenty uses of one token at once: exactly one confirms, the others answer "already
/// confirmed".
pub async fn concurrent_confirmations_confirm_once(store: DynStore) {
    let (ada, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), true),
            &crate::Actor::System,
            at(0),
        )
        .await
        .expect("subscribe");
    let token = ConfirmationToken::generate();
    store
        .issue_confirmation(ada.id, token.hash(), at(1000), at(1))
        .await
        .expect("issue");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        let hash = token.hash();
        tasks.push(tokio::spawn(async move {
            store
                .confirm(hash, &RequestFacts::default(), &crate::Actor::System, at(2))
                .await
        }));
    }
    let mut confirmed = 0;
    for task in tasks {
        match task.await.expect("task").expect("confirm") {
            ConfirmOutcome::Confirmed(_) => confirmed += 1,
            ConfirmOutcome::AlreadyConfirmed(_) => {}
            ConfirmOutcome::Invalid => panic!("a valid token answered invalid"),
        }
    }
    assert_eq!(confirmed, 1);
}

/// Unsubscribing by address or by id works from pending and active, records the method,
/// and repeating it changes nothing.
pub async fn unsubscribing_records_how(store: DynStore) {
    let (ada, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), true),
            &crate::Actor::System,
            at(0),
        )
        .await
        .expect("pending");
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Id(ada.id),
                UnsubscribeMethod::OneClick,
                &crate::Actor::System,
                at(1)
            )
            .await
            .expect("unsubscribe")
    );
    assert!(
        !store
            .unsubscribe(
                UnsubscribeTarget::Id(ada.id),
                UnsubscribeMethod::Link,
                &crate::Actor::System,
                at(2)
            )
            .await
            .expect("again")
    );
    let read = store
        .get_subscriber(ada.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (
            read.status,
            read.unsubscribed_at,
            read.consent.unsubscribe_method
        ),
        (
            SubscriberStatus::Unsubscribed,
            Some(at(1)),
            Some(UnsubscribeMethod::OneClick)
        )
    );
    let unknown = SubscriberId::new(999_999).expect("positive");
    assert!(
        !store
            .unsubscribe(
                UnsubscribeTarget::Id(unknown),
                UnsubscribeMethod::Link,
                &crate::Actor::System,
                at(3)
            )
            .await
            .expect("unknown")
    );
}

async fn queue(store: &DynStore, n: usize) -> HashSet<SubscriberId> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let (s, _) = store
            .subscribe(
                &subscribe_request(json!({"email": format!("q{i}@example.com")}), true),
                &crate::Actor::System,
                at(0),
            )
            .await
            .expect("subscribe");
        ids.insert(s.id);
    }
    ids
}

/// Two workers claiming at once never get one message both; a leased message is not
/// claimed again until its lease ends, and then it is (the next attempt); an outcome
/// recorded for a lease that ran out is refused.
pub async fn outbox_leases_are_exclusive_and_taken_over_when_they_end(store: DynStore) {
    let queued = queue(&store, 40).await;
    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = Arc::clone(&store);
        workers.push(tokio::spawn(async move {
            store.claim_due(at(1), 15, at(61)).await
        }));
    }
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(confirmations_of(
            &worker.await.expect("task").expect("claim"),
        ));
    }
    let distinct: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), distinct.len(), "a message was claimed twice");
    assert_eq!(distinct, queued, "every message claimed once");
    // Leased: nothing is due before the leases end.
    assert!(claim_all(&store, 30).await.is_empty());
    // A crashed worker's messages are taken over once its lease ends: the next attempt.
    let taken_over = store.claim_due(at(61), 1000, at(121)).await.expect("claim");
    assert_eq!(taken_over.len(), 40);
    assert!(taken_over.iter().all(|c| c.attempt == 2));
    // The first worker, late, cannot record over the second.
    let late = &taken_over[0];
    assert!(
        !store
            .record_attempt(late.id, 1, &AttemptOutcome::Delivered, None, at(62))
            .await
            .expect("late record")
    );
    assert!(
        store
            .record_attempt(late.id, 2, &AttemptOutcome::Delivered, None, at(62))
            .await
            .expect("record")
    );
    assert!(
        !store
            .record_attempt(late.id, 2, &AttemptOutcome::Delivered, None, at(63))
            .await
            .expect("twice"),
        "a delivered message is recorded once"
    );
}

/// A retried message waits for its time; a failed, delivered or skipped one is never
/// claimed again; the stats count what is pending, with the oldest.
pub async fn outbox_attempts_are_retried_failed_and_counted(store: DynStore) {
    queue(&store, 3).await;
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].kind, stats[0].pending), (OutboxKind::Mail, 3));
    assert_eq!(stats[0].oldest_pending, Some(at(0)));
    let claimed = claim_all(&store, 1).await;
    assert_eq!(claimed.len(), 3);
    let outcomes = [
        AttemptOutcome::Retry {
            at: at(10),
            error: "451 try later".into(),
        },
        AttemptOutcome::Failed {
            error: "550 no such user".into(),
        },
        AttemptOutcome::Skipped {
            reason: "confirmed already".into(),
        },
    ];
    for (claim, outcome) in claimed.iter().zip(&outcomes) {
        assert!(
            store
                .record_attempt(claim.id, claim.attempt, outcome, None, at(2))
                .await
                .expect("record")
        );
    }
    assert!(claim_all(&store, 9).await.is_empty(), "the retry waits");
    let retried = claim_all(&store, 10).await;
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempt), (claimed[0].id, 2));
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!(stats.iter().map(|s| s.pending).sum::<u64>(), 1);
    assert!(
        store
            .record_attempt(retried[0].id, 2, &AttemptOutcome::Delivered, None, at(11))
            .await
            .expect("record")
    );
    assert!(claim_all(&store, 100_000).await.is_empty());
    assert!(store.outbox_stats().await.expect("stats").is_empty());
}
