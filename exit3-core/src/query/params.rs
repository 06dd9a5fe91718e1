//! Reading a list request's query parameters into a query: every failing filter at once,
//! in django-filter's words.

use time::{
    Date, OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339,
    macros::format_description,
};

use super::{LeadFilter, Ordering, PageRequest, QuarantineFilter, Search, SubscriberFilter};
use crate::{
    clock::Timestamp,
    domain::{Actor, HistoryFilter, HistoryObject, LeadStatus, Policy, SubscriberStatus},
    error::{Error, FieldErrors},
    messages,
};

/// A parsed lead list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadQuery {
    /// Which leads.
    pub filter: LeadFilter,
    /// In which order.
    pub ordering: Ordering,
    /// Which page.
    pub page: PageRequest,
}

/// A parsed subscriber list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberQuery {
    /// Which subscribers.
    pub filter: SubscriberFilter,
    /// In which order.
    pub ordering: Ordering,
    /// Which page.
    pub page: PageRequest,
}

/// The query parameters of a list request, decoded; the last value of a repeated name
/// wins and empty values count as absent, as in Django.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decoded `(name, value)` pairs in request order.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The last non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in request order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

fn choice_filter<T>(
    params: &QueryParams,
    errors: &mut FieldErrors,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    let value = params.get(name)?;
    let parsed = parse(value);
    if parsed.is_none() {
        errors.add(name, messages::invalid_filter_choice(value));
    }
    parsed
}

fn time_filter(params: &QueryParams, errors: &mut FieldErrors, name: &str) -> Option<Timestamp> {
    let value = params.get(name)?;
    let parsed = parse_datetime(value.trim());
    if parsed.is_none() {
        errors.add(name, messages::DATETIME);
    }
    parsed
}

/// The `search` parameter. A NUL is refused as Django's form fields refuse it (and no
/// database can compare one); any other text is searched for literally.
fn search_filter(params: &QueryParams, errors: &mut FieldErrors) -> Option<Search> {
    let value = params.get("search")?;
    if value.contains('\0') {
        errors.add("search", messages::NULL_CHARACTER);
        return None;
    }
    Search::new(value)
}

/// Reads an RFC 3339 date-time (any offset, converted to UTC), a date-time without
/// offset (taken as UTC) or a bare date (its midnight, UTC), in the years 1 to 9999 (as
/// Python's `datetime`, so as Django; every store can compare those).
pub fn parse_datetime(value: &str) -> Option<Timestamp> {
    parse_any_datetime(value).filter(|t| (1..=9999).contains(&t.year()))
}

fn parse_any_datetime(value: &str) -> Option<Timestamp> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(crate::clock::truncate_to_micros(
            t.to_offset(time::UtcOffset::UTC),
        ));
    }
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T][ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(value, &naive) {
        return Some(crate::clock::truncate_to_micros(t.assume_utc()));
    }
    let date = format_description!("[year]-[month]-[day]");
    Date::parse(value, &date)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

impl LeadQuery {
    /// Reads a lead list request. Unknown filter values answer every failing filter at
    /// once; a bad page number answers [`Error::InvalidPage`]. Unknown names are ignored.
    pub fn from_params(params: &QueryParams, policy: &Policy) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let filter = LeadFilter {
            status: choice_filter(params, &mut errors, "status", LeadStatus::parse),
            source: choice_filter(params, &mut errors, "source", |s| policy.source(s)),
            category: choice_filter(params, &mut errors, "category", |s| policy.category(s)),
            created_after: time_filter(params, &mut errors, "created_after"),
            created_before: time_filter(params, &mut errors, "created_before"),
            search: search_filter(params, &mut errors),
            quarantined: choice_filter(params, &mut errors, "quarantined", QuarantineFilter::parse)
                .unwrap_or_default(),
        };
        let query = errors.into_result(filter)?;
        Ok(Self {
            filter: query,
            ordering: params
                .get("ordering")
                .map(Ordering::from_param)
                .unwrap_or_default(),
            page: PageRequest::from_params(params.get("page"), params.get("page_size"))?,
        })
    }
}

/// A parsed history list request: `actor` (`staff:<username>`, `api:admin:<fingerprint>`,
/// `api:public`, `system`), `object` (`lead:<id>`, `subscriber:<id>`, `person`), pages.
/// Always newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Which entries.
    pub filter: HistoryFilter,
    /// Which page.
    pub page: PageRequest,
}

