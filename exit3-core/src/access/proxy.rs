//! The client-address rule of §6: who the client is when trusted proxies stand between.

use std::{net::IpAddr, str::FromStr};

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `TRUSTED_PROXIES` that is neither an IP address nor a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trusted proxy {0:?}: expected an IP address or a CIDR such as 10.0.0.0/8")]
pub struct ProxyError(pub String);

impl FromStr for TrustedProxies {
    type Err = ProxyError;

    /// A comma-separated list of IPs and CIDRs; blanks are skipped.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ProxyError(p.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    /// No trusted proxy: the TCP peer is always the client.
    pub fn none() -> Self {
        Self::default()
    }

    /// Proxies from networks.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self(nets.into_iter().collect())
    }

    /// Whether every address is trusted (`0.0.0.0/0` or `::/0`): then any client can
    /// choose its own address with `X-Forwarded-For`.
    pub fn trusts_everyone(&self) -> bool {
        self.0.iter().any(|net| net.prefix_len() == 0)
    }

    /// Whether `addr` is a trusted proxy (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client: the TCP `peer`, unless the peer is a trusted proxy; then the right-most
    /// address of `X-Forwarded-For` (all its headers, in order) that is not itself
    /// trusted. When every hop is trusted, the left-most one; an entry that is not an
    /// address ends the walk there (everything left of it is unverifiable), falling back
    /// to the last trusted hop seen.
    pub fn client_addr<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(addr) = parse_hop(hop) else {
                return client;
            };
            client = addr;
            if !self.contains(addr) {
                return addr;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, optionally bracketed or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(a) = hop.parse::<IpAddr>() {
        return Some(a.to_canonical());
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    fn proxies(s: &str) -> TrustedProxies {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let p = proxies("127.0.0.1");
        assert_eq!(
            p.client_addr(ip("203.0.113.5"), ["1.2.3.4"]),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let p = proxies("127.0.0.1, 10.0.0.0/8");
        let peer = ip("127.0.0.1");
        assert_eq!(
            p.client_addr(peer, ["6.6.6.6, 198.51.100.7, 10.1.1.1"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            p.client_addr(peer, ["6.6.6.6", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(p.client_addr(peer, ["10.2.2.2, 10.1.1.1"]), ip("10.2.2.2"));
        assert_eq!(p.client_addr(peer, Vec::<&str>::new()), peer);
        assert_eq!(p.client_addr(peer, ["garbage, 10.1.1.1"]), ip("10.1.1.1"));
        assert_eq!(
            p.client_addr(peer, ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert_eq!(
            "10.0.0.0/8, nope".parse::<TrustedProxies>(),
            Err(ProxyError("nope".into()))
        );
        assert!(
            // A dual-stack listener's IPv4-mapped peer counts as its IPv4 address.
            proxies("127.0.0.1").contains(ip("::ffff:127.0.0.1"))
        );
    }
}
