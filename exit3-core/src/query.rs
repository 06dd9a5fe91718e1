//! List queries: pages, filters, search and orderings (§4 of the contract), with the
//! written matching and ordering rules every store must agree with.

use std::cmp;

use time::{
    Date, OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339,
    macros::format_description,
};

use crate::{
    clock::Timestamp,
    error::{Error, FieldErrors},
    lead::{Lead, LeadStatus},
    policy::Policy,
    subscriber::{Subscriber, SubscriberStatus},
};

/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size served; larger requests are cut to it, as in DRF.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Which page of a list: a page number from 1 and a page size from 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// Page `page` (from 1) of `page_size` rows (cut to 1–100).
    pub fn new(page: u32, page_size: u32) -> Result<Self, Error> {
        if page == 0 {
            return Err(Error::InvalidPage);
        }
        Ok(Self {
            page,
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
        })
    }

    /// The page number, from 1.
    pub fn page(self) -> u32 {
        self.page
    }

    /// Rows per page.
    pub fn page_size(self) -> u32 {
        self.page_size
    }

    /// Rows skipped before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    /// Reads `page` and `page_size` as DRF's `PageNumberPagination` does: a `page` that is
    /// not a positive integer is [`Error::InvalidPage`]; a `page_size` that is not a
    /// positive integer falls back to the default, a larger one is cut to 100.
    pub fn from_params(page: Option<&str>, page_size: Option<&str>) -> Result<Self, Error> {
        let page = match page.map(str::trim) {
            None | Some("") => 1,
            Some(p) => p.parse::<u32>().map_err(|_| Error::InvalidPage)?,
        };
        let size = page_size
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(DEFAULT_PAGE_SIZE, |s| {
                u32::try_from(s.min(u64::from(MAX_PAGE_SIZE))).unwrap_or(MAX_PAGE_SIZE)
            });
        Self::new(page, size)
    }
}

/// One page of a list, with the total count of matching rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows of this page, in order.
    pub items: Vec<T>,
    /// How many rows match the filter in all.
    pub count: u64,
    /// Which page this is.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Whether a later page has rows.
    pub fn has_next(&self) -> bool {
        self.request.offset() + u64::from(self.request.page_size) < self.count
    }

    /// Whether this is not the first page.
    pub fn has_previous(&self) -> bool {
        self.request.page > 1
    }

    /// Whether this page lies past the last one (page 1 of an empty list does not).
    pub fn is_past_end(&self) -> bool {
        self.request.page > 1 && self.request.offset() >= self.count
    }

    /// The same page with its rows turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            count: self.count,
            request: self.request,
        }
    }
}

/// A case-insensitive substring to look for. `%` and `_` are plain characters.
///
/// The rule, shared by every store: both sides are lower-cased with Unicode's full
/// lower-case mapping (Rust's `str::to_lowercase`; in PostgreSQL `lower()` under the ICU
/// root collation, not a libc locale, which differs on final sigma and dotted capital I)
/// and the needle must occur in the haystack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search(String);

impl Search {
    /// A search for `text` (trimmed); `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(text.to_lowercase()))
    }

    /// The lower-cased needle.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `haystack` contains the needle, case-insensitively.
    pub fn matches(&self, haystack: &str) -> bool {
        haystack.to_lowercase().contains(&self.0)
    }
}

/// Which leads a list shows. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Exact status.
    pub status: Option<LeadStatus>,
    /// Exact source.
    pub source: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// `created_at >= created_after` (inclusive).
    pub created_after: Option<Timestamp>,
    /// `created_at < created_before` (exclusive).
    pub created_before: Option<Timestamp>,
    /// In `full_name`, `company_name`, `email` or `position`.
    pub search: Option<Search>,
}

impl LeadFilter {
    /// `Some(status)` when the filter constrains the status at most (`Some(None)`: no
    /// filter at all), `None` when it constrains anything else. Stores serve these lists
    /// — the admin's usual ones — from per-status counts or indexes.
    pub fn status_only(&self) -> Option<Option<LeadStatus>> {
        // Destructured whole, so that a new filter field must be considered here.
        let Self {
            status,
            source,
            category,
            created_after,
            created_before,
            search,
        } = self;
        (source.is_none()
            && category.is_none()
            && created_after.is_none()
            && created_before.is_none()
            && search.is_none())
        .then_some(*status)
    }

