//! The core's fixed choices (statuses) on the wire: one generic type, so that their
//! values are written once, in the core ([`Choice`]), and the schema lists exactly them.

use std::borrow::Cow;

use exit3_core::{
    Choice, HistoryAction, LeadStatus, SubscriberStatus, domain::UnsubscribeMethod,
    events::EventType, outbox::DeliveryStatus,
};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// What the document says of a choice: its schema's name and description.
pub trait WireChoice: Choice {
    /// The schema's name in the document.
    const SCHEMA: &'static str;
    /// The schema's description.
    const DESCRIPTION: &'static str;
}

impl WireChoice for LeadStatus {
    const SCHEMA: &'static str = "LeadStatusWire";
    const DESCRIPTION: &'static str = "A lead's status.";
}

impl WireChoice for SubscriberStatus {
    const SCHEMA: &'static str = "SubscriberStatusWire";
    const DESCRIPTION: &'static str = "A subscriber's status.";
}

impl WireChoice for UnsubscribeMethod {
    const SCHEMA: &'static str = "UnsubscribeMethodWire";
    const DESCRIPTION: &'static str = "How a subscriber left: the unsubscribe page of a \
        mail's link, a mail client's one-click unsubscribe (RFC 8058), the API, or staff.";
}

impl WireChoice for EventType {
    const SCHEMA: &'static str = "EventTypeWire";
    const DESCRIPTION: &'static str = "What an event announces (capture.md §3).";
}

impl WireChoice for HistoryAction {
    const SCHEMA: &'static str = "HistoryActionWire";
    const DESCRIPTION: &'static str = "What a write did (admin.md \"History\").";
}

impl WireChoice for DeliveryStatus {
    const SCHEMA: &'static str = "DeliveryStatusWire";
    const DESCRIPTION: &'static str = "Where a delivery is: waiting for its (next) attempt, \
        delivered, failed for good, or skipped (its endpoint was deleted or disabled).";
}

/// A choice on the wire: its name as a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire<T>(pub T);

/// A lead's status on the wire.
pub type LeadStatusWire = Wire<LeadStatus>;
/// A subscriber's status on the wire.
pub type SubscriberStatusWire = Wire<SubscriberStatus>;
/// How a subscriber left, on the wire.
pub type UnsubscribeMethodWire = Wire<UnsubscribeMethod>;
/// An event type on the wire.
pub type EventTypeWire = Wire<EventType>;
/// A delivery status on the wire.
pub type DeliveryStatusWire = Wire<DeliveryStatus>;
/// A history action on the wire.
pub type HistoryActionWire = Wire<HistoryAction>;

impl<T: WireChoice> From<T> for Wire<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: WireChoice> Type for Wire<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::SCHEMA.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::SCHEMA.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(T::SCHEMA.to_owned(), |_| MetaSchema {
            description: Some(T::DESCRIPTION),
            enum_items: T::ALL
                .iter()
                .map(|v| Value::String(v.as_str().to_owned()))
                .collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<T: WireChoice> ParseFromJSON for Wire<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        match value.as_str().and_then(T::parse) {
            Some(v) => Ok(Self(v)),
            None => Err(ParseError::expected_type(value)),
        }
    }
}

impl<T: WireChoice> ToJSON for Wire<T> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.as_str().to_owned()))
    }
}

impl<T: WireChoice> Serialize for Wire<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}
