//! The `Exit3` service over the memory store: the order of authentication,
//! authorisation, throttling and validation, and what each operation answers.

use std::{net::IpAddr, sync::Arc, time::Duration};

use exit3::{
    ApiKeys, Credential, Denial, Error, Exit3, LeadStatus, ManualClock, MemoryStore, Payload,
    QueryParams, Rate, RequestContext, SubscribeOutcome, SubscriberStatus, SubscriberView,
    ThrottleRates, ThrottleScope, messages::UNSUBSCRIBED as UNSUBSCRIBED_DETAIL, testing::at,
};
use serde_json::json;

const ADMIN: &str = "admin-key-for-tests-0123456789abcdef";
const PUBLIC: &str = "public-key-for-tests";

fn service_with(rates: ThrottleRates) -> (Exit3, ManualClock) {
    let clock = ManualClock::new(at(0));
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN], [PUBLIC]))
        .rates(rates)
        .clock(clock.clone())
        .build();
    (exit3, clock)
}

fn service() -> Exit3 {
    service_with(ThrottleRates::off()).0
}

fn admin() -> RequestContext {
    RequestContext::with_key(ADMIN)
}

fn visitor(ip: &str) -> RequestContext {
    RequestContext::new(Credential::Key(PUBLIC.into()), ip.parse::<IpAddr>().ok())
}

fn body(v: serde_json::Value) -> Payload {
    Payload::from_json(v).expect("object")
}

fn lead_body() -> Payload {
    body(json!({"full_name": "Ada", "position": "CTO"}))
}

fn none() -> QueryParams {
    QueryParams::default()
}

