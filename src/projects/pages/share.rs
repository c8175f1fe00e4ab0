//! Sharing a project: the Open Graph and Twitter card tags of its page (absolute addresses from
//! `PUBLIC_URL`, since the sites that read them know nothing of ours), and the QR code of its
//! address, drawn by the server as SVG, for a phone to scan (微信, Weixin).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::QrCode;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{MaybeUser, Path};
use crate::http::pages::Chrome;
use crate::projects::repo::Project;

/// Longest description a card shows; longer summaries are cut at a character boundary.
const DESCRIPTION_CHARS: usize = 200;

/// What the page tells the sites and apps it is shared to.
pub struct Share {
    /// The project's address (`PUBLIC_URL/projects/<slug>`).
    pub url: String,
    pub title: String,
    pub description: String,
    /// The cover (or the drawn art), absolute.
    pub image: String,
    /// Where the QR code of [`Share::url`] is served.
    pub qr_href: String,
    /// `zh_CN` or `en_US`, as Open Graph writes a locale.
    pub locale: &'static str,
}

impl Share {
    /// The sharing tags of `project` on a server reached at `public_url`.
    pub fn new(public_url: &str, project: &Project, chrome: &Chrome) -> Self {
        let site = public_url.trim_end_matches('/');
        let picture = super::picture_url(project, OffsetDateTime::now_utc());
        Self {
            url: project_url(site, project),
            title: project.title.clone(),
            description: project.summary.chars().take(DESCRIPTION_CHARS).collect(),
            image: format!("{site}{picture}"),
            qr_href: format!("/projects/{}/qr.svg", project.slug),
            locale: match chrome.lang {
                crate::i18n::Lang::Zh => "zh_CN",
                crate::i18n::Lang::En => "en_US",
            },
        }
    }
}

/// The address a project is shared by: its slug, which stays the same in every language.
fn project_url(site: &str, project: &Project) -> String {
    format!("{site}/projects/{}", project.slug)
}

/// The QR code of `text` as an SVG document, dark modules on white with the quiet zone.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| Error::Internal(e.into()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// `GET /projects/{key}/qr.svg`: the QR code of the project's address, to whoever may see the
/// project. It changes only with the slug, so browsers and caches keep it for a day.
pub(super) async fn qr_code(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let project = crate::projects::visible(&state.db, &key, viewer.as_ref()).await?;
    let site = state.settings.public_url.trim_end_matches('/');
    let svg = qr_svg(&project_url(site, &project))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        ],
        svg,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn a_qr_code_is_an_svg_document() {
        let svg = qr_svg("https://zhonglian.example/projects/tea").unwrap();
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
