//! Request guards (method, sizes), HTML escaping, path segments and the security headers of every reply.

use std::str::FromStr;

use percent_encoding::percent_decode_str;
use warp::http::header::{self, HeaderValue};
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::error::DashboardError;

/// Longest request path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 2048;
/// Largest request body accepted, in bytes (no route reads one).
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// The content security policy of every page: scripts and styles only from the dashboard itself.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Rejects requests whose method is not GET, whose path is too long or whose body is too large.
pub fn request_guard() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::header::optional::<u64>("content-length"))
        .and_then(
            |method: Method, path: warp::path::FullPath, length: Option<u64>| async move {
                if method != Method::GET {
                    return Err(warp::reject::custom(DashboardError::MethodNotAllowed(
                        method.to_string(),
                    )));
                }
                if path.as_str().len() > MAX_PATH_BYTES {
                    return Err(warp::reject::custom(DashboardError::TooLarge(format!(
                        "path longer than {MAX_PATH_BYTES} bytes"
                    ))));
                }
                if length.is_some_and(|n| n > MAX_BODY_BYTES) {
                    return Err(warp::reject::custom(DashboardError::TooLarge(format!(
                        "body larger than {MAX_BODY_BYTES} bytes"
                    ))));
                }
                Ok::<(), Rejection>(())
            },
        )
        .untuple_one()
}

/// Adds the security headers to a reply.
pub fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One path segment, percent-decoded; a segment that is not UTF-8 once decoded matches no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment(pub String);

impl FromStr for Segment {
    type Err = std::str::Utf8Error;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Segment(percent_decode_str(raw).decode_utf8()?.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(
            "validation%3Atest".parse::<Segment>().unwrap().0,
            "validation:test"
        );
        assert!("%FF".parse::<Segment>().is_err());
    }
}
