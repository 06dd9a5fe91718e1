//! Request bodies as they came — every field optional, JSON values untyped — and (in
//! `fields`) the DRF-compatible rules that turn one field into a typed value or a
//! field message, collecting every field's error.

mod fields;

use serde_json::{Map, Value};

pub(crate) use self::fields::{
    TextKind, TextRule, choice, optional_email, optional_text, required_email, required_text,
};
use crate::{
    error::{Error, FieldErrors, NON_FIELD_ERRORS},
    messages,
};

/// A lenient request body: a JSON object whose fields are read, coerced and checked by the
/// input types (`NewLead`, `LeadPatch`, …). Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload(Map<String, Value>);

impl Payload {
    /// An empty body (`{}`): what an empty request or one without a media type counts as.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Wraps a JSON value; anything but an object is refused as DRF refuses it.
    pub fn from_json(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            Value::Null => Err(FieldErrors::single(NON_FIELD_ERRORS, messages::NO_DATA).into()),
            other => Err(FieldErrors::single(
                NON_FIELD_ERRORS,
                messages::not_an_object(python_type(&other)),
            )
            .into()),
        }
    }

    /// A form-urlencoded body, already decoded into pairs; as with Django's `QueryDict`,
    /// the last value of a repeated name wins.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), Value::String(v.into())))
                .collect(),
        )
    }

    /// Sets one field (for building payloads in code).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// A field's text as sent (a string, or a number's decimal text), for values that are
    /// not parsed as fields (a token).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The field as sent (`None` when absent), for bodies that are not leads or
    /// subscribers.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The raw field.
    pub(crate) fn field(&self, name: &str) -> Raw<'_> {
        match self.0.get(name) {
            None => Raw::Absent,
            Some(Value::Null) => Raw::Null,
            Some(v) => Raw::Value(v),
        }
    }
}

impl From<Map<String, Value>> for Payload {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

/// The Python name of a JSON value's type, as DRF's messages name it (`list`, `str`, …).
pub(crate) fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// One field of a payload.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Absent,
    Null,
    Value(&'a Value),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn non_objects_are_refused_with_drf_text() {
        let err = Payload::from_json(json!([1])).err();
        let Some(Error::Validation(errors)) = err else {
            panic!("expected a validation error")
        };
        assert_eq!(
            errors.get(NON_FIELD_ERRORS),
            Some(&["Invalid data. Expected a dictionary, but got list.".to_owned()][..])
        );
    }
}
