//! CIDR prefixes as the cluster checks need them: containment of node addresses and overlap
//! between the node, pod and service networks.

use std::fmt;
use std::net::IpAddr;

/// An IPv4 or IPv6 prefix with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parses `address/length`, refusing host bits (see [`tfplugin::validate::parse_cidr`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        tfplugin::validate::parse_cidr(text).map(|(addr, len)| Self { addr, len })
    }

    fn bits(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    }

    fn mask(width: u8, len: u8) -> u128 {
        if len == 0 { 0 } else { (u128::MAX << (width - len)) & (u128::MAX >> (128 - u32::from(width))) }
    }

    /// Whether `ip` lies inside the prefix (always false across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, width) = Self::bits(self.addr);
        let (host, host_width) = Self::bits(ip);
        width == host_width && (host & Self::mask(width, self.len)) == net
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let (a, wa) = Self::bits(self.addr);
        let (b, wb) = Self::bits(other.addr);
        if wa != wb {
            return false;
        }
        let shortest = self.len.min(other.len);
        let m = Self::mask(wa, shortest);
        (a & m) == (b & m)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn containment_and_overlap() {
        let nodes = c("10.20.0.0/22");
        assert!(nodes.contains("10.20.0.20".parse().unwrap()));
        assert!(nodes.contains("10.20.3.255".parse().unwrap()));
        assert!(!nodes.contains("10.20.4.0".parse().unwrap()));
        assert!(!nodes.contains("fd00::1".parse().unwrap()));
        assert!(c("10.96.0.0/12").overlaps(&c("10.100.0.0/16")));
        assert!(!c("10.96.0.0/12").overlaps(&c("10.244.0.0/16")));
        assert!(c("0.0.0.0/0").overlaps(&c("10.0.0.0/8")));
        assert!(c("fd00::/8").contains("fd12::1".parse().unwrap()));
        assert!(!c("fd00::/8").overlaps(&c("10.0.0.0/8")));
        assert_eq!(c("10.20.0.0/22").to_string(), "10.20.0.0/22");
    }
}
