//! Reading a cover upload: the multipart form of the page and of the API alike. The rules on the
//! image itself are the domain's ([`Cover::parse`]).

use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;

use crate::error::{Error, Result};
use crate::projects::cover::{Cover, MAX_COVER_BYTES};

/// Body limit of the upload routes: room for the largest cover and the form around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_COVER_BYTES + 64 * 1024;

/// A cover read from a multipart form, with the form's CSRF field if it had one.
pub struct Upload {
    pub cover: Cover,
    pub csrf: Option<String>,
}

fn multipart_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge
    } else {
        Error::malformed("projects.error.cover_form")
    }
}

/// Reads the `cover` file (and `csrf`) from a multipart form; refuses a form without a cover,
/// and a cover [`Cover::parse`] refuses.
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
    let bytes = bytes.ok_or_else(|| Error::invalid("projects.error.cover_missing"))?;
    Ok(Upload {
        cover: Cover::parse(bytes.to_vec())?,
        csrf,
    })
}
