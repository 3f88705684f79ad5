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
        api::expert, api::case_study, api::facility, api::skills, api::suggest,
        super::healthz, super::readyz, super::metrics
    ),
    components(schemas(api::Problem, api::SearchAll, crate::search::SearchResponse, crate::search::Hit)),
    tags((name = "search", description = "Ranked, filtered, faceted search"),
         (name = "records", description = "One record by id"),
         (name = "taxonomy", description = "Skills tree and typeahead"),
         (name = "operations", description = "Health, readiness and metrics"))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
