//! The CSV exports (privacy.md §3): `GET leads/export.csv`, `GET newsletter/export.csv`,
//! and the staff site's export of ticked leads. Admitted once, then read a batch at a
//! time by the [`CsvExport`] they answer.

use super::{Exit3, RequestContext};
use crate::{
    access::Operation,
    domain::LeadId,
    error::Error,
    export::CsvExport,
    query::{LeadQuery, QueryParams, SubscriberQuery},
};

/// The most leads an export of chosen ids takes (the staff site's ticked rows: a page).
const MAX_CHOSEN: usize = 1000;

/// The parameters of a list without its page: an export takes every match.
fn without_page(params: &QueryParams) -> QueryParams {
    QueryParams::new(
        params
            .pairs()
            .iter()
            .filter(|(k, _)| k != "page" && k != "page_size")
            .cloned(),
    )
}

impl Exit3 {
    /// `GET leads/export.csv`: every lead the list's filters, search and ordering
    /// (`quarantined` included) select, as CSV; the list's 400s for bad filters.
    pub async fn export_leads(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<CsvExport, Error> {
        self.admit(ctx, Operation::ExportCsv).await?;
        let query = LeadQuery::from_params(&without_page(params), self.policy())?;
        CsvExport::leads(self, query.filter, query.ordering)
            .primed()
            .await
    }

    /// `GET newsletter/export.csv`: likewise for subscribers.
    pub async fn export_subscribers(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<CsvExport, Error> {
        self.admit(ctx, Operation::ExportCsv).await?;
        let query = SubscriberQuery::from_params(&without_page(params), self.policy())?;
        CsvExport::subscribers(self, query.filter, query.ordering)
            .primed()
            .await
    }

    /// The leads with `ids` (at most 1,000; unknown ones are left out), in the
    /// order given, as CSV: the staff site's export of ticked rows.
    pub async fn export_leads_by_id(
        &self,
        ctx: &RequestContext,
        ids: &[i64],
    ) -> Result<CsvExport, Error> {
        self.admit(ctx, Operation::ExportCsv).await?;
        let mut leads = Vec::with_capacity(ids.len().min(MAX_CHOSEN));
        for &id in ids.iter().take(MAX_CHOSEN) {
            if let Some(lead) = match LeadId::new(id) {
                Some(id) => self.inner.store.get_lead(id).await?,
                None => None,
            } {
                leads.push(lead);
            }
        }
        CsvExport::given(self, leads).primed().await
    }
}
