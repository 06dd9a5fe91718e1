//! `leads/` and `leads/{id}/`.

use std::sync::Arc;

use exit3_core::{Operation, Payload, RequestContext, Scope};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, param::Query, payload::Json};

use super::{ApiState, ApiTags};
use crate::{
    dto::{HistoryPage, LeadOut, LeadPage, LeadStatusWire, SerdeJson},
    errors::{BodyErrors, CaptureError, PlainError, ReadError, WriteError},
    extract::{ApiKey, Client, IdempotencyKeyHeader, LenientBody, ListQuery},
};

/// The fields of a lead that a client sends (create, full update). Unknown and read-only
/// fields are ignored; every failing field is reported at once.
#[derive(Debug, Object)]
#[oai(rename = "LeadInput")]
pub struct LeadInput {
    /// Required; trimmed; 1–255 characters.
    pub full_name: String,
    /// Required; trimmed; 1–255 characters.
    pub position: String,
    /// Optional; up to 255 characters.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// Optional; a valid address of at most 254 characters; disposable domains refused.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Optional; up to 32 characters of digits, spaces and `+ - ( ) .`.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Optional; up to 5000 characters; line breaks allowed.
    #[oai(nullable)]
    pub message: Option<String>,
    /// Default `new`; ignored when sent with the public key.
    pub status: Option<LeadStatusWire>,
    /// One of the configured sources; default `website`.
    pub source: Option<String>,
    /// One of the configured categories; default `other`.
    pub category: Option<String>,
    /// Staff's internal notes: up to 10,000 characters, line breaks allowed; null or
    /// `""` clears them. Admin key only: ignored when sent with the public key.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// Kept in `client_info` (create only); up to 255 characters.
    #[oai(nullable)]
    pub utm_source: Option<String>,
    /// Kept in `client_info` (create only); up to 255 characters.
    #[oai(nullable)]
    pub utm_medium: Option<String>,
    /// Kept in `client_info` (create only); up to 255 characters.
    #[oai(nullable)]
    pub utm_campaign: Option<String>,
}

/// The fields of a partial update: only those sent change.
#[derive(Debug, Object)]
#[oai(rename = "LeadPatchInput")]
pub struct LeadPatchInput {
    /// 1–255 characters.
    pub full_name: Option<String>,
    /// 1–255 characters.
    pub position: Option<String>,
    /// Up to 255 characters; null clears it.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// A valid address; null clears it.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Null clears it.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Null clears it.
    #[oai(nullable)]
    pub message: Option<String>,
    /// The workflow status.
    pub status: Option<LeadStatusWire>,
    /// One of the configured sources.
    pub source: Option<String>,
    /// One of the configured categories.
    pub category: Option<String>,
    /// Staff's internal notes: up to 10,000 characters, line breaks allowed; null or
    /// `""` clears them.
    #[oai(nullable)]
    pub notes: Option<String>,
}

/// `GET leads/`.
#[derive(Debug, ApiResponse)]
pub enum LeadList {
    /// A page of leads.
    #[oai(status = 200)]
    Ok(SerdeJson<LeadPage>),
}

/// `POST leads/`.
#[derive(Debug, ApiResponse)]
pub enum LeadCreated {
    /// The lead was created.
    #[oai(status = 201)]
    Created(SerdeJson<LeadOut>),
}

/// One lead.
#[derive(Debug, ApiResponse)]
pub enum LeadFound {
    /// The lead.
    #[oai(status = 200)]
    Ok(SerdeJson<LeadOut>),
}

/// `DELETE`.
#[derive(Debug, ApiResponse)]
pub enum Deleted {
    /// Deleted; the body is empty.
    #[oai(status = 204)]
    NoContent,
}

/// Reads an id from the path: anything that is not a positive integer is an unknown id
/// (answered 404 after the key and the throttle, as DRF does).
pub(crate) fn path_id(raw: &str) -> i64 {
    raw.parse::<i64>().unwrap_or(0)
}