#[tokio::test]
async fn callers_without_a_valid_key_are_refused_with_drf_reasons() {
    let exit3 = service();
    let nobody = RequestContext::default();
    let wrong = RequestContext::with_key("wrong");
    let malformed = RequestContext::new(Credential::Malformed, None);
    for (ctx, denial) in [
        (&nobody, Denial::NoCredentials),
        (&wrong, Denial::InvalidKey),
        (&malformed, Denial::InvalidKey),
        (&visitor("192.0.2.1"), Denial::PermissionDenied),
    ] {
        match exit3.list_leads(ctx, &none()).await {
            Err(Error::Forbidden(d)) => assert_eq!(d, denial),
            other => panic!("expected {denial:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_public_key_may_only_create_subscribe_and_unsubscribe() {
    let exit3 = service();
    let v = visitor("192.0.2.1");
    let lead = exit3.create_lead(&v, &lead_body()).await.expect("create");
    let denied =
        |r: Result<(), Error>| matches!(r, Err(Error::Forbidden(Denial::PermissionDenied)));
    assert!(denied(exit3.get_lead(&v, lead.id.get()).await.map(drop)));
    assert!(denied(
        exit3
            .patch_lead(&v, lead.id.get(), &lead_body())
            .await
            .map(drop)
    ));
    assert!(denied(
        exit3
            .put_lead(&v, lead.id.get(), &lead_body())
            .await
            .map(drop)
    ));
    assert!(denied(exit3.delete_lead(&v, lead.id.get()).await));
    assert!(denied(exit3.list_subscribers(&v, &none()).await.map(drop)));
    assert!(denied(exit3.get_subscriber(&v, 1).await.map(drop)));
    assert!(denied(exit3.delete_subscriber(&v, 1).await));
    let sub = body(json!({"email": "a@example.com"}));
    assert!(exit3.subscribe(&v, &sub).await.is_ok());
    assert!(exit3.unsubscribe(&v, &sub).await.is_ok());
}

#[tokio::test]
async fn a_public_lead_gets_new_status_and_client_info_from_the_request() {
    let exit3 = service();
    let mut v = visitor("198.51.100.4");
    v.origin.user_agent = Some("UA".into());
    let lead = exit3
        .create_lead(&v, &body(json!({"full_name": "A", "position": "B", "status": "converted", "utm_campaign": "x"})))
        .await
        .expect("create");
    assert_eq!(lead.status, LeadStatus::New);
    let info = lead.client_info.expect("captured");
    assert_eq!(info.ip_address, "198.51.100.4".parse().ok());
    assert_eq!(info.user_agent.as_deref(), Some("UA"));
    assert_eq!(info.utm_campaign.as_deref(), Some("x"));
}

#[tokio::test]
async fn lead_create_is_throttled_exactly_with_retry_after() {
    let rates = ThrottleRates::default();
    let (exit3, clock) = service_with(rates);
    let v = visitor("192.0.2.50");
    for _ in 0..10 {
        exit3
            .create_lead(&v, &lead_body())
            .await
            .expect("within the rate");
        clock.advance(Duration::from_secs(60));
    }
    // The first of the 10 was at 0 s; it is now 600 s: 3000 s to wait.
    match exit3.create_lead(&v, &lead_body()).await {
        Err(Error::Throttled { retry_after, scope }) => {
            assert_eq!(retry_after, Duration::from_secs(3000));
            assert_eq!(
                scope,
                exit3::ThrottleScope::LeadCreate,
                "general (100/hour) had room"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Another address is not affected; the refused request did not count in `general`.
    exit3
        .create_lead(&visitor("192.0.2.51"), &lead_body())
        .await
        .expect("other client");
    clock.advance(Duration::from_secs(3000));
    exit3
        .create_lead(&v, &lead_body())
        .await
        .expect("the oldest left the window");
}

#[tokio::test]
async fn invalid_bodies_are_counted_but_refused_requests_are_not() {
    let rate = Rate::new(2, Duration::from_secs(60));
    let (exit3, _clock) = service_with(ThrottleRates::off().with(ThrottleScope::LeadCreate, rate));
    let v = visitor("192.0.2.60");
    // Throttling comes before validation, as in DRF: an invalid body still counts.
    assert!(matches!(
        exit3.create_lead(&v, &Payload::empty()).await,
        Err(Error::Validation(_))
    ));
    exit3.create_lead(&v, &lead_body()).await.expect("second");
    assert!(matches!(
        exit3.create_lead(&v, &Payload::empty()).await,
        Err(Error::Throttled { .. })
    ));
}

#[tokio::test]
async fn admin_requests_are_throttled_by_key_not_by_address() {
    let rate = Rate::new(3, Duration::from_secs(3600));
    let (exit3, _clock) = service_with(ThrottleRates::off().with(ThrottleScope::Admin, rate).with(
        ThrottleScope::General,
        Rate::new(1, Duration::from_secs(3600)),
    ));
    for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        let ctx = RequestContext::new(Credential::Key(ADMIN.into()), ip.parse().ok());
        exit3
            .list_leads(&ctx, &none())
            .await
            .expect("within the admin rate");
    }
    let ctx = RequestContext::new(Credential::Key(ADMIN.into()), "192.0.2.4".parse().ok());
    assert!(matches!(
        exit3.list_leads(&ctx, &none()).await,
        Err(Error::Throttled { .. })
    ));
    // The public scope is keyed by address and has its own (general) count.
    exit3
        .create_lead(&visitor("192.0.2.1"), &lead_body())
        .await
        .expect("general is separate");
}

#[tokio::test]
async fn lists_validate_filters_and_pages() {
    let exit3 = service();
    for _ in 0..3 {
        exit3
            .create_lead(&admin(), &lead_body())
            .await
            .expect("create");
    }
    let page = exit3
        .list_leads(
            &admin(),
            &QueryParams::new([("page_size", "2"), ("page", "2")]),
        )
        .await
        .expect("page 2");
    assert_eq!(
        (
            page.count,
            page.items.len(),
            page.has_next(),
            page.has_previous()
        ),
        (3, 1, false, true)
    );
    for bad in ["3", "0", "x"] {
        let r = exit3
            .list_leads(
                &admin(),
                &QueryParams::new([("page_size", "2"), ("page", bad)]),
            )
            .await;
        assert!(matches!(r, Err(Error::InvalidPage)), "page {bad}");
    }
    let r = exit3
        .list_leads(&admin(), &QueryParams::new([("status", "bogus")]))
        .await;
    assert!(matches!(r, Err(Error::Validation(_))));
    let empty = service()
        .list_leads(&admin(), &none())
        .await
        .expect("empty list has page 1");
    assert_eq!((empty.count, empty.items.len()), (0, 0));
}

#[tokio::test]
async fn updates_look_up_the_lead_before_validating() {
    let exit3 = service();
    let bad = body(json!({"status": "bogus"}));
    assert!(matches!(
        exit3.patch_lead(&admin(), 99, &bad).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        exit3.get_lead(&admin(), 0).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        exit3.get_lead(&admin(), -5).await,
        Err(Error::NotFound)
    ));
    let lead = exit3
        .create_lead(&admin(), &lead_body())
        .await
        .expect("create");
    assert!(matches!(
        exit3.patch_lead(&admin(), lead.id.get(), &bad).await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        exit3
            .put_lead(&admin(), lead.id.get(), &body(json!({"status": "lost"})))
            .await,
        Err(Error::Validation(_))
    ));
    let put = exit3
        .put_lead(
            &admin(),
            lead.id.get(),
            &body(json!({"full_name": "New", "position": "Role", "status": "lost"})),
        )
        .await
        .expect("put");
    assert_eq!(
        (put.full_name.as_str(), put.status),
        ("New", LeadStatus::Lost)
    );
    exit3
        .delete_lead(&admin(), lead.id.get())
        .await
        .expect("delete");
    assert!(matches!(
        exit3.delete_lead(&admin(), lead.id.get()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn subscribe_answers_outcomes_and_scoped_views() {
    let exit3 = service();
    let v = visitor("192.0.2.9");
    let sub = body(json!({"email": "Reader@Example.com", "full_name": "Reader"}));
    let first = exit3.subscribe(&v, &sub).await.expect("subscribe");
    assert_eq!(first.outcome, SubscribeOutcome::Created);
    // Double opt-in (the default): pending until the mail's link is followed.
    assert_eq!(
        first.view,
        SubscriberView::Receipt {
            email: "reader@example.com".into(),
            status: SubscriberStatus::Pending
        }
    );
    let again = exit3.subscribe(&admin(), &sub).await.expect("again");
    assert_eq!(again.outcome, SubscribeOutcome::StillPending);
    let SubscriberView::Full(full) = again.view else {
        panic!("admins see everything")
    };
    assert_eq!(full.full_name.as_deref(), Some("Reader"));

    let unknown = body(json!({"email": "nobody@example.com"}));
    assert_eq!(
        exit3.unsubscribe(&v, &unknown).await.expect("unknown"),
        UNSUBSCRIBED_DETAIL
    );
    assert_eq!(
        exit3.unsubscribe(&v, &sub).await.expect("known"),
        UNSUBSCRIBED_DETAIL
    );
    let back = exit3.subscribe(&v, &sub).await.expect("back");
    assert_eq!(back.outcome, SubscribeOutcome::Reactivated);
    assert!(matches!(
        exit3.unsubscribe(&v, &body(json!({"email": "nope"}))).await,
        Err(Error::Validation(_))
    ));
}

/// What the observer heard of maintenance.
#[derive(Debug, Default)]
struct Removals(std::sync::Mutex<Vec<(&'static str, u64)>>);

impl exit3::Observer for Removals {
    fn refused(&self, _: exit3::Refusal) {}

    fn removed(&self, what: &'static str, count: u64) {
        self.0.lock().expect("lock").push((what, count));
    }
}

/// The maintenance step applies retention at the service's time — what is older than
/// its setting goes, what is newer stays — says so in its report and to the observer,
/// and the history shows the system's deletion.
#[tokio::test]
async fn maintenance_applies_retention_and_tells_the_observer() {
    let clock = ManualClock::new(at(0));
    let heard = Arc::new(Removals::default());
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN], [PUBLIC]))
        .rates(ThrottleRates::off())
        .clock(clock.clone())
        .observer(heard.clone())
        .retention(exit3::privacy::RetentionPolicy {
            quarantine: Some(Duration::from_secs(86_400)),
            ..exit3::privacy::RetentionPolicy::off()
        })
        .build();
    let bot = body(json!({"full_name": "Bot", "position": "Bot", "website": "http://spam"}));
    let old = exit3
        .create_lead(&visitor("192.0.2.7"), &bot)
        .await
        .expect("stored, quarantined");
    clock.advance(Duration::from_secs(86_400 + 1));
    let new = exit3
        .create_lead(&visitor("192.0.2.7"), &bot)
        .await
        .expect("stored, quarantined");
    let report = exit3.maintain_once().await.expect("maintenance");
    use exit3::privacy::RetentionStep::{QuarantinedLeads, QuarantinedSubscribers};
    assert_eq!(
        report.retained,
        [(QuarantinedLeads, 1), (QuarantinedSubscribers, 0)],
        "only the steps that are on"
    );
    assert_eq!(*heard.0.lock().expect("lock"), [("quarantined_leads", 1)]);
    assert!(matches!(
        exit3.get_lead(&admin(), old.id.get()).await,
        Err(Error::NotFound)
    ));
    assert!(exit3.get_lead(&admin(), new.id.get()).await.is_ok());
    let history = exit3
        .lead_history(&admin(), old.id.get(), &none())
        .await
        .expect("its history outlives it");
    assert_eq!(history.items[0].action, exit3::HistoryAction::Deleted);
    assert_eq!(history.items[0].actor, exit3::Actor::System);
    assert_eq!(
        exit3.maintain_once().await.expect("again").retained,
        [(QuarantinedLeads, 0), (QuarantinedSubscribers, 0)]
    );
}
