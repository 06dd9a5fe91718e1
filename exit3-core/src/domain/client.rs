//! Where a request came from (`Origin`, as a frontend saw it) and what a lead keeps of
//! it (`ClientInfo`).

use std::net::IpAddr;

/// Who sent a lead, captured from the request at creation and never changed after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client address (see `TrustedProxies` for the proxy rule).
    pub ip_address: Option<IpAddr>,
    /// The `User-Agent` header, cut to 512 characters.
    pub user_agent: Option<String>,
    /// The `Referer` header, cut to 512 characters.
    pub referrer: Option<String>,
    /// `utm_source` of the create body.
    pub utm_source: Option<String>,
    /// `utm_medium` of the create body.
    pub utm_medium: Option<String>,
    /// `utm_campaign` of the create body.
    pub utm_campaign: Option<String>,
}

/// Where a request came from, as the frontend saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The raw `User-Agent` header.
    pub user_agent: Option<String>,
    /// The raw `Referer` header.
    pub referrer: Option<String>,
}
