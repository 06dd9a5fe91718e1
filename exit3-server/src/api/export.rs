//! `leads/export.csv` and `newsletter/export.csv` (privacy.md §3; admin key): the list's
//! filters, search and ordering, every match, streamed as the core writes it a batch
//! at a time.

use std::sync::Arc;

use exit3_core::{Error, RequestContext, export::CsvExport};
use poem::Body;
use poem_openapi::{ApiResponse, OpenApi, param::Query, payload::Binary};

use super::{ApiState, ApiTags};
use crate::{
    errors::PlainError,
    extract::{ApiKey, Client, ListQuery},
};

/// An export.
#[derive(Debug, ApiResponse)]
pub enum Exported {
    /// UTF-8 CSV with a byte-order mark, a header row, RFC 4180 quoting and CRLF line
    /// ends; cells that a spreadsheet would run as formulas begin with `'`. Streamed:
    /// a body that ends early (the store failed mid-way) is cut off, never passed off as
    /// whole.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        Binary<Body>,
        /// `attachment; filename="leads-YYYY-MM-DD.csv"` (or `subscribers-…`).
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

/// The body of `export`: each chunk as the core makes it; a failure mid-way is logged
/// and cuts the connection, so that the client sees a broken transfer, not a short file
/// ([`CsvExport::into_stream`]).
pub fn csv_body(export: CsvExport) -> (Body, String) {
    let disposition = format!("attachment; filename=\"{}\"", export.filename());
    let chunks = export.into_stream(|e| tracing::error!(error = %e, "CSV export cut off"));
    (Body::from_bytes_stream(chunks), disposition)
}

fn answer(state: &ApiState, made: Result<CsvExport, Error>) -> Result<Exported, PlainError> {
    let export = made.map_err(|e| PlainError::from_core(e, state.debug))?;
    let (body, disposition) = csv_body(export);
    Ok(Exported::Ok(Binary(body), disposition))
}

macro_rules! export_api {
    (
        $(#[$meta:meta])*
        $name:ident,
        prefix = $prefix:tt,
        deprecated = $deprecated:tt,
        ids = [$leads_id:tt, $subscribers_id:tt]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<ApiState>);

        #[OpenApi(prefix_path = $prefix, tag = "ApiTags::Privacy")]
        impl $name {
            /// Export leads as CSV (admin)
            ///
            /// Every lead the list's filters, search and ordering select (no pages;
            /// `quarantined` as in the list), as a spreadsheet file. Columns: `id`,
            /// `full_name`, `position`, `company_name`, `email`, `phone`, `message`,
            /// `status`, `source`, `category`, `ip_address`, `user_agent`, `referrer`,
            /// `utm_source`, `utm_medium`, `utm_campaign`, `created_at`, `updated_at`.
            #[oai(path = "/leads/export.csv", method = "get", operation_id = $leads_id, deprecated = $deprecated)]
            #[allow(clippy::too_many_arguments)]
            async fn leads(
                &self,
                key: ApiKey,
                client: Client,
                query: ListQuery,
                /// Exact status.
                #[oai(name = "status")] _status: Query<Option<String>>,
                /// Exact source.
                #[oai(name = "source")] _source: Query<Option<String>>,
                /// Exact category.
                #[oai(name = "category")] _category: Query<Option<String>>,
                /// Created at or after (RFC 3339 date or date-time; inclusive).
                #[oai(name = "created_after")] _created_after: Query<Option<String>>,
                /// Created before (RFC 3339 date or date-time; exclusive).
                #[oai(name = "created_before")] _created_before: Query<Option<String>>,
                /// Case-insensitive substring of `full_name`, `company_name`, `email`,
                /// `position`.
                #[oai(name = "search")] _search: Query<Option<String>>,
                /// As the list's (default `-created_at`).
                #[oai(name = "ordering")] _ordering: Query<Option<String>>,
                /// `true` (only quarantined leads) or `all`.
                #[oai(name = "quarantined")] _quarantined: Query<Option<String>>,
            ) -> Result<Exported, PlainError> {
                let ctx: RequestContext = key.context(client);
                answer(&self.0, self.0.exit3.export_leads(&ctx, &query.params).await)
            }

            /// Export subscribers as CSV (admin)
            ///
            /// Every subscriber the list's filters, search and ordering select. Columns:
            /// `id`, `email`, `full_name`, `status`, `source`, `created_at`,
            /// `confirmed_at`, `unsubscribed_at`.
            #[oai(path = "/newsletter/export.csv", method = "get", operation_id = $subscribers_id, deprecated = $deprecated)]
            #[allow(clippy::too_many_arguments)]
            async fn subscribers(
                &self,
                key: ApiKey,
                client: Client,
                query: ListQuery,
                /// Exact status: `pending`, `active`, `unsubscribed`.
                #[oai(name = "status")] _status: Query<Option<String>>,
                /// Exact source.
                #[oai(name = "source")] _source: Query<Option<String>>,
                /// Case-insensitive substring of the address or the name.
                #[oai(name = "search")] _search: Query<Option<String>>,
                /// As the list's (default `-created_at`).
                #[oai(name = "ordering")] _ordering: Query<Option<String>>,
                /// `true` (only quarantined subscriptions) or `all`.
                #[oai(name = "quarantined")] _quarantined: Query<Option<String>>,
            ) -> Result<Exported, PlainError> {
                let ctx: RequestContext = key.context(client);
                answer(&self.0, self.0.exit3.export_subscribers(&ctx, &query.params).await)
            }
        }
    };
}

export_api!(
    /// The CSV exports under `/backend/api/v1/`.
    ExportApi,
    prefix = "/backend/api/v1",
    deprecated = false,
    ids = ["leads_export", "newsletter_export"]
);

export_api!(
    /// The CSV exports under the legacy `/backend/api/` (deprecated).
    LegacyExportApi,
    prefix = "/backend/api",
    deprecated = true,
    ids = ["legacy_leads_export", "legacy_newsletter_export"]
);
