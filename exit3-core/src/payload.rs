//! Request bodies as they came — every field optional, JSON values untyped — and the
//! DRF-compatible rules that turn one field into a typed value or a field message.

use serde_json::{Map, Value};

use crate::{
    error::{Error, FieldErrors, NON_FIELD_ERRORS},
    text::{self, DisposableDomains, EmailAddress, EmailError},
};

/// Message for a required field that is absent.
pub const MSG_REQUIRED: &str = "This field is required.";
/// Message for `null` on a field that does not take it.
pub const MSG_NULL: &str = "This field may not be null.";
/// Message for an empty string on a required text field.
pub const MSG_BLANK: &str = "This field may not be blank.";
/// Message for a boolean, list or object given to a text field.
pub const MSG_NOT_STRING: &str = "Not a valid string.";

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
        let kind = match value {
            Value::Object(map) => return Ok(Self(map)),
            Value::Null => {
                return Err(FieldErrors::single(NON_FIELD_ERRORS, "No data provided").into());
            }
            Value::Array(_) => "list",
            Value::String(_) => "str",
            Value::Bool(_) => "bool",
            Value::Number(ref n) if n.is_f64() => "float",
            Value::Number(_) => "int",
        };
        Err(FieldErrors::single(
            NON_FIELD_ERRORS,
            format!("Invalid data. Expected a dictionary, but got {kind}."),
        )
        .into())
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

/// One field of a payload.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Absent,
    Null,
    Value(&'a Value),
}

/// DRF's `CharField` coercion: strings as they are, numbers as their decimal text,
/// anything else refused.
fn as_text(value: &Value) -> Result<String, &'static str> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(MSG_NOT_STRING),
    }
}

/// What a text field accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRule {
    /// Longest value in characters.
    pub max: usize,
    /// Tab and line breaks allowed (only `message`).
    pub multiline: bool,
    /// What else the value must be.
    pub kind: TextKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    Plain,
    Phone,
}

impl TextRule {
    pub(crate) const fn plain(max: usize) -> Self {
        Self {
            max,
            multiline: false,
            kind: TextKind::Plain,
        }
    }

    pub(crate) const fn of(kind: TextKind, max: usize) -> Self {
        Self {
            max,
            multiline: false,
            kind,
        }
    }

    /// Coerces, cleans and checks one present, non-null value. `Ok(None)` is a blank value.
    fn check(self, value: &Value) -> Result<Option<String>, String> {
        let raw = as_text(value)?;
        let cleaned = text::clean(&raw, self.multiline)?;
        if cleaned.is_empty() {
            return Ok(None);
        }
        if self.kind == TextKind::Phone && !text::is_phone(&cleaned) {
            return Err(text::MSG_PHONE.into());
        }
        if text::char_len(&cleaned) > self.max {
            return Err(text::too_long(self.max));
        }
        if text::has_markup(&cleaned) {
            return Err(text::MSG_HTML.into());
        }
        Ok(Some(cleaned))
    }
}

/// A required field read by `check` (`Ok(None)`: a blank value). `partial` (PATCH)
/// makes absence mean "unchanged" (`None`).
fn required<T>(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    partial: bool,
    check: impl FnOnce(&Value) -> Result<Option<T>, String>,
) -> Option<T> {
    let outcome = match payload.field(name) {
        Raw::Absent if partial => return None,
        Raw::Absent => Err(MSG_REQUIRED.to_owned()),
        Raw::Null => Err(MSG_NULL.to_owned()),
        Raw::Value(v) => check(v).and_then(|t| t.ok_or_else(|| MSG_BLANK.to_owned())),
    };
    outcome.map_err(|m| errors.add(name, m)).ok()
}

/// An optional field read by `check`: `None` when absent, `Some(None)` when null or blank
/// (blank text is stored as none), `Some(Some(value))` otherwise.
fn optional<T>(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    check: impl FnOnce(&Value) -> Result<Option<T>, String>,
) -> Option<Option<T>> {
    match payload.field(name) {
        Raw::Absent => None,
        Raw::Null => Some(None),
        Raw::Value(v) => check(v).map_err(|m| errors.add(name, m)).ok(),
    }
}

/// A required text field. `partial` (PATCH) makes absence mean "unchanged" (`None`).
pub(crate) fn required_text(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    rule: TextRule,
    partial: bool,
) -> Option<String> {
    required(payload, errors, name, partial, |v| rule.check(v))
}

/// An optional text field (see [`optional`]).
pub(crate) fn optional_text(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    rule: TextRule,
) -> Option<Option<String>> {
    optional(payload, errors, name, |v| rule.check(v))
}

