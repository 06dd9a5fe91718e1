//! `privacy/export/` and `privacy/erase/` (privacy.md §1; admin key).

use std::sync::Arc;

use exit3_core::{
    Operation, Payload, RequestContext,
    privacy::{Erased, Person, PersonData},
};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use serde_json::{Map, Value};

use super::{ApiState, ApiTags, leads::payload_or_admit};
use crate::{
    dto::{DeliveryStatusWire, HistoryEntryOut, LeadOut, SubscriberDetail, WireTime},
    errors::{CreateError, PlainError},
    extract::{ApiKey, Client, LenientBody},
};

/// The file name an export is saved as.
const EXPORT_DISPOSITION: &str = "attachment; filename=\"exit3-export.json\"";

/// Whom to erase.
#[derive(Debug, Object)]
#[oai(rename = "EraseInput")]
pub struct EraseInput {
    /// The person's address (matched as stored: mapped domain, any case).
    pub email: String,
}

/// A mail to the person.
#[derive(Debug, Object)]
#[oai(rename = "MailRecord")]
pub struct MailRecordOut {
    /// When it was queued.
    pub time: WireTime,
    /// Its subject.
    pub subject: String,
    /// `pending`, `delivered`, `failed` or `skipped`.
    pub status: DeliveryStatusWire,
}

/// Everything stored about one person.
#[derive(Debug, Object)]
#[oai(rename = "PersonExport")]
pub struct PersonExport {
    /// The address, lower-case.
    pub email: String,
    /// Every lead with the address, oldest first (with client info).
    pub leads: Vec<LeadOut>,
    /// The subscriber with the address, with its consent record; null when none.
    #[oai(nullable)]
    pub subscriber: Option<SubscriberDetail>,
    /// The change-history entries about the person (their leads, their subscriber, and
    /// changes whose values held their address), newest first.
    pub history: Vec<HistoryEntryOut>,
    /// The mails sent (or to be sent) to the address.
    pub deliveries: Vec<MailRecordOut>,
}

/// What an erasure removed.
#[derive(Debug, Object)]
#[oai(rename = "ErasedCounts")]
pub struct ErasedCounts {
    /// Leads, with their client info.
    pub leads: u64,
    /// Subscribers, with their tokens and consent record (0 or 1).
    pub subscribers: u64,
    /// Queued or finished mails and webhook calls about or to the person.
    pub deliveries: u64,
}

/// The answer of an erasure.
#[derive(Debug, Object)]
#[oai(rename = "Erased")]
pub struct ErasedBody {
    /// The counts.
    pub erased: ErasedCounts,
}

