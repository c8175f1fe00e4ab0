//! Cover images: recognised by their first bytes, never by the name or type the browser sent.

use axum::extract::multipart::{Multipart, MultipartError};

use crate::error::{Error, Message, Result};

/// The largest cover accepted.
pub const MAX_COVER_BYTES: usize = 2 * 1024 * 1024;

/// The content type of a PNG, JPEG, WebP or GIF image, from its magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// Body limit of the upload routes: room for the largest cover and the form around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_COVER_BYTES + 64 * 1024;

/// A cover read from a multipart form, with the form's CSRF field if it had one.
pub struct Upload {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub csrf: Option<String>,
}

fn multipart_error(e: MultipartError) -> Error {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge
    } else {
        Error::malformed("projects.error.cover_form")
    }
}

/// Reads the `cover` file (and `csrf`) from a multipart form; refuses anything over
/// `MAX_COVER_BYTES` and anything that is not a PNG, JPEG, WebP or GIF image.
pub async fn read(mut form: Multipart) -> Result<Upload> {
    let mut bytes = None;
    let mut csrf = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("cover") => bytes = Some(field.bytes().await.map_err(multipart_error)?),
            Some("csrf") => csrf = Some(field.text().await.map_err(multipart_error)?),
            _ => {}
        }
    }
    let bytes =
        bytes.ok_or_else(|| Error::Invalid(Message::Key("projects.error.cover_missing")))?;
    if bytes.len() > MAX_COVER_BYTES {
        return Err(Error::TooLarge);
    }
    let content_type =
        sniff(&bytes).ok_or_else(|| Error::Invalid(Message::Key("projects.error.cover_type")))?;
    Ok(Upload {
        content_type,
        bytes: bytes.to_vec(),
        csrf,
    })
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn images_are_known_by_their_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b""), None);
    }
}
