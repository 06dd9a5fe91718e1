//! The links of a page.

use exit3_core::Page;

/// Links of a page: absolute, keeping every other query parameter, page 1 without `page`.
#[derive(Debug, Clone)]
pub struct PageLinks {
    /// `scheme://host/path/` of the list.
    pub base: String,
    /// The request's decoded query pairs.
    pub query: Vec<(String, String)>,
}

impl PageLinks {
    fn link(&self, page: u32) -> String {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        let mut wrote_page = false;
        for (k, v) in &self.query {
            if k == "page" {
                if !wrote_page && page > 1 {
                    pairs.append_pair("page", &page.to_string());
                }
                wrote_page = true;
                continue;
            }
            pairs.append_pair(k, v);
        }
        if !wrote_page && page > 1 {
            pairs.append_pair("page", &page.to_string());
        }
        let query = pairs.finish();
        if query.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{query}", self.base)
        }
    }

    /// `(next, previous)` for `page`.
    pub fn of<T>(&self, page: &Page<T>) -> (Option<String>, Option<String>) {
        let n = page.request.page();
        let next = page.has_next().then(|| self.link(n.saturating_add(1)));
        let previous = page.has_previous().then(|| self.link(n - 1));
        (next, previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_other_parameters_and_drop_page_one() {
        let links = PageLinks {
            base: "http://h/backend/api/v1/leads/".into(),
            query: vec![
                ("status".into(), "new".into()),
                ("page".into(), "2".into()),
                ("search".into(), "a b&c".into()),
            ],
        };
        assert_eq!(
            links.link(1),
            "http://h/backend/api/v1/leads/?status=new&search=a+b%26c"
        );
        assert_eq!(
            links.link(3),
            "http://h/backend/api/v1/leads/?status=new&page=3&search=a+b%26c"
        );
        let bare = PageLinks {
            base: "http://h/x/".into(),
            query: vec![],
        };
        assert_eq!(bare.link(1), "http://h/x/");
        assert_eq!(bare.link(2), "http://h/x/?page=2");
    }
}