/// `GET privacy/export/`.
#[derive(Debug, ApiResponse)]
pub enum Exported {
    /// The person's data, as a file to keep (`exit3-export.json`).
    #[oai(status = 200)]
    Ok(
        Json<PersonExport>,
        /// `attachment; filename="exit3-export.json"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

/// `POST privacy/erase/`.
#[derive(Debug, ApiResponse)]
pub enum ErasedAnswer {
    /// Erased (zeros for an unknown address); `person.erased` is announced.
    #[oai(status = 200)]
    Ok(Json<ErasedBody>),
}

/// The export of `person` on the wire (the API's answer, the CLI's output).
pub fn export_body(person: &Person, data: PersonData) -> PersonExport {
    PersonExport {
        email: person.email().to_owned(),
        leads: data.leads.into_iter().map(Into::into).collect(),
        subscriber: data.subscriber.map(Into::into),
        history: data.history.into_iter().map(Into::into).collect(),
        deliveries: data
            .deliveries
            .into_iter()
            .map(|m| MailRecordOut {
                time: WireTime(m.at),
                subject: m.subject,
                status: m.status.into(),
            })
            .collect(),
    }
}

/// What an erasure removed, on the wire.
pub fn erased_body(erased: Erased) -> ErasedBody {
    ErasedBody {
        erased: ErasedCounts {
            leads: erased.leads,
            subscribers: erased.subscribers,
            deliveries: erased.deliveries,
        },
    }
}

async fn export(
    state: &ApiState,
    ctx: RequestContext,
    email: Option<String>,
) -> Result<Exported, PlainError> {
    let mut query = Map::new();
    if let Some(email) = email {
        query.insert("email".into(), Value::String(email));
    }
    let (person, data) = state
        .exit3
        .export_person(&ctx, &Payload::from(query))
        .await
        .map_err(|e| PlainError::from_core(e, state.debug))?;
    Ok(Exported::Ok(
        Json(export_body(&person, data)),
        EXPORT_DISPOSITION.to_owned(),
    ))
}

async fn erase(
    state: &ApiState,
    ctx: RequestContext,
    body: LenientBody<EraseInput>,
) -> Result<ErasedAnswer, CreateError> {
    let payload = payload_or_admit(state, &ctx, Operation::ErasePerson, body).await?;
    let erased = state
        .exit3
        .erase_person(&ctx, &payload)
        .await
        .map_err(|e| CreateError::from_core(e, state.debug))?;
    Ok(ErasedAnswer::Ok(Json(erased_body(erased))))
}

macro_rules! privacy_api {
    (
        $(#[$meta:meta])*
        $name:ident,
        prefix = $prefix:tt,
        deprecated = $deprecated:tt,
        ids = [$export_id:tt, $erase_id:tt]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<ApiState>);

        #[OpenApi(prefix_path = $prefix, tag = "ApiTags::Privacy")]
        impl $name {
            /// Export one person's data (admin)
            ///
            /// Every lead, the subscriber with its consent record, and the mails to
            /// the address (GDPR Art. 15, 20). An unknown address answers empty lists.
            #[oai(path = "/privacy/export/", method = "get", operation_id = $export_id, deprecated = $deprecated)]
            async fn export(
                &self,
                key: ApiKey,
                client: Client,
                /// The person's address (matched as stored: mapped domain, any case).
                email: Query<Option<String>>,
            ) -> Result<Exported, PlainError> {
                export(&self.0, key.context(client), email.0).await
            }

            /// Erase one person (admin)
            ///
            /// Every lead with the address (and its client info), the subscriber (its
            /// tokens and consent record), the mails and webhook calls about them and
            /// the idempotency records that hold the address, in one transaction;
            /// then `person.erased` (`{"email_sha256"}`) to the webhooks that listen
            /// (GDPR Art. 17). An unknown address answers zeros.
            #[oai(path = "/privacy/erase/", method = "post", operation_id = $erase_id, deprecated = $deprecated)]
            async fn erase(
                &self,
                key: ApiKey,
                client: Client,
                body: LenientBody<EraseInput>,
            ) -> Result<ErasedAnswer, CreateError> {
                erase(&self.0, key.context(client), body).await
            }
        }
    };
}

privacy_api!(
    /// The privacy operations under `/backend/api/v1/`.
    PrivacyApi,
    prefix = "/backend/api/v1",
    deprecated = false,
    ids = ["privacy_export", "privacy_erase"]
);

privacy_api!(
    /// The privacy operations under the legacy `/backend/api/` (deprecated).
    LegacyPrivacyApi,
    prefix = "/backend/api",
    deprecated = true,
    ids = ["legacy_privacy_export", "legacy_privacy_erase"]
);

#[cfg(test)]
mod tests {
    use exit3_core::{
        Actor, HistoryAction, HistoryObject, LeadId, SubscriberId,
        domain::{HistoryId, NewHistoryEntry},
        outbox::DeliveryStatus,
        privacy::{MailRecord, export_json},
        testing::{at, new_lead, subscribe_request},
    };
    use poem_openapi::types::ToJSON;
    use serde_json::json;

    use super::*;

    /// The core's export document (the staff site's download) is the API's answer.
    #[test]
    fn the_cores_export_document_is_the_apis() {
        let person = Person::parse(
            &Payload::from_json(json!({"email": "ada@example.com"})).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let lead = new_lead(
            json!({"full_name": "Ada", "position": "CTO", "email": "ada@example.com",
                                    "notes": "VIP", "utm_source": "x"}),
        )
        .into_lead(LeadId::new(3).unwrap_or(LeadId::MAX), at(1));
        let (subscriber, _) = subscribe_request(json!({"email": "ada@example.com"}), true)
            .create(SubscriberId::new(4).unwrap_or(SubscriberId::MAX), at(2));
        let mut entry = NewHistoryEntry::lead(
            &Actor::Staff("eve".into()),
            HistoryAction::Changed,
            &lead,
            &exit3_core::Lead {
                phone: Some("+1".into()),
                ..lead.clone()
            },
            at(3),
        )
        .unwrap_or_else(|| panic!("a change"))
        .into_entry(HistoryId::new(9).unwrap_or(HistoryId::MAX));
        let created = NewHistoryEntry::new(
            &Actor::Public,
            HistoryAction::Created,
            HistoryObject::Lead(lead.id),
            at(1),
        )
        .into_entry(HistoryId::new(8).unwrap_or(HistoryId::MAX));
        entry.redacted = false;
        let data = PersonData {
            leads: vec![lead],
            subscriber: Some(subscriber),
            deliveries: vec![MailRecord::confirmation(at(2), DeliveryStatus::Pending)],
            history: vec![entry, created],
        };
        let core = export_json(&person, &data);
        let api = export_body(&person, data).to_json().unwrap_or_default();
        assert_eq!(core, api);
    }
}