/// The payload of an admitted request: a body that cannot be read is answered only after
/// the key and the throttle have been checked (and the request counted), as in DRF.
pub(crate) async fn payload_or_admit<T, E: BodyErrors>(
    state: &ApiState,
    ctx: &RequestContext,
    operation: Operation,
    body: LenientBody<T>,
) -> Result<Payload, E> {
    match body.payload {
        Ok(payload) => Ok(payload),
        Err(problem) => {
            state
                .exit3
                .admit(ctx, operation)
                .await
                .map_err(|e| E::from_core(e, state.debug))?;
            Err(problem.into_error(state.debug))
        }
    }
}

async fn list(state: &ApiState, ctx: RequestContext, q: ListQuery) -> Result<LeadList, ReadError> {
    let page = state
        .exit3
        .list_leads(&ctx, &q.params)
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    let (next, previous) = q.links.of(&page);
    Ok(LeadList::Ok(SerdeJson(LeadPage {
        count: page.count,
        next,
        previous,
        results: page.items.into_iter().map(Into::into).collect(),
    })))
}

async fn create(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<LeadInput>,
) -> Result<LeadCreated, CaptureError> {
    let payload = payload_or_admit(state, &ctx, Operation::CreateLead, body).await?;
    let (lead, scope) = state
        .exit3
        .create_lead_scoped(&ctx, &payload)
        .await
        .map_err(|e| CaptureError::from_core(e, state.debug))?;
    Ok(LeadCreated::Created(SerdeJson(match scope {
        Scope::Admin => lead.into(),
        Scope::Public => LeadOut::public(lead),
    })))
}

