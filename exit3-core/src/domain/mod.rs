//! The records: leads and their client info, subscribers, staff users, the change
//! history, ids, and the choices they take. Inputs (`NewLead`, `LeadPatch`, `NewSubscriber`, …) can only exist valid.

mod choices;
mod client;
mod confirmation;
pub mod history;
mod ids;
mod lead;
mod lead_patch;
mod staff;
mod subscriber;
pub mod subscription;

pub use self::{
    choices::{Choice, DEFAULT_CATEGORIES, DEFAULT_SOURCES, Policy, PolicyError},
    client::{ClientInfo, Origin},
    history::{
        Actor, FieldChange, HistoryAction, HistoryEntry, HistoryFilter, HistoryId, HistoryObject,
        NewHistoryEntry,
    },
    ids::{LeadId, SubscriberId},
    lead::{Lead, LeadStatus, NOTES_MAX, NewLead},
    lead_patch::LeadPatch,
    staff::{NewStaffUser, StaffId, StaffPatch, StaffRole, StaffUser, USERNAME_MAX, Username},
    subscriber::{
        CONSENT_TEXT_MAX, NewSubscriber, SubscribeOutcome, Subscriber, SubscriberPatch,
        SubscriberStatus, Unsubscribe, set_status,
    },
    subscription::{
        ConfirmDecision, Consent, RequestFacts, SubscribeEffect, SubscribeRequest, TokenRecord,
        UnsubscribeMethod,
    },
};
