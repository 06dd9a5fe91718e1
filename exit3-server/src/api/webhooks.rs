//! `webhooks/`, `webhooks/{id}/`, `webhooks/{id}/rotate-secret/`, `webhooks/{id}/ping/`
//! and `webhooks/{id}/deliveries/` (capture.md §3; admin key).

use std::sync::Arc;

use exit3_core::{Operation, RequestContext};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, param::Query, payload::Json};

use super::{
    ApiState, ApiTags,
    leads::{Deleted, path_id, payload_or_admit},
};
use crate::{
    dto::{DeliveryPage, Detail, WebhookCreatedOut, WebhookOut, WebhookPage},
    errors::{CreateError, ReadError, WriteError},
    extract::{ApiKey, Client, LenientBody, ListQuery},
};

/// A new endpoint.
#[derive(Debug, Object)]
#[oai(rename = "WebhookInput")]
pub struct WebhookInput {
    /// A public `https://` URL (no credentials, at most 2,048 characters).
    pub url: String,
    /// `["*"]` (the default) or event types: `lead.created`, `lead.updated`,
    /// `lead.deleted`, `subscriber.confirmed`, `subscriber.unsubscribed`, `person.erased`.
    pub events: Option<Vec<String>>,
    /// Staff's note, up to 255 characters.
    #[oai(nullable)]
    pub description: Option<String>,
}

/// Changes to an endpoint.
#[derive(Debug, Object)]
#[oai(rename = "WebhookPatchInput")]
pub struct WebhookPatchInput {
    /// A public `https://` URL.
    pub url: Option<String>,
    /// `["*"]` or event types.
    pub events: Option<Vec<String>>,
    /// Staff's note.
    #[oai(nullable)]
    pub description: Option<String>,
    /// On or off (on again after a receiver's 410).
    pub enabled: Option<bool>,
}

/// `GET webhooks/`.
#[derive(Debug, ApiResponse)]
pub enum WebhookList {
    /// A page of endpoints, oldest first.
    #[oai(status = 200)]
    Ok(Json<WebhookPage>),
}

/// `POST webhooks/`.
#[derive(Debug, ApiResponse)]
pub enum WebhookCreated {
    /// Made: the endpoint with its `secret`, shown only here.
    #[oai(status = 201)]
    Created(Json<WebhookCreatedOut>),
}

/// `POST webhooks/{id}/rotate-secret/`.
#[derive(Debug, ApiResponse)]
pub enum WebhookRotated {
    /// Rotated: the new `secret`; the previous one also signs for 24 hours.
    #[oai(status = 200)]
    Ok(Json<WebhookCreatedOut>),
}

/// One endpoint.
#[derive(Debug, ApiResponse)]
pub enum WebhookFound {
    /// The endpoint.
    #[oai(status = 200)]
    Ok(Json<WebhookOut>),
}

/// `POST webhooks/{id}/ping/`.
#[derive(Debug, ApiResponse)]
pub enum PingQueued {
    /// A `ping` event is queued for this endpoint.
    #[oai(status = 202)]
    Accepted(Json<Detail>),
}

/// `GET webhooks/{id}/deliveries/`.
#[derive(Debug, ApiResponse)]
pub enum DeliveryList {
    /// A page of the endpoint's deliveries, newest first.
    #[oai(status = 200)]
    Ok(Json<DeliveryPage>),
}

async fn list(
    state: &ApiState,
    ctx: RequestContext,
    q: ListQuery,
) -> Result<WebhookList, ReadError> {
    let page = state
        .exit3
        .list_webhooks(&ctx, &q.params)
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    let (next, previous) = q.links.of(&page);
    Ok(WebhookList::Ok(Json(WebhookPage {
        count: page.count,
        next,
        previous,
        results: page.items.into_iter().map(Into::into).collect(),
    })))
}

async fn create(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<WebhookInput>,
) -> Result<WebhookCreated, CreateError> {
    let payload = payload_or_admit(state, &ctx, Operation::ManageWebhooks, body).await?;
    let made = state
        .exit3
        .create_webhook(&ctx, &payload)
        .await
        .map_err(|e| CreateError::from_core(e, state.debug))?;
    Ok(WebhookCreated::Created(Json(made.into())))
}

