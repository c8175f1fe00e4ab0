//! A project's texts in a second language: its title, summary and story, and its tiers' titles
//! and descriptions. Readers see their language when the project has it (the loaders join
//! `project_translations` and `tier_translations` by the reader's language tag), else the
//! original; a search in either language finds it, because a translation's search text is
//! folded into `projects.search`.

use sqlx::{PgConnection, PgPool};

use crate::error::Result;
use crate::i18n::Lang;
use crate::projects::{domain, markdown, search, ProjectId, TierId};

/// A project's texts in `lang`, checked as the originals are.
pub struct Translation {
    pub lang: Lang,
    pub title: String,
    pub summary: String,
    pub story: String,
    /// Tiers in the order of the project's tiers: title and description.
    pub tiers: Vec<(String, String)>,
}

impl Translation {
    /// Checks every text by the rules of the original fields.
    pub fn parse(
        lang: Lang,
        title: &str,
        summary: &str,
        story: &str,
        tiers: &[(&str, &str)],
    ) -> Result<Self> {
        Ok(Translation {
            lang,
            title: domain::title(title)?,
            summary: domain::summary(summary)?,
            story: domain::story(story)?,
            tiers: tiers
                .iter()
                .map(|(title, description)| {
                    Ok((
                        domain::text(title, 1, 120, "projects.error.tier_title")?,
                        domain::text(description, 0, 5000, "projects.error.tier_description")?,
                    ))
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// The search text of a project from its original title and summary and every translation's:
/// the SQL expression over `p` (a `projects` row), for `UPDATE projects p SET search = ...`.
pub(super) const SEARCH_WITH_TRANSLATIONS: &str = "to_tsvector('simple', COALESCE(
    (SELECT string_agg(search_text, ' ') FROM project_translations WHERE project_id = p.id), ''))";

/// Forgets the translated stories of a project whose original story has just changed after
/// launch, in the caller's transaction: readers of every language then see the current story.
pub async fn forget_translated_stories(conn: &mut sqlx::PgConnection, id: ProjectId) -> Result<()> {
    sqlx::query(
        "UPDATE project_translations SET story = NULL, story_html = NULL, updated_at = now()
         WHERE project_id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores (or replaces) a project's texts in `translation.lang`, with its tiers' (the first
/// tiers in their order, as many as the translation has), and refreshes the project's search.
pub async fn put_translation(db: &PgPool, id: ProjectId, translation: &Translation) -> Result<()> {
    let mut tx = db.begin().await?;
    let (title, summary): (String, String) =
        sqlx::query_as("SELECT title, summary FROM projects WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let lang = translation.lang.tag();
    sqlx::query(
        "INSERT INTO project_translations
             (project_id, lang, title, summary, story, story_html, search_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (project_id, lang) DO UPDATE SET title = EXCLUDED.title,
             summary = EXCLUDED.summary, story = EXCLUDED.story,
             story_html = EXCLUDED.story_html, search_text = EXCLUDED.search_text,
             updated_at = now()",
    )
    .bind(id)
    .bind(lang)
    .bind(&translation.title)
    .bind(&translation.summary)
    .bind(&translation.story)
    .bind(markdown::render(&translation.story))
    .bind(search::document(&format!(
        "{} {}",
        translation.title, translation.summary
    )))
    .execute(&mut *tx)
    .await?;
    put_tiers(&mut tx, id, lang, &translation.tiers).await?;
    sqlx::query(&format!(
        "UPDATE projects p SET search = to_tsvector('simple', $2) || {SEARCH_WITH_TRANSLATIONS},
                updated_at = now()
         WHERE p.id = $1"
    ))
    .bind(id)
    .bind(search::document(&format!("{title} {summary}")))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn put_tiers(
    conn: &mut PgConnection,
    id: ProjectId,
    lang: &str,
    tiers: &[(String, String)],
) -> Result<()> {
    let ids: Vec<TierId> = sqlx::query_scalar(
        "SELECT id FROM reward_tiers WHERE project_id = $1 ORDER BY position, created_at",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for (tier, (title, description)) in ids.iter().zip(tiers) {
        sqlx::query(
            "INSERT INTO tier_translations (tier_id, lang, title, description, description_html)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tier_id, lang) DO UPDATE SET title = EXCLUDED.title,
                 description = EXCLUDED.description,
                 description_html = EXCLUDED.description_html",
        )
        .bind(tier)
        .bind(lang)
        .bind(title)
        .bind(description)
        .bind(markdown::render(description))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
