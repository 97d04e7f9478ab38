//! How `/` and `/app/*` are served (the browser tests in
//! `tests/faults/webapp.rs` drive the app itself): from the binary, with
//! tags, revalidation, compression and a policy that keeps the page to
//! this service; open in every mode, since the page asks for the token.

use axum::http::{Method, StatusCode};

use crate::support::{Backend, TestApp};

const SECRET: &str = "a web app serving test secret, 32+ bytes";

#[tokio::test]
async fn the_page_and_its_files_are_served_with_tags_and_a_strict_policy() {
    let app = TestApp::with_args(Backend::Sqlite, &["--jwt-secret", SECRET]).await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "open even with JWT on");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let policy = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text();
    assert!(
        html.contains("<script type=\"module\" src=\"/app/main.js\">"),
        "{html}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "another host: {html}"
    );

    for (file, media_type) in [
        ("main.js", "text/javascript; charset=utf-8"),
        ("feed.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let asset = app.get(&format!("/app/{file}")).await;
        assert_eq!(asset.status, StatusCode::OK, "{file}");
        assert_eq!(asset.header("content-type"), Some(media_type), "{file}");
        let tag = asset.header("etag").unwrap().to_owned();
        assert!(tag.starts_with("W/\""), "{tag}");
        // The browser's copy is current: 304, no body, the same tag.
        let again = app
            .request(
                Method::GET,
                &format!("/app/{file}"),
                None,
                &[("if-none-match", &tag)],
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{file}");
        assert!(again.text().is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        // Weak comparison: the same tag without `W/` names it too.
        let strong = tag.trim_start_matches("W/");
        let again = app
            .request(
                Method::GET,
                &format!("/app/{file}"),
                None,
                &[("if-none-match", strong)],
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{file}");
        let other = app
            .request(
                Method::GET,
                &format!("/app/{file}"),
                None,
                &[("if-none-match", "W/\"0\"")],
            )
            .await;
        assert_eq!(other.status, StatusCode::OK, "{file}");
    }
}

#[tokio::test]
async fn unknown_files_are_404_and_nothing_outside_the_app_is_reachable() {
    let app = TestApp::new(Backend::Sqlite).await;
    for path in [
        "/app/nothing.js",
        "/app/index.html",
        "/app/..%2FCargo.toml",
        "/app/%2e%2e%2fsrc%2fmain.rs",
        "/app/",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.json()["detail"], "Not Found", "{path}");
    }
    assert_eq!(
        app.request(Method::POST, "/", None, &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn the_files_go_compressed_to_a_browser_that_accepts_it() {
    let app = TestApp::new(Backend::Sqlite).await;
    let plain = app.get("/app/main.js").await;
    let compressed = app
        .request(
            Method::GET,
            "/app/main.js",
            None,
            &[("accept-encoding", "gzip")],
        )
        .await;
    assert_eq!(compressed.status, StatusCode::OK);
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(compressed.header("etag"), plain.header("etag"));
}