async fn get(state: &ApiState, ctx: RequestContext, id: &str) -> Result<WebhookFound, ReadError> {
    let found = state
        .exit3
        .get_webhook(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(WebhookFound::Ok(Json(found.into())))
}

async fn patch(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
    body: LenientBody<WebhookPatchInput>,
) -> Result<WebhookFound, WriteError> {
    let payload = payload_or_admit(state, &ctx, Operation::ManageWebhooks, body).await?;
    let changed = state
        .exit3
        .update_webhook(&ctx, path_id(id), &payload)
        .await
        .map_err(|e| WriteError::from_core(e, state.debug))?;
    Ok(WebhookFound::Ok(Json(changed.into())))
}

async fn delete(state: &ApiState, ctx: RequestContext, id: &str) -> Result<Deleted, ReadError> {
    state
        .exit3
        .delete_webhook(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(Deleted::NoContent)
}

async fn rotate(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
) -> Result<WebhookRotated, ReadError> {
    let rotated = state
        .exit3
        .rotate_webhook_secret(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(WebhookRotated::Ok(Json(rotated.into())))
}

async fn ping(state: &ApiState, ctx: RequestContext, id: &str) -> Result<PingQueued, ReadError> {
    state
        .exit3
        .ping_webhook(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(PingQueued::Accepted(Json(Detail::new(
        exit3_core::messages::PING_QUEUED,
    ))))
}

async fn deliveries(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
    q: ListQuery,
) -> Result<DeliveryList, ReadError> {
    let page = state
        .exit3
        .list_webhook_deliveries(&ctx, path_id(id), &q.params)
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    let (next, previous) = q.links.of(&page);
    Ok(DeliveryList::Ok(Json(DeliveryPage {
        count: page.count,
        next,
        previous,
        results: page.items.into_iter().map(Into::into).collect(),
    })))
}

macro_rules! webhooks_api {
    (
        $(#[$meta:meta])*
        $name:ident,
        prefix = $prefix:tt,
        deprecated = $deprecated:tt,
        ids = [$list_id:tt, $create_id:tt, $get_id:tt, $patch_id:tt, $delete_id:tt, $rotate_id:tt, $ping_id:tt, $deliveries_id:tt]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<ApiState>);

        #[OpenApi(prefix_path = $prefix, tag = "ApiTags::Webhooks")]
        impl $name {
            /// List webhook endpoints (admin)
            #[oai(path = "/webhooks/", method = "get", operation_id = $list_id, deprecated = $deprecated)]
            async fn list(
                &self,
                key: ApiKey,
                client: Client,
                query: ListQuery,
                /// Page number, from 1 (default 1).
                #[oai(name = "page")] _page: Query<Option<String>>,
                /// Rows per page (default 50, at most 100).
                #[oai(name = "page_size")] _page_size: Query<Option<String>>,
            ) -> Result<WebhookList, ReadError> {
                list(&self.0, key.context(client), query).await
            }

            /// Add a webhook endpoint (admin)
            ///
            /// Answers the endpoint with its `secret` (`whsec_…`), shown only here: every
            /// delivery is signed with it (Standard Webhooks).
            #[oai(path = "/webhooks/", method = "post", operation_id = $create_id, deprecated = $deprecated)]
            async fn create(
                &self,
                key: ApiKey,
                client: Client,
                body: LenientBody<WebhookInput>,
            ) -> Result<WebhookCreated, CreateError> {
                create(&self.0, key.context(client), body).await
            }

            /// Read a webhook endpoint (admin)
            #[oai(path = "/webhooks/:id/", method = "get", operation_id = $get_id, deprecated = $deprecated)]
            async fn get(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
            ) -> Result<WebhookFound, ReadError> {
                get(&self.0, key.context(client), &id.0).await
            }

            /// Change a webhook endpoint (admin)
            #[oai(path = "/webhooks/:id/", method = "patch", operation_id = $patch_id, deprecated = $deprecated)]
            async fn patch(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
                body: LenientBody<WebhookPatchInput>,
            ) -> Result<WebhookFound, WriteError> {
                patch(&self.0, key.context(client), &id.0, body).await
            }

            /// Delete a webhook endpoint (admin)
            #[oai(path = "/webhooks/:id/", method = "delete", operation_id = $delete_id, deprecated = $deprecated)]
            async fn delete(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
            ) -> Result<Deleted, ReadError> {
                delete(&self.0, key.context(client), &id.0).await
            }

            /// Rotate an endpoint's secret (admin)
            ///
            /// A new `secret`; for 24 hours every delivery carries two signatures (new and
            /// previous), so the receiver can switch without missing one.
            #[oai(path = "/webhooks/:id/rotate-secret/", method = "post", operation_id = $rotate_id, deprecated = $deprecated)]
            async fn rotate(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
            ) -> Result<WebhookRotated, ReadError> {
                rotate(&self.0, key.context(client), &id.0).await
            }

            /// Send a test event (admin)
            ///
            /// Queues a `ping` event to this endpoint only.
            #[oai(path = "/webhooks/:id/ping/", method = "post", operation_id = $ping_id, deprecated = $deprecated)]
            async fn ping(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
            ) -> Result<PingQueued, ReadError> {
                ping(&self.0, key.context(client), &id.0).await
            }

            /// List an endpoint's deliveries (admin)
            #[oai(path = "/webhooks/:id/deliveries/", method = "get", operation_id = $deliveries_id, deprecated = $deprecated)]
            async fn deliveries(
                &self,
                key: ApiKey,
                client: Client,
                /// The endpoint's id.
                id: Path<String>,
                query: ListQuery,
                /// Page number, from 1 (default 1).
                #[oai(name = "page")] _page: Query<Option<String>>,
                /// Rows per page (default 50, at most 100).
                #[oai(name = "page_size")] _page_size: Query<Option<String>>,
            ) -> Result<DeliveryList, ReadError> {
                deliveries(&self.0, key.context(client), &id.0, query).await
            }
        }
    };
}

webhooks_api!(
    /// The webhook operations under `/backend/api/v1/`.
    WebhooksApi,
    prefix = "/backend/api/v1",
    deprecated = false,
    ids = ["webhooks_list", "webhooks_create", "webhooks_retrieve", "webhooks_partial_update", "webhooks_destroy", "webhooks_rotate_secret", "webhooks_ping", "webhooks_deliveries"]
);

webhooks_api!(
    /// The webhook operations under the legacy `/backend/api/` (deprecated).
    LegacyWebhooksApi,
    prefix = "/backend/api",
    deprecated = true,
    ids = ["legacy_webhooks_list", "legacy_webhooks_create", "legacy_webhooks_retrieve", "legacy_webhooks_partial_update", "legacy_webhooks_destroy", "legacy_webhooks_rotate_secret", "legacy_webhooks_ping", "legacy_webhooks_deliveries"]
);
