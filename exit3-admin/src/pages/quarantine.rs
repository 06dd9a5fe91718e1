//! `quarantine/`: the leads and subscriptions the spam defence doubted, with their
//! reasons — release (which sends what acceptance would have) or delete, one by one or
//! every ticked one at once.

use askama::Template;
use exit3_core::{Error, QueryParams, Subscriber, spam::Quarantine};
use poem::{Body, Request, Response, handler, http::StatusCode, web::Data};

use super::{LeadRow, when};
use crate::{
    Site, auth,
    render::{self, Chrome, page},
};

#[derive(Debug, Template)]
#[template(path = "quarantine.html")]
struct QuarantinePage {
    chrome: Chrome,
    leads: Vec<(LeadRow, String)>,
    subscribers: Vec<SubscriberRow>,
    lead_count: u64,
    subscriber_count: u64,
    notice: Option<String>,
    can_edit: bool,
}

#[derive(Debug)]
struct SubscriberRow {
    id: i64,
    email: String,
    source: String,
    created: String,
    reasons: String,
}

fn reasons(q: Option<&Quarantine>) -> String {
    q.map(|q| {
        q.reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

impl From<&Subscriber> for SubscriberRow {
    fn from(s: &Subscriber) -> Self {
        Self {
            id: s.id.get(),
            email: s.email.clone(),
            source: s.source.clone(),
            created: when(s.created_at),
            reasons: reasons(s.quarantine.as_ref()),
        }
    }
}

/// `GET quarantine/`: the newest 100 of each.
#[handler]
pub(crate) async fn show(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let params = QueryParams::new([("quarantined", "true"), ("page_size", "100")]);
    let listed = async {
        let leads = site.exit3.list_leads(&staff.ctx, &params).await?;
        let subscribers = site.exit3.list_subscribers(&staff.ctx, &params).await?;
        Ok::<_, Error>((leads, subscribers))
    };
    let (leads, subscribers) = match listed.await {
        Ok(l) => l,
        Err(e) => return auth::failure(site, &staff, "quarantine", &e),
    };
    let notice = super::query_pairs(req.uri().query())
        .into_iter()
        .find(|(k, _)| k == "done")
        .and_then(|(_, v)| {
            let (what, n) = v.split_once('-')?;
            let n: usize = n.parse().ok()?;
            let verb = match what {
                "released" => "released",
                "deleted" => "deleted",
                _ => return None,
            };
            Some(format!("{n} {verb}."))
        });
    page(
        StatusCode::OK,
        &QuarantinePage {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "quarantine"),
            leads: leads
                .items
                .iter()
                .map(|l| (LeadRow::from(l), reasons(l.quarantine.as_ref())))
                .collect(),
            subscribers: subscribers.items.iter().map(SubscriberRow::from).collect(),
            lead_count: leads.count,
            subscriber_count: subscribers.count,
            notice,
            can_edit: staff.user.role.allows(exit3_core::Operation::ReleaseLead),
        },
    )
}

/// `POST quarantine/`: `action` (`release` or `delete`) on every ticked `leads` and
/// `subscribers` id.
#[handler]
pub(crate) async fn act(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let release = match form.get("action") {
        Some("release") => true,
        Some("delete") => false,
        _ => return render::see_other(&site.url("quarantine/")),
    };
    let ids = |name| {
        form.all(name)
            .filter_map(|id| id.parse::<i64>().ok())
            .collect::<Vec<_>>()
    };
    let mut done = 0;
    for id in ids("leads") {
        let outcome = if release {
            site.exit3.release_lead(&staff.ctx, id).await.map(drop)
        } else {
            site.exit3.delete_lead(&staff.ctx, id).await
        };
        match outcome {
            Ok(()) => done += 1,
            Err(Error::NotFound) => {}
            Err(e) => return auth::failure(site, &staff, "quarantine", &e),
        }
    }
    for id in ids("subscribers") {
        let outcome = if release {
            site.exit3
                .release_subscriber(&staff.ctx, id)
                .await
                .map(drop)
        } else {
            site.exit3.delete_subscriber(&staff.ctx, id).await
        };
        match outcome {
            Ok(()) => done += 1,
            Err(Error::NotFound) => {}
            Err(e) => return auth::failure(site, &staff, "quarantine", &e),
        }
    }
    let what = if release { "released" } else { "deleted" };
    render::see_other(&site.url(&format!("quarantine/?done={what}-{done}")))
}
