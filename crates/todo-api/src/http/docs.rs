//! `GET /docs`: interactive documentation (Swagger UI) of
//! `/openapi.json`, served from the assets built into the binary (the
//! `vendored` feature of `utoipa-swagger-ui`), so it needs no network.
//!
//! The page is served at `/docs` itself, as API.md asks, rather than by a
//! redirect to `/docs/`; a `<base>` element makes its relative asset links
//! resolve under `/docs/`.

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use utoipa_swagger_ui::Config;

use super::error::ApiError;

/// Where the page finds the description.
const OPENAPI_URL: &str = "/openapi.json";

static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::new([OPENAPI_URL])));

/// `GET /docs`
#[utoipa::path(
    get,
    path = "/docs",
    summary = "Interactive documentation",
    tag = "operations",
    responses((status = 200, description = "Interactive documentation (Swagger UI)", content_type = "text/html", body = String)),
)]
pub async fn docs() -> Result<Response, ApiError> {
    let page = asset("index.html")?;
    let html =
        String::from_utf8_lossy(&page.bytes).replacen("<head>", "<head><base href=\"/docs/\">", 1);
    Ok((
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response())
}

/// `GET /docs/{file}`
#[utoipa::path(
    get,
    path = "/docs/{file}",
    summary = "A file of the documentation page",
    tag = "operations",
    params(("file" = String, Path, description = "A script, style sheet or image of the page", example = "swagger-ui.css")),
    responses(
        (status = 200, description = "The asset", content_type = "application/octet-stream", body = String),
        (status = 404, description = "No such asset", body = super::openapi::ErrorBodySchema),
    ),
)]
pub async fn docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let asset = asset(&file)?;
    let content_type =
        HeaderValue::from_str(&asset.content_type).map_err(|_| ApiError::Internal)?;
    let mut response = ([(CONTENT_TYPE, content_type)], asset.bytes.into_owned()).into_response();
    if asset.gzpipped {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

fn asset(file: &str) -> Result<utoipa_swagger_ui::SwaggerFile<'static>, ApiError> {
    match utoipa_swagger_ui::serve(file, CONFIG.clone()) {
        Ok(Some(asset)) => Ok(asset),
        Ok(None) => Err(ApiError::RouteNotFound),
        Err(error) => {
            tracing::error!(%error, file, "cannot serve a documentation asset");
            Err(ApiError::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn the_page_links_its_assets_under_docs() {
        let page = docs().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let asset = asset("swagger-initializer.js").unwrap();
        let script = String::from_utf8_lossy(&asset.bytes);
        assert!(script.contains(OPENAPI_URL), "{script}");
    }
}
