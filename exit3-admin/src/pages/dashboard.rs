//! The dashboard: counts by status, the last 30 days as a chart, the latest leads,
//! quarantine and delivery health.

use askama::Template;
use exit3_core::{LeadStatus, QueryParams, outbox::OutboxKind};
use poem::{Request, Response, handler, http::StatusCode, web::Data};

use super::{LeadRow, when};
use crate::{
    Site, auth,
    render::{Chrome, page},
};

/// The chart's days.
const DAYS: u32 = 30;

#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    counts: Vec<(&'static str, u64)>,
    total: u64,
    quarantined: u64,
    latest: Vec<LeadRow>,
    /// (kind, pending, oldest pending)
    deliveries: Vec<(&'static str, u64, String)>,
    bars: Vec<Bar>,
    most: u64,
}

/// One day of the chart, placed in a 600 × 120 box.
#[derive(Debug)]
struct Bar {
    x: u64,
    y: u64,
    height: u64,
    count: u64,
    day: String,
}

/// `GET /`.
#[handler]
pub(crate) async fn show(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let count = |pairs: Vec<(&'static str, String)>| {
        let exit3 = site.exit3.clone();
        let ctx = staff.ctx.clone();
        async move {
            let mut pairs = pairs;
            pairs.push(("page_size", "1".to_owned()));
            exit3
                .list_leads(&ctx, &QueryParams::new(pairs))
                .await
                .map(|p| p.count)
        }
    };
    let result = async {
        let mut counts = Vec::new();
        for status in LeadStatus::ALL {
            counts.push((
                status.as_str(),
                count(vec![("status", status.as_str().into())]).await?,
            ));
        }
        let quarantined = count(vec![("quarantined", "true".into())]).await?;
        let latest = site
            .exit3
            .list_leads(&staff.ctx, &QueryParams::new([("page_size", "10")]))
            .await?;
        let bars = site
            .exit3
            .leads_per_day(&staff.ctx, DAYS)
            .await?
            .into_iter()
            .map(|(day, n)| (n, day.to_string()))
            .collect::<Vec<_>>();
        let stats = site.exit3.outbox_stats().await?;
        Ok::<_, exit3_core::Error>((counts, quarantined, latest, bars, stats))
    };
    let (counts, quarantined, latest, bars, stats) = match result.await {
        Ok(r) => r,
        Err(e) => return auth::failure(site, &staff, "dashboard", &e),
    };
    let deliveries = [OutboxKind::Mail, OutboxKind::Webhook]
        .into_iter()
        .map(|kind| {
            let s = stats.iter().find(|s| s.kind == kind);
            (
                kind.as_str(),
                s.map_or(0, |s| s.pending),
                s.and_then(|s| s.oldest_pending)
                    .map(when)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let most = bars.iter().map(|b| b.0).max().unwrap_or(0).max(1);
    let bars = bars
        .into_iter()
        .zip(0u64..)
        .map(|((count, day), i)| {
            let height = count * 110 / most;
            Bar {
                x: i * 20 + 2,
                y: 120 - height,
                height,
                count,
                day,
            }
        })
        .collect();
    page(
        StatusCode::OK,
        &Dashboard {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "dashboard"),
            total: counts.iter().map(|c| c.1).sum(),
            counts,
            quarantined,
            latest: latest.items.iter().map(LeadRow::from).collect(),
            deliveries,
            bars,
            most,
        },
    )
}