/// Reads an e-mail value with the one e-mail parse; with `disposable`, an address at a
/// disposable domain is refused too (look-ups such as unsubscribe pass `None`: refusing
/// there would only tell the caller something).
fn check_email(
    value: &Value,
    disposable: Option<&DisposableDomains>,
) -> Result<Option<EmailAddress>, String> {
    let raw = as_text(value)?;
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let address = EmailAddress::parse(&raw).map_err(EmailError::message)?;
    if disposable.is_some_and(|d| d.is_disposable(address.ascii_domain())) {
        return Err(EmailError::Disposable.message());
    }
    Ok(Some(address))
}

/// A required e-mail field (see [`check_email`]).
pub(crate) fn required_email(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    disposable: Option<&DisposableDomains>,
    partial: bool,
) -> Option<EmailAddress> {
    required(payload, errors, name, partial, |v| {
        check_email(v, disposable)
    })
}

/// An optional e-mail field (see [`check_email`]).
pub(crate) fn optional_email(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    disposable: Option<&DisposableDomains>,
) -> Option<Option<EmailAddress>> {
    optional(payload, errors, name, |v| check_email(v, disposable))
}

/// A choice field: the value must be one of the choices `parse` accepts. `None` when
/// absent (or on error, recorded in `errors`).
pub(crate) fn choice<T>(
    payload: &Payload,
    errors: &mut FieldErrors,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    let value = match payload.field(name) {
        Raw::Absent => return None,
        Raw::Null => {
            errors.add(name, MSG_NULL);
            return None;
        }
        Raw::Value(v) => v,
    };
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let parsed = parse(&text);
    if parsed.is_none() {
        errors.add(name, invalid_choice(&text));
    }
    parsed
}

/// DRF's message for a value outside a field's choices.
pub fn invalid_choice(value: &str) -> String {
    format!("\"{value}\" is not a valid choice.")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(v: Value) -> Payload {
        Payload::from_json(v).unwrap_or_default()
    }

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

    #[test]
    fn numbers_become_text_and_other_types_are_refused() {
        let p = payload(json!({"a": 12, "b": 1.5, "c": true, "d": [], "e": {}}));
        let mut errors = FieldErrors::new();
        let rule = TextRule::plain(10);
        assert_eq!(
            required_text(&p, &mut errors, "a", rule, false),
            Some("12".into())
        );
        assert_eq!(
            required_text(&p, &mut errors, "b", rule, false),
            Some("1.5".into())
        );
        for f in ["c", "d", "e"] {
            assert_eq!(required_text(&p, &mut errors, f, rule, false), None);
            assert_eq!(errors.get(f), Some(&[MSG_NOT_STRING.to_owned()][..]));
        }
    }

    #[test]
    fn required_fields_report_absent_null_and_blank() {
        let p = payload(json!({"n": null, "b": "   "}));
        let mut errors = FieldErrors::new();
        let rule = TextRule::plain(10);
        for f in ["missing", "n", "b"] {
            required_text(&p, &mut errors, f, rule, false);
        }
        assert_eq!(errors.get("missing"), Some(&[MSG_REQUIRED.to_owned()][..]));
        assert_eq!(errors.get("n"), Some(&[MSG_NULL.to_owned()][..]));
        assert_eq!(errors.get("b"), Some(&[MSG_BLANK.to_owned()][..]));
        let mut errors = FieldErrors::new();
        assert_eq!(required_text(&p, &mut errors, "missing", rule, true), None);
        assert!(errors.is_empty());
    }

    #[test]
    fn optional_fields_treat_null_and_blank_as_none() {
        let p = payload(json!({"n": null, "b": " "}));
        let mut errors = FieldErrors::new();
        let rule = TextRule::plain(10);
        assert_eq!(optional_text(&p, &mut errors, "n", rule), Some(None));
        assert_eq!(optional_text(&p, &mut errors, "b", rule), Some(None));
        assert_eq!(optional_text(&p, &mut errors, "x", rule), None);
        assert!(errors.is_empty());
    }

    #[test]
    fn length_is_counted_in_characters() {
        let p = payload(json!({"ok": "é".repeat(10), "long": "é".repeat(11)}));
        let mut errors = FieldErrors::new();
        let rule = TextRule::plain(10);
        assert!(required_text(&p, &mut errors, "ok", rule, false).is_some());
        assert!(required_text(&p, &mut errors, "long", rule, false).is_none());
        assert_eq!(
            errors.get("long"),
            Some(&["Ensure this field has no more than 10 characters.".to_owned()][..])
        );
    }

    #[test]
    fn choices_report_the_value_given() {
        let p = payload(json!({"s": "bogus", "t": 3}));
        let mut errors = FieldErrors::new();
        let parse = |s: &str| (s == "ok").then_some(());
        assert_eq!(choice(&p, &mut errors, "s", parse), None);
        assert_eq!(choice(&p, &mut errors, "t", parse), None);
        assert_eq!(
            errors.get("s"),
            Some(&["\"bogus\" is not a valid choice.".to_owned()][..])
        );
        assert_eq!(
            errors.get("t"),
            Some(&["\"3\" is not a valid choice.".to_owned()][..])
        );
    }
}
