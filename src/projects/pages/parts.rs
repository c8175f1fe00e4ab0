//! The pieces of the project page, each built from the project's data in the reader's language:
//! tiers, the offering, updates, revisions, the supervision trail, the regulator's actions and
//! the settlement's transactions.

use super::{label, money_text, when, Choice};
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

/// A tier as the page shows it.
pub struct TierView {
    pub id: String,
    pub title: String,
    pub description_html: String,
    pub price: String,
    pub remaining: Option<i32>,
    pub limit: Option<i32>,
    pub delivery: String,
    pub ships: bool,
}

impl TierView {
    /// The view of `tier`, priced in `currency`.
    pub fn new(tier: &Tier, currency: &str) -> Self {
        TierView {
            id: tier.id.to_string(),
            title: tier.title.clone(),
            description_html: tier.description_html.clone(),
            price: money_text(tier.price, currency),
            remaining: tier.remaining,
            limit: tier.quantity_limit,
            delivery: tier.delivery_month.clone().unwrap_or_default(),
            ships: tier.ships,
        }
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
    pub fn new(o: &Offering, currency: &str, t: &Catalogue) -> Self {
        OfferingView {
            price_per_share: money_text(o.price_per_share, currency),
            min_shares: o.min_shares,
            max_shares: o.max_shares,
            min_per_investor: o.min_shares_per_investor,
            shares_left: o.shares_left,
            valuation: money_text(o.pre_money_valuation, currency),
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

impl From<&Update> for UpdateView {
    fn from(u: &Update) -> Self {
        UpdateView {
            title: u.title.clone(),
            body_html: u.body_html.clone(),
            at: when(u.created_at),
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
    pub fn new(r: &Revision, t: &Catalogue) -> Self {
        RevisionView {
            text: if r.change == "tier" {
                t.fill("projects.revision_tier", &[("title", &r.detail)])
            } else {
                t.get("projects.revision_story").to_owned()
            },
            at: when(r.created_at),
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
    pub fn new(s: &TrailEntry, tree_size: u64, t: &Catalogue) -> Self {
        TrailView {
            action: label(t, "supervision.action", &s.action),
            reason: s.reason.clone(),
            who: s.regulator_name.clone(),
            at: when(s.at),
            launch_at: s.launch_at.map(when),
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

/// A settled project's outcome and its ledger transactions.
pub struct SettlementView {
    pub transactions: Vec<SettlementRow>,
    pub all_href: String,
}

/// One ledger transaction of a settlement.
pub struct SettlementRow {
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
    ) -> Option<Self> {
        (!rows.is_empty()).then(|| SettlementView {
            all_href: format!("/api/v1/projects/{project}/settlement"),
            transactions: rows
                .into_iter()
                .take(SETTLEMENT_ROWS)
                .map(|t| SettlementRow {
                    proof_href: proof_href(&t.tx_hash, tree_size),
                    amount: t
                        .amount
                        .map(|a| money_text(a, currency))
                        .unwrap_or_default(),
                    kind: t.kind,
                    tx_hash: t.tx_hash,
                })
                .collect(),
        })
    }
}
