//! What a founder sees of the pledges to their project: the backers (with tier or shares), and
//! CSV exports for shipping and for the share register.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::{PledgeId, PledgeState};
use crate::accounts::contacts;
use crate::error::Result;
use crate::i18n::Lang;
use crate::ids::{ProjectId, UserId};
use crate::money::amount::fixed;
use crate::projects::shipping::Region;

/// One backer of a project, as the founder sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackerLine {
    #[schema(value_type = String, format = Uuid)]
    pub pledge_id: PledgeId,
    pub display_name: String,
    pub email: String,
    pub tier: Option<String>,
    pub ships: bool,
    /// Where the reward ships, and the backer's address (for the founder's eyes only).
    pub shipping_region: Option<Region>,
    pub address: Option<String>,
    /// The add-ons taken, as `quantity × title`, in title order.
    pub addons: Vec<String>,
    pub shares: Option<i64>,
    #[schema(value_type = String, example = "128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub state: PledgeState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub pledged_at: OffsetDateTime,
}

/// A pledge with its tier's headline, before the backer's contact is added.
#[derive(sqlx::FromRow)]
struct BackerRow {
    id: PledgeId,
    backer_id: UserId,
    tier: Option<String>,
    ships: Option<bool>,
    shipping_region: Option<Region>,
    address: Option<String>,
    addons: Vec<String>,
    shares: Option<i64>,
    amount: Decimal,
    currency: String,
    state: PledgeState,
    created_at: OffsetDateTime,
}

/// The backers of a project whose pledges are active or collected, oldest first. Their names
/// and addresses come from the accounts room, a page of backers at a time.
pub async fn backers(db: &PgPool, project: ProjectId) -> Result<Vec<BackerLine>> {
    let rows: Vec<BackerRow> = sqlx::query_as(
        "SELECT p.id, p.backer_id, t.title AS tier, t.ships, p.shipping_region,
                CASE WHEN p.shipping_region IS NOT NULL THEN a.address END AS address,
                ARRAY(SELECT pa.quantity || ' × ' || ad.title
                      FROM pledge_addons pa JOIN addon_headlines ad ON ad.id = pa.addon_id
                      WHERE pa.pledge_id = p.id ORDER BY ad.title) AS addons,
                p.shares, p.amount, p.currency, p.state, p.created_at
         FROM pledges p LEFT JOIN tier_headlines t ON t.id = p.tier_id
         LEFT JOIN pledge_addresses a ON a.pledge_id = p.id
         WHERE p.project_id = $1 AND p.state IN ('active', 'collected')
         ORDER BY p.created_at, p.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    let mut people: Vec<UserId> = rows.iter().map(|r| r.backer_id).collect();
    people.sort_unstable();
    people.dedup();
    let contacts = contacts::of(db, &people).await?;
    Ok(rows
        .into_iter()
        // Every backer is a user; one the accounts room does not know is left out, as before.
        .filter_map(|r| {
            let contact = contacts.get(&r.backer_id)?;
            Some(BackerLine {
                pledge_id: r.id,
                display_name: contact.display_name.clone(),
                email: contact.email.clone(),
                tier: r.tier,
                ships: r.ships.unwrap_or(false),
                shipping_region: r.shipping_region,
                address: r.address,
                addons: r.addons,
                shares: r.shares,
                amount: r.amount,
                currency: r.currency,
                state: r.state,
                pledged_at: r.created_at,
            })
        })
        .collect())
}

/// Everyone with an active pledge to the project (whom a freeze or a cancellation concerns).
pub async fn active_backers(conn: &mut PgConnection, project: ProjectId) -> Result<Vec<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT backer_id FROM pledges WHERE project_id = $1 AND state = 'active'",
    )
    .bind(project)
    .fetch_all(&mut *conn)
    .await?)
}

/// Which of `users` back the project: an active or a collected pledge on it (the discussion's
/// "backer" badge). At most as many ids as given come back.
pub async fn backing_among(
    conn: &mut PgConnection,
    project: ProjectId,
    users: &[UserId],
) -> Result<Vec<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT backer_id FROM pledges
          WHERE project_id = $1 AND backer_id = ANY($2) AND state IN ('active', 'collected')",
    )
    .bind(project)
    .bind(users)
    .fetch_all(&mut *conn)
    .await?)
}

/// A CSV field: quoted when needed, and never read as a formula by a spreadsheet.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The byte order mark that opens every CSV: without it Excel reads UTF-8 as the local code
/// page and writes 陈 as three strange characters.
const BOM: char = '\u{feff}';

/// A CSV document: the BOM, the header in `lang` (`pledges_csv.<column>` in the catalogue),
/// then one line per row, each ended by CRLF.
pub fn csv(lang: Lang, columns: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let t = lang.catalogue();
    let header: Vec<String> = columns
        .iter()
        .map(|c| csv_field(t.get(&format!("pledges_csv.{c}"))))
        .collect();
    let mut out = String::from(BOM);
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The backers for shipping, headed in `lang`: name, email, reward, whether it ships, the
/// shipping address and region (empty for a reward that does not ship), the add-ons, amount,
/// state, date.
pub async fn backers_csv_text(db: &PgPool, project: ProjectId, lang: Lang) -> Result<String> {
    let list = backers(db, project).await?;
    Ok(csv(
        lang,
        &[
            "pledge_id",
            "name",
            "email",
            "reward",
            "ships",
            "address",
            "region",
            "addons",
            "amount",
            "currency",
            "state",
            "pledged_at",
        ],
        list.into_iter().filter(|b| b.shares.is_none()).map(|b| {
            vec![
                b.pledge_id.to_string(),
                b.display_name,
                b.email,
                b.tier.unwrap_or_default(),
                b.ships.to_string(),
                b.address.unwrap_or_default(),
                b.shipping_region
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                b.addons.join("; "),
                fixed(b.amount),
                b.currency,
                b.state.as_str().to_owned(),
                rfc3339(b.pledged_at),
            ]
        }),
    ))
}

/// The share register of an equity offering, headed in `lang`: investor, shares, amount,
/// state, date.
pub async fn share_register_csv_text(
    db: &PgPool,
    project: ProjectId,
    lang: Lang,
) -> Result<String> {
    let list = backers(db, project).await?;
    Ok(csv(
        lang,
        &[
            "pledge_id",
            "investor",
            "email",
            "shares",
            "amount",
            "currency",
            "state",
            "committed_at",
        ],
        list.into_iter().filter_map(|b| {
            let shares = b.shares?;
            Some(vec![
                b.pledge_id.to_string(),
                b.display_name,
                b.email,
                shares.to_string(),
                fixed(b.amount),
                b.currency,
                b.state.as_str().to_owned(),
                rfc3339(b.pledged_at),
            ])
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-5"), "'-5");
    }

    #[test]
    fn a_csv_starts_with_the_bom_and_a_translated_header() {
        let rows = std::iter::once(vec!["陈".to_owned(), String::new()]);
        let text = csv(Lang::Zh, &["name", "address"], rows);
        assert!(text.starts_with('\u{feff}'), "{text:?}");
        assert!(
            !text.contains("pledges_csv."),
            "every column has a title: {text}"
        );
        assert!(text.ends_with("陈,\r\n"), "{text:?}");
    }
}
