//! The client's address. Without trusted proxies it is the TCP peer. Behind trusted proxies
//! (`server.trustedProxies`: the ingress controller, a load balancer) it is the rightmost
//! address of `X-Forwarded-For` that is not a trusted proxy: each proxy appends the address it
//! received the request from, so entries to the right of the first untrusted one were written
//! by our own proxies and entries to its left are the client's to forge.

use airlock_schema::types::{CidrError, IpCidr};
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

const FORWARDED_FOR: &str = "x-forwarded-for";
/// The most trusted hops walked: no real chain of proxies is longer, and a client must not make
/// the gateway parse thousands of entries it padded the header with.
const MAX_HOPS: usize = 16;

/// The address as text (`10.1.2.3`, `::1`), as the policy input, the log line and the audit
/// event carry it. IPv4, the common case, is written digit by digit: every request writes it
/// three times, and the formatter costs more than the rest of the log line's fields.
pub fn text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[derive(Default)]
pub struct TrustedProxies(Vec<IpCidr>);

/// A `server.trustedProxies` entry that is not an IP network.
#[derive(Debug, thiserror::Error)]
#[error("server.trustedProxies: {0}")]
pub struct TrustedProxyError(#[source] CidrError);

impl TrustedProxies {
    /// From the frozen config's CIDRs (airlockc validated them).
    pub fn new(cidrs: &[String]) -> Result<Self, TrustedProxyError> {
        cidrs
            .iter()
            .map(|c| c.parse().map_err(TrustedProxyError))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut nearest = peer;
        let mut hops = 0;
        // Several header lines are one list, in order.
        let lines: Vec<&[u8]> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        for line in lines.iter().rev() {
            let Ok(line) = std::str::from_utf8(line) else {
                return nearest;
            };
            for entry in line.rsplit(',') {
                hops += 1;
                if hops > MAX_HOPS {
                    return nearest;
                }
                // An entry a proxy did not write as an address ends what can be believed: the
                // nearest address seen so far stands.
                let Some(ip) = parse_entry(entry) else {
                    return nearest;
                };
                if !self.trusts(ip) {
                    return ip;
                }
                nearest = ip;
            }
        }
        nearest
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:80`,
/// `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_standard_library_writes_them() {
        let cases = [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "192.168.100.9",
            "255.255.255.255",
            "99.100.10.1",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:10.0.0.1",
        ];
        for case in cases {
            let ip: IpAddr = case.parse().unwrap();
            assert_eq!(text(ip), ip.to_string(), "{case}");
        }
    }

    fn proxies(cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::new(&cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn client(proxies: &TrustedProxies, peer: &str, forwarded: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for line in forwarded {
            headers.append(FORWARDED_FOR, line.parse().unwrap());
        }
        proxies
            .client_ip(peer.parse().unwrap(), &headers)
            .to_string()
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_claim() {
        let none = TrustedProxies::default();
        assert_eq!(
            client(&none, "203.0.113.9", &["198.51.100.1"]),
            "203.0.113.9"
        );
        let ingress = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&ingress, "203.0.113.9", &["198.51.100.1"]),
            "203.0.113.9"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let ingress = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&ingress, "10.1.1.1", &["198.51.100.7"]),
            "198.51.100.7"
        );
        // A client's forged entries sit left of what our proxies wrote.
        assert_eq!(
            client(&ingress, "10.1.1.1", &["1.1.1.1, 198.51.100.7, 10.2.2.2"]),
            "198.51.100.7"
        );
        assert_eq!(
            client(&ingress, "10.1.1.1", &["1.1.1.1", "198.51.100.7:5555"]),
            "198.51.100.7",
            "lines are one list; ports are dropped"
        );
        assert_eq!(
            client(&ingress, "::ffff:10.1.1.1", &["[2001:db8::5]:443"]),
            "2001:db8::5"
        );
    }

    #[test]
    fn a_padded_header_is_walked_only_so_far() {
        let ingress = proxies(&["10.0.0.0/8"]);
        let padded = format!("198.51.100.7, {}", vec!["10.9.9.9"; 10_000].join(", "));
        assert_eq!(client(&ingress, "10.1.1.1", &[&padded]), "10.9.9.9");
        let short = format!("198.51.100.7, {}", vec!["10.9.9.9"; 15].join(", "));
        assert_eq!(client(&ingress, "10.1.1.1", &[&short]), "198.51.100.7");
    }

    #[test]
    fn without_a_believable_entry_the_nearest_proxy_stands() {
        let ingress = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&ingress, "10.1.1.1", &[]), "10.1.1.1");
        assert_eq!(client(&ingress, "10.1.1.1", &["10.3.3.3"]), "10.3.3.3");
        assert_eq!(
            client(&ingress, "10.1.1.1", &["198.51.100.7, unknown, 10.3.3.3"]),
            "10.3.3.3"
        );
    }
}
