//! `newsletter/`, `newsletter/{id}/`, `newsletter/{id}/release/`, `newsletter/confirm/`
//! and `newsletter/unsubscribe/`.

use std::sync::Arc;

use exit3_core::{Operation, RequestContext, SubscribeOutcome};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, param::Query, payload::Json};

use super::{
    ApiState, ApiTags,
    leads::{Deleted, path_id, payload_or_admit},
};
use crate::{
    dto::{
        Detail, SubscribeBody, SubscriberDetail, SubscriberPage, SubscriberStatusWire,
        SubscriptionReceipt,
    },
    errors::{CaptureError, CreateError, ReadError, WriteError},
    extract::{ApiKey, Client, IdempotencyKeyHeader, LenientBody, ListQuery},
};

/// A subscription (the newsletter form).
#[derive(Debug, Object)]
#[oai(rename = "SubscribeInput")]
pub struct SubscribeInput {
    /// Required; a valid, non-disposable address; stored lower-cased.
    pub email: String,
    /// Optional; up to 255 characters.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// One of the configured sources; default `website`.
    pub source: Option<String>,
    /// Optional; the consent wording the form showed, up to 2000 characters (line breaks
    /// allowed); kept in the consent record.
    #[oai(nullable)]
    pub consent_text: Option<String>,
}

/// The fields of a subscriber an admin may change.
#[derive(Debug, Object)]
#[oai(rename = "SubscriberPatchInput")]
pub struct SubscriberPatchInput {
    /// A valid address not held by another subscriber.
    pub email: Option<String>,
    /// Up to 255 characters; null clears it.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// `pending`, `active` or `unsubscribed`.
    pub status: Option<SubscriberStatusWire>,
    /// One of the configured sources.
    pub source: Option<String>,
}

/// A confirmation, from a website that hosts its own confirmation page.
#[derive(Debug, Object)]
#[oai(rename = "ConfirmInput")]
pub struct ConfirmInput {
    /// The `token` of the confirmation link.
    pub token: String,
}

/// An unsubscribe request.
#[derive(Debug, Object)]
#[oai(rename = "UnsubscribeInput")]
pub struct UnsubscribeInput {
    /// The address to unsubscribe.
    pub email: String,
}

/// `GET newsletter/`.
#[derive(Debug, ApiResponse)]
pub enum SubscriberList {
    /// A page of subscribers.
    #[oai(status = 200)]
    Ok(Json<SubscriberPage>),
}

/// `POST newsletter/`: idempotent.
#[derive(Debug, ApiResponse)]
pub enum Subscribed {
    /// A new subscriber: `pending` and sent a confirmation mail under double opt-in,
    /// `active` without. The public key sees only `{"email", "status"}`.
    #[oai(status = 201)]
    Created(Json<SubscribeBody>),
    /// The address was known: active (unchanged), pending (another confirmation mail
    /// within the resend limits), or unsubscribed and back (pending again under double
    /// opt-in). The public key sees only `{"email", "status"}`.
    #[oai(status = 200)]
    Ok(Json<SubscribeBody>),
}

/// One subscriber.
#[derive(Debug, ApiResponse)]
pub enum SubscriberFound {
    /// The subscriber, with its consent record.
    #[oai(status = 200)]
    Ok(Json<SubscriberDetail>),
}

/// `POST newsletter/confirm/`.
#[derive(Debug, ApiResponse)]
pub enum ConfirmedAnswer {
    /// Confirmed now, or already (a used link of a subscriber who is active: a double
    /// click): `{"email", "status": "active"}`.
    #[oai(status = 200)]
    Ok(Json<SubscriptionReceipt>),
}

/// `POST newsletter/unsubscribe/`.
#[derive(Debug, ApiResponse)]
pub enum Unsubscribed {
    /// Always, known address or not:
    /// `If this address was subscribed, it is now unsubscribed.`
    #[oai(status = 200)]
    Ok(Json<Detail>),
}

async fn list(
    state: &ApiState,
    ctx: RequestContext,
    q: ListQuery,
) -> Result<SubscriberList, ReadError> {
    let page = state
        .exit3
        .list_subscribers(&ctx, &q.params)
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    let (next, previous) = q.links.of(&page);
    Ok(SubscriberList::Ok(Json(SubscriberPage {
        count: page.count,
        next,
        previous,
        results: page.items.into_iter().map(Into::into).collect(),
    })))
}