impl HistoryQuery {
    /// Reads a history list request, with the rules of [`LeadQuery::from_params`]: a
    /// value that names no actor or object is a field error.
    pub fn from_params(params: &QueryParams) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let filter = HistoryFilter {
            actor: choice_filter(params, &mut errors, "actor", Actor::parse),
            object: choice_filter(params, &mut errors, "object", HistoryObject::parse),
        };
        let filter = errors.into_result(filter)?;
        Ok(Self {
            filter,
            page: PageRequest::from_params(params.get("page"), params.get("page_size"))?,
        })
    }
}

impl SubscriberQuery {
    /// Reads a subscriber list request, with the rules of [`LeadQuery::from_params`].
    pub fn from_params(params: &QueryParams, policy: &Policy) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let filter = SubscriberFilter {
            status: choice_filter(params, &mut errors, "status", SubscriberStatus::parse),
            source: choice_filter(params, &mut errors, "source", |s| policy.source(s)),
            search: search_filter(params, &mut errors),
            quarantined: choice_filter(params, &mut errors, "quarantined", QuarantineFilter::parse)
                .unwrap_or_default(),
        };
        let filter = errors.into_result(filter)?;
        Ok(Self {
            filter,
            ordering: params
                .get("ordering")
                .map(Ordering::from_param)
                .unwrap_or_default(),
            page: PageRequest::from_params(params.get("page"), params.get("page_size"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams::new(pairs.iter().copied())
    }

    #[test]
    fn unknown_filter_values_are_reported_together() {
        let r = LeadQuery::from_params(
            &params(&[
                ("status", "bogus"),
                ("category", "x"),
                ("created_after", "soon"),
            ]),
            &Policy::default(),
        );
        let Err(Error::Validation(e)) = r else {
            panic!("expected errors")
        };
        assert_eq!(
            e.get("status"),
            Some(
                &["Select a valid choice. bogus is not one of the available choices.".to_owned()][..]
            )
        );
        assert_eq!(e.iter().count(), 3);
    }

    #[test]
    fn searches_with_a_nul_and_dates_out_of_range_are_field_errors() {
        let r = LeadQuery::from_params(
            &params(&[("search", "a\0b"), ("created_after", "-9999-01-01")]),
            &Policy::default(),
        );
        let Err(Error::Validation(e)) = r else {
            panic!("expected errors, got {r:?}")
        };
        assert_eq!(
            e.get("search"),
            Some(&["Null characters are not allowed.".to_owned()][..])
        );
        assert_eq!(
            e.get("created_after"),
            Some(&[messages::DATETIME.to_owned()][..])
        );
        let r = SubscriberQuery::from_params(&params(&[("search", "\0")]), &Policy::default());
        assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    }

    #[test]
    fn history_filters_name_an_actor_and_an_object_or_are_field_errors() {
        let q = HistoryQuery::from_params(&params(&[("actor", "staff:ada"), ("object", "lead:4")]));
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.filter.actor, Some(Actor::Staff("ada".into())));
        assert_eq!(
            q.filter.object.map(|o| o.to_string()).as_deref(),
            Some("lead:4")
        );
        let r = HistoryQuery::from_params(&params(&[("actor", "root"), ("object", "lead:-1")]));
        let Err(Error::Validation(e)) = r else {
            panic!("expected errors, got {r:?}")
        };
        assert_eq!(e.iter().count(), 2);
    }

    #[test]
    fn dates_and_date_times_are_read_as_utc() {
        let d = parse_datetime("2025-02-03");
        assert_eq!(d, Some(time::macros::datetime!(2025-02-03 00:00 UTC)));
        let t = parse_datetime("2025-02-03T10:00:00+02:00");
        assert_eq!(t, Some(time::macros::datetime!(2025-02-03 08:00 UTC)));
        let n = parse_datetime("2025-02-03T10:00:00.5");
        assert_eq!(n, Some(time::macros::datetime!(2025-02-03 10:00:00.5 UTC)));
        assert_eq!(parse_datetime("yesterday"), None);
        for out_of_range in ["-9999-01-01", "0000-12-31", "-0001-01-01T00:00:00Z"] {
            assert_eq!(parse_datetime(out_of_range), None, "{out_of_range}");
        }
        assert!(parse_datetime("0001-01-01").is_some());
        assert!(parse_datetime("9999-12-31T23:59:59Z").is_some());
    }
}