async fn get(state: &ApiState, ctx: RequestContext, id: &str) -> Result<LeadFound, ReadError> {
    let lead = state
        .exit3
        .get_lead(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(LeadFound::Ok(SerdeJson(lead.into())))
}

async fn update<T>(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
    body: LenientBody<T>,
    partial: bool,
) -> Result<LeadFound, WriteError> {
    let payload = payload_or_admit(state, &ctx, Operation::UpdateLead, body).await?;
    let result = if partial {
        state.exit3.patch_lead(&ctx, path_id(id), &payload).await
    } else {
        state.exit3.put_lead(&ctx, path_id(id), &payload).await
    };
    let lead = result.map_err(|e| WriteError::from_core(e, state.debug))?;
    Ok(LeadFound::Ok(SerdeJson(lead.into())))
}

async fn delete(state: &ApiState, ctx: RequestContext, id: &str) -> Result<Deleted, ReadError> {
    state
        .exit3
        .delete_lead(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(Deleted::NoContent)
}

macro_rules! leads_api {
    (
        $(#[$meta:meta])*
        $name:ident,
        prefix = $prefix:tt,
        deprecated = $deprecated:tt,
        ids = [$list_id:tt, $create_id:tt, $get_id:tt, $put_id:tt, $patch_id:tt, $delete_id:tt,
               $release_id:tt, $token_id:tt, $history_id:tt]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<ApiState>);

        #[OpenApi(prefix_path = $prefix, tag = "ApiTags::Leads")]
        impl $name {
            /// List leads (admin)
            ///
            /// A page of leads, filtered, searched and ordered. An unknown filter value
            /// is a 400 in the validation shape; a page past the end is `Invalid page.`
            #[oai(path = "/leads/", method = "get", operation_id = $list_id, deprecated = $deprecated)]
            #[allow(clippy::too_many_arguments)]
            async fn list(
                &self,
                key: ApiKey,
                client: Client,
                query: ListQuery,
                /// Page number, from 1 (default 1).
                #[oai(name = "page")] _page: Query<Option<String>>,
                /// Rows per page (default 50, at most 100).
                #[oai(name = "page_size")] _page_size: Query<Option<String>>,
                /// Exact status: `new`, `contacted`, `qualified`, `converted`, `lost`.
                #[oai(name = "status")] _status: Query<Option<String>>,
                /// Exact source (one of the configured sources).
                #[oai(name = "source")] _source: Query<Option<String>>,
                /// Exact category (one of the configured categories).
                #[oai(name = "category")] _category: Query<Option<String>>,
                /// Created at or after (RFC 3339 date or date-time; inclusive).
                #[oai(name = "created_after")] _created_after: Query<Option<String>>,
                /// Created before (RFC 3339 date or date-time; exclusive).
                #[oai(name = "created_before")] _created_before: Query<Option<String>>,
                /// Case-insensitive substring of `full_name`, `company_name`, `email`,
                /// `position`.
                #[oai(name = "search")] _search: Query<Option<String>>,
                /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`,
                /// `full_name`, `-full_name`, `status`, `-status`.
                #[oai(name = "ordering")] _ordering: Query<Option<String>>,
                /// Quarantined leads (capture.md §1) are left out unless `true` (only
                /// them) or `all`.
                #[oai(name = "quarantined")] _quarantined: Query<Option<String>>,
            ) -> Result<LeadList, ReadError> {
                list(&self.0, key.context(client), query).await
            }

            /// Create a lead (admin, public)
            ///
            /// The contact form. JSON or form-urlencoded; every failing field is
            /// reported at once. The public key cannot set `status`. With an
            /// `Idempotency-Key`, a retry gets the first answer again (capture.md §2).
            #[oai(path = "/leads/", method = "post", operation_id = $create_id, deprecated = $deprecated)]
            async fn create(
                &self,
                key: ApiKey,
                client: Client,
                #[oai(name = "Idempotency-Key")] _idempotency_key: IdempotencyKeyHeader,
                body: LenientBody<LeadInput>,
            ) -> Result<LeadCreated, CaptureError> {
                create(&self.0, key.context(client), body).await
            }

            /// Read a lead (admin)
            #[oai(path = "/leads/:id/", method = "get", operation_id = $get_id, deprecated = $deprecated)]
            async fn get(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
            ) -> Result<LeadFound, ReadError> {
                get(&self.0, key.context(client), &id.0).await
            }

            /// Replace a lead (admin)
            ///
            /// Full update: `full_name` and `position` are required.
            #[oai(path = "/leads/:id/", method = "put", operation_id = $put_id, deprecated = $deprecated)]
            async fn put(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
                body: LenientBody<LeadInput>,
            ) -> Result<LeadFound, WriteError> {
                update(&self.0, key.context(client), &id.0, body, false).await
            }

            /// Update a lead (admin)
            ///
            /// Partial update (status workflow, fields): only the fields sent change.
            #[oai(path = "/leads/:id/", method = "patch", operation_id = $patch_id, deprecated = $deprecated)]
            async fn patch(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
                body: LenientBody<LeadPatchInput>,
            ) -> Result<LeadFound, WriteError> {
                update(&self.0, key.context(client), &id.0, body, true).await
            }

            /// Delete a lead (admin)
            #[oai(path = "/leads/:id/", method = "delete", operation_id = $delete_id, deprecated = $deprecated)]
            async fn delete(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
            ) -> Result<Deleted, ReadError> {
                delete(&self.0, key.context(client), &id.0).await
            }

            /// Release a quarantined lead (admin)
            ///
            /// Clears its quarantine, then sends what acceptance would have sent (the
            /// staff notification, `lead.created`). A lead that is not quarantined is
            /// answered as it is.
            #[oai(path = "/leads/:id/release/", method = "post", operation_id = $release_id, deprecated = $deprecated)]
            async fn release(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
            ) -> Result<LeadFound, ReadError> {
                release(&self.0, key.context(client), &id.0).await
            }

            /// A lead's history (admin)
            ///
            /// Every write to the lead, newest first: who (`staff:<username>`,
            /// `api:admin:<fingerprint>`, `api:public`, `system`), what, when, and for
            /// changes the fields with their old and new values. A deleted lead keeps its
            /// history; an id that never had a lead is a 404.
            #[oai(path = "/leads/:id/history/", method = "get", operation_id = $history_id, deprecated = $deprecated)]
            async fn history(
                &self,
                key: ApiKey,
                client: Client,
                /// The lead's id.
                id: Path<String>,
                query: ListQuery,
                /// Page number, from 1 (default 1).
                #[oai(name = "page")] _page: Query<Option<String>>,
                /// Rows per page (default 50, at most 100).
                #[oai(name = "page_size")] _page_size: Query<Option<String>>,
            ) -> Result<HistoryList, ReadError> {
                history(&self.0, key.context(client), &id.0, query).await
            }

            /// A form token (admin, public)
            ///
            /// For the website's form, as its hidden `form_token` field: a form sent
            /// sooner than `min_age_seconds` after, later than `expires_in` after, or a
            /// second time with it is quarantined (capture.md §1).
            #[oai(path = "/form-token/", method = "get", operation_id = $token_id, deprecated = $deprecated)]
            async fn form_token(
                &self,
                key: ApiKey,
                client: Client,
            ) -> Result<FormTokenIssued, PlainError> {
                form_token(&self.0, key.context(client)).await
            }
        }
    };
}

async fn release(state: &ApiState, ctx: RequestContext, id: &str) -> Result<LeadFound, ReadError> {
    let lead = state
        .exit3
        .release_lead(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(LeadFound::Ok(SerdeJson(lead.into())))
}

/// `GET leads/{id}/history/`.
#[derive(Debug, ApiResponse)]
pub enum HistoryList {
    /// A page of the lead's history, newest first.
    #[oai(status = 200)]
    Ok(SerdeJson<HistoryPage>),
}

async fn history(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
    q: ListQuery,
) -> Result<HistoryList, ReadError> {
    let page = state
        .exit3
        .lead_history(&ctx, path_id(id), &q.params)
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    let (next, previous) = q.links.of(&page);
    Ok(HistoryList::Ok(SerdeJson(HistoryPage {
        count: page.count,
        next,
        previous,
        results: page.items.into_iter().map(Into::into).collect(),
    })))
}

async fn form_token(state: &ApiState, ctx: RequestContext) -> Result<FormTokenIssued, PlainError> {
    let issued = state
        .exit3
        .issue_form_token(&ctx)
        .await
        .map_err(|e| PlainError::from_core(e, state.debug))?;
    Ok(FormTokenIssued::Ok(Json(FormTokenBody {
        form_token: issued.token,
        min_age_seconds: issued.min_age_seconds,
        expires_in: issued.expires_in,
    })))
}

/// `GET form-token/`.
#[derive(Debug, ApiResponse)]
pub enum FormTokenIssued {
    /// A token.
    #[oai(status = 200)]
    Ok(Json<FormTokenBody>),
}

/// A form token and its ages.
#[derive(Debug, Object)]
pub struct FormTokenBody {
    /// Opaque; send it as the body's `form_token`.
    pub form_token: String,
    /// Seconds before a form with it counts as filled in by a person.
    pub min_age_seconds: u64,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

leads_api!(
    /// The lead operations under `/backend/api/v1/`.
    LeadsApi,
    prefix = "/backend/api/v1",
    deprecated = false,
    ids = ["leads_list", "leads_create", "leads_retrieve", "leads_update", "leads_partial_update", "leads_destroy",
           "leads_release", "form_token_retrieve", "leads_history"]
);

leads_api!(
    /// The lead operations under the legacy `/backend/api/` (deprecated).
    LegacyLeadsApi,
    prefix = "/backend/api",
    deprecated = true,
    ids = ["legacy_leads_list", "legacy_leads_create", "legacy_leads_retrieve", "legacy_leads_update", "legacy_leads_partial_update", "legacy_leads_destroy",
           "legacy_leads_release", "legacy_form_token_retrieve", "legacy_leads_history"]
);
