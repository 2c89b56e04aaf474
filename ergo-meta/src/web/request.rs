//! [`WebRequest`] and [`WebResponse`]: an HTTP request as a WebWorker receives it, the
//! response it answers with, and [`IntoWebResponse`] for what handlers may return.

// The error of these functions is the HTTP response to answer with: once per request.
#![allow(clippy::result_large_err)]

use std::fmt;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An HTTP request, whole (its body already read, up to the server's limit).
#[derive(Clone, Debug)]
pub struct WebRequest {
    /// The method.
    pub method: Method,
    /// The URI (path and query).
    pub uri: Uri,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl WebRequest {
    /// A request (for tests, or for calling a WebWorker without HTTP).
    pub fn new(method: Method, uri: &str) -> WebRequest {
        WebRequest {
            method,
            uri: uri.parse().unwrap_or_default(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query string's parameters, deserialized (`?name=x&n=5` into a struct).
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, WebResponse> {
        serde_urlencoded::from_str(self.uri.query().unwrap_or(""))
            .map_err(|e| WebResponse::text(StatusCode::BAD_REQUEST, format!("bad query: {e}")))
    }

    /// One query parameter, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(self.uri.query().unwrap_or("")).ok()?;
        pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, WebResponse> {
        std::str::from_utf8(&self.body)
            .map_err(|_| WebResponse::text(StatusCode::BAD_REQUEST, "the body is not UTF-8"))
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, WebResponse> {
        serde_json::from_slice(&self.body)
            .map_err(|e| WebResponse::text(StatusCode::BAD_REQUEST, format!("bad JSON: {e}")))
    }
}

/// An HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub struct WebResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl WebResponse {
    /// A response with `status`, a content type and a body.
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        WebResponse {
            status,
            headers,
            body: body.into(),
        }
    }

    /// A plain text response.
    pub fn text(status: StatusCode, body: impl Into<String>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// An HTML page (200).
    pub fn html(body: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, "text/html; charset=utf-8", body.into())
    }

    /// A JSON response (200), or a 500 if `value` cannot be serialized.
    pub fn json<T: Serialize>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(StatusCode::OK, "application/json", body),
            Err(e) => Self::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// A 404 Not Found.
    pub fn not_found() -> Self {
        Self::text(StatusCode::NOT_FOUND, "not found")
    }

    /// This response with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl fmt::Debug for WebResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebResponse({}, {} bytes)", self.status, self.body.len())
    }
}

impl axum::response::IntoResponse for WebResponse {
    fn into_response(self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// A JSON body: `Json(value)` as a handler's return value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// What a web handler may return.
#[diagnostic::on_unimplemented(
    message = "a web handler cannot answer with `{Self}`",
    label = "not a web response",
    note = "return a `WebResponse`, a `String` or `&'static str` (200, text), `Json(value)`, `(StatusCode, T)`, `()` (204), or a `Result` of these"
)]
pub trait IntoWebResponse {
    /// The response.
    fn into_web_response(self) -> WebResponse;
}

impl IntoWebResponse for WebResponse {
    fn into_web_response(self) -> WebResponse {
        self
    }
}

impl IntoWebResponse for String {
    fn into_web_response(self) -> WebResponse {
        WebResponse::text(StatusCode::OK, self)
    }
}

impl IntoWebResponse for &'static str {
    fn into_web_response(self) -> WebResponse {
        WebResponse::text(StatusCode::OK, self)
    }
}

impl IntoWebResponse for () {
    fn into_web_response(self) -> WebResponse {
        WebResponse::new(StatusCode::NO_CONTENT, "text/plain", Bytes::new())
    }
}

impl<T: Serialize> IntoWebResponse for Json<T> {
    fn into_web_response(self) -> WebResponse {
        WebResponse::json(&self.0)
    }
}

impl<T: IntoWebResponse> IntoWebResponse for (StatusCode, T) {
    fn into_web_response(self) -> WebResponse {
        self.1.into_web_response().with_status(self.0)
    }
}

impl<T: IntoWebResponse, E: IntoWebResponse> IntoWebResponse for Result<T, E> {
    fn into_web_response(self) -> WebResponse {
        match self {
            Ok(ok) => ok.into_web_response(),
            Err(err) => err.into_web_response(),
        }
    }
}
