//! Who the client is: the TCP peer, or — when the peer is a trusted proxy — the address
//! it forwards (§6), and whether the request came over HTTPS (TLS, or a trusted proxy's
//! `X-Forwarded-Proto: https`).

use std::net::IpAddr;

use exit3_core::TrustedProxies;
use poem::{Request, http::uri::Scheme, web::RemoteAddr};

use crate::extract::ClientAddr;

fn peer_ip(req: &Request) -> Option<IpAddr> {
    match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    }
}

/// The client of a request, for its extensions and the layers around the routes.
pub(crate) fn find(req: &Request, proxies: &TrustedProxies) -> ClientAddr {
    let peer = peer_ip(req);
    let ip = peer.map(|p| {
        proxies.client_addr(
            p,
            req.headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    });
    let via_trusted_proxy = peer.is_some_and(|p| proxies.contains(p));
    let https = *req.scheme() == Scheme::HTTPS
        || (via_trusted_proxy
            && req
                .header("x-forwarded-proto")
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    ClientAddr { ip, https }
}
