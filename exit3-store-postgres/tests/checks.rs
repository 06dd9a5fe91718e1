//! Whatever the core accepts, the schema accepts: random bodies (markup, control and
//! bidi characters, e-mail addresses IDNA maps or grows, text at and past every limit)
//! are parsed by the core, and every one it accepts is written to PostgreSQL, which must
//! not refuse it with a CHECK constraint (that would be a 500 for a valid request).

use std::net::IpAddr;

use exit3_core::{
    LeadPatch, NewLead, NewSubscriber, Origin, Payload, Policy, Scope,
    domain::{RequestFacts, SubscribeRequest},
    spam::{Quarantine, SpamReason},
    store::{LeadStore, SubscriberStore},
    testing::{
        at,
        strategies::{email_like, payload, tricky_string},
    },
};
use exit3_store_postgres::testing;
use proptest::{prelude::*, test_runner::TestRunner};
use serde_json::{Map, Value, json};

/// A request's origin: any address, and headers with anything in them.
fn origin() -> impl Strategy<Value = Origin> {
    (
        prop::option::of(any::<[u8; 16]>().prop_map(|b| IpAddr::from(b).to_canonical())),
        prop::option::of(prop_oneof![tricky_string(), "\\PC{500,700}"]),
        prop::option::of(tricky_string()),
    )
        .prop_map(|(ip, user_agent, referrer)| Origin {
            ip,
            user_agent,
            referrer,
        })
}

fn subscriber_body() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop_oneof![email_like(), tricky_string()],
        prop::option::of(tricky_string()),
        prop::option::of(prop::sample::select(&["website", "event", "bogus"][..])),
        // Rarely: most tricky strings are refused, and the rest of the body should count.
        prop::option::weighted(0.25, prop_oneof![tricky_string(), "\\PC{1990,2010}"]),
    )
        .prop_map(|(email, name, source, consent_text)| {
            let mut body = Map::new();
            body.insert("email".into(), json!(email));
            if let Some(n) = name {
                body.insert("full_name".into(), json!(n));
            }
            if let Some(s) = source {
                body.insert("source".into(), json!(s));
            }
            if let Some(c) = consent_text {
                body.insert("consent_text".into(), json!(c));
            }
            body
        })
}

/// Now and then a quarantine, with any of the reasons.
fn quarantine() -> impl Strategy<Value = Option<Quarantine>> {
    prop::option::weighted(
        0.2,
        prop::sample::subsequence(SpamReason::ALL, 1..=SpamReason::ALL.len())
            .prop_map(|reasons| Quarantine { reasons, at: at(0) }),
    )
}

#[derive(Debug, Clone)]
enum Write {
    Lead(Map<String, Value>, bool, Origin, Option<Quarantine>),
    Patch(Map<String, Value>),
    /// A body, where it came from, whether double opt-in is on, and the verdict.
    Subscriber(Map<String, Value>, Origin, bool, Option<Quarantine>),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => (payload(), any::<bool>(), origin(), quarantine())
            .prop_map(|(p, a, o, q)| Write::Lead(p, a, o, q)),
        2 => (email_like(), origin()).prop_map(|(email, o)| {
            let body = json!({"full_name": "Ada", "position": "CTO", "email": email});
            Write::Lead(body.as_object().cloned().unwrap_or_default(), false, o, None)
        }),
        2 => payload().prop_map(Write::Patch),
        3 => (subscriber_body(), origin(), any::<bool>(), quarantine())
            .prop_map(|(b, o, d, q)| Write::Subscriber(b, o, d, q)),
    ]
}

#[test]
fn every_value_the_core_accepts_satisfies_the_schemas_checks() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let Some(db) = runtime.block_on(testing::test_db()) else {
        return;
    };
    let store = runtime.block_on(db.store());
    let policy = Policy::default();
    let some_lead = runtime
        .block_on(store.insert_lead(
            &exit3_core::testing::new_lead(json!({"full_name": "A", "position": "B"})),
            &Default::default(),
            &exit3_core::Actor::System,
            at(0),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = ProptestConfig {
        cases: 600,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "proptest-regressions/checks.txt",
            ),
        )),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let accepted = std::cell::RefCell::new([0usize; 3]);
    let result = runner.run(&write(), |w| {
        runtime.block_on(async {
            match &w {
                Write::Lead(body, admin, origin, quarantine) => {
                    let scope = if *admin { Scope::Admin } else { Scope::Public };
                    if let Ok(lead) =
                        NewLead::parse(&Payload::from(body.clone()), &policy, scope, origin)
                    {
                        let lead = lead.with_quarantine(quarantine.clone());
                        accepted.borrow_mut()[0] += 1;
                        let stored = store
                            .insert_lead(
                                &lead,
                                &Default::default(),
                                &exit3_core::Actor::System,
                                at(1),
                            )
                            .await;
                        prop_assert!(stored.is_ok(), "{lead:?}: {stored:?}");
                    }
                }
                Write::Patch(body) => {
                    if let Ok(patch) = LeadPatch::partial(&Payload::from(body.clone()), &policy) {
                        accepted.borrow_mut()[1] += 1;
                        let stored = store
                            .update_lead(some_lead.id, &patch, &exit3_core::Actor::System, at(2))
                            .await;
                        prop_assert!(stored.is_ok(), "{patch:?}: {stored:?}");
                    }
                }
                Write::Subscriber(body, origin, double_opt_in, quarantine) => {
                    if let Ok(new) = NewSubscriber::parse(&Payload::from(body.clone()), &policy) {
                        accepted.borrow_mut()[2] += 1;
                        let request = SubscribeRequest {
                            subscriber: new,
                            facts: RequestFacts::from_origin(origin),
                            default_consent_text: None,
                            double_opt_in: *double_opt_in,
                            quarantine: quarantine.clone(),
                        };
                        let stored = store
                            .subscribe(&request, &exit3_core::Actor::System, at(3))
                            .await;
                        prop_assert!(stored.is_ok(), "{request:?}: {stored:?}");
                    }
                }
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The property says something only if the core accepted many of them.
    let accepted = accepted.into_inner();
    assert!(
        accepted.iter().all(|&n| n >= 20),
        "too few accepted: {accepted:?}"
    );
    runtime.block_on(async {
        store.close().await;
        db.drop_database().await;
    });
}
