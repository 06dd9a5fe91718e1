//! The conformance of quarantined leads (capture.md §1): stored silently, left out of
//! the usual lists and their counts, listed on request, and released with what
//! acceptance would have sent.

use serde_json::json;

use super::{at, due, new_lead};
use crate::{
    LeadPatch, LeadStatus,
    events::{EventType, LeadEffects},
    input::Payload,
    query::{LeadFilter, Ordering, PageRequest, QuarantineFilter},
    spam::{Quarantine, SpamReason},
    store::DynStore,
    webhooks::{NewWebhook, WebhookSecret},
};

async fn listed(
    store: &DynStore,
    quarantined: QuarantineFilter,
    status: Option<LeadStatus>,
) -> (u64, Vec<i64>) {
    let filter = LeadFilter {
        quarantined,
        status,
        ..LeadFilter::default()
    };
    let page = store
        .list_leads(&filter, Ordering::default(), PageRequest::default())
        .await
        .expect("list");
    (page.count, page.items.iter().map(|l| l.id.get()).collect())
}

/// A quarantined lead is stored with its reasons and sends nothing; the usual lists and
/// their counts leave it out, `Only` and `All` show it; a change of its status moves no
/// count; a release clears the quarantine, counts it in, and queues `lead.created` and
/// the notification — once: releasing an accepted lead changes nothing.
pub async fn quarantined_leads_are_silent_until_released(store: DynStore) {
    let payload =
        Payload::from_json(json!({"url": "https://hooks.example.com/q"})).expect("object");
    let webhook = NewWebhook::parse(&payload, false).expect("webhook");
    store
        .create_webhook(&webhook, &WebhookSecret::generate(), at(0))
        .await
        .expect("endpoint");
    let accepted = store
        .insert_lead(
            &new_lead(json!({"full_name": "Ada", "position": "CTO"})),
            &LeadEffects::default(),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("insert");
    let quarantine = Quarantine {
        reasons: vec![SpamReason::Honeypot, SpamReason::TooManyLinks],
        at: at(2),
    };
    let doubtful = store
        .insert_lead(
            &new_lead(json!({"full_name": "Bot", "position": "Spam"}))
                .with_quarantine(Some(quarantine.clone())),
            &LeadEffects::silent(),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("insert quarantined");
    assert_eq!(doubtful.quarantine.as_ref(), Some(&quarantine));
    assert_eq!(
        store.get_lead(doubtful.id).await.expect("get"),
        Some(doubtful.clone()),
        "kept with its reasons"
    );
    assert_eq!(
        due(&store, 2).await,
        vec![("webhook", Some(EventType::LeadCreated))],
        "only the accepted lead's"
    );

    let (a, q) = (accepted.id.get(), doubtful.id.get());
    assert_eq!(
        listed(&store, QuarantineFilter::Exclude, None).await,
        (1, vec![a])
    );
    assert_eq!(
        listed(&store, QuarantineFilter::Exclude, Some(LeadStatus::New)).await,
        (1, vec![a])
    );
    assert_eq!(
        listed(&store, QuarantineFilter::Only, None).await,
        (1, vec![q])
    );
    assert_eq!(
        listed(&store, QuarantineFilter::All, None).await,
        (2, vec![q, a])
    );

    let contacted = LeadPatch::default().with_status(LeadStatus::Contacted);
    store
        .update_lead(doubtful.id, &contacted, &crate::Actor::System, at(3))
        .await
        .expect("update");
    assert_eq!(
        due(&store, 3).await,
        vec![],
        "a quarantined lead's change is not announced"
    );
    assert_eq!(
        listed(
            &store,
            QuarantineFilter::Exclude,
            Some(LeadStatus::Contacted)
        )
        .await,
        (0, vec![])
    );

    let effects = LeadEffects {
        notify: vec!["sales@exit3.agency".into()],
        announce: true,
    };
    let released = store
        .release_lead(doubtful.id, &effects, &crate::Actor::System, at(4))
        .await
        .expect("release")
        .expect("exists");
    assert_eq!(released.quarantine, None);
    assert_eq!(released.status, LeadStatus::Contacted);
    assert_eq!(
        due(&store, 4).await,
        vec![
            ("notification", None),
            ("webhook", Some(EventType::LeadCreated))
        ]
    );
    assert_eq!(
        listed(
            &store,
            QuarantineFilter::Exclude,
            Some(LeadStatus::Contacted)
        )
        .await,
        (1, vec![q])
    );
    assert_eq!(
        listed(&store, QuarantineFilter::Exclude, None).await,
        (2, vec![q, a])
    );
    assert_eq!(
        listed(&store, QuarantineFilter::Only, None).await,
        (0, vec![])
    );

    let again = store
        .release_lead(doubtful.id, &effects, &crate::Actor::System, at(5))
        .await
        .expect("release");
    assert_eq!(again, Some(released));
    assert_eq!(
        due(&store, 5).await,
        vec![],
        "an accepted lead is not announced again"
    );
    assert_eq!(
        store
            .release_lead(crate::LeadId::MAX, &effects, &crate::Actor::System, at(5))
            .await
            .expect("release"),
        None
    );

    // Nor is its deletion, while quarantined.
    let gone = store
        .insert_lead(
            &new_lead(json!({"full_name": "Bot 2", "position": "Spam"}))
                .with_quarantine(Some(quarantine)),
            &LeadEffects::silent(),
            &crate::Actor::System,
            at(6),
        )
        .await
        .expect("insert quarantined");
    assert!(
        store
            .delete_lead(gone.id, &crate::Actor::System, at(7))
            .await
            .expect("delete")
    );
    assert_eq!(due(&store, 7).await, vec![]);
}
