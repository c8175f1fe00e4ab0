//! The OpenAPI 3 document, generated from the handlers' annotations.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Zhonglian API", description = "Crowdfunding exchange with a public Merkle ledger"),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

/// The document before any route is registered: its title, the problem schema, bearer auth.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Completes the document once every route is in it: adds the answers every operation can give
/// (see `Problems`).
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    Problems.modify(document);
}

/// The body of every API error: an RFC 9457 problem document (see `http::error`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's name, in English.
    pub title: String,
    pub status: u16,
    /// What went wrong, in English.
    pub detail: String,
    /// A stable code to localise by (`not_found`, `conflict`, ...).
    pub code: String,
}

/// Adds what every operation can answer because of the layers and extractors around it, so the
/// handlers' annotations list only their own outcomes and none can forget these: a JSON body
/// can be malformed (400), too large (413) or of the wrong shape (422); a bearer route can
/// meet no or an expired token (401); a path parameter can name nothing (404); any route can
/// find the database away (503). Every 4xx and 5xx answer is a problem document, and 429 and 503
/// carry `Retry-After`.
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common_answers(operation);
            }
        }
    }
}

fn add_common_answers(operation: &mut Operation) {
    let json_body = operation.request_body.as_ref().is_some_and(|body| {
        body.content
            .keys()
            .any(|content_type| content_type.contains("json"))
    });
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let path_parameters = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let mut common = Vec::new();
    if json_body {
        common.push(("400", "malformed JSON, or not `application/json`"));
        common.push(("413", "body over 1 MiB"));
        common.push(("422", "a field missing, of the wrong type, or invalid"));
    }
    if secured {
        common.push(("401", "not signed in, or the session has ended"));
    }
    if path_parameters {
        common.push(("404", "nothing by that id"));
    }
    common.push((
        "503",
        "the database is unavailable; retry after `Retry-After` seconds",
    ));
    let responses = &mut operation.responses.responses;
    for (status, description) in common {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if response.description.is_empty() {
            response.description = "refused; see the problem's `detail`".to_owned();
        }
        if response.content.is_empty() {
            response.content.insert(
                "application/problem+json".to_owned(),
                Content::new(Some(Ref::from_schema_name("Problem"))),
            );
        }
        if status == "429" || status == "503" {
            response.headers.insert(
                "Retry-After".to_owned(),
                HeaderBuilder::new()
                    .schema(Schema::Object(
                        ObjectBuilder::new().schema_type(Type::Integer).build(),
                    ))
                    .description(Some("seconds to wait before trying again"))
                    .build(),
            );
        }
    }
}

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