    /// Whether `lead` is shown: the reference rule for every store.
    pub fn matches(&self, lead: &Lead) -> bool {
        self.status.is_none_or(|s| lead.status == s)
            && self.source.as_ref().is_none_or(|s| &lead.source == s)
            && self.category.as_ref().is_none_or(|c| &lead.category == c)
            && self.created_after.is_none_or(|t| lead.created_at >= t)
            && self.created_before.is_none_or(|t| lead.created_at < t)
            && self.search.as_ref().is_none_or(|s| {
                s.matches(&lead.full_name)
                    || s.matches(&lead.position)
                    || lead.company_name.as_deref().is_some_and(|c| s.matches(c))
                    || lead.email.as_deref().is_some_and(|e| s.matches(e))
            })
    }
}

/// Which subscribers a list shows. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberFilter {
    /// Exact status.
    pub status: Option<SubscriberStatus>,
    /// Exact source.
    pub source: Option<String>,
    /// In `email` or `full_name`.
    pub search: Option<Search>,
}

impl SubscriberFilter {
    /// Whether `subscriber` is shown: the reference rule for every store.
    pub fn matches(&self, subscriber: &Subscriber) -> bool {
        self.status.is_none_or(|s| subscriber.status == s)
            && self.source.as_ref().is_none_or(|s| &subscriber.source == s)
            && self.search.as_ref().is_none_or(|s| {
                s.matches(&subscriber.email)
                    || subscriber
                        .full_name
                        .as_deref()
                        .is_some_and(|n| s.matches(n))
            })
    }
}

/// The field a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Name, by Unicode code point (PostgreSQL's `COLLATE "C"`); a missing name sorts
    /// after every name.
    FullName,
    /// Status, by its wire name.
    Status,
}

/// A list's order: a field and a direction; ties are broken by `id` in the same
/// direction, so that pages never repeat or skip a row while the data is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ordering {
    /// What to sort by.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

