//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{accounts, ledger, money, pledges, projects, settlement, supervision};

#[derive(OpenApi)]
#[openapi(
    info(title = "Zhonglian API", description = "Crowdfunding exchange with a public Merkle ledger"),
    paths(
        accounts::api::signup,
        accounts::api::login,
        accounts::api::logout,
        accounts::api::me,
        ledger::api::checkpoint,
        ledger::api::key,
        ledger::api::leaves,
        ledger::api::inclusion,
        ledger::api::consistency,
        ledger::api::entry,
        ledger::api::receipt,
        projects::api::create,
        projects::api::list,
        projects::api::show,
        projects::api::edit,
        projects::api::submit,
        projects::api::cancel,
        projects::api::add_tier,
        projects::api::delete_tier,
        projects::api::post_update,
        projects::api::upload_cover,
        projects::api::mine,
        supervision::api::queue,
        supervision::api::decide,
        settlement::api::pledge_receipt,
        settlement::api::project_settlement,
        settlement::api::my_notifications,
        money::api::create_deposit,
        money::api::wallet,
        money::api::sandbox_callback,
        pledges::api::create,
        pledges::api::change,
        pledges::api::cancel,
        pledges::api::mine,
        pledges::founder::backers_api,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
