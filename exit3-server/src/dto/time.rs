//! Timestamps on the wire.

use std::borrow::Cow;

use exit3_core::Timestamp;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A timestamp on the wire: RFC 3339 in UTC with exactly six fractional digits and `Z`
/// (`2025-12-31T12:34:56.123456Z`), whatever the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireTime(pub Timestamp);

impl WireTime {
    /// The contract's text form.
    pub fn format(at: Timestamp) -> String {
        exit3_core::clock::to_rfc3339_micros(at)
    }
}

impl Type for WireTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
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

impl ParseFromJSON for WireTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => exit3_core::query::parse_datetime(&s)
                .map(WireTime)
                .ok_or_else(|| ParseError::custom("Enter a valid date/time.")),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for WireTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(Self::format(self.0)))
    }
}

impl Serialize for WireTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Self::format(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_always_have_six_fractional_digits() {
        let t = time::macros::datetime!(2025-12-31 12:34:56 UTC);
        assert_eq!(WireTime::format(t), "2025-12-31T12:34:56.000000Z");
        let t = time::macros::datetime!(2025-01-02 03:04:05.1234567 +02:00);
        assert_eq!(WireTime::format(t), "2025-01-02T01:04:05.123456Z");
    }
}
