//! Settlement in the API: a pledge's receipt and a project's settlement transactions.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use serde::Serialize;

use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{ApiJson, CurrentUser, MaybeUser, Path};
use crate::ledger::receipt::{self, Receipt};
use crate::pledges::{self, PledgeId};
use crate::projects::ProjectId;

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pledge_receipt))
        .routes(routes!(project_settlement))
}

/// The receipt of a settled pledge, for its backer (with their salt), auditors and regulators.
pub async fn receipt_for(state: &AppState, user: &AuthUser, id: PledgeId) -> Result<Receipt> {
    Ok(settled_pledge(state, user, id).await?.1)
}

/// A settled pledge and its receipt, for whom [`receipt_for`] serves.
pub async fn settled_pledge(
    state: &AppState,
    user: &AuthUser,
    id: PledgeId,
) -> Result<(pledges::Pledge, Receipt)> {
    let pledge = pledges::find(&state.db, id).await?.ok_or(Error::NotFound)?;
    let staff = user.user.has_role(Role::Auditor) || user.user.has_role(Role::Regulator);
    if pledge.backer_id != user.user.id && !staff {
        return Err(Error::NotFound);
    }
    let tx_hash = super::pledge_transaction(&state.db, pledge.id)
        .await?
        .ok_or(Error::NotFound)?;
    let receipt = receipt::build(&state.db, &tx_hash, Some(user.user.id))
        .await?
        .ok_or(Error::NotFound)?;
    Ok((pledge, receipt))
}

/// The ledger receipt of a settled pledge.
#[utoipa::path(get, path = "/api/v1/pledges/{id}/receipt", tag = "settlement",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "pledge id")),
    responses((status = 200, body = Receipt), (status = 401), (status = 404, description = "no such settled pledge of yours")))]
pub async fn pledge_receipt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<PledgeId>,
) -> Result<ApiJson<Receipt>> {
    Ok(ApiJson(receipt_for(&state, &user, id).await?))
}

/// One ledger transaction of a settlement.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SettlementTransaction {
    pub kind: String,
    pub tx_hash: String,
    pub amount: Option<String>,
    /// Where to get its inclusion proof.
    pub proof: String,
}

/// The ledger transactions of a project's settlement: public, like the ledger, for a project
/// the caller may see.
#[utoipa::path(get, path = "/api/v1/projects/{id}/settlement", tag = "settlement",
    params(("id" = String, Path, description = "project id")),
    responses((status = 200, body = [SettlementTransaction]), (status = 404, description = "no such project, or not one the caller may see")))]
pub async fn project_settlement(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<ProjectId>,
) -> Result<ApiJson<Vec<SettlementTransaction>>> {
    crate::projects::visible_target(&state.db, id, viewer.as_ref()).await?;
    let size = crate::ledger::store::size(&state.db).await?;
    let rows = super::transactions_for_project(&state.db, id).await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|t| SettlementTransaction {
                proof: format!(
                    "/api/v1/ledger/proof/inclusion?tx_hash={}&tree_size={size}",
                    t.tx_hash
                ),
                kind: t.kind,
                tx_hash: t.tx_hash,
                amount: t.amount.map(crate::money::amount::fixed),
            })
            .collect(),
    ))
}
