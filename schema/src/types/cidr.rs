//! IP networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address and a prefix length. A bare address is a network of
/// one (`/32` or `/128`). The address is kept as written with its host bits cleared, so
/// `10.1.2.3/8` reads back as `10.0.0.0/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// Whether `ip` is inside the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(ip.to_bits()), self.prefix, 32) == u128::from(net.to_bits())
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(ip.to_bits(), self.prefix, 128) == net.to_bits()
            }
            _ => false,
        }
    }
}

impl IpCidr {
    /// Whether every address of `other` is in this network.
    pub fn covers(&self, other: &IpCidr) -> bool {
        self.prefix <= other.prefix
            && self.network.is_ipv4() == other.network.is_ipv4()
            && self.contains(other.network)
    }
    /// Whether the network has at least one address in common with `other`.
    pub fn overlaps(&self, other: &IpCidr) -> bool {
        self.covers(other) || other.covers(self)
    }
    pub fn is_ipv4(&self) -> bool {
        self.network.is_ipv4()
    }
}

/// `bits` (an address `width` bits wide) with all but the first `prefix` bits cleared.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let host = u32::from(width - prefix);
    (bits >> host) << host
}

/// Why a text is not an IP network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error(
        "`{text}` is not an IP network: write an address with a prefix length, such as \
         `10.0.0.0/8` or `2001:db8::/32`, or a single address"
    )]
    Invalid { text: String },
    #[error("`{text}`: the prefix length of an IPv{version} network is at most {max}")]
    PrefixTooLong { text: String, version: u8, max: u8 },
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let invalid = || CidrError::Invalid {
            text: text.to_string(),
        };
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
        };
        if prefix > width {
            return Err(CidrError::PrefixTooLong {
                text: text.to_string(),
                version: if width == 32 { 4 } else { 6 },
                max: width,
            });
        }
        let network = match address {
            IpAddr::V4(v4) => IpAddr::V4(std::net::Ipv4Addr::from_bits(masked(
                u128::from(v4.to_bits()),
                prefix,
                32,
            ) as u32)),
            IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from_bits(masked(
                v6.to_bits(),
                prefix,
                128,
            ))),
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

super::string_value!(
    IpCidr,
    "IpCidr",
    "^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$",
    "An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or a single address.",
    ["10.0.0.0/8", "192.168.1.10"]
);

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> IpCidr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let private = cidr("10.0.0.0/8");
        assert!(private.contains("10.1.2.3".parse().unwrap()));
        assert!(!private.contains("11.0.0.1".parse().unwrap()));
        assert!(
            private.contains("::ffff:10.9.9.9".parse().unwrap()),
            "IPv4-mapped IPv6 is IPv4"
        );
        assert!(cidr("0.0.0.0/0").contains("203.0.113.7".parse().unwrap()));
        assert!(!cidr("0.0.0.0/0").contains("2001:db8::1".parse().unwrap()));
        let one = cidr("192.168.1.10");
        assert_eq!(one.to_string(), "192.168.1.10/32");
        assert!(one.contains("192.168.1.10".parse().unwrap()));
        assert!(!one.contains("192.168.1.11".parse().unwrap()));
        assert!(private.covers(&cidr("10.2.0.0/16")) && !cidr("10.2.0.0/16").covers(&private));
        assert!(private.overlaps(&cidr("10.2.0.0/16")) && !private.overlaps(&cidr("11.0.0.0/8")));
        assert!(!cidr("0.0.0.0/0").covers(&cidr("::/0")));
        let v6 = cidr("2001:db8::/32");
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn host_bits_are_cleared_and_bad_input_refused() {
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }
}
