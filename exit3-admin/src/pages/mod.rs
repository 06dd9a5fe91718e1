//! The pages, one module per page group. Each handler: who is signed in, one or a few
//! service calls, a template.

pub(crate) mod bulk;
pub(crate) mod dashboard;
pub(crate) mod export;
pub(crate) mod history;
pub(crate) mod lead;
pub(crate) mod leads;
pub(crate) mod login;
pub(crate) mod privacy;
pub(crate) mod quarantine;
pub(crate) mod staff;
pub(crate) mod subscribers;
pub(crate) mod webhooks;

use exit3_core::{Lead, Timestamp};
use time::{format_description::BorrowedFormatItem, macros::format_description};

const WHEN: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// A time as staff read it: to the minute, in UTC.
pub(crate) fn when(t: Timestamp) -> String {
    t.format(WHEN).unwrap_or_default()
}

/// A lead as a row of a list.
#[derive(Debug, Clone)]
pub(crate) struct LeadRow {
    pub(crate) id: i64,
    /// `Name (Company)`.
    pub(crate) title: String,
    pub(crate) email: String,
    pub(crate) status: &'static str,
    pub(crate) source: String,
    pub(crate) category: String,
    pub(crate) created: String,
    pub(crate) quarantined: bool,
}

impl From<&Lead> for LeadRow {
    fn from(lead: &Lead) -> Self {
        Self {
            id: lead.id.get(),
            title: lead.to_string(),
            email: lead.email.clone().unwrap_or_default(),
            status: lead.status.as_str(),
            source: lead.source.clone(),
            category: lead.category.clone(),
            created: when(lead.created_at),
            quarantined: lead.quarantine.is_some(),
        }
    }
}

/// The non-empty pairs of the request's query string whose names are in `names` (a
/// list page's filters), in order.
pub(crate) fn list_pairs(query: Option<&str>, names: &[&str]) -> Vec<(String, String)> {
    query_pairs(query)
        .into_iter()
        .filter(|(k, v)| names.contains(&k.as_str()) && !v.is_empty())
        .collect()
}

/// The last value of `name` among `pairs`.
pub(crate) fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A query string's pairs.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `pairs` as a query string (without `?`).
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