impl Default for Ordering {
    /// Newest first (`-created_at`).
    fn default() -> Self {
        Self {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

impl Ordering {
    /// Every ordering, ascending and descending.
    pub const ALL: [Self; 8] = {
        use SortField::*;
        [
            Self {
                field: CreatedAt,
                descending: false,
            },
            Self {
                field: CreatedAt,
                descending: true,
            },
            Self {
                field: UpdatedAt,
                descending: false,
            },
            Self {
                field: UpdatedAt,
                descending: true,
            },
            Self {
                field: FullName,
                descending: false,
            },
            Self {
                field: FullName,
                descending: true,
            },
            Self {
                field: Status,
                descending: false,
            },
            Self {
                field: Status,
                descending: true,
            },
        ]
    };

    /// The `ordering` parameter's form: `created_at`, `-full_name`, …
    pub fn as_param(self) -> &'static str {
        use SortField::*;
        match (self.field, self.descending) {
            (CreatedAt, false) => "created_at",
            (CreatedAt, true) => "-created_at",
            (UpdatedAt, false) => "updated_at",
            (UpdatedAt, true) => "-updated_at",
            (FullName, false) => "full_name",
            (FullName, true) => "-full_name",
            (Status, false) => "status",
            (Status, true) => "-status",
        }
    }

    /// Reads the `ordering` parameter as DRF's `OrderingFilter` does: the terms are
    /// comma-separated, unknown terms are ignored; the first known term is used, and with
    /// none the default (`-created_at`) applies.
    pub fn from_param(param: &str) -> Self {
        param
            .split(',')
            .map(str::trim)
            .find_map(|term| Self::ALL.into_iter().find(|o| o.as_param() == term))
            .unwrap_or_default()
    }

    /// The reference order of leads.
    pub fn compare_leads(self, a: &Lead, b: &Lead) -> cmp::Ordering {
        let by_field = match self.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::FullName => a.full_name.cmp(&b.full_name),
            SortField::Status => a.status.as_str().cmp(b.status.as_str()),
        };
        self.direct(by_field.then(a.id.cmp(&b.id)))
    }

    /// The reference order of subscribers.
    pub fn compare_subscribers(self, a: &Subscriber, b: &Subscriber) -> cmp::Ordering {
        let by_field = match self.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::FullName => match (&a.full_name, &b.full_name) {
                (Some(x), Some(y)) => x.cmp(y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            },
            SortField::Status => a.status.as_str().cmp(b.status.as_str()),
        };
        self.direct(by_field.then(a.id.cmp(&b.id)))
    }

    fn direct(self, o: cmp::Ordering) -> cmp::Ordering {
        if self.descending { o.reverse() } else { o }
    }
}

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

/// django-filter's message for a date that cannot be read.
pub const MSG_DATETIME: &str = "Enter a valid date/time.";

fn choice_filter<T>(
    params: &QueryParams,
    errors: &mut FieldErrors,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    let value = params.get(name)?;
    let parsed = parse(value);
    if parsed.is_none() {
        errors.add(
            name,
            format!("Select a valid choice. {value} is not one of the available choices."),
        );
    }
    parsed
}

fn time_filter(params: &QueryParams, errors: &mut FieldErrors, name: &str) -> Option<Timestamp> {
    let value = params.get(name)?;
    let parsed = parse_datetime(value.trim());
    if parsed.is_none() {
        errors.add(name, MSG_DATETIME);
    }
    parsed
}

/// The `search` parameter. A NUL is refused as Django's form fields refuse it (and no
/// database can compare one); any other text is searched for literally.
fn search_filter(params: &QueryParams, errors: &mut FieldErrors) -> Option<Search> {
    let value = params.get("search")?;
    if value.contains('\0') {
        errors.add("search", crate::text::MSG_NULL_CHARACTER);
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

impl SubscriberQuery {
    /// Reads a subscriber list request, with the rules of [`LeadQuery::from_params`].
    pub fn from_params(params: &QueryParams, policy: &Policy) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let filter = SubscriberFilter {
            status: choice_filter(params, &mut errors, "status", SubscriberStatus::parse),
            source: choice_filter(params, &mut errors, "source", |s| policy.source(s)),
            search: search_filter(params, &mut errors),
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

/// The reference pagination: filter, sort and cut `rows` as every store must.
pub fn paginate<T: Clone>(
    rows: impl IntoIterator<Item = T>,
    matches: impl Fn(&T) -> bool,
    compare: impl Fn(&T, &T) -> cmp::Ordering,
    page: PageRequest,
) -> Page<T> {
    let mut hits: Vec<T> = rows.into_iter().filter(|r| matches(r)).collect();
    hits.sort_by(|a, b| compare(a, b));
    let count = hits.len() as u64;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let items = hits
        .into_iter()
        .skip(start)
        .take(page.page_size() as usize)
        .collect();
    Page {
        items,
        count,
        request: page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_filters_are_told_apart() {
        assert_eq!(LeadFilter::default().status_only(), Some(None));
        let by_status = LeadFilter {
            status: Some(LeadStatus::New),
            ..LeadFilter::default()
        };
        assert_eq!(by_status.status_only(), Some(Some(LeadStatus::New)));
        let more = LeadFilter {
            source: Some("website".into()),
            ..by_status
        };
        assert_eq!(more.status_only(), None);
    }

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams::new(pairs.iter().copied())
    }

    #[test]
    fn page_parameters_follow_drf() {
        let p = PageRequest::from_params(None, None).unwrap_or_default();
        assert_eq!((p.page(), p.page_size()), (1, 50));
        let p = PageRequest::from_params(Some("3"), Some("500")).unwrap_or_default();
        assert_eq!((p.page(), p.page_size(), p.offset()), (3, 100, 200));
        let p = PageRequest::from_params(Some("1"), Some("0")).unwrap_or_default();
        assert_eq!(p.page_size(), 50);
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(matches!(
                PageRequest::from_params(Some(bad), None),
                Err(Error::InvalidPage)
            ));
        }
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
        assert_eq!(e.get("created_after"), Some(&[MSG_DATETIME.to_owned()][..]));
        let r = SubscriberQuery::from_params(&params(&[("search", "\0")]), &Policy::default());
        assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    }

    #[test]
    fn ordering_takes_the_first_known_term() {
        assert_eq!(
            Ordering::from_param("bogus,full_name").as_param(),
            "full_name"
        );
        assert_eq!(Ordering::from_param("").as_param(), "-created_at");
        assert_eq!(Ordering::from_param("-status").as_param(), "-status");
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

    #[test]
    fn search_is_case_insensitive_and_literal() {
        let s = Search::new("ÉCOLE_%").unwrap_or_else(|| panic!("non-empty"));
        assert!(s.matches("l'école_% du coin"));
        assert!(!s.matches("l'école du coin"));
        assert_eq!(Search::new("  "), None);
    }

    #[test]
    fn pages_report_neighbours() {
        let page = paginate(
            1..=7,
            |_| true,
            |a, b| a.cmp(b),
            PageRequest::new(2, 3).unwrap_or_default(),
        );
        assert_eq!(page.items, vec![4, 5, 6]);
        assert!(page.has_next() && page.has_previous() && !page.is_past_end());
        let past = paginate(
            1..=6,
            |_| true,
            |a, b| a.cmp(b),
            PageRequest::new(3, 3).unwrap_or_default(),
        );
        assert!(past.is_past_end());
        let empty = paginate(
            0..0,
            |_| true,
            |a: &i32, b| a.cmp(b),
            PageRequest::default(),
        );
        assert!(!empty.is_past_end() && !empty.has_next());
    }
}
