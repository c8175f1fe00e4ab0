//! The project page's query: a project and everything its page shows, in one statement.
//!
//! The project page is the busiest page: one query per part cost it more in round trips and
//! per-statement work than the rows themselves. So each part is aggregated to JSON in a
//! subquery, the supervision trail from the supervision room's `supervision_trail` view, the
//! follower count from the community room's `project_community` view and the ledger's size
//! from the ledger room's `ledger_size` view.

use crate::ids::UpdateId;
use rust_decimal::Decimal;
use sqlx::types::Json;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::offering::Offering;
use super::project::{localized_from, Project, LOCAL_COLUMNS};
use super::tiers::Tier;
use super::updates::Update;
use super::Revision;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::ids::UserId;
use crate::projects::trail::TrailEntry;
use crate::projects::{ProjectId, TierId};

/// What the project page shows besides the project itself, with the ledger's size for proofs.
pub struct Parts {
    pub tiers: Vec<Tier>,
    pub offering: Option<Offering>,
    pub updates: Vec<Update>,
    pub revisions: Vec<Revision>,
    pub trail: Vec<TrailEntry>,
    pub community: Community,
    pub tree_size: u64,
}

#[derive(serde::Deserialize)]
struct TierJson {
    id: TierId,
    title: String,
    description: String,
    description_html: String,
    price: Decimal,
    quantity_limit: Option<i32>,
    claimed: i32,
    delivery_month: Option<String>,
    ships: bool,
}

impl From<TierJson> for Tier {
    fn from(t: TierJson) -> Self {
        Tier {
            id: t.id,
            title: t.title,
            description: t.description,
            description_html: t.description_html,
            price: t.price,
            quantity_limit: t.quantity_limit,
            claimed: t.claimed,
            remaining: t.quantity_limit.map(|l| (l - t.claimed).max(0)),
            delivery_month: t.delivery_month,
            ships: t.ships,
        }
    }
}

#[derive(serde::Deserialize)]
struct UpdateJson {
    id: UpdateId,
    title: String,
    body: String,
    body_html: String,
    backers_only: bool,
    created_us: i64,
}

#[derive(serde::Deserialize)]
struct RevisionJson {
    change: String,
    detail: String,
    created_us: i64,
}

#[derive(serde::Deserialize)]
struct TrailJson {
    action: String,
    from_state: Option<String>,
    to_state: Option<String>,
    reason: String,
    regulator_name: String,
    launch_us: Option<i64>,
    at_us: i64,
    tx_hash: String,
}

/// Times travel through JSON as whole microseconds since the epoch, PostgreSQL's own
/// precision, so nothing is lost or reparsed from text.
fn from_micros(us: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|e| Error::Internal(e.into()))
}

/// The select list of [`PartsRow`] for the project `p`: its tiers (their texts in the language
/// tag `lang`, an SQL expression, where translated), offering, updates (backers-only ones where
/// `backers_only` holds), revisions and supervision trail, and the ledger's size.
fn parts_columns(backers_only: &str, lang: &str) -> String {
    format!(
        "(SELECT COALESCE(json_agg(json_build_object(
                'id', r.id, 'title', COALESCE(tt.title, r.title),
                'description', COALESCE(tt.description, r.description),
                'description_html', COALESCE(tt.description_html, r.description_html),
                'price', r.price::text, 'quantity_limit', r.quantity_limit, 'claimed', r.claimed,
                'delivery_month', to_char(r.delivery_month, 'YYYY-MM'), 'ships', r.ships)
              ORDER BY r.position, r.created_at), '[]')
            FROM reward_tiers r
            LEFT JOIN tier_translations tt ON tt.tier_id = r.id AND tt.lang = {lang}
            WHERE r.project_id = p.id) AS tiers,
           (SELECT json_build_object(
                'price_per_share', price_per_share::text, 'min_shares', min_shares,
                'max_shares', max_shares, 'min_shares_per_investor', min_shares_per_investor,
                'pre_money_valuation', pre_money_valuation::text, 'security_type', security_type,
                'risk_warning', risk_warning, 'max_investors', max_investors,
                'shares_sold', shares_sold,
                'shares_left', greatest(max_shares - shares_sold, 0),
                'investor_count', investor_count)
            FROM equity_offerings WHERE project_id = p.id) AS offering,
           (SELECT COALESCE(json_agg(json_build_object(
                'id', id, 'title', title, 'body', body, 'body_html', body_html,
                'backers_only', backers_only,
                'created_us', (extract(epoch FROM created_at) * 1000000)::int8)
              ORDER BY created_at DESC), '[]')
            FROM project_updates WHERE project_id = p.id AND (NOT backers_only OR {backers_only}))
            AS updates,
           (SELECT COALESCE(json_agg(json_build_object(
                'change', change, 'detail', detail,
                'created_us', (extract(epoch FROM created_at) * 1000000)::int8)
              ORDER BY created_at, id), '[]')
            FROM project_revisions WHERE project_id = p.id) AS revisions,
           (SELECT COALESCE(json_agg(json_build_object(
                'action', s.action, 'from_state', s.from_state, 'to_state', s.to_state,
                'reason', s.reason, 'regulator_name', s.regulator_name,
                'launch_us', (extract(epoch FROM s.launch_at) * 1000000)::int8,
                'at_us', (extract(epoch FROM s.at) * 1000000)::int8,
                'tx_hash', encode(s.tx_hash, 'hex'))
              ORDER BY s.at, s.id), '[]')
            FROM supervision_trail s WHERE s.project_id = p.id) AS trail,
           (SELECT json_build_object('followers', pc.followers, 'discussed', pc.discussed)
            FROM project_community pc WHERE pc.project_id = p.id) AS community,
           (SELECT size FROM ledger_size) AS tree_size"
    )
}

