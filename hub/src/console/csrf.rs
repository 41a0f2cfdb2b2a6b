//! Cross-site request forgery. The session cookie is `SameSite=Strict`, which already
//! keeps it off requests another site starts; on top of that every state-changing
//! console request must carry the session's own token in a header, which a page on
//! another origin can neither read nor set, and must come from the console's origin.

use axum::http::{header, HeaderMap};

use crate::error::{HubError, HubResult};

/// The header the page sends its token in.
pub const HEADER: &str = "x-csrf-token";

/// A fresh token: 256 random bits, in hex.
pub fn new_token() -> HubResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| HubError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Whether the request carries `expected` in the token header. Compared in constant
/// time, so response timing tells nothing about how much of a guess was right.
pub fn has_token(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers.get(HEADER).map(|v| v.as_bytes()) else {
        return false;
    };
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Refuses a request that a browser says came from another site, or whose `Origin`
/// is not the host it was sent to. Requests from programs (no such headers) pass:
/// they hold no victim's cookie.
pub fn same_origin(headers: &HeaderMap) -> HubResult<()> {
    let refused = || HubError::forbidden("cross-site requests are refused");
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(refused());
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| refused())?;
        let authority = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .ok_or_else(refused)?;
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(refused)?;
        if !authority.eq_ignore_ascii_case(host) {
            return Err(refused());
        }
    }
    Ok(())
}

/// Sign-in has no session and so no token yet: it must at least be JSON, which a
/// form on another site cannot send without a CORS preflight the hub never grants.
pub fn json_from_same_origin(headers: &HeaderMap) -> HubResult<()> {
    same_origin(headers)?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if json {
        Ok(())
    } else {
        Err(HubError::bad_request(
            "sign-in must be sent as application/json",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn token_must_match_exactly() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 64);
        let mut map = HeaderMap::new();
        assert!(!has_token(&map, &token));
        map.insert(HEADER, HeaderValue::from_str(&token).unwrap());
        assert!(has_token(&map, &token));
        map.insert(HEADER, HeaderValue::from_str(&token[..63]).unwrap());
        assert!(!has_token(&map, &token));
        assert!(!has_token(&map, &new_token().unwrap()));
    }

    #[test]
    fn other_origins_are_refused() {
        assert!(same_origin(&headers(&[("host", "hub.local:8443")])).is_ok());
        assert!(same_origin(&headers(&[
            ("host", "hub.local:8443"),
            ("origin", "https://hub.local:8443"),
            ("sec-fetch-site", "same-origin")
        ]))
        .is_ok());
        assert!(same_origin(&headers(&[
            ("host", "hub.local:8443"),
            ("origin", "https://evil.example")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[
            ("host", "hub.local:8443"),
            ("sec-fetch-site", "cross-site")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[
            ("host", "hub.local:8443"),
            ("sec-fetch-site", "same-site")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[("host", "hub.local:8443"), ("origin", "null")])).is_err());
    }

    #[test]
    fn sign_in_must_be_json() {
        assert!(json_from_same_origin(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )]))
        .is_ok());
        assert!(json_from_same_origin(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )]))
        .is_err());
        assert!(json_from_same_origin(&headers(&[("content-type", "text/plain")])).is_err());
        assert!(json_from_same_origin(&HeaderMap::new()).is_err());
    }
}
