//! A submitted form: its `application/x-www-form-urlencoded` pairs, as sent.

use exit3_core::Payload;

/// The largest form body read (a lead's fields, notes included, fit many times over).
pub(crate) const MAX_FORM_BYTES: usize = 256 * 1024;

/// The name of every form's CSRF token field (Django's).
pub(crate) const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// The pairs of a form body.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Reads `body`; `None` when it is too large.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        (body.len() <= MAX_FORM_BYTES).then(|| {
            Self(
                form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            )
        })
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (ticked boxes).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The fields `names` as an API payload: the service parses them as it parses the
    /// API's bodies, so the site says what the API says.
    pub(crate) fn payload(&self, names: &[&str]) -> Payload {
        Payload::from_pairs(
            names
                .iter()
                .filter_map(|n| self.get(n).map(|v| (*n, v.to_owned()))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_every_value_and_refuse_huge_bodies() {
        let form = Form::parse(b"a=1&ids=3&ids=4&note=x%26y+z").expect("parsed");
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.all("ids").collect::<Vec<_>>(), ["3", "4"]);
        assert_eq!(form.get("note"), Some("x&y z"));
        assert_eq!(form.get("nope"), None);
        assert!(Form::parse(&vec![b'a'; MAX_FORM_BYTES + 1]).is_none());
    }
}
