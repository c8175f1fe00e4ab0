//! Network addresses the server reasons about: which reverse proxies are trusted to name the
//! client. It sits below everything (config parses it, the web layer applies it).

use std::net::IpAddr;

/// Reverse proxies whose `X-Forwarded-For` is believed (the `TRUSTED_PROXIES` setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Most ranges the setting may name.
    pub const MAX_RANGES: usize = 64;
    /// Most `X-Forwarded-For` hops looked at, from the right.
    pub const MAX_HOPS: usize = 32;

    /// Parses comma-separated addresses and CIDR ranges; empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or CIDR range"))?;
            let addr = addr.to_canonical();
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => bits,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= bits)
                    .ok_or_else(|| format!("`{item}` has a prefix longer than {bits} bits"))?,
            };
            ranges.push((addr, prefix));
        }
        if ranges.len() > Self::MAX_RANGES {
            return Err(format!("at most {} proxies or ranges", Self::MAX_RANGES));
        }
        Ok(Self(ranges))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|&(net, prefix)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` header values. Only a
    /// trusted peer's header counts, read from the right (each proxy appends the address it saw);
    /// the first address not in the trusted set is the client. An unreadable entry stops the walk
    /// at the last address a trusted proxy vouched for.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops = forwarded
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
            .map(str::trim)
            .take(Self::MAX_HOPS);
        for hop in hops {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_ranges() {
        let proxies = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8").unwrap();
        for yes in ["127.0.0.1", "10.1.2.3", "::1", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(proxies.contains(ip(yes)), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "fe80::1"] {
            assert!(!proxies.contains(ip(no)), "{no}");
        }
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let proxies = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let cases: [(&str, &[&str], &str); 6] = [
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            ("127.0.0.1", &[], "127.0.0.1"),
            ("127.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            (
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.1, 10.0.0.5"],
                "198.51.100.1",
            ),
            ("127.0.0.1", &["6.6.6.6", "198.51.100.1"], "198.51.100.1"),
            ("127.0.0.1", &["6.6.6.6, nonsense, 10.0.0.5"], "10.0.0.5"),
        ];
        for (peer, forwarded, client) in cases {
            assert_eq!(
                proxies.client(ip(peer), forwarded),
                ip(client),
                "{peer} {forwarded:?}"
            );
        }
    }
}
