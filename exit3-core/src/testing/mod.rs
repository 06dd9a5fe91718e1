//! The store conformance suite: every guarantee of the [`store`](crate::store) traits as
//! a public async function over a fresh, empty store. Run it against a backend with
//! [`store_conformance!`](crate::store_conformance), which stamps one test per function.
//!
//! ```text
//! async fn fresh_store() -> Option<exit3_core::DynStore> {
//!     Some(std::sync::Arc::new(MyStore::new()))
//! }
//! exit3_core::store_conformance!(fresh_store);
//! ```
//!
//! The factory returns `None` to skip (for example when no database is reachable; it
//! should say why). The tests use `#[tokio::test(flavor = "multi_thread")]`, so the
//! calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#![allow(clippy::missing_panics_doc)]

use serde_json::Value;

mod export;
mod history;
mod idempotency;
mod lead_events;
mod leads;
mod maintenance;
mod outbox;
mod privacy;
mod quarantine;
mod retention;
mod staff;
pub mod strategies;
mod subscriber_quarantine;
mod subscribers;
mod throttle;
mod webhooks;

pub use self::{
    export::*, history::*, idempotency::*, lead_events::*, leads::*, maintenance::*, outbox::*,
    privacy::*, quarantine::*, retention::*, staff::*, subscriber_quarantine::*, subscribers::*,
    throttle::*, webhooks::*,
};
use crate::{
    access::Scope,
    clock::{Timestamp, from_micros},
    domain::{NewLead, NewSubscriber, Origin, Policy, RequestFacts, SubscribeRequest},
    events::EventType,
    input::Payload,
    outbox::OutboxMessage,
    store::DynStore,
};

/// What is due at `t` (claimed, so that the next call sees only what came after), as
/// sorted (kind, event type) pairs: `confirmation`, `notification`, and `webhook` with
/// the type it announces.
pub(crate) async fn due(store: &DynStore, t: i64) -> Vec<(&'static str, Option<EventType>)> {
    let mut seen: Vec<_> = store
        .claim_due(at(t), 1000, at(t + 60))
        .await
        .expect("claim")
        .into_iter()
        .map(|c| match c.message {
            OutboxMessage::Webhook { event_type, .. } => ("webhook", Some(event_type)),
            OutboxMessage::Confirmation { .. } => ("confirmation", None),
            OutboxMessage::LeadNotification { .. } => ("notification", None),
        })
        .collect();
    seen.sort();
    seen
}

/// Re-exported so that the macro's expansion can name it.
pub use tokio;

