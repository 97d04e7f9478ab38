//! The route table: which handler serves which path and method, each added
//! with its OpenAPI description, so that what is served and what is
//! described cannot drift apart.

use axum::routing::any;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::{AppState, HttpSettings};
use super::{changes, docs, error, events, health, me, metrics, openapi, todos, web_app};

/// The description of the API served with `settings`, as `/openapi.json`
/// gives it; `credentials_required` when every `/api` call needs a bearer
/// token (else one is optional, as in open mode).
pub fn openapi_document(settings: &HttpSettings, credentials_required: bool) -> OpenApi {
    let mut document = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(todo_routes(settings))
        .merge(operation_routes())
        .into_openapi();
    openapi::secure_api_operations(&mut document, credentials_required);
    document
}

/// The `/api` routes.
pub(super) fn todo_routes(settings: &HttpSettings) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new()
        .routes(routes!(me::me))
        .routes(routes!(changes::list_changes))
        .routes(routes!(events::stream_events))
        .routes(routes!(
            todos::list_todos,
            todos::create_todo,
            todos::delete_todos
        ))
        .routes(routes!(
            todos::get_todo,
            todos::update_todo,
            todos::replace_todo,
            todos::delete_todo
        ));
    if settings.bulk_endpoints {
        routes.routes(routes!(todos::create_todos, todos::update_todos))
    } else {
        // Switched off: as if the route did not exist, rather than falling
        // through to `/api/todo/{id}` and answering 405; so undescribed.
        routes.route("/api/todo/bulk", any(error::route_not_found))
    }
}

/// Health, readiness, pool figures, metrics, the documentation and the web
/// app.
pub(super) fn operation_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(health::pool))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(docs::docs))
        .routes(routes!(docs::docs_asset))
        .routes(routes!(web_app::page))
        .routes(routes!(web_app::asset))
}
