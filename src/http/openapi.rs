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
    modifiers(&BearerAuth, &DatabaseAway),
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

/// Every operation may answer 503 (with `Retry-After`) while the database cannot be reached,
/// so the document says so once for all of them instead of in each handler's annotation.
struct DatabaseAway;

impl Modify for DatabaseAway {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, HeaderBuilder, ObjectBuilder, ResponseBuilder, Type};
        let response = ResponseBuilder::new()
            .description("The service is temporarily unavailable (for example the database is away); retry after `Retry-After` seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .content("application/problem+json", Content::new(Some(ObjectBuilder::new().schema_type(Type::Object))))
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
