//! Where a webhook may point: the one place that decides whether a URL and the addresses its
//! host resolves to are safe to POST to (SSRF guard). Used at registration (the api and the
//! CLI resolve the host, then ask [`UrlPolicy::check_addresses`]) and by the deliverer before
//! each connection (the same check on the addresses it is about to connect to, so a DNS answer
//! that changed since registration, or a redirect, cannot reach a private network).
//!
//! Pure: no resolution here (the callers resolve with their own timeouts).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The operator's rules (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Accept `http://` (tests and local receivers); production wants `https` only.
    pub allow_http: bool,
    /// Hosts (exact names, case-insensitive) and address ranges exempt from the
    /// private-address rule.
    pub allowed: Vec<AllowedHost>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHost {
    Name(String),
    Net(IpNet),
}

/// Why a URL is refused: the text is the 422's message (it starts with the field, `url`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("url {0}")]
pub struct UrlRefusal(pub String);

/// A URL that passed the syntax rules: what to resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The host as written (lowercase; IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The host is an address literal: nothing to resolve.
    pub literal: Option<IpAddr>,
}

impl UrlPolicy {
    /// Reads `WEBHOOK_ALLOWED_HOSTS`: comma-separated host names, addresses and CIDR ranges.
    pub fn parse_allowed(text: &str) -> Result<Vec<AllowedHost>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                if let Ok(net) = entry.parse::<IpNet>() {
                    Ok(AllowedHost::Net(net))
                } else if let Ok(ip) = entry.parse::<IpAddr>() {
                    Ok(AllowedHost::Net(IpNet::from(ip)))
                } else if entry.contains('/') {
                    Err(format!("`{entry}` is not a CIDR range"))
                } else {
                    Ok(AllowedHost::Name(entry.to_ascii_lowercase()))
                }
            })
            .collect()
    }

    /// Scheme, host and shape; the host's addresses are checked by [`Self::check_addresses`].
    pub fn check_syntax(&self, text: &str) -> Result<Target, UrlRefusal> {
        let refuse = |why: &str| Err(UrlRefusal(why.to_string()));
        let Ok(url) = url::Url::parse(text) else {
            return refuse("must be an absolute http(s) URL");
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return refuse("must use https"),
            _ => return refuse("must be an absolute http(s) URL"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("must not contain credentials");
        }
        if url.fragment().is_some() {
            return refuse("must not contain a fragment");
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let (host, literal) = match url.host() {
            Some(url::Host::Domain(d)) => (d.to_ascii_lowercase(), None),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            None => return refuse("must name a host"),
        };
        Ok(Target {
            host,
            port,
            literal,
        })
    }

    /// Whether the operator exempted this host name from the address rule.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed
            .iter()
            .any(|a| matches!(a, AllowedHost::Name(n) if *n == host))
    }

    /// Whether the operator exempted this address.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed
            .iter()
            .any(|a| matches!(a, AllowedHost::Net(net) if net.contains(&ip)))
    }

    /// Every address the host resolved to must be public, or exempted by the operator (by
    /// host name or by range). No address at all is refused too.
    pub fn check_addresses(&self, target: &Target, addrs: &[IpAddr]) -> Result<(), UrlRefusal> {
        if self.host_allowed(&target.host) {
            return Ok(());
        }
        if addrs.is_empty() {
            return Err(UrlRefusal(format!(
                "host {} does not resolve to any address",
                target.host
            )));
        }
        for &ip in addrs {
            if self.address_allowed(ip) {
                continue;
            }
            if let Some(class) = non_public(ip) {
                return Err(UrlRefusal(format!(
                    "host {} resolves to a {class} address ({ip}), which webhooks may not reach",
                    target.host
                )));
            }
        }
        Ok(())
    }
}

/// IPv4-mapped and -compatible IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The class of a non-public address (`None`: a public unicast address). Covers private,
/// loopback, link-local, unique-local, CGNAT, multicast, unspecified, broadcast, reserved,
/// benchmarking and documentation ranges, in both families (IPv4-mapped IPv6 as IPv4, NAT64
/// and 6to4 by the IPv4 they embed).
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let class = if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && (64..128).contains(&b) {
        "shared (CGNAT)"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_broadcast() {
        "broadcast"
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        "documentation"
    } else if a == 198 && (b == 18 || b == 19) {
        "benchmarking"
    } else if a == 192 && b == 0 && c == 0 {
        "protocol-assignment"
    } else if a >= 240 {
        "reserved"
    } else {
        return None;
    };
    Some(class)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let class = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_multicast() {
        "multicast"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "site-local"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "unique-local"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and the local-use /48): judged by the IPv4 address it carries.
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return non_public_v4(v4);
    } else if s[0] == 0x2002 {
        // 6to4 carries an IPv4 address in bits 16..48.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return non_public_v4(v4);
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): ::a.b.c.d.
        "reserved"
    } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        "discard-only"
    } else {
        return None;
    };
    Some(class)
}

