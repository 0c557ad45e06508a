//! Addresses and subnets as mod_wsgi reads them: `WSGITrustedProxies`
//! through `apr_ipsubnet_create` (after mod_wsgi's own "looks like an IP"
//! check), and a forwarded client address through `apr_sockaddr_info_get`,
//! which takes what `getaddrinfo` takes for a numeric host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A trusted proxy's address or subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subnet {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
}

impl Subnet {
    /// `apr_ipsubnet_test`: an IPv4 subnet also holds the IPv4-mapped IPv6
    /// form of its addresses; an IPv6 subnet never holds a mapped address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Subnet::V4 { net, mask }, IpAddr::V4(a)) => u32::from(a) & mask == net,
            (Subnet::V4 { net, mask }, IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|a| u32::from(a) & mask == net),
            (Subnet::V6 { net, mask }, IpAddr::V6(a)) => {
                a.to_ipv4_mapped().is_none() && u128::from(a) & mask == net
            }
            (Subnet::V6 { .. }, IpAddr::V4(_)) => false,
        }
    }
}

/// Why `apr_ipsubnet_create` refused, in `apr_strerror`'s words.
enum SubnetError {
    Invalid,
    BadIp,
    BadMask,
}

impl SubnetError {
    fn text(&self) -> &'static str {
        match self {
            SubnetError::Invalid => "Invalid argument",
            SubnetError::BadIp => "The specified IP address is invalid.",
            SubnetError::BadMask => "The specified network mask is invalid.",
        }
    }
}

const HINT: &str = "Give addresses or subnets, e.g. 10.0.0.1 10.0.0.0/8 \
                    10.0.0.0/255.0.0.0 10.1 2001:db8::/32";

/// Parses one `WSGITrustedProxies` word, as mod_wsgi does, with its message.
pub fn parse_trusted_proxy(word: &str) -> Result<Subnet, String> {
    let allowed: &[u8] = if word.contains(':') {
        b"0123456789abcdef:/"
    } else {
        b"0123456789./"
    };
    if word.is_empty() || !word.bytes().all(|b| allowed.contains(&b)) {
        return Err(format!(
            "Unable to parse trusted proxy IP address/subnet of \"{word}\". {HINT}"
        ));
    }
    let (ip, mask) = match word.split_once('/') {
        Some((ip, mask)) => (ip, Some(mask)),
        None => (word, None),
    };
    ipsubnet_create(ip, mask).map_err(|e| {
        format!(
            "Unable to parse trusted proxy IP address/subnet of \"{word}\". {} {HINT}",
            e.text()
        )
    })
}

/// `apr_ipsubnet_create`.
fn ipsubnet_create(ip: &str, mask: Option<&str>) -> Result<Subnet, SubnetError> {
    let looks_like_ip =
        !ip.is_empty() && (ip.contains(':') || ip.bytes().all(|b| b == b'.' || b.is_ascii_digit()));
    if !looks_like_ip {
        return Err(SubnetError::Invalid);
    }
    let subnet = if let Ok(v6) = ip.parse::<Ipv6Addr>() {
        // APR stores IPv4 only as IPv4, so a mapped address is refused.
        if v6.to_ipv4_mapped().is_some() {
            return Err(SubnetError::BadIp);
        }
        Subnet::V6 {
            net: v6.into(),
            mask: u128::MAX,
        }
    } else if let Some(v4) = inet_pton4(ip) {
        Subnet::V4 {
            net: v4,
            mask: u32::MAX,
        }
    } else if mask.is_none() {
        parse_network(ip).ok_or(SubnetError::BadIp)?
    } else {
        return Err(SubnetError::BadIp);
    };
    let subnet = match mask {
        None => subnet,
        Some(mask) => with_mask(subnet, mask).ok_or(SubnetError::BadMask)?,
    };
    Ok(match subnet {
        Subnet::V4 { net, mask } => Subnet::V4 {
            net: net & mask,
            mask,
        },
        Subnet::V6 { net, mask } => Subnet::V6 {
            net: net & mask,
            mask,
        },
    })
}

/// A number of bits (1 up to the family's width), or an IPv4 netmask for
/// an IPv4 address (taken as written, as APR takes it).
fn with_mask(subnet: Subnet, mask: &str) -> Option<Subnet> {
    let bits = (!mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit()))
        .then(|| mask.parse::<u32>().unwrap_or(u32::MAX));
    match subnet {
        Subnet::V4 { net, .. } => match bits {
            Some(bits @ 1..=32) => Some(Subnet::V4 {
                net,
                mask: u32::MAX << (32 - bits),
            }),
            _ => inet_pton4(mask).map(|mask| Subnet::V4 { net, mask }),
        },
        Subnet::V6 { net, .. } => match bits {
            Some(bits @ 1..=128) => Some(Subnet::V6 {
                net,
                mask: u128::MAX << (128 - bits),
            }),
            _ => None,
        },
    }
}

/// APR's `inet_pton` for IPv4: four decimal parts up to 255 (leading zeros
/// allowed).
fn inet_pton4(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut value = 0u32;
    for part in parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let octet = part.bytes().try_fold(0u32, |n, d| {
            Some(n * 10 + u32::from(d - b'0')).filter(|n| *n <= 255)
        })?;
        value = value << 8 | octet;
    }
    Some(value)
}

/// APR's legacy network form: `10`, `10.1`, `10.1.2` (a trailing dot
/// allowed), each part an octet, the mask covering the parts given.
fn parse_network(s: &str) -> Option<Subnet> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let (mut net, mut mask) = (0u32, 0u32);
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let octet: u32 = part.parse().ok().filter(|o| *o <= 255)?;
        let shift = 24 - 8 * i as u32;
        net |= octet << shift;
        mask |= 0xff << shift;
    }
    Some(Subnet::V4 { net, mask })
}

/// A forwarded address as `getaddrinfo` reads a numeric host: IPv6 (a
/// `%zone` suffix allowed), or IPv4 in any `inet_aton` form (`127.1`,
/// `0x7f.0.0.1`). A host name is not an address: mod_wsgi would resolve it
/// through DNS on every request; here it is not trusted.
pub fn parse_client_ip(text: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(text).ok()?;
    if text.contains(':') {
        let address = text.split_once('%').map_or(text, |(a, _)| a);
        return address.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    inet_aton(text).map(|a| IpAddr::V4(Ipv4Addr::from(a)))
}

/// glibc's `inet_aton`, exact (no trailing text): one to four parts, each
/// decimal, octal (`0` prefix) or hex (`0x`); the last fills the rest.
fn inet_aton(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut value = 0u64;
    for (i, part) in parts.iter().enumerate() {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or(part.strip_prefix("0X"))
        {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
                return None;
            }
            u64::from_str_radix(digits, radix).ok()?
        };
        let last = i == parts.len() - 1;
        let room = if last { 8 * (4 - i as u32) } else { 8 };
        if n >= 1u64 << room {
            return None;
        }
        value = value << room.min(32) | n;
        if last {
            return u32::try_from(value).ok();
        }
    }
    None
}
