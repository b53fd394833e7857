//! Reading a request's query and bearer token, conveniences for the
//! server application's decision: the `application/x-www-form-urlencoded`
//! reading of the query (`&`-separated `name=value` pairs, percent-decoded,
//! RFC 3986 §2.1, with `+` as a space) and the `Authorization: Bearer`
//! token (RFC 6750 §2.1). Malformed input gives `None`, never a panic.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::proto::handshake::HandshakeRequest;
#[cfg(test)]
use crate::proto::handshake::split_target;

impl HandshakeRequest {
    /// The value of the query parameter `name`, percent-decoded with `+` as
    /// a space (the `application/x-www-form-urlencoded` reading of the
    /// query): for `/chat?room=caf%C3%A9+bar&debug`, `room` gives
    /// `café bar` and `debug` gives an empty value. The first pair whose
    /// decoded name matches wins.
    ///
    /// `None` if there is no such parameter, or if its value has a malformed
    /// escape (`%` not followed by two hex digits) or is not UTF-8 once
    /// decoded. A value without escapes is borrowed.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        query_param(self.query()?, name)
    }

    /// The token of an `Authorization: Bearer <token>` header (RFC 6750
    /// §2.1): the scheme compared case-insensitively (RFC 9110 §11.1), then
    /// one or more spaces and a `b64token`. `None` without an
    /// `Authorization` header, with several, with another scheme, or with a
    /// malformed token. Browsers cannot set this header on a WebSocket;
    /// other clients can.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.headers().single("Authorization").ok()??;
        let value = core::str::from_utf8(value).ok()?;
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim_start_matches(' ');
        (scheme.eq_ignore_ascii_case("Bearer") && is_b64token(token)).then_some(token)
    }
}

/// The value of the first pair of `query` whose decoded name is `name`,
/// decoded; `Some("")` for a pair without `=`. `None` if no pair has the
/// name, or if that pair's value has a malformed escape or is not UTF-8
/// once decoded. Pairs whose names do not decode are skipped.
pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key).as_deref() == Some(name) {
            return form_decode(value);
        }
    }
    None
}

/// Percent-decodes `s` with `+` as a space (form encoding); borrowed when
/// there is nothing to decode. `None` for a `%` not followed by two hex
/// digits, or bytes that are not UTF-8 once decoded.
pub(crate) fn form_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains(['%', '+']) {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                (hi << 4) | lo
            }
            b => b,
        });
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Whether `s` is a `b64token` (RFC 6750 §2.1), the same set as `token68`
/// (RFC 9110 §11.2): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
/// *"="`.
pub(crate) fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use proptest::prelude::*;

    #[test]
    fn targets_split() {
        for (target, path, query) in [
            ("/", "/", None),
            ("/chat", "/chat", None),
            ("/chat?room=1&x", "/chat", Some("room=1&x")),
            ("/chat?", "/chat", Some("")),
            ("/a?b?c", "/a", Some("b?c")),
            ("/x://y?z", "/x://y", Some("z")),
            ("http://example.com/chat?x=1", "/chat", Some("x=1")),
            ("WSS://example.com", "/", None),
            ("ws://example.com?q", "/", Some("q")),
        ] {
            assert_eq!(split_target(target), (path, query), "{target}");
        }
    }

    #[test]
    fn query_parameters() {
        let q = "room=lobby&name=J%C3%BCrgen+K%2B&flag&empty=&dup=1&dup=2&a%20b=c&bad=%zz&%zz=1&last=%41";
        for (name, value) in [
            ("room", Some("lobby")),
            ("name", Some("Jürgen K+")),
            ("flag", Some("")),
            ("empty", Some("")),
            ("dup", Some("1")),
            ("a b", Some("c")),
            ("bad", None),
            ("last", Some("A")),
            ("missing", None),
            ("%zz", None),
        ] {
            assert_eq!(query_param(q, name).as_deref(), value, "{name}");
        }
        assert!(matches!(
            query_param(q, "room"),
            Some(Cow::Borrowed("lobby"))
        ));
        // Malformed escapes and invalid UTF-8.
        for bad in ["%", "%4", "%4g", "%g4", "%FF", "%C3", "%C3%28", "a%"] {
            assert_eq!(form_decode(bad), None, "{bad}");
            assert_eq!(query_param(&format!("k={bad}"), "k"), None, "{bad}");
        }
        assert_eq!(form_decode("%e2%82%ac+1").as_deref(), Some("€ 1"));
        assert_eq!(query_param("", "k"), None);
        assert_eq!(query_param("&&k=v&&", "k").as_deref(), Some("v"));
    }

    #[test]
    fn b64tokens() {
        for ok in ["abc", "a-b.c_d~e+f/g", "YWJj==", "x="] {
            assert!(is_b64token(ok), "{ok}");
        }
        for bad in ["", "=", "==", "a b", "a=b", "a,b", "\"a\"", "é"] {
            assert!(!is_b64token(bad), "{bad}");
        }
    }

    /// Form-encodes `s`: unreserved characters as they are, spaces as `+`
    /// when `plus`, every other byte as `%XX` (upper- or lower-case hex).
    fn encode(s: &str, plus: bool, lower: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b' ' if plus => out.push('+'),
                b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(char::from(b)),
                b if lower => out.push_str(&format!("%{b:02x}")),
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn encoded_parameters_decode_to_themselves(
            name in "\\PC{1,12}",
            value in "\\PC{0,24}",
            plus in any::<bool>(),
            lower in any::<bool>(),
        ) {
            let query = format!(
                "{}={}&{}=other",
                encode(&name, plus, lower),
                encode(&value, plus, lower),
                encode(&name, plus, lower),
            );
            let query = format!("before=1&{query}");
            let expected = if name == "before" { "1" } else { value.as_str() };
            let got = query_param(&query, &name);
            prop_assert_eq!(got.as_deref(), Some(expected));
        }

        #[test]
        fn arbitrary_queries_never_panic(query in "\\PC{0,64}", name in "\\PC{0,8}") {
            if let Some(v) = query_param(&query, &name) {
                // What comes out is what some pair held, decoded.
                prop_assert!(v.len() <= query.len());
            }
            let (path, q) = split_target(&query);
            prop_assert!(path.len() + q.map_or(0, str::len) <= query.len().max(1));
        }

        #[test]
        fn arbitrary_percent_runs_never_panic(s in "[%+0-9a-fA-FgG\\x{80}-\\x{ff}]{0,32}") {
            if let Some(d) = form_decode(&s) {
                prop_assert!(d.len() <= s.len());
            }
        }
    }
}
