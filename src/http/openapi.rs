//! The OpenAPI document, generated from the handlers' and types' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::api;
use crate::model::Kind;

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
        api::expert, api::case_study, api::facility, api::skills, api::suggest, api::concepts, api::audit, api::muster,
        super::write::put_record, super::write::create_record, super::write::delete_record,
        super::write::bulk,
        super::healthz, super::readyz, super::metrics::metrics
    ),
    components(schemas(api::Problem, api::SearchAll, crate::search::SearchResponse, crate::search::Hit,
                       super::write::WriteAnswer, super::write::BulkAnswer,
                       api::AuditAnswer, crate::audit::AuditEntry)),
    modifiers(&BearerAuth, &Contract),
    tags((name = "search", description = "Ranked, filtered, faceted search"),
         (name = "records", description = "One record by id"),
         (name = "taxonomy", description = "Skills tree and typeahead"),
         (name = "writes", description = "Create, replace and delete records (editor role); answered after the change is on disk"),
         (name = "operations", description = "Health, readiness, metrics and the audit log"))
)]
pub struct ApiDoc;

/// Declares the bearer token scheme every operation but the health checks names.
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

/// What the annotations cannot say: the write paths once per record kind (so every path lists
/// exactly the methods the server allows on it), the answers any operation can give (no or a bad
/// token, rate limited, overloaded or timed out, body too large), and the bounds of page sizes.
struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, ResponseBuilder, Type};

        // `/v1/{kind}/...` becomes `/v1/experts/...` and so on
        let templated: Vec<String> = openapi
            .paths
            .paths
            .keys()
            .filter(|p| p.contains("{kind}"))
            .cloned()
            .collect();
        for path in templated {
            let Some(item) = openapi.paths.paths.remove(&path) else {
                continue;
            };
            for kind in Kind::ALL.map(Kind::collection) {
                let mut concrete = item.clone();
                for op in operations(&mut concrete) {
                    if let Some(params) = &mut op.parameters {
                        params.retain(|p| p.name != "kind");
                    }
                    op.operation_id = op
                        .operation_id
                        .as_ref()
                        .map(|id| format!("{id}_{}", kind.replace('-', "_")));
                }
                let key = path.replace("{kind}", kind);
                match openapi.paths.paths.get_mut(&key) {
                    Some(existing) => merge(existing, concrete),
                    None => {
                        openapi.paths.paths.insert(key, concrete);
                    }
                }
            }
        }

        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/v1/");
            let protected = !super::is_public(path);
            for op in operations(item) {
                if protected {
                    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
                    op.security = Some(vec![bearer]);
                }
                let responses = &mut op.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem(description).into());
                };
                if protected {
                    add("401", "Missing, unknown, expired or malformed token");
                }
                if api {
                    add("429", "Rate limited: retry after `Retry-After` seconds");
                }
                add(
                    "503",
                    "At capacity (retry after `Retry-After` seconds), or the request took too long",
                );
                if op.request_body.is_some() {
                    add("413", "Body too large");
                    add("415", "Body of the wrong content type");
                }
                // people's clearances are need-to-know: asking about them needs `vetting`
                if matches!(path.as_str(), "/v1/experts" | "/v1/search" | "/v1/muster") {
                    add(
                        "403",
                        "A clearance filter or a muster needing clearance, without the vetting permission",
                    );
                }
                for param in op.parameters.iter_mut().flatten() {
                    if param.parameter_in != ParameterIn::Query {
                        continue;
                    }
                    let bounds = match (param.name.as_str(), path.as_str()) {
                        ("limit", "/v1/audit") => Some((1.0, 1000.0)),
                        ("limit", "/v1/suggest") => Some((1.0, 20.0)),
                        ("limit", "/v1/concepts") => Some((1.0, 50.0)),
                        ("limit", _) => Some((1.0, crate::search::MAX_LIMIT as f64)),
                        ("offset", _) => Some((0.0, 10_000.0)),
                        _ => None,
                    };
                    if let Some((min, max)) = bounds {
                        param.schema = Some(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(min))
                                .maximum(Some(max))
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

/// Every operation of a path item.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(|o| o.as_mut())
}

/// Adds the operations of `other` to `item`.
fn merge(item: &mut utoipa::openapi::PathItem, other: utoipa::openapi::PathItem) {
    item.get = item.get.take().or(other.get);
    item.put = item.put.take().or(other.put);
    item.post = item.post.take().or(other.post);
    item.delete = item.delete.take().or(other.delete);
}

/// `GET /openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
