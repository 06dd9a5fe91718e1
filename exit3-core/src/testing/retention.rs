//! The conformance of retention ([`Maintenance::retain`](crate::store::Maintenance::retain),
//! privacy.md §2): each step takes exactly the records its rule takes, oldest first, at
//! most a batch at a time; deletions leave their `deleted` entries by `system` and the
//! removed records' history without values; an accepted lead's removal is announced.

use serde_json::json;

use super::{at, due, new_lead_from, new_subscriber, subscribe_request};
use crate::{
    domain::{
        Actor, HistoryAction, HistoryFilter, HistoryObject, LeadPatch, Origin, Policy,
        SubscriberStatus,
    },
    events::{EventType, LeadEffects},
    input::Payload,
    outbox::AttemptOutcome,
    privacy::RetentionStep,
    query::{LeadFilter, Ordering, PageRequest, QuarantineFilter, SubscriberFilter},
    spam::{Quarantine, SpamReason},
    store::DynStore,
    webhooks::{NewWebhook, WebhookSecret},
};

fn quarantine(t: i64) -> Option<Quarantine> {
    Some(Quarantine {
        reasons: vec![SpamReason::Honeypot],
        at: at(t),
    })
}

/// Runs `step` at the cut-off `before` one record at a time until it takes nothing, and
/// answers how many calls took one.
async fn drain(store: &DynStore, step: RetentionStep, before: i64, now: i64) -> u64 {
    let mut total = 0;
    loop {
        let taken = store
            .retain(step, at(before), 1, at(now))
            .await
            .expect("retain");
        assert!(taken <= 1, "a batch of one took {taken}");
        if taken == 0 {
            return total;
        }
        total += taken;
    }
}

