//! Refuses a NUL character anywhere in a request's path, query or form/JSON body before any
//! handler runs: PostgreSQL text cannot hold one, so it would otherwise reach the database and
//! come back as a 500 ("invalid byte sequence").
//!
//! A path with a NUL cannot name anything, so it is a 404; a query or form with one is a 400, a
//! JSON body a 422.
//! Multipart uploads are left to their handlers (file contents may hold any byte).

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{Error, Message};
use super::redirect::percent_decode;
use super::BODY_LIMIT;

/// Middleware: answers 404, 400 or 422 for requests carrying a NUL character.
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    if percent_decode(request.uri().path()).contains('\0') {
        return Error::NotFound.into_response();
    }
    if request
        .uri()
        .query()
        .is_some_and(|query| percent_decode(query).contains('\0'))
    {
        return refused();
    }
    let Some(kind) = body_kind(request.headers()) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return if is_too_large(&error) {
                Error::PayloadTooLarge.into_response()
            } else {
                Error::BadRequest(Message::Key("error.bad_form")).into_response()
            };
        }
    };
    match kind {
        BodyKind::Form if percent_decode(&String::from_utf8_lossy(&bytes)).contains('\0') => {
            return refused();
        }
        // Valid JSON whose text no field can hold: a 422, as for any other unacceptable value.
        BodyKind::Json if bytes.contains(&0) || json_has_nul_escape(&bytes) => {
            return Error::Unprocessable(Message::Key("error.nul_character")).into_response();
        }
        _ => {}
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn refused() -> Response {
    Error::BadRequest(Message::Key("error.nul_character")).into_response()
}

/// The kinds of body whose text reaches handlers as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
}

/// What a request's `Content-Type` says its body is: a URL-encoded form, JSON
/// (`application/json` or `application/*+json`), or something else (`None`). The one reading
/// of the header, for this guard and for the extractors that parse bodies.
pub fn body_kind(headers: &axum::http::HeaderMap) -> Option<BodyKind> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else if essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
    {
        Some(BodyKind::Json)
    } else {
        None
    }
}

fn is_too_large(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether JSON text holds the escape `\u0000` (an escaped backslash before `u0000` does not
/// count: `"\\u0000"` is six ordinary characters).
fn json_has_nul_escape(body: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &byte) in body.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if byte == b'u' && backslashes % 2 == 1 && body.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_has_nul_escape;

    #[test]
    fn only_a_real_nul_escape_counts_in_json() {
        let cases: [(&[u8], bool); 6] = [
            (br#"{"q":"a\u0000b"}"#, true),
            (br#"{"q":"\\\u0000"}"#, true),
            (br#"{"q":"\\u0000"}"#, false),
            (br#"{"q":"\u0001"}"#, false),
            (br#"{"q":"u0000"}"#, false),
            (br#"{"q":"\u000"}"#, false),
        ];
        for (body, expected) in cases {
            assert_eq!(
                json_has_nul_escape(body),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
