//! Request ids: a sane `X-Request-Id` from the client (or nginx) is kept, otherwise one is
//! made; it is on the answer, in the request log and on error reports.

use super::Layered;
use poem::{Endpoint, EndpointExt, http::HeaderValue};
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
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives every request an id.
pub(crate) fn layer(inner: Layered) -> Layered {
    inner
        .around(|ep, mut req| async move {
            let id = req
                .header("x-request-id")
                .filter(|id| is_sane(id))
                .map(str::to_owned)
                .unwrap_or_else(fresh);
            req.extensions_mut().insert(RequestId(id.clone()));
            let mut resp = ep.call(req).await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert("x-request-id", value);
            }
            resp.extensions_mut().insert(RequestId(id));
            Ok(resp)
        })
        .boxed()
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