/// Stamps one `#[tokio::test]` per conformance function, each on a fresh store from
/// `$factory` (a path to an `async fn() -> Option<DynStore>`; `None` skips). The list of
/// functions is written here once; [`run_all`] runs the same list.
#[macro_export]
macro_rules! store_conformance {
    ($factory:path) => {
        $crate::store_conformance!(@list [@each $factory]);
    };
    (@list [$($head:tt)*]) => {
        $crate::store_conformance! { $($head)*;
            lead_round_trip,
            lead_missing_ids,
            lead_update_changes_only_given_fields,
            lead_delete_removes_the_lead,
            lead_filters,
            lead_search_is_case_insensitive_and_literal,
            lead_orderings_break_ties_by_id,
            lead_pages_partition_the_result,
            lead_counts_by_day,
            subscribe_is_idempotent_and_case_insensitive,
            concurrent_subscribes_give_one_subscriber,
            subscriber_update_and_email_conflict,
            subscriber_missing_ids,
            subscriber_lists,
            unsubscribe_marks_only_active_subscribers,
            double_opt_in_queues_each_confirmation_with_its_change,
            confirmation_tokens_confirm_once_until_they_expire,
            concurrent_confirmations_confirm_once,
            unsubscribing_records_how,
            outbox_leases_are_exclusive_and_taken_over_when_they_end,
            outbox_attempts_are_retried_failed_and_counted,
            webhook_endpoints_round_trip,
            subscriber_events_fan_out_with_their_change,
            lead_events_fan_out_with_their_change,
            quarantined_leads_are_silent_until_released,
            quarantined_subscriptions_are_silent_until_released,
            erasure_removes_one_person_and_only_them,
            lead_writes_leave_their_history,
            subscriber_writes_leave_their_history,
            erasure_redacts_the_persons_history,
            retention_takes_only_what_is_older_than_its_cut_off,
            retention_removes_finished_deliveries_only,
            export_batches_walk_every_ordering_by_keyset,
            webhook_pings_go_to_one_endpoint,
            throttle_follows_the_model,
            throttle_follows_the_model_when_the_limit_changes,
            throttle_is_exact_under_concurrency,
            throttle_scopes_are_atomic,
            throttle_keys_are_independent,
            throttle_check_only_hits_decide_but_never_record,
            admitted_leads_are_stored_only_when_accepted,
            maintenance_purges_only_expired_throttle_state,
            maintenance_keeps_counts_exact,
            idempotency_records_follow_the_table,
            concurrent_idempotent_begins_start_once,
            maintenance_purges_only_expired_idempotency_records,
            staff_users_round_trip,
            staff_sessions_expire_and_end,
            health_answers
        }
    };
    (@run $fresh:ident; $($name:ident),* $(,)?) => {{
        let mut ran = ::std::vec::Vec::new();
        $(
            $crate::testing::$name($fresh().await).await;
            ran.push(stringify!($name));
        )*
        ran
    }};
    (@each $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(store) = $factory().await {
                    $crate::testing::$name(store).await;
                }
            }
        )*
    };
}

/// Runs every conformance function, in order, each on a fresh store from `fresh`, and
/// answers their names; a failed guarantee panics. For running the suite outside
/// `#[test]`s (an example, a health check of a new backend).
pub async fn run_all<F, Fut>(mut fresh: F) -> Vec<&'static str>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = DynStore>,
{
    crate::store_conformance!(@list [@run fresh])
}

/// 2025-01-01T00:00:00Z plus `seconds`.
pub fn at(seconds: i64) -> Timestamp {
    from_micros(1_735_689_600_000_000 + seconds * 1_000_000)
}

/// A valid [`NewLead`] from a JSON body (admin scope, default policy).
pub fn new_lead(body: Value) -> NewLead {
    new_lead_from(body, &Origin::default())
}

/// A valid [`NewLead`] from a JSON body with the given origin.
pub fn new_lead_from(body: Value, origin: &Origin) -> NewLead {
    let payload = Payload::from_json(body).expect("an object");
    NewLead::parse(&payload, &Policy::default(), Scope::Admin, origin).expect("a valid lead")
}

/// A subscribe request from a JSON body, without double opt-in (active at once, as the
/// original backend).
pub fn new_subscriber(body: Value) -> SubscribeRequest {
    subscribe_request(body, false)
}

/// A subscribe request from a JSON body, with or without double opt-in, from
/// 203.0.113.50 with the user agent `conformance/1.0`.
pub fn subscribe_request(body: Value, double_opt_in: bool) -> SubscribeRequest {
    SubscribeRequest {
        subscriber: parse_subscriber(body),
        facts: RequestFacts {
            ip: "203.0.113.50".parse().ok(),
            user_agent: Some("conformance/1.0".into()),
        },
        default_consent_text: Some("Send me the newsletter.".into()),
        double_opt_in,
        quarantine: None,
    }
}

/// A valid [`NewSubscriber`] from a JSON body.
pub fn parse_subscriber(body: Value) -> NewSubscriber {
    let payload = Payload::from_json(body).expect("an object");
    NewSubscriber::parse(&payload, &Policy::default()).expect("a valid subscriber")
}

/// A working store is healthy.
pub async fn health_answers(store: DynStore) {
    store.health().await.expect("healthy");
}
