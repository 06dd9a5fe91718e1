//! The operations of the contract, one `#[OpenApi]` struct per resource, each stamped
//! twice: under `/backend/api/v1/` and under the legacy `/backend/api/` (deprecated).

use std::sync::Arc;

use exit3_core::Exit3;
use poem_openapi::{OpenApiService, Tags};

pub mod export;
pub mod health;
pub mod leads;
pub mod newsletter;
pub mod privacy;
pub mod webhooks;

/// What every operation needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The service.
    pub exit3: Exit3,
    /// `DEBUG=true`: 500 bodies carry the error chain.
    pub debug: bool,
}

/// The document's tags.
#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Leads from the contact form.
    Leads,
    /// Newsletter subscribers.
    Newsletter,
    /// Webhook endpoints and their deliveries.
    Webhooks,
    /// One person's export and erasure, and the CSV exports (privacy.md §1, §3).
    Privacy,
    /// Readiness and liveness.
    Health,
}

/// Every API of the server, combined.
pub type Apis = (
    leads::LeadsApi,
    leads::LegacyLeadsApi,
    newsletter::NewsletterApi,
    newsletter::LegacyNewsletterApi,
    webhooks::WebhooksApi,
    webhooks::LegacyWebhooksApi,
    privacy::PrivacyApi,
    privacy::LegacyPrivacyApi,
    export::ExportApi,
    export::LegacyExportApi,
    health::HealthApi,
);

/// The OpenAPI service over `state`.
pub fn service(state: ApiState) -> OpenApiService<Apis, ()> {
    let state = Arc::new(state);
    OpenApiService::new(
        (
            leads::LeadsApi(state.clone()),
            leads::LegacyLeadsApi(state.clone()),
            newsletter::NewsletterApi(state.clone()),
            newsletter::LegacyNewsletterApi(state.clone()),
            webhooks::WebhooksApi(state.clone()),
            webhooks::LegacyWebhooksApi(state.clone()),
            privacy::PrivacyApi(state.clone()),
            privacy::LegacyPrivacyApi(state.clone()),
            export::ExportApi(state.clone()),
            export::LegacyExportApi(state.clone()),
            health::HealthApi(state, Arc::default()),
        ),
        "Exit Three API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Lead capture and newsletter subscriptions: a drop-in for the Exit Three Django \
         REST Framework backend. Every route exists under `/backend/api/v1/` and, \
         deprecated, under `/backend/api/`; with or without the trailing slash. Every \
         error body is JSON.",
    )
}
