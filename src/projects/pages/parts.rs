//! The pieces of the project page, each built from the project's data in the reader's language:
//! tiers, the offering, updates, revisions, the supervision trail, the regulator's actions and
//! the settlement's transactions.

use super::{label, Choice};
use crate::http::pages::Chrome;
use crate::i18n::Catalogue;
use crate::projects::lifecycle::{next_state, Action};
use crate::projects::repo::{Offering, Revision, Tier, Update};
use crate::projects::trail::TrailEntry;
use crate::projects::ProjectState;
use crate::settlement::SettledTransaction;

/// Where the inclusion proof of `tx_hash` is, against the tree of `tree_size` leaves.
fn proof_href(tx_hash: &str, tree_size: u64) -> String {
    format!("/api/v1/ledger/proof/inclusion?tx_hash={tx_hash}&tree_size={tree_size}")
}

/// A tier as the page shows it, every text written for the reader.
pub struct TierView {
    pub id: String,
    pub title: String,
    pub description_html: String,
    pub price: String,
    /// How many are left of how many (or that there is no limit).
    pub availability: String,
    pub sold_out: bool,
    /// When it is delivered, in words, if the founder said.
    pub delivery: Option<String>,
    pub ships: bool,
}

impl TierView {
    /// The view of `tier`, priced in `currency`.
    pub fn new(tier: &Tier, currency: &str, c: &Chrome) -> Self {
        let t = c.t;
        let availability = match (tier.remaining, tier.quantity_limit) {
            (Some(0), _) => t.get("projects.show.sold_out").to_owned(),
            (Some(left), Some(limit)) => t.fill(
                "projects.show.left_of",
                &[("left", &left.to_string()), ("limit", &limit.to_string())],
            ),
            (Some(left), None) => t.fill("projects.show.left", &[("left", &left.to_string())]),
            (None, _) => t.get("projects.unlimited").to_owned(),
        };
        TierView {
            id: tier.id.to_string(),
            title: tier.title.clone(),
            description_html: tier.description_html.clone(),
            price: c.money(&tier.price, currency),
            availability,
            sold_out: tier.remaining == Some(0),
            delivery: tier.delivery_month.as_deref().map(|month| {
                let month = delivery_month(month, c);
                c.t.fill("projects.show.delivery", &[("month", &month)])
            }),
            ships: tier.ships,
        }
    }
}

/// A delivery month (`YYYY-MM`) as the reader writes it: `March 2027` or `2027年3月`; as stored
/// when it is not of that form.
fn delivery_month(month: &str, c: &Chrome) -> String {
    let parsed = month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u8>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m));
    match parsed {
        Some((year, month)) => c.t.fill(
            "projects.show.delivery_month",
            &[
                ("year", &year.to_string()),
                ("month", c.t.get(&format!("projects.show.month.m{month}"))),
            ],
        ),
        None => month.to_owned(),
    }
}

/// An equity offering as the page shows it.
pub struct OfferingView {
    pub price_per_share: String,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_per_investor: i64,
    pub shares_left: i64,
    pub valuation: String,
    pub security: String,
    pub risk_warning: String,
    pub investors: i32,
    pub max_investors: i32,
}

impl OfferingView {
    /// The view of `o`, priced in `currency`.
    pub fn new(o: &Offering, currency: &str, c: &Chrome) -> Self {
        let t = c.t;
        OfferingView {
            price_per_share: c.money(&o.price_per_share, currency),
            min_shares: o.min_shares,
            max_shares: o.max_shares,
            min_per_investor: o.min_shares_per_investor,
            shares_left: o.shares_left,
            valuation: c.money(&o.pre_money_valuation, currency),
            security: label(t, "projects.security", o.security_type.as_str()),
            risk_warning: o.risk_warning.clone(),
            investors: o.investor_count,
            max_investors: o.max_investors,
        }
    }
}

/// An update as the page shows it.
pub struct UpdateView {
    pub title: String,
    pub body_html: String,
    pub at: String,
    pub backers_only: bool,
}

