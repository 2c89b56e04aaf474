//! Matching a request path against a handler's pattern (`/balance/:id`): what the
//! dispatch `#[actor]` generates for `#[get]`, `#[post]`, ... handlers calls.

// The error of these functions is the HTTP response to answer with: once per request.
#![allow(clippy::result_large_err)]

use std::str::FromStr;

use axum::http::StatusCode;

use super::request::WebResponse;

/// The most `:name` segments a pattern may have.
pub const MAX_PARAMS: usize = 8;

/// The `:name` segments of a matched path.
#[derive(Debug)]
pub struct PathParams<'a> {
    params: [(&'static str, &'a str); MAX_PARAMS],
    len: usize,
}

impl<'a> PathParams<'a> {
    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.params[..self.len]
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The value of `name`, percent-decoded and parsed; a 400 response if it does not
    /// parse.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, WebResponse> {
        let raw = self.get(name).unwrap_or("");
        let decoded = percent_decode(raw);
        decoded.parse().map_err(|_| {
            WebResponse::text(
                StatusCode::BAD_REQUEST,
                format!("bad path parameter `{name}`: {decoded:?}"),
            )
        })
    }
}

/// Matches `path` against `pattern`: literal segments must be equal, `:name` segments
/// match any one non-empty segment. A trailing slash is ignored.
pub fn match_path<'a>(pattern: &'static str, path: &'a str) -> Option<PathParams<'a>> {
    let mut params = PathParams {
        params: [("", ""); MAX_PARAMS],
        len: 0,
    };
    let mut want = pattern.trim_end_matches('/').split('/');
    let mut got = path.trim_end_matches('/').split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if let Some(name) = w.strip_prefix(':') {
                    if g.is_empty() || params.len == MAX_PARAMS {
                        return None;
                    }
                    params.params[params.len] = (name, g);
                    params.len += 1;
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn percent_decode(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn patterns_match_and_bind() {
        let p = match_path("/balance/:id", "/balance/42").unwrap();
        assert_eq!(p.parse::<u64>("id"), Ok(42));
        assert!(match_path("/balance/:id", "/balance/").is_none());
        assert!(match_path("/balance/:id", "/balance/4/x").is_none());
        assert!(match_path("/", "/").is_some());
        assert!(match_path("/a/b/", "/a/b").is_some());
        let p = match_path("/x/:a/y/:b", "/x/h%20i/y/2").unwrap();
        assert_eq!(p.parse::<String>("a").unwrap(), "h i");
        assert!(p.parse::<u8>("a").is_err());
    }

    proptest! {
        #[test]
        fn any_path_is_matched_without_panicking(path in "[/a-z%:0-9]{0,40}") {
            let _ = match_path("/a/:b/:c", &path).map(|p| p.parse::<String>("b"));
            let _ = percent_decode(&path);
        }
    }
}