/// What the community room's `project_community` view says of the project.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Community {
    pub followers: i64,
    /// Whether anyone has commented yet.
    pub discussed: bool,
}

#[derive(sqlx::FromRow)]
struct PartsRow {
    tiers: Json<Vec<TierJson>>,
    offering: Option<Json<Offering>>,
    updates: Json<Vec<UpdateJson>>,
    revisions: Json<Vec<RevisionJson>>,
    trail: Json<Vec<TrailJson>>,
    community: Json<Community>,
    tree_size: i64,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    #[sqlx(flatten)]
    project: Project,
    #[sqlx(flatten)]
    parts: PartsRow,
}

/// A project by id (when the text is a UUID) or slug, with everything its page shows, in one
/// statement; backers-only updates when `viewer` is its founder (whether a backer may read them
/// is the pledging room's to say: see `projects::api::visible_detail`). Texts are in `lang`
/// where the project has them, else the originals (`None`: always the originals).
pub async fn view(
    db: &PgPool,
    key: &str,
    viewer: Option<UserId>,
    lang: Option<Lang>,
) -> Result<Option<(Project, Parts)>> {
    let by = if key.parse::<ProjectId>().is_ok() {
        "p.id = $1::uuid"
    } else {
        "p.slug = $1"
    };
    let backer = "coalesce(p.founder_id = $2, false)";
    let row: Option<ViewRow> = sqlx::query_as(&format!(
        "SELECT {LOCAL_COLUMNS}, {} {} WHERE {by}",
        parts_columns(backer, "$3"),
        localized_from(3)
    ))
    .bind(key.trim().to_ascii_lowercase())
    .bind(viewer)
    .bind(lang.map(Lang::tag))
    .fetch_optional(db)
    .await?;
    row.map(|row| Ok((row.project, parts_from(row.parts)?)))
        .transpose()
}

/// A project's parts (see [`parts_columns`]), backers-only updates when `include_backers_only`,
/// tiers in `lang` where translated.
pub async fn parts(
    db: &PgPool,
    id: ProjectId,
    include_backers_only: bool,
    lang: Option<Lang>,
) -> Result<Parts> {
    let row: PartsRow = sqlx::query_as(&format!(
        "SELECT {} FROM projects p WHERE p.id = $1",
        parts_columns("$2", "$3")
    ))
    .bind(id)
    .bind(include_backers_only)
    .bind(lang.map(Lang::tag))
    .fetch_one(db)
    .await?;
    parts_from(row)
}

fn parts_from(row: PartsRow) -> Result<Parts> {
    let PartsRow {
        tiers,
        offering,
        updates,
        revisions,
        trail,
        community,
        tree_size,
    } = row;
    Ok(Parts {
        tiers: tiers.0.into_iter().map(Tier::from).collect(),
        offering: offering.map(|Json(o)| o),
        updates: updates
            .0
            .into_iter()
            .map(|u| {
                Ok(Update {
                    id: u.id,
                    title: u.title,
                    body: u.body,
                    body_html: u.body_html,
                    backers_only: u.backers_only,
                    created_at: from_micros(u.created_us)?,
                })
            })
            .collect::<Result<_>>()?,
        revisions: revisions
            .0
            .into_iter()
            .map(|r| {
                Ok(Revision {
                    change: r.change,
                    detail: r.detail,
                    created_at: from_micros(r.created_us)?,
                })
            })
            .collect::<Result<_>>()?,
        trail: trail
            .0
            .into_iter()
            .map(|s| {
                Ok(TrailEntry {
                    action: s.action,
                    from_state: s.from_state,
                    to_state: s.to_state,
                    reason: s.reason,
                    regulator_name: s.regulator_name,
                    launch_at: s.launch_us.map(from_micros).transpose()?,
                    at: from_micros(s.at_us)?,
                    tx_hash: s.tx_hash,
                })
            })
            .collect::<Result<_>>()?,
        community: community.0,
        tree_size: tree_size as u64,
    })
}