impl UpdateView {
    /// The view of `u`, dated in the reader's zone.
    pub fn new(u: &Update, c: &Chrome) -> Self {
        UpdateView {
            title: u.title.clone(),
            body_html: u.body_html.clone(),
            at: c.moment(&u.created_at),
            backers_only: u.backers_only,
        }
    }
}

/// A change made after launch, said in the reader's language.
pub struct RevisionView {
    pub text: String,
    pub at: String,
}

impl RevisionView {
    /// The view of `r`.
    pub fn new(r: &Revision, c: &Chrome) -> Self {
        let t = c.t;
        RevisionView {
            text: if r.change == "tier" {
                t.fill("projects.revision_tier", &[("title", &r.detail)])
            } else {
                t.get("projects.revision_story").to_owned()
            },
            at: c.moment(&r.created_at),
        }
    }
}

/// A regulator action, with the link to its inclusion proof.
pub struct TrailView {
    pub action: String,
    pub reason: String,
    pub who: String,
    pub at: String,
    pub launch_at: Option<String>,
    pub proof_href: String,
    pub tx_hash: String,
}

impl TrailView {
    /// The view of `s`, its proof against the tree of `tree_size` leaves (which contains every
    /// trail entry already).
    pub fn new(s: &TrailEntry, tree_size: u64, c: &Chrome) -> Self {
        TrailView {
            action: label(c.t, "supervision.action", &s.action),
            reason: s.reason.clone(),
            who: s.regulator_name.clone(),
            at: c.moment(&s.at),
            launch_at: s.launch_at.map(|at| c.moment(&at)),
            proof_href: proof_href(&s.tx_hash, tree_size),
            tx_hash: s.tx_hash.clone(),
        }
    }
}

/// The actions other than approval a regulator may take on a project in `state` now, each with
/// a reason form.
pub fn reason_actions(state: ProjectState, t: &Catalogue) -> Vec<Choice> {
    [
        Action::Reject,
        Action::Freeze,
        Action::Unfreeze,
        Action::RegulatorCancel,
    ]
    .into_iter()
    .filter(|a| next_state(state, *a).is_ok())
    .map(|a| Choice {
        value: a.as_str().to_owned(),
        label: label(t, "supervision.action", a.as_str()),
        selected: false,
    })
    .collect()
}

/// A settlement transaction's kind in words; an unknown kind (newer than this catalogue) as stored.
fn settlement_kind(t: &Catalogue, kind: &str) -> String {
    let key = format!("projects.settlement_kind.{kind}");
    if t.has(&key) {
        t.get(&key).to_owned()
    } else {
        kind.to_owned()
    }
}

/// A settled project's outcome and its ledger transactions.
pub struct SettlementView {
    pub transactions: Vec<SettlementRow>,
    pub all_href: String,
}

/// One ledger transaction of a settlement.
pub struct SettlementRow {
    /// What the transaction did, in the reader's language.
    pub kind: String,
    pub tx_hash: String,
    pub amount: String,
    pub proof_href: String,
}

/// Settlement transactions the page lists; the rest are behind [`SettlementView::all_href`].
const SETTLEMENT_ROWS: usize = 50;

impl SettlementView {
    /// The view of the settlement's transactions; `None` when there are none.
    pub fn new(
        project: &str,
        rows: Vec<SettledTransaction>,
        currency: &str,
        tree_size: u64,
        c: &Chrome,
    ) -> Option<Self> {
        (!rows.is_empty()).then(|| SettlementView {
            all_href: format!("/api/v1/projects/{project}/settlement"),
            transactions: rows
                .into_iter()
                .take(SETTLEMENT_ROWS)
                .map(|t| SettlementRow {
                    proof_href: proof_href(&t.tx_hash, tree_size),
                    amount: t.amount.map(|a| c.money(&a, currency)).unwrap_or_default(),
                    kind: settlement_kind(c.t, &t.kind),
                    tx_hash: t.tx_hash,
                })
                .collect(),
        })
    }
}
