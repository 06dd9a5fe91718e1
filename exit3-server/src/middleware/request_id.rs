//! Request ids: a sane `X-Request-Id` from the client (or nginx) is kept, otherwise one is
//! made; it is on the answer, in the request log and on error reports.

use poem::{Request, Response, http::HeaderValue};
use rand::Rng;

/// The request's id, in the request's and the answer's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn fresh() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The request's id: its own when sane, else a fresh one.
pub(crate) fn take(req: &Request) -> String {
    req.header("x-request-id")
        .filter(|id| is_sane(id))
        .map_or_else(fresh, str::to_owned)
}

/// Puts the id on the answer: the header for the client, the extension for error reports.
pub(crate) fn stamp(resp: &mut Response, id: String) {
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", value);
    }
    resp.extensions_mut().insert(RequestId(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_taken_only_if_sane() {
        assert!(is_sane("abc-123_x.y:z"));
        assert!(!is_sane("a b"));
        assert!(!is_sane(&"x".repeat(200)));
        assert_eq!(fresh().len(), 32);
    }
}
