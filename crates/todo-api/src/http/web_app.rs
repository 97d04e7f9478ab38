//! `GET /` and `GET /app/{asset}`: the web app for people (API.md, "The
//! web app"). Its files live under `crates/todo-api/web/` and are built
//! into the binary, so it needs no network, no build step and no files
//! beside the binary.
//!
//! Every answer carries a weak `ETag` (a digest of the file, weak because
//! the compression layer may send it gzip- or brotli-encoded) and
//! `Cache-Control: no-cache`, so a browser keeps its copy and asks whether
//! it is still current (a 304 of a few bytes) and a new release is seen at
//! once; and a `Content-Security-Policy` that lets the page load and
//! connect to this service only.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::conditional::none_match;
use super::error::ApiError;

/// Only this service: no other host, no inline script or style, no frame.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The page itself.
const INDEX: &str = "index.html";

/// The app's files: name, media type, contents.
const FILES: [(&str, &str, &[u8]); 11] = [
    (
        INDEX,
        "text/html; charset=utf-8",
        include_bytes!("../../web/index.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/app.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../web/icon.svg"),
    ),
    (
        "main.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/main.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/api.js"),
    ),
    (
        "editing.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/editing.js"),
    ),
    (
        "feed.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/feed.js"),
    ),
    (
        "model.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/model.js"),
    ),
    (
        "route.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/route.js"),
    ),
    (
        "session.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/session.js"),
    ),
    (
        "view.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/view.js"),
    ),
];

/// One file of the app, with its tag.
struct Asset {
    name: &'static str,
    content_type: HeaderValue,
    bytes: &'static [u8],
    etag: HeaderValue,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let digest = Sha256::digest(bytes);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            Asset {
                name,
                content_type: HeaderValue::from_static(content_type),
                bytes,
                etag: HeaderValue::try_from(format!("W/\"{hex}\""))
                    .expect("a hex digest is a valid header value"),
            }
        })
        .collect()
});

/// `GET /`
#[utoipa::path(
    get,
    path = "/",
    summary = "The web app",
    tag = "operations",
    responses(
        (status = 200, description = "The web app's page", content_type = "text/html", body = String),
        (status = 304, description = "The copy the browser has is current"),
    ),
)]
pub async fn page(headers: HeaderMap) -> Response {
    let index = ASSETS
        .iter()
        .find(|asset| asset.name == INDEX)
        .expect("the page is one of the app's files");
    serve(index, &headers)
}

/// `GET /app/{asset}`
#[utoipa::path(
    get,
    path = "/app/{asset}",
    summary = "A file of the web app",
    tag = "operations",
    params(("asset" = String, Path, description = "A script, style sheet or image of the web app", example = "main.js")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = String),
        (status = 304, description = "The copy the browser has is current"),
        (status = 404, description = "No such file", body = super::openapi::ErrorBodySchema),
    ),
)]
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name != INDEX && asset.name == name)
        .ok_or(ApiError::RouteNotFound)?;
    Ok(serve(asset, &headers))
}

fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let current = none_match(request, asset.etag.to_str().unwrap_or_default());
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.bytes.into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, asset.content_type.clone());
        response
    };
    let headers = response.headers_mut();
    headers.insert(ETAG, asset.etag.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        let names: Vec<&str> = FILES.iter().map(|(name, _, _)| *name).collect();
        for (_, _, bytes) in FILES {
            let text = std::str::from_utf8(bytes).unwrap();
            for quoted in text.split(['"', '\'']) {
                let Some(name) = quoted
                    .strip_prefix("./")
                    .or_else(|| quoted.strip_prefix("/app/"))
                else {
                    continue;
                };
                if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".svg") {
                    assert!(names.contains(&name), "{name} is linked but not served");
                }
            }
        }
    }
}
