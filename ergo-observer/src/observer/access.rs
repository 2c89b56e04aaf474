//! Who may use the Observer: local clients when no token is set; holders of the token
//! otherwise. The health probes are always answered (they reveal only up or down).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// Wraps `router` with the access check.
pub(super) fn protect(router: Router, token: Arc<Option<String>>) -> Router {
    router.layer(middleware::from_fn_with_state(token, check))
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// Compares in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn check(
    State(token): State<Arc<Option<String>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/health/") {
        return next.run(request).await;
    }
    match token.as_deref() {
        None if peer.ip().is_loopback() => next.run(request).await,
        None => (
            StatusCode::FORBIDDEN,
            "the Observer answers local clients only",
        )
            .into_response(),
        Some(expected) => {
            let bearer = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            let given = bearer.or_else(|| query_token(request.uri().query()));
            match given {
                Some(t) if same(t, expected) => next.run(request).await,
                _ => (StatusCode::UNAUTHORIZED, "a token is required").into_response(),
            }
        }
    }
}
