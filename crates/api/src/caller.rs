//! Who is calling: the access token from the `criticalbit_access` cookie (the contract) or an
//! `Authorization: Bearer` header (scripts, overlays' admin tools), verified by [`auth::Verifier`].

use axum::http::{header, HeaderMap};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The non-empty `criticalbit_access` cookie (its presence alone selects private caching).
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == auth::COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|t| !t.is_empty())
}

/// The raw token: the cookie wins over the header when both are present.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers).or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
    })
}

/// The caller's user id (JWT `sub`), or the contract's 401.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    let token = token(headers).ok_or(ApiError::Unauthorized("Not authenticated"))?;
    // Without a key set nothing can be verified: every token is invalid.
    let verifier = state
        .auth
        .as_ref()
        .ok_or(ApiError::Unauthorized("Invalid token"))?;
    match verifier.verify(token).await {
        Ok(claims) => Ok(claims.sub),
        Err(auth::AuthError::Missing) => Err(ApiError::Unauthorized("Not authenticated")),
        Err(auth::AuthError::MissingSubject) => {
            Err(ApiError::Unauthorized("Invalid token: missing subject"))
        }
        Err(auth::AuthError::Invalid) => Err(ApiError::Unauthorized("Invalid token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_then_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(token(&h), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; criticalbit_access=xyz; other=1"),
        );
        assert_eq!(token(&h), Some("xyz"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("criticalbit_access="),
        );
        assert_eq!(
            token(&h),
            Some("abc"),
            "an empty cookie falls back to the header"
        );
        h.remove(header::AUTHORIZATION);
        assert_eq!(token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(token(&h), None);
    }
}
