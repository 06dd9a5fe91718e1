//! The records: leads and their client info, subscribers, ids, and the choices they
//! take. Inputs (`NewLead`, `LeadPatch`, `NewSubscriber`, …) can only exist valid.

mod choices;
mod client;
mod confirmation;
mod ids;
mod lead;
mod staff;
mod subscriber;
pub mod subscription;

pub use self::{
    choices::{Choice, DEFAULT_CATEGORIES, DEFAULT_SOURCES, Policy, PolicyError},
    client::{ClientInfo, Origin},
    ids::{LeadId, SubscriberId},
    lead::{Lead, LeadPatch, LeadStatus, NewLead},
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