/// The URL as public reads show it: scheme, host and port, then `/…` (a Discord webhook URL's
/// path is its credential; a generic receiver's path and query may be too).
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => match url.host_str() {
            Some(host) => {
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{host}{port}/…", url.scheme())
            }
            None => "…".to_string(),
        },
        Err(_) => "…".to_string(),
    }
}

/// A Discord webhook URL: `https://discord.com/api/webhooks/...` (also `discordapp.com` and
/// the `ptb.` / `canary.` clients' hosts).
pub fn is_discord_webhook(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let host_ok = matches!(
        url.host_str(),
        Some(
            "discord.com"
                | "discordapp.com"
                | "ptb.discord.com"
                | "canary.discord.com"
                | "ptb.discordapp.com"
                | "canary.discordapp.com"
        )
    );
    url.scheme() == "https"
        && host_ok
        && url.port().is_none()
        && url
            .path()
            .strip_prefix("/api/webhooks/")
            .is_some_and(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn classifies_non_public_addresses() {
        for (addr, class) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("192.0.2.7", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.7", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd00::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::a00:1", "private"),
            ("2002:7f00:1::", "loopback"),
        ] {
            assert_eq!(non_public(ip(addr)), Some(class), "{addr}");
        }
        for public in [
            "1.1.1.1",
            "162.159.128.233",
            "2606:4700::6810:84e5",
            "100.128.0.1",
        ] {
            assert_eq!(non_public(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn syntax_rules() {
        let strict = UrlPolicy::default();
        assert_eq!(
            strict.check_syntax("http://example.com/hook"),
            Err(UrlRefusal("must use https".into()))
        );
        let lax = UrlPolicy {
            allow_http: true,
            ..UrlPolicy::default()
        };
        assert_eq!(lax.check_syntax("http://example.com/x").unwrap().port, 80);
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "",
        ] {
            assert!(strict.check_syntax(bad).is_err(), "{bad}");
        }
        let t = strict.check_syntax("https://[::1]:8443/h").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(t.literal, Some(ip("::1")));
    }

    #[test]
    fn allowlist_exempts_names_and_ranges() {
        let policy = UrlPolicy {
            allow_http: true,
            allowed: UrlPolicy::parse_allowed("127.0.0.1, 10.0.0.0/8 ,Receiver.Local").unwrap(),
        };
        let target = |u: &str| policy.check_syntax(u).unwrap();
        assert!(policy
            .check_addresses(&target("http://127.0.0.1:9/"), &[ip("127.0.0.1")])
            .is_ok());
        assert!(policy
            .check_addresses(&target("http://x.test/"), &[ip("10.9.9.9")])
            .is_ok());
        assert!(policy
            .check_addresses(&target("http://receiver.local/"), &[])
            .is_ok());
        // One private address among public ones is enough to refuse.
        let refused = policy
            .check_addresses(&target("http://x.test/"), &[ip("1.1.1.1"), ip("127.0.0.2")])
            .unwrap_err();
        assert!(refused.to_string().contains("loopback"), "{refused}");
        assert!(UrlPolicy::parse_allowed("10.0.0.0/99").is_err());
    }

    #[test]
    fn redaction_keeps_only_scheme_host_and_port() {
        assert_eq!(
            redact("https://discord.com/api/webhooks/123/SECRET?wait=true"),
            "https://discord.com/…"
        );
        assert_eq!(
            redact("http://127.0.0.1:8080/hook?t=1"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(redact("not a url"), "…");
    }

    #[test]
    fn discord_urls() {
        assert!(is_discord_webhook("https://discord.com/api/webhooks/1/abc"));
        assert!(is_discord_webhook(
            "https://discordapp.com/api/webhooks/1/abc"
        ));
        assert!(!is_discord_webhook("https://discord.com/api/webhooks/"));
        assert!(!is_discord_webhook("http://discord.com/api/webhooks/1/a"));
        assert!(!is_discord_webhook("https://evil.com/api/webhooks/1/a"));
        assert!(!is_discord_webhook(
            "https://discord.com.evil.com/api/webhooks/1/a"
        ));
    }
}
