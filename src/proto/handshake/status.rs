//! What HTTP says about a refusal's status (RFC 9110 §15): its reason
//! phrase, and the field some statuses carry.

/// The field a refusal with `status` carries besides `Connection` and
/// `Content-Length`: `Allow: GET` for 405 (RFC 9110 §15.5.6) and
/// `Sec-WebSocket-Version: 13` for 426 (RFC 6455 §4.4).
pub(crate) fn refusal_field(status: u16) -> Option<(&'static str, &'static str)> {
    match status {
        405 => Some(("Allow", "GET")),
        426 => Some(("Sec-WebSocket-Version", "13")),
        _ => None,
    }
}

/// The reason phrase for a status code, or `""` (allowed by RFC 9112 §4).
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
