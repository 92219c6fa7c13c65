//! The headers a `POST /mcp` must carry: a JSON body in UTF-8, sent as is (no compression, no
//! transfer coding but chunked), and an `Accept` that takes JSON back. Checked before the body
//! is read.

use crate::errors::{ErrorType, Failure};
use axum::http::{HeaderMap, header};

/// The request's body must be JSON in UTF-8, sent as is, and the client must take JSON back:
/// `Content-Type`, `Content-Encoding`, `Transfer-Encoding` and `Accept`.
pub(super) fn check_body_headers(headers: &HeaderMap) -> Result<(), Failure> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    // The media type itself, parameters aside: a prefix test would let `application/jsonp` or
    // `application/json-patch+json` through; a charset other than UTF-8 is not JSON-RPC's.
    let content_type = text(header::CONTENT_TYPE).unwrap_or("");
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    let charset_ok = parts.all(|p| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        !name.trim().eq_ignore_ascii_case("charset")
            || matches!(
                value.trim().trim_matches('"').to_ascii_lowercase().as_str(),
                "utf-8" | "utf8"
            )
    });
    if !media_type.eq_ignore_ascii_case("application/json") || !charset_ok {
        return Err(Failure::new(
            ErrorType::UnsupportedMediaType,
            "send the JSON-RPC message as `Content-Type: application/json` (UTF-8)",
        ));
    }
    if text(header::CONTENT_ENCODING).is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return Err(Failure::new(
            ErrorType::UnsupportedMediaType,
            "send the body without `Content-Encoding`: compressed requests are not accepted",
        ));
    }
    // hyper reads the chunked framing and would pass any coding before it on undecoded.
    let mut codings = headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(first) = codings.next()
        && (codings.next().is_some()
            || !first
                .to_str()
                .is_ok_and(|c| c.trim().eq_ignore_ascii_case("chunked")))
    {
        return Err(Failure::new(
            ErrorType::MalformedHttp,
            "only `Transfer-Encoding: chunked` is accepted",
        ));
    }
    // No Accept means anything; an unreadable one (bytes beyond ASCII) accepts nothing. A
    // client that takes the event stream alone gets the JSON answer all the same.
    let accepts_json = match text(header::ACCEPT) {
        None => true,
        Some(accept) => accepts(accept, "application/json") || accepts(accept, "text/event-stream"),
    };
    if !accepts_json {
        return Err(Failure::new(
            ErrorType::NotAcceptable,
            "accept `application/json` (MCP clients send `Accept: application/json, text/event-stream`)",
        ));
    }
    Ok(())
}

/// Whether an `Accept` header admits `media_type` (`type/subtype`): a media range that matches
/// it exactly, by type (`application/*`) or wholly (`*/*`), without `q=0`.
fn accepts(accept: &str, media_type: &str) -> bool {
    let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            name.trim().eq_ignore_ascii_case("q")
                && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
        });
        let matches = range == media_type
            || range == "*/*"
            || range.strip_suffix("/*").is_some_and(|t| t == kind);
        matches && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn refusal(pairs: &[(&str, &str)]) -> Option<&'static str> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(pairs);
        check_body_headers(&headers(&all))
            .err()
            .map(|f| f.kind.as_str())
    }

    #[test]
    fn accept_ranges_are_read_not_searched() {
        for ok in [
            "application/json, text/event-stream",
            "*/*",
            "application/*",
            "text/event-stream, application/json;q=0.5",
            "APPLICATION/JSON",
        ] {
            assert!(accepts(ok, "application/json"), "{ok}");
        }
        for refused in [
            "text/event-stream",
            "application/jsonx",
            "application/json;q=0",
            "application/json; q=0.0, text/html",
            "text/*",
            "",
        ] {
            assert!(!accepts(refused, "application/json"), "{refused}");
        }
    }

    #[test]
    fn bodies_must_be_plain_utf8_json() {
        assert_eq!(refusal(&[]), None);
        assert_eq!(
            refusal(&[("accept", "application/json, text/event-stream")]),
            None
        );
        assert_eq!(refusal(&[("transfer-encoding", "chunked")]), None);
        assert_eq!(refusal(&[("content-encoding", "identity")]), None);
        assert_eq!(refusal(&[("accept", "text/event-stream")]), None);
        assert_eq!(
            refusal(&[("accept", "application/jsonx")]),
            Some("not_acceptable")
        );
        assert_eq!(
            refusal(&[("accept", "application/json;q=0")]),
            Some("not_acceptable")
        );
        assert_eq!(
            refusal(&[("content-encoding", "gzip")]),
            Some("unsupported_media_type")
        );
        assert_eq!(
            refusal(&[("transfer-encoding", "gzip, chunked")]),
            Some("malformed_http")
        );
        assert_eq!(
            refusal(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked")
            ]),
            Some("malformed_http")
        );
        let latin = check_body_headers(&headers(&[(
            "content-type",
            "application/json; charset=latin-1",
        )]));
        assert_eq!(
            latin.err().map(|f| f.kind.as_str()),
            Some("unsupported_media_type")
        );
        let utf8 = check_body_headers(&headers(&[(
            "content-type",
            "application/json; charset=\"UTF-8\"",
        )]));
        assert!(utf8.is_ok());
        let jsonp = check_body_headers(&headers(&[("content-type", "application/jsonp")]));
        assert!(jsonp.is_err());
    }
}
