//! One field of a payload: coercion (DRF's `CharField`), cleaning, the text and e-mail
//! rules, choices — every failure recorded as the field's message.

use serde_json::Value;

use super::{Payload, Raw};
use crate::{
    error::FieldErrors,
    messages,
    text::{self, DisposableDomains, EmailAddress, EmailError},
};

/// DRF's `CharField` coercion: strings as they are, numbers as their decimal text,
/// anything else refused.
fn as_text(value: &Value) -> Result<String, &'static str> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(messages::NOT_STRING),
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

    /// Text with tab and line breaks allowed.
    pub(crate) const fn multiline(max: usize) -> Self {
        Self {
            max,
            multiline: true,
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
            return Err(messages::PHONE.into());
        }
        if text::char_len(&cleaned) > self.max {
            return Err(messages::too_long(self.max));
        }
        if text::has_markup(&cleaned) {
            return Err(messages::HTML.into());
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
        Raw::Absent => Err(messages::REQUIRED.to_owned()),
        Raw::Null => Err(messages::NULL.to_owned()),
        Raw::Value(v) => check(v).and_then(|t| t.ok_or_else(|| messages::BLANK.to_owned())),
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
            errors.add(name, messages::NULL);
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
        errors.add(name, messages::invalid_choice(&text));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(v: Value) -> Payload {
        Payload::from_json(v).unwrap_or_default()
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
            assert_eq!(errors.get(f), Some(&[messages::NOT_STRING.to_owned()][..]));
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
        assert_eq!(
            errors.get("missing"),
            Some(&[messages::REQUIRED.to_owned()][..])
        );
        assert_eq!(errors.get("n"), Some(&[messages::NULL.to_owned()][..]));
        assert_eq!(errors.get("b"), Some(&[messages::BLANK.to_owned()][..]));
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
