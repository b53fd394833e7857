//! WebSocket URLs (RFC 6455 §3) and `host[:port]` authorities (RFC 3986
//! §3.2), parsed by hand: no dependency, no percent-decoding (the resource
//! name is sent as written).

use alloc::string::String;
use core::fmt::Write;

use super::error::UrlError;

/// A parsed `ws://`, `wss://`, `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// `wss` or `https`.
    pub(crate) tls: bool,
    /// The host, without the brackets of an IPv6 literal.
    pub(crate) host: String,
    /// Whether the host is an IPv6 literal (bracketed in `Host`).
    pub(crate) ipv6: bool,
    /// The port, the scheme's default when none is written.
    pub(crate) port: u16,
    /// The resource name: path (default `/`) and `?query`.
    pub(crate) resource: String,
}

impl Url {
    /// The `Host` header value: the port only when it is not the default
    /// (RFC 6455 §4.1 item 4).
    pub(crate) fn host_header(&self) -> String {
        let mut s = String::new();
        if self.ipv6 {
            s.push('[');
            s.push_str(&self.host);
            s.push(']');
        } else {
            s.push_str(&self.host);
        }
        if self.port != default_port(self.tls) {
            let _ = write!(s, ":{}", self.port);
        }
        s
    }
}

/// 443 with TLS, 80 without (RFC 6455 §3).
pub(crate) fn default_port(tls: bool) -> u16 {
    if tls { 443 } else { 80 }
}

/// Parses a WebSocket URL. The scheme is case-insensitive; `http` and `https`
/// are taken as `ws` and `wss`. Userinfo and fragments are refused.
pub(crate) fn parse_url(url: &str) -> Result<Url, UrlError> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::Scheme)?;
    let tls = if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
        true
    } else {
        return Err(UrlError::Scheme);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(UrlError::Userinfo);
    }
    if tail.contains('#') {
        return Err(UrlError::Fragment);
    }
    if !tail.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(UrlError::InvalidCharacter);
    }
    let (host, port, ipv6) = parse_authority(authority)?;
    let mut resource = String::new();
    if !tail.starts_with('/') {
        resource.push('/');
    }
    resource.push_str(tail);
    Ok(Url {
        tls,
        host: String::from(host),
        ipv6,
        port: port.unwrap_or(default_port(tls)),
        resource,
    })
}

/// Parses `host[:port]`, where host is a `reg-name`, IPv4 address or
/// bracketed IPv6 literal. Returns the host without brackets, the port if one
/// is written (an empty port counts as none, RFC 3986 §3.2.3), and whether
/// the host is IPv6.
pub(crate) fn parse_authority(authority: &str) -> Result<(&str, Option<u16>, bool), UrlError> {
    let (host, port, ipv6) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, rest) = inner.split_once(']').ok_or(UrlError::InvalidHost)?;
        let valid = host.contains(':')
            && host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return Err(UrlError::InvalidHost);
        }
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
        };
        (host, port, true)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
        if !valid {
            return Err(UrlError::InvalidHost);
        }
        (host, port, false)
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok((host, port, ipv6))
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort),
        Ok(n) => Ok(n),
    }
}

/// The path of `target` without its query (`/` for an absolute-form target
/// without a path), and the query after `?` if there is one.
pub(crate) fn split_target(target: &str) -> (&str, Option<&str>) {
    let (before, query) = match target.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (target, None),
    };
    let path = match before.split_once("://") {
        // Absolute-form: the path starts at the authority's end.
        Some((_, rest)) if !before.starts_with('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => before,
    };
    (path, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        parse_url(s).unwrap()
    }

    #[test]
    fn defaults() {
        let u = url("ws://example.com");
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "example.com", 80));
        assert_eq!(u.resource, "/");
        assert_eq!(u.host_header(), "example.com");
        let u = url("WSS://example.com/chat?room=1&x=%20");
        assert_eq!((u.tls, u.port), (true, 443));
        assert_eq!(u.resource, "/chat?room=1&x=%20");
        assert_eq!(u.host_header(), "example.com");
        let u = url("https://example.com?q");
        assert_eq!((u.tls, u.port, u.resource.as_str()), (true, 443, "/?q"));
        let u = url("http://example.com:/");
        assert_eq!((u.tls, u.port), (false, 80));
    }

    #[test]
    fn ports() {
        let u = url("ws://example.com:8080/x");
        assert_eq!(
            (u.port, u.host_header().as_str()),
            (8080, "example.com:8080")
        );
        // A written default port is left out of Host.
        assert_eq!(url("ws://example.com:80").host_header(), "example.com");
        assert_eq!(url("wss://example.com:80").host_header(), "example.com:80");
        assert_eq!(url("wss://example.com:443").host_header(), "example.com");
        for bad in [
            "ws://h:0",
            "ws://h:65536",
            "ws://h:12a",
            "ws://h:-1",
            "ws://h:123456",
        ] {
            assert_eq!(parse_url(bad), Err(UrlError::InvalidPort), "{bad}");
        }
    }

    #[test]
    fn ipv6() {
        let u = url("ws://[::1]:9001/ws");
        assert_eq!((u.host.as_str(), u.ipv6, u.port), ("::1", true, 9001));
        assert_eq!(u.host_header(), "[::1]:9001");
        assert_eq!(url("wss://[2001:db8::7]").host_header(), "[2001:db8::7]");
        assert_eq!(parse_url("ws://[::1"), Err(UrlError::InvalidHost));
        assert_eq!(parse_url("ws://[zz::1]/"), Err(UrlError::InvalidHost));
        assert_eq!(parse_url("ws://[::1]x/"), Err(UrlError::InvalidHost));
        assert_eq!(parse_url("ws://[]/"), Err(UrlError::InvalidHost));
        let u = url("ws://127.0.0.1:1");
        assert_eq!((u.host.as_str(), u.ipv6), ("127.0.0.1", false));
    }

    #[test]
    fn rejections() {
        assert_eq!(parse_url("ftp://h/"), Err(UrlError::Scheme));
        assert_eq!(parse_url("example.com/"), Err(UrlError::Scheme));
        assert_eq!(parse_url("ws:/h"), Err(UrlError::Scheme));
        assert_eq!(parse_url("ws:///path"), Err(UrlError::MissingHost));
        assert_eq!(parse_url("ws://:80/"), Err(UrlError::MissingHost));
        assert_eq!(parse_url("ws://u:p@h/"), Err(UrlError::Userinfo));
        assert_eq!(parse_url("ws://h/#frag"), Err(UrlError::Fragment));
        assert_eq!(parse_url("ws://h#frag"), Err(UrlError::Fragment));
        assert_eq!(parse_url("ws://h/a b"), Err(UrlError::InvalidCharacter));
        assert_eq!(
            parse_url("ws://h/a\r\nX: y"),
            Err(UrlError::InvalidCharacter)
        );
        assert_eq!(parse_url("ws://h/é"), Err(UrlError::InvalidCharacter));
        assert_eq!(parse_url("ws://h\r\n/"), Err(UrlError::InvalidHost));
        assert_eq!(parse_url("ws://a b/"), Err(UrlError::InvalidHost));
    }

    #[test]
    fn authority() {
        assert_eq!(parse_authority("h:1"), Ok(("h", Some(1), false)));
        assert_eq!(parse_authority("h"), Ok(("h", None, false)));
        assert_eq!(parse_authority(""), Err(UrlError::MissingHost));
    }
}