async fn subscribe(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<SubscribeInput>,
) -> Result<Subscribed, CaptureError> {
    let payload = payload_or_admit(state, &ctx, Operation::Subscribe, body).await?;
    let done = state
        .exit3
        .subscribe(&ctx, &payload)
        .await
        .map_err(|e| CaptureError::from_core(e, state.debug))?;
    let body = Json(SubscribeBody::from(done.view));
    Ok(match done.outcome {
        SubscribeOutcome::Created => Subscribed::Created(body),
        _ => Subscribed::Ok(body),
    })
}

async fn get(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
) -> Result<SubscriberFound, ReadError> {
    let s = state
        .exit3
        .get_subscriber(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(SubscriberFound::Ok(Json(s.into())))
}

async fn patch(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
    body: LenientBody<SubscriberPatchInput>,
) -> Result<SubscriberFound, WriteError> {
    let payload = payload_or_admit(state, &ctx, Operation::UpdateSubscriber, body).await?;
    let s = state
        .exit3
        .patch_subscriber(&ctx, path_id(id), &payload)
        .await
        .map_err(|e| WriteError::from_core(e, state.debug))?;
    Ok(SubscriberFound::Ok(Json(s.into())))
}

async fn delete(state: &ApiState, ctx: RequestContext, id: &str) -> Result<Deleted, ReadError> {
    state
        .exit3
        .delete_subscriber(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(Deleted::NoContent)
}

async fn release(
    state: &ApiState,
    ctx: RequestContext,
    id: &str,
) -> Result<SubscriberFound, ReadError> {
    let s = state
        .exit3
        .release_subscriber(&ctx, path_id(id))
        .await
        .map_err(|e| ReadError::from_core(e, state.debug))?;
    Ok(SubscriberFound::Ok(Json(s.into())))
}

async fn confirm(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<ConfirmInput>,
) -> Result<ConfirmedAnswer, CreateError> {
    let payload = payload_or_admit(state, &ctx, Operation::ConfirmSubscription, body).await?;
    let done = state
        .exit3
        .confirm_subscription(&ctx, &payload)
        .await
        .map_err(|e| CreateError::from_core(e, state.debug))?;
    Ok(ConfirmedAnswer::Ok(Json(SubscriptionReceipt {
        email: done.subscriber.email,
        status: done.subscriber.status.into(),
    })))
}

async fn unsubscribe(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<UnsubscribeInput>,
) -> Result<Unsubscribed, CreateError> {
    let payload = payload_or_admit(state, &ctx, Operation::Unsubscribe, body).await?;
    let text = state
        .exit3
        .unsubscribe(&ctx, &payload)
        .await
        .map_err(|e| CreateError::from_core(e, state.debug))?;
    Ok(Unsubscribed::Ok(Json(Detail::new(text))))
}

macro_rules! newsletter_api {
    (
        $(#[$meta:meta])*
        $name:ident,
        prefix = $prefix:tt,
        deprecated = $deprecated:tt,
        ids = [$list_id:tt, $create_id:tt, $get_id:tt, $patch_id:tt, $delete_id:tt, $unsub_id:tt, $confirm_id:tt,
               $release_id:tt]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<ApiState>);

        #[OpenApi(prefix_path = $prefix, tag = "ApiTags::Newsletter")]
        impl $name {
            /// List subscribers (admin)
            ///
            /// A page of subscribers, filtered, searched and ordered.
            #[oai(path = "/newsletter/", method = "get", operation_id = $list_id, deprecated = $deprecated)]
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
                /// Exact status: `pending`, `active`, `unsubscribed`.
                #[oai(name = "status")] _status: Query<Option<String>>,
                /// Exact source (one of the configured sources).
                #[oai(name = "source")] _source: Query<Option<String>>,
                /// Case-insensitive substring of `email`, `full_name`.
                #[oai(name = "search")] _search: Query<Option<String>>,
                /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`,
                /// `full_name`, `-full_name`, `status`, `-status`.
                #[oai(name = "ordering")] _ordering: Query<Option<String>>,
                /// Quarantined subscribers (capture.md §1) are left out unless `true`
                /// (only them) or `all`.
                #[oai(name = "quarantined")] _quarantined: Query<Option<String>>,
            ) -> Result<SubscriberList, ReadError> {
                list(&self.0, key.context(client), query).await
            }

            /// Subscribe (admin, public)
            ///
            /// The newsletter form; idempotent: 201 for a new address, 200 for a known
            /// one. Under double opt-in a new (or returning) address is `pending` until
            /// the link of its confirmation mail is followed (consent.md). With an
            /// `Idempotency-Key`, a retry gets the first answer again (capture.md §2).
            #[oai(path = "/newsletter/", method = "post", operation_id = $create_id, deprecated = $deprecated)]
            async fn subscribe(
                &self,
                key: ApiKey,
                client: Client,
                #[oai(name = "Idempotency-Key")] _idempotency_key: IdempotencyKeyHeader,
                body: LenientBody<SubscribeInput>,
            ) -> Result<Subscribed, CaptureError> {
                subscribe(&self.0, key.context(client), body).await
            }

            /// Read a subscriber (admin)
            #[oai(path = "/newsletter/:id/", method = "get", operation_id = $get_id, deprecated = $deprecated)]
            async fn get(
                &self,
                key: ApiKey,
                client: Client,
                /// The subscriber's id.
                id: Path<String>,
            ) -> Result<SubscriberFound, ReadError> {
                get(&self.0, key.context(client), &id.0).await
            }

            /// Update a subscriber (admin)
            #[oai(path = "/newsletter/:id/", method = "patch", operation_id = $patch_id, deprecated = $deprecated)]
            async fn patch(
                &self,
                key: ApiKey,
                client: Client,
                /// The subscriber's id.
                id: Path<String>,
                body: LenientBody<SubscriberPatchInput>,
            ) -> Result<SubscriberFound, WriteError> {
                patch(&self.0, key.context(client), &id.0, body).await
            }

            /// Delete a subscriber (admin)
            #[oai(path = "/newsletter/:id/", method = "delete", operation_id = $delete_id, deprecated = $deprecated)]
            async fn delete(
                &self,
                key: ApiKey,
                client: Client,
                /// The subscriber's id.
                id: Path<String>,
            ) -> Result<Deleted, ReadError> {
                delete(&self.0, key.context(client), &id.0).await
            }

            /// Release a quarantined subscriber (admin)
            ///
            /// Clears its quarantine, then sends what acceptance would have sent (the
            /// confirmation mail of a pending one, `subscriber.confirmed` of an active
            /// one). A subscriber that is not quarantined is answered as it is.
            #[oai(path = "/newsletter/:id/release/", method = "post", operation_id = $release_id, deprecated = $deprecated)]
            async fn release(
                &self,
                key: ApiKey,
                client: Client,
                /// The subscriber's id.
                id: Path<String>,
            ) -> Result<SubscriberFound, ReadError> {
                release(&self.0, key.context(client), &id.0).await
            }

            /// Confirm a subscription (admin, public)
            ///
            /// For a website that hosts its own confirmation page
            /// (`NEWSLETTER_CONFIRM_URL`): the `token` of the link. An unknown, expired or
            /// used token is 400 `{"token": ["This link is invalid or has expired."]}`.
            #[oai(path = "/newsletter/confirm/", method = "post", operation_id = $confirm_id, deprecated = $deprecated)]
            async fn confirm(
                &self,
                key: ApiKey,
                client: Client,
                body: LenientBody<ConfirmInput>,
            ) -> Result<ConfirmedAnswer, CreateError> {
                confirm(&self.0, key.context(client), body).await
            }

            /// Unsubscribe (admin, public)
            ///
            /// Always 200 with the same text, whether or not the address was known.
            #[oai(path = "/newsletter/unsubscribe/", method = "post", operation_id = $unsub_id, deprecated = $deprecated)]
            async fn unsubscribe(
                &self,
                key: ApiKey,
                client: Client,
                body: LenientBody<UnsubscribeInput>,
            ) -> Result<Unsubscribed, CreateError> {
                unsubscribe(&self.0, key.context(client), body).await
            }
        }
    };
}

newsletter_api!(
    /// The newsletter operations under `/backend/api/v1/`.
    NewsletterApi,
    prefix = "/backend/api/v1",
    deprecated = false,
    ids = ["newsletter_list", "newsletter_create", "newsletter_retrieve", "newsletter_partial_update", "newsletter_destroy", "newsletter_unsubscribe", "newsletter_confirm",
           "newsletter_release"]
);

newsletter_api!(
    /// The newsletter operations under the legacy `/backend/api/` (deprecated).
    LegacyNewsletterApi,
    prefix = "/backend/api",
    deprecated = true,
    ids = ["legacy_newsletter_list", "legacy_newsletter_create", "legacy_newsletter_retrieve", "legacy_newsletter_partial_update", "legacy_newsletter_destroy", "legacy_newsletter_unsubscribe", "legacy_newsletter_confirm",
           "legacy_newsletter_release"]
);
