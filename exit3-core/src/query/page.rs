//! Pages: which page of a list a request asks for (DRF's `PageNumberPagination`), one
//! page with its count, and the reference pagination every store must agree with.

use std::cmp;

use crate::error::Error;

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
    fn page_parameters_follow_drf() {
        let p = PageRequest::from_params(None, None).expect("no parameters is page 1");
        assert_eq!((p.page(), p.page_size()), (1, 50));
        let p = PageRequest::from_params(Some("3"), Some("500")).expect("a valid page");
        assert_eq!((p.page(), p.page_size(), p.offset()), (3, 100, 200));
        let p = PageRequest::from_params(Some("1"), Some("0")).expect("a valid page");
        assert_eq!(p.page_size(), 50);
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(matches!(
                PageRequest::from_params(Some(bad), None),
                Err(Error::InvalidPage)
            ));
        }
    }

    #[test]
    fn pages_report_neighbours() {
        let page = paginate(
            1..=7,
            |_| true,
            |a, b| a.cmp(b),
            PageRequest::new(2, 3).expect("page 2"),
        );
        assert_eq!(page.items, vec![4, 5, 6]);
        assert!(page.has_next() && page.has_previous() && !page.is_past_end());
        let past = paginate(
            1..=6,
            |_| true,
            |a, b| a.cmp(b),
            PageRequest::new(3, 3).expect("page 3"),
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
