//! The OpenAPI document, generated from the handlers' and types' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::api;

/// The API description served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Muster",
        description = "Cross-government expertise search: ranked experts, case studies and facilities. \
                       Records above the caller's marking do not exist for that caller. \
                       This service uses the ESCO classification of the European Commission."
    ),
    paths(
        api::experts, api::case_studies, api::facilities, api::search_all,
        api::expert, api::case_study, api::facility, api::skills, api::suggest, api::audit, api::muster,
        super::write::put_record, super::write::delete_record, super::write::bulk,
        super::healthz, super::readyz, super::metrics
    ),
    components(schemas(api::Problem, api::SearchAll, crate::search::SearchResponse, crate::search::Hit,
                       super::write::WriteAnswer, super::write::BulkAnswer,
                       api::AuditAnswer, crate::access::AuditEntry)),
    modifiers(&BearerAuth),
    tags((name = "search", description = "Ranked, filtered, faceted search"),
         (name = "records", description = "One record by id"),
         (name = "taxonomy", description = "Skills tree and typeahead"),
         (name = "writes", description = "Create, replace and delete records (editor role); answered after the change is on disk"),
         (name = "operations", description = "Health, readiness, metrics and the audit log"))
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the write endpoints name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
