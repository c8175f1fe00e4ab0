//! Stories and updates in Markdown, rendered to HTML that cannot run anything.

use pulldown_cmark::{html, Event, Options, Parser};
use std::sync::LazyLock;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow noopener"))
        // Images from elsewhere would let a founder track readers; covers are uploaded instead.
        .rm_tags(["img"]);
    builder
});

/// Markdown to safe HTML: raw HTML in the source is shown as text, never interpreted, and the
/// result is sanitised (no scripts, no event handlers, only http(s) and mailto links, each with
/// `rel="nofollow noopener"`).
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    CLEANER.clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn scripts_and_raw_html_render_as_text() {
        let html = render(
            "Hi <script>alert(1)</script> <b onclick=\"x()\">bold</b>\n\n<iframe src=x></iframe>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("<iframe"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn javascript_links_lose_their_target_and_others_get_rel() {
        let html = render("[bad](javascript:alert(1)) [good](https://example.com)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r#"href="https://example.com""#), "{html}");
        assert!(html.contains(r#"rel="nofollow noopener""#), "{html}");
    }

    #[test]
    fn ordinary_markdown_survives() {
        let html = render("# 标题\n\n*em* and **strong**\n\n- one\n- two");
        assert!(
            html.contains("<h1>标题</h1>")
                && html.contains("<em>em</em>")
                && html.contains("<li>two</li>"),
            "{html}"
        );
    }
}
