//! Cover images: recognised by their first bytes, never by the name or type the browser sent.
//! Reading the upload is the web part's (`pages::upload`); what makes an image acceptable is here.

pub mod art;

use crate::error::{Error, Result};

/// The largest cover accepted.
pub const MAX_COVER_BYTES: usize = 2 * 1024 * 1024;

pub use crate::images::sniff;

/// An accepted cover: an image of a known type, at most [`MAX_COVER_BYTES`].
pub struct Cover {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Cover {
    /// Accepts `bytes` as a cover: a 413 over [`MAX_COVER_BYTES`], a 422 for anything that is
    /// not a PNG, JPEG, WebP or GIF image.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() > MAX_COVER_BYTES {
            return Err(Error::TooLarge);
        }
        let content_type =
            sniff(&bytes).ok_or_else(|| Error::invalid("projects.error.cover_type"))?;
        Ok(Cover {
            content_type,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_cover_is_refused_when_too_large_or_not_an_image() {
        let mut big = b"GIF89a".to_vec();
        big.resize(MAX_COVER_BYTES + 1, 0);
        assert!(matches!(Cover::parse(big), Err(Error::TooLarge)));
        assert!(matches!(
            Cover::parse(b"<svg/>".to_vec()),
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            Cover::parse(b"GIF89a...".to_vec())
                .map(|c| c.content_type)
                .ok(),
            Some("image/gif")
        );
    }
}