/// Every step takes what its rule takes and nothing else.
pub async fn retention_takes_only_what_is_older_than_its_cut_off(store: DynStore) {
    let payload = Payload::from_json(json!({"url": "https://hooks.example.com/r"}));
    let hook = NewWebhook::parse(&payload.expect("object"), false).expect("webhook");
    store
        .create_webhook(&hook, &WebhookSecret::generate(), at(0))
        .await
        .expect("endpoint");
    let origin = Origin {
        ip: "203.0.113.9".parse().ok(),
        user_agent: Some("agent/1".into()),
        referrer: Some("https://ref.example".into()),
    };
    let lead = |name: &str| {
        new_lead_from(
            json!({"full_name": name, "position": "X", "utm_source": "news"}),
            &origin,
        )
    };
    let none = LeadEffects::silent();
    let sys = Actor::Staff("eve".into());
    let old_spam = store
        .insert_lead(
            &lead("old spam").with_quarantine(quarantine(1)),
            &none,
            &sys,
            at(1),
        )
        .await
        .expect("insert");
    let new_spam = store
        .insert_lead(
            &lead("new spam").with_quarantine(quarantine(90)),
            &none,
            &sys,
            at(90),
        )
        .await
        .expect("insert");
    let old = store
        .insert_lead(&lead("old"), &none, &sys, at(2))
        .await
        .expect("insert");
    let patch = LeadPatch::partial(
        &Payload::from_json(json!({"notes": "likes tea"})).expect("object"),
        &Policy::default(),
    )
    .expect("patch");
    store
        .update_lead(old.id, &patch, &sys, at(3))
        .await
        .expect("update");
    let recent = store
        .insert_lead(&lead("recent"), &none, &sys, at(90))
        .await
        .expect("insert");

    // Client info: the old lead loses its address and user agent, nothing else.
    assert_eq!(drain(&store, RetentionStep::ClientInfo, 50, 100).await, 2);
    let cleared = store.get_lead(old.id).await.expect("get").expect("kept");
    let info = cleared.client_info.expect("client info");
    assert_eq!((info.ip_address, info.user_agent), (None, None));
    assert_eq!(info.referrer.as_deref(), Some("https://ref.example"));
    assert_eq!(info.utm_source.as_deref(), Some("news"));
    let kept = store.get_lead(recent.id).await.expect("get").expect("kept");
    assert!(kept.client_info.expect("info").ip_address.is_some());

    // Quarantined leads: by when their quarantine began.
    assert_eq!(
        drain(&store, RetentionStep::QuarantinedLeads, 50, 100).await,
        1
    );
    assert_eq!(store.get_lead(old_spam.id).await.expect("get"), None);
    assert!(store.get_lead(new_spam.id).await.expect("get").is_some());

    // Leads: whatever their status, by creation; an accepted one announces its going.
    let _ = due(&store, 99).await;
    assert_eq!(drain(&store, RetentionStep::Leads, 50, 100).await, 1);
    assert_eq!(store.get_lead(old.id).await.expect("get"), None);
    assert_eq!(
        due(&store, 100).await,
        [("webhook", Some(EventType::LeadDeleted))]
    );
    let all = LeadFilter {
        quarantined: QuarantineFilter::All,
        ..LeadFilter::default()
    };
    let left = store
        .list_leads(&all, Ordering::default(), PageRequest::default())
        .await
        .expect("list");
    assert_eq!(left.count, 2, "the recent lead and the recent spam");

    // The old lead's history: its values gone, its deletion by the system.
    let history = store
        .list_history(
            &HistoryFilter::of(HistoryObject::Lead(old.id)),
            PageRequest::default(),
        )
        .await
        .expect("history");
    let actions: Vec<_> = history.items.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            HistoryAction::Deleted,
            HistoryAction::Changed,
            HistoryAction::Changed,
            HistoryAction::Created
        ]
    );
    assert_eq!(history.items[0].actor, Actor::System);
    assert_eq!(history.items[1].changes[0].field, "client_info.ip_address");
    let notes = &history.items[2];
    assert!(
        notes.redacted && notes.changes[0].new.is_none(),
        "{notes:?}"
    );
    assert!(!format!("{:?}", history.items).contains("likes tea"));

    // Subscribers: the pending ones by their last change, the quarantined by their
    // quarantine; the active ones stay whatever their age.
    for (email, double_opt_in, t) in [
        ("old-pending@example.com", true, 1),
        ("new-pending@example.com", true, 90),
        ("active@example.com", false, 1),
    ] {
        store
            .subscribe(
                &subscribe_request(json!({ "email": email }), double_opt_in),
                &Actor::Public,
                at(t),
            )
            .await
            .expect("subscribe");
    }
    let bot = crate::domain::SubscribeRequest {
        quarantine: quarantine(1),
        ..new_subscriber(json!({"email": "bot@example.com"}))
    };
    store
        .subscribe(&bot, &Actor::Public, at(1))
        .await
        .expect("bot");
    assert_eq!(
        drain(&store, RetentionStep::PendingSubscribers, 50, 100).await,
        1
    );
    assert_eq!(
        drain(&store, RetentionStep::QuarantinedSubscribers, 50, 100).await,
        1
    );
    let everyone = SubscriberFilter {
        quarantined: QuarantineFilter::All,
        ..SubscriberFilter::default()
    };
    let left = store
        .list_subscribers(&everyone, Ordering::default(), PageRequest::default())
        .await
        .expect("list");
    let mut emails: Vec<_> = left
        .items
        .iter()
        .map(|s| (s.email.as_str(), s.status))
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            ("active@example.com", SubscriberStatus::Active),
            ("new-pending@example.com", SubscriberStatus::Pending)
        ]
    );
}

/// Deliveries: finished outbox messages go by their last attempt; pending ones stay.
pub async fn retention_removes_finished_deliveries_only(store: DynStore) {
    for (email, t) in [("a@example.com", 1), ("b@example.com", 2)] {
        store
            .subscribe(
                &subscribe_request(json!({ "email": email }), true),
                &Actor::Public,
                at(t),
            )
            .await
            .expect("subscribe");
    }
    let claimed = store
        .claim_due(at(100), 1000, at(160))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2, "two confirmation mails");
    store
        .record_attempt(
            claimed[0].id,
            claimed[0].attempt,
            &AttemptOutcome::Delivered,
            None,
            at(100),
        )
        .await
        .expect("record");
    let failed = AttemptOutcome::Failed {
        error: "550 no such user".into(),
    };
    store
        .record_attempt(claimed[1].id, claimed[1].attempt, &failed, None, at(110))
        .await
        .expect("record");
    store
        .subscribe(
            &subscribe_request(json!({"email": "later@example.com"}), true),
            &Actor::Public,
            at(200),
        )
        .await
        .expect("subscribe");
    assert_eq!(drain(&store, RetentionStep::Deliveries, 100, 300).await, 0);
    assert_eq!(drain(&store, RetentionStep::Deliveries, 105, 300).await, 1);
    assert_eq!(drain(&store, RetentionStep::Deliveries, 301, 300).await, 1);
    let pending = store
        .claim_due(at(300), 1000, at(360))
        .await
        .expect("claim");
    assert_eq!(
        pending.len(),
        1,
        "the later confirmation mail is still to send"
    );
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!(stats.iter().map(|s| s.pending).sum::<u64>(), 1);
}
