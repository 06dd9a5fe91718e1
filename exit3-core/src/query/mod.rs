//! List queries: pages, filters, search and orderings (§4 of the contract), with the
//! written matching and ordering rules every store must agree with.

mod filter;
mod ordering;
mod page;
mod params;

pub use self::{
    filter::{LeadFilter, QuarantineFilter, Search, SubscriberFilter},
    ordering::{Ordering, SortField},
    page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest, paginate},
    params::{HistoryQuery, LeadQuery, QueryParams, SubscriberQuery, parse_datetime},
};
