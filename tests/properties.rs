//! Property tests of the invariants: validation, the throttle rule, the client-address
//! rule and pagination. Failing cases are kept in `properties.proptest-regressions`.

use std::{net::IpAddr, sync::Arc};

use exit3::{
    LeadFilter, LeadStatus, MemoryStore, NewLead, Ordering, Origin, PageRequest, Payload, Policy,
    Scope, Search, TrustedProxies,
    query::paginate,
    testing::{at, new_lead, strategies::payload},
    text,
    throttle::{Rate, Window, decide_by_scan},
};
use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

fn obeys_text_rules(value: &str, max: usize, multiline: bool) -> bool {
    let nfc: String = value.nfc().collect();
    value == value.trim()
        && !value.is_empty()
        && value == nfc
        && value.chars().count() <= max
        && !text::has_markup(value)
        && value
            .chars()
            .all(|c| !text::is_refused_char(c) || (multiline && matches!(c, '\t' | '\n' | '\r')))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Parsing never panics, reports only field errors, and whatever it accepts obeys
    /// every rule of the contract.
    #[test]
    fn accepted_leads_obey_every_rule(map in payload(), admin in any::<bool>()) {
        let scope = if admin { Scope::Admin } else { Scope::Public };
        let policy = Policy::default();
        let parsed = NewLead::parse(&Payload::from(map.clone()), &policy, scope, &Origin::default());
        match parsed {
            Err(exit3::Error::Validation(errors)) => prop_assert!(!errors.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            Ok(lead) => {
                prop_assert!(obeys_text_rules(lead.full_name(), 255, false));
                prop_assert!(obeys_text_rules(lead.position(), 255, false));
                for v in [lead.company_name(), lead.client_info().utm_source.as_deref()].into_iter().flatten() {
                    prop_assert!(obeys_text_rules(v, 255, false));
                }
                if let Some(m) = lead.message() {
                    prop_assert!(obeys_text_rules(m, 5000, true));
                }
                if let Some(p) = lead.phone() {
                    prop_assert!(obeys_text_rules(p, 32, false) && text::is_phone(p));
                }
                if let Some(e) = lead.email() {
                    prop_assert!(e.chars().count() <= 254);
                    let (_, domain) = e.rsplit_once('@').expect("an @");
                    prop_assert_eq!(domain, domain.to_lowercase());
                    let parsed = exit3::EmailAddress::parse(e).expect("parses again");
                    prop_assert_eq!(parsed.as_str(), e);
                    prop_assert!(!policy.disposable_domains().is_disposable(parsed.ascii_domain()));
                    prop_assert!(validator::ValidateEmail::validate_email(&e));
                }
                prop_assert!(policy.sources().iter().any(|s| s == lead.source()));
                prop_assert!(policy.categories().iter().any(|c| c == lead.category()));
                if !admin {
                    prop_assert_eq!(lead.status(), LeadStatus::New);
                }
            }
        }
    }

    /// The O(1) ring decides exactly as the rule stated over every accepted time: never
    /// more than N accepted in any window, a refusal only when N were accepted in the
    /// window before, and the exact `Retry-After`.
    #[test]
    fn the_throttle_window_is_the_rule(
        limit in 1u32..6,
        period_s in 1u64..5,
        gaps in prop::collection::vec(0i64..1_500_000, 1..80),
    ) {
        let rate = Rate::new(limit, std::time::Duration::from_secs(period_s)).expect("rate");
        let period = rate.period_micros();
        let mut window = Window::new();
        let mut accepted: Vec<i64> = Vec::new();
        let mut now = 0;
        for gap in gaps {
            now += gap;
            let by_scan = decide_by_scan(&accepted, rate, now);
            prop_assert_eq!(window.check_micros(rate, now), by_scan);
            let in_window = accepted.iter().filter(|&&s| s > now - period).count();
            match by_scan {
                Ok(()) => {
                    prop_assert!(in_window < limit as usize);
                    window.record_micros(rate, now);
                    accepted.push(now);
                }
                Err(wait) => {
                    prop_assert_eq!(in_window, limit as usize);
                    let secs = i64::try_from(wait.as_secs()).expect("small");
                    // Not acceptable a second earlier, acceptable then.
                    prop_assert!(decide_by_scan(&accepted, rate, now + secs * 1_000_000).is_ok());
                    prop_assert!(secs >= 1);
                    prop_assert!(decide_by_scan(&accepted, rate, now + (secs - 1) * 1_000_000).is_err());
                }
            }
            prop_assert!(window.len() <= limit as usize);
        }
        // Never more than N in any window: check every window that ends at an accepted time.
        for (i, &t) in accepted.iter().enumerate() {
            let n = accepted[..=i].iter().filter(|&&s| s > t - period).count();
            prop_assert!(n <= limit as usize);
        }
    }

    /// The client address is the peer unless the peer is trusted; then the right-most
    /// untrusted hop, never a trusted proxy while an untrusted hop exists.
    #[test]
    fn the_client_address_is_never_a_trusted_proxy_while_an_untrusted_hop_exists(
        nets in prop::collection::vec((any::<[u8; 4]>(), 8u8..=32), 0..4),
        peer in any::<[u8; 4]>(),
        hops in prop::collection::vec(any::<[u8; 4]>(), 0..6),
        trust_peer in any::<bool>(),
    ) {
        let mut nets: Vec<IpNet> = nets
            .into_iter()
            .filter_map(|(a, len)| IpNet::new(IpAddr::from(a), len).ok())
            .map(|n| n.trunc())
            .collect();
        let peer = IpAddr::from(peer);
        if trust_peer {
            nets.push(IpNet::from(peer));
        }
        let proxies = TrustedProxies::new(nets);
        let hop_ips: Vec<IpAddr> = hops.into_iter().map(IpAddr::from).collect();
        let header = hop_ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let client = proxies.client_addr(peer, [header.as_str()]);
        if !proxies.contains(peer) {
            prop_assert_eq!(client, peer);
        } else if let Some(&want) = hop_ips.iter().rev().find(|h| !proxies.contains(**h)) {
            prop_assert_eq!(client, want);
            prop_assert!(!proxies.contains(client));
        } else {
            prop_assert_eq!(client, hop_ips.first().copied().unwrap_or(peer));
        }
    }
}

fn lead_spec() -> impl Strategy<Value = (u8, u8, u8, i64)> {
    (0u8..5, 0u8..4, 0u8..3, 0i64..20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Consecutive pages of any size partition the filtered, ordered set: every row once,
    /// in order, and counts agree.
    #[test]
    fn pages_partition_the_filtered_ordered_set(
        specs in prop::collection::vec(lead_spec(), 0..40),
        status in prop::option::of(0usize..5),
        needle in prop::option::of("(a|B|_|%|é)"),
        ordering in prop::sample::select(Ordering::ALL.to_vec()),
        page_size in 1u32..12,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let store: exit3::DynStore = Arc::new(MemoryStore::new());
            let names = ["ana", "Bob", "b_b", "100% é"];
            let companies = ["x", "A%", "y_"];
            let mut leads = Vec::new();
            for (s, n, c, t) in specs {
                let body = json!({
                    "full_name": names[n as usize], "position": "p",
                    "status": LeadStatus::ALL[s as usize].as_str(),
                    "company_name": companies[c as usize],
                });
                leads.push(store.insert_lead(&new_lead(body), &Default::default(), &exit3_core::Actor::System, at(t)).await.expect("insert"));
            }
            let filter = LeadFilter {
                status: status.map(|i| LeadStatus::ALL[i]),
                search: needle.as_deref().and_then(Search::new),
                ..LeadFilter::default()
            };
            let everything = paginate(
                leads.iter().cloned(),
                |l| filter.matches(l),
                |a, b| ordering.compare_leads(a, b),
                PageRequest::new(1, 100).expect("page"),
            );
            let mut seen = Vec::new();
            for page in 1.. {
                let p = store
                    .list_leads(&filter, ordering, PageRequest::new(page, page_size).expect("page"))
                    .await
                    .expect("list");
                prop_assert_eq!(p.count, everything.count);
                if p.is_past_end() {
                    prop_assert!(p.items.is_empty());
                    break;
                }
                seen.extend(p.items.iter().map(|l| l.id));
                if !p.has_next() {
                    break;
                }
            }
            let want: Vec<_> = everything.items.iter().map(|l| l.id).collect();
            prop_assert_eq!(seen, want);
            Ok(())
        })?;
    }
}
