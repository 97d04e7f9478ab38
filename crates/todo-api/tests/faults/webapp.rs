//! The web app at `/` in a real headless Chromium, through the real binary
//! on both backends (API.md, "The web app"): the TodoMVC flow and what the
//! API adds, changes made in another session or through the API shown
//! live, a restart of the service under an open page, a conflicting edit
//! reported rather than overwritten, JWT sign-in with two users kept
//! apart, an accessibility check with axe-core, and nothing loaded from
//! any other host.
//!
//! The browser tests take turns (one browser at a time): two Chromiums on
//! two shared cores make "within two seconds" a test of the machine.

mod page;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

use crate::support::{Backend, Database, Service, on_both_backends};
use page::{Chromium, ENTER, ESCAPE, Page, SPACE};

/// One browser at a time.
static BROWSER_TURN: Mutex<()> = Mutex::const_new(());

/// API.md: a change made elsewhere appears within this.
const LIVE_BOUND: Duration = Duration::from_secs(2);

/// The budget of the page's first visit, compressed, on the wire.
const FIRST_VISIT_BYTES: u64 = 100 * 1024;

const JWT_SECRET: &str = "a web app test secret of 32 bytes or more";

on_both_backends!(
    the_todomvc_flow_and_what_the_api_adds,
    changes_from_another_session_and_the_api_appear_live,
    the_page_recovers_from_a_restart_and_misses_nothing,
    an_edit_of_a_todo_changed_meanwhile_is_reported_not_applied,
    jwt_users_sign_in_and_never_see_each_others_todos,
    the_page_passes_an_accessibility_check,
    the_list_works_from_the_keyboard_alone,
);

async fn the_todomvc_flow_and_what_the_api_adds(backend: Backend) {
    let Some(stage) = Stage::set(backend, &[]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    let page = Page::open(chromium, &base(service)).await;

    // Everything came from the service itself, and the first visit's files
    // took well under the budget on the wire, compressed.
    let loads = page.loads().await;
    for url in &loads.urls {
        assert!(url.starts_with(&page.base), "loaded from elsewhere: {url}");
    }
    assert!(
        loads.own_bytes > 0 && loads.own_bytes < FIRST_VISIT_BYTES,
        "{} bytes",
        loads.own_bytes
    );
    assert!(loads.compressed, "the scripts came uncompressed");
    println!("first visit: {} bytes on the wire", loads.own_bytes);

    // Add with Enter; newest first; "items left".
    page.add("Buy milk").await;
    page.shows(&["Buy milk"]).await;
    // A past due date and the highest priority, from the new todo's fields.
    page.js(
        "document.querySelector('#new-due').value = '2020-01-15';
         document.querySelector('#new-priority').value = '5';",
        vec![],
    )
    .await;
    page.add("Walk the dog").await;
    page.add("Read a book").await;
    page.shows(&["Read a book", "Walk the dog", "Buy milk"])
        .await;
    page.wait_for_text("#count", "3 items left").await;
    assert!(page.row_has_class("Walk the dog", "overdue").await);
    assert!(!page.row_has_class("Buy milk", "overdue").await);
    let dog = todo_titled(service, "Walk the dog").await;
    assert_eq!(dog["priority"], 5);
    assert_eq!(dog["due_date"], "2020-01-15T00:00:00.000000Z");

    // Toggle.
    page.click_in_row("Buy milk", ".toggle").await;
    page.wait_for_text("#count", "2 items left").await;
    assert!(page.row_has_class("Buy milk", "completed").await);
    assert_eq!(todo_titled(service, "Buy milk").await["completed"], true);

    // Edit in place: Enter saves, Escape cancels, leaving only spaces deletes.
    page.start_editing("Read a book").await;
    page.type_keys(&format!("Read two books{ENTER}")).await;
    page.shows(&["Read two books", "Walk the dog", "Buy milk"])
        .await;
    assert_eq!(
        todo_titled(service, "Read two books").await["title"],
        "Read two books"
    );
    page.start_editing("Walk the dog").await;
    page.type_keys(&format!("Something else{ESCAPE}")).await;
    page.shows(&["Read two books", "Walk the dog", "Buy milk"])
        .await;
    assert_eq!(titles(service).await.len(), 3);

    // All / Active / Completed, in the URL.
    page.click("a[data-filter='active']").await;
    page.shows(&["Read two books", "Walk the dog"]).await;
    page.wait_for(
        "#/active in the URL",
        "location.hash === '#/active'",
        LIVE_BOUND,
    )
    .await;
    page.click("a[data-filter='completed']").await;
    page.shows(&["Buy milk"]).await;
    page.click("a[data-filter='all']").await;
    page.shows(&["Read two books", "Walk the dog", "Buy milk"])
        .await;

    // Search and sort.
    page.type_into("#search", "DOG").await;
    page.shows(&["Walk the dog"]).await;
    page.js(
        "const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await;
    page.shows(&["Read two books", "Walk the dog", "Buy milk"])
        .await;
    page.click("#sort option[value='-priority']").await;
    page.shows(&["Walk the dog", "Read two books", "Buy milk"])
        .await;
    page.wait_for(
        "the sort in the URL",
        "location.hash === '#/?sort=-priority'",
        LIVE_BOUND,
    )
    .await;
    page.click("#sort option[value='-created_at']").await;

    // Clear completed, through `DELETE /api/todo?completed=true`.
    page.click("#clear-completed").await;
    page.shows(&["Read two books", "Walk the dog"]).await;
    assert_eq!(titles(service).await, ["Read two books", "Walk the dog"]);
    page.wait_for(
        "no Clear completed",
        "document.querySelector('#clear-completed').hidden",
        LIVE_BOUND,
    )
    .await;

    // Toggle all, both ways.
    page.click("label[for='toggle-all']").await;
    page.wait_for_text("#count", "0 items left").await;
    assert!(all_completed(service, true).await);
    page.click("label[for='toggle-all']").await;
    page.wait_for_text("#count", "2 items left").await;
    assert!(all_completed(service, false).await);

    // Delete.
    page.click_in_row("Walk the dog", ".destroy").await;
    page.shows(&["Read two books"]).await;
    assert_eq!(titles(service).await, ["Read two books"]);

    // A long list comes in pages, through the listing's `Link`.
    let many: Vec<Value> = (1..=60)
        .map(|n| json!({"title": format!("Item {n:02}")}))
        .collect();
    let created = service.post("/api/todo/bulk", &json!(many)).await;
    assert_eq!(created.status, 201, "{}", created.describe());
    page.session.client.refresh().await.unwrap();
    page.wait_until_live().await;
    page.wait_for("a first page of 50", "rows().length === 50", LIVE_BOUND)
        .await;
    page.click("#more").await;
    page.wait_for("all 61 rows", "rows().length === 61", LIVE_BOUND)
        .await;
    assert_eq!(page.titles().await.last().unwrap(), "Read two books");
    page.wait_for_text("#count", "61 items left").await;

    page.close().await;
}

async fn changes_from_another_session_and_the_api_appear_live(backend: Backend) {
    let Some(stage) = Stage::set(backend, &[]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    let first = Page::open(chromium, &base(service)).await;
    let second = Page::open(chromium, &base(service)).await;

    first.add("Made in the first tab").await;
    second
        .wait_for_titles(&["Made in the first tab"], LIVE_BOUND)
        .await;
    second
        .click_in_row("Made in the first tab", ".toggle")
        .await;
    first
        .wait_for(
            "the toggle made in the second tab",
            "rows()[0]?.classList.contains('completed')",
            LIVE_BOUND,
        )
        .await;

    let made = service
        .post("/api/todo", &json!({"title": "Made with curl"}))
        .await;
    assert_eq!(made.status, 201);
    for page in [&first, &second] {
        page.wait_for_titles(&["Made with curl", "Made in the first tab"], LIVE_BOUND)
            .await;
    }
    let id = made.json()["id"].as_i64().unwrap();
    rename(service, id, "Renamed with curl").await;
    let deleted = service
        .send(service.request(Method::DELETE, "/api/todo?completed=true"))
        .await
        .unwrap();
    assert_eq!(deleted.json(), json!({"deleted": 1}));
    for page in [&first, &second] {
        page.wait_for_titles(&["Renamed with curl"], LIVE_BOUND)
            .await;
        page.wait_for_text("#count", "1 item left").await;
    }
    first.close().await;
    second.close().await;
}

async fn the_page_recovers_from_a_restart_and_misses_nothing(backend: Backend) {
    let port = free_port();
    let Some(mut stage) = Stage::set_at(backend, port, &[]).await else {
        return;
    };
    let chromium = &stage.chromium;
    let page = Page::open(chromium, &base(&stage.service)).await;
    page.add("Before the restart").await;
    page.shows(&["Before the restart"]).await;

    stage.service.signal(Signal::SIGTERM);
    let stopped = stage.service.wait_for_exit(Duration::from_secs(30)).await;
    assert!(stopped.success());
    page.wait_for(
        "that it lost the service",
        "document.querySelector('#connection').textContent !== 'Live'",
        Duration::from_secs(10),
    )
    .await;
    // Added while the service is down: the page keeps retrying it with
    // its Idempotency-Key.
    page.add("While it was down").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    stage.service = Service::start_at(&stage.database, port, &[]).await;
    let service = &stage.service;
    let made = service
        .post("/api/todo", &json!({"title": "Right after the restart"}))
        .await;
    assert_eq!(made.status, 201);
    page.wait_until_live().await;
    page.wait_for(
        "every todo, once",
        "rows().length === 3 && new Set(rows().map(titleOf)).size === 3",
        Duration::from_secs(30),
    )
    .await;
    let mut seen = page.titles().await;
    seen.sort();
    assert_eq!(
        seen,
        [
            "Before the restart",
            "Right after the restart",
            "While it was down"
        ]
    );
    assert_eq!(
        titles(service).await,
        seen,
        "the database has each todo once"
    );
    page.close().await;
}

async fn an_edit_of_a_todo_changed_meanwhile_is_reported_not_applied(backend: Backend) {
    let Some(stage) = Stage::set(backend, &[]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    let id = service.create(&json!({"title": "Call the bank"})).await["id"]
        .as_i64()
        .unwrap();
    let page = Page::open(chromium, &base(service)).await;
    page.shows(&["Call the bank"]).await;

    page.start_editing("Call the bank").await;
    // The page asks for the todo's ETag as the edit begins.
    page.wait_for(
        "the version being edited",
        "document.querySelector('.edit-form:not([aria-busy])')",
        Duration::from_secs(10),
    )
    .await;
    rename(service, id, "Call the bank before noon").await;
    page.type_keys(&format!("Call the bank tomorrow{ENTER}"))
        .await;

    page.wait_for(
        "the conflict",
        "document.querySelector('#notices').textContent.includes('changed elsewhere')",
        Duration::from_secs(10),
    )
    .await;
    page.shows(&["Call the bank before noon"]).await;
    assert_eq!(titles(service).await, ["Call the bank before noon"]);
    page.close().await;
}

async fn jwt_users_sign_in_and_never_see_each_others_todos(backend: Backend) {
    let Some(stage) = Stage::set(backend, &["--jwt-secret", JWT_SECRET]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    let (ada, bob) = (token("ada"), token("bob"));

    let first = Page::open_only(chromium, &base(service), &[]).await;
    sign_in(&first, "not.a.token").await;
    first
        .wait_for(
            "the refusal",
            "document.querySelector('#sign-in-error').textContent.includes('refused')",
            Duration::from_secs(10),
        )
        .await;
    first
        .js("document.querySelector('#token').value = '';", vec![])
        .await;
    sign_in(&first, &ada).await;
    first.wait_until_live().await;
    first.wait_for_text("#who", "Signed in as ada").await;
    first.add("Ada's secret").await;
    first.shows(&["Ada's secret"]).await;

    let second = Page::open_only(chromium, &base(service), &[]).await;
    sign_in(&second, &bob).await;
    second.wait_until_live().await;
    second.add("Bob's plan").await;
    second.shows(&["Bob's plan"]).await;
    // Neither sees the other's, live or after a reload.
    tokio::time::sleep(LIVE_BOUND).await;
    first.shows(&["Ada's secret"]).await;
    second.session.client.refresh().await.unwrap();
    second.wait_until_live().await;
    second.shows(&["Bob's plan"]).await;

    // Signing out forgets the token.
    first.click("#sign-out").await;
    first
        .wait_for(
            "the sign-in form",
            "!document.querySelector('#sign-in').hidden",
            Duration::from_secs(10),
        )
        .await;
    let stored = first
        .js("return localStorage.getItem('todo-api.token');", vec![])
        .await;
    assert_eq!(stored, Value::Null);
    first.close().await;
    second.close().await;
}

async fn the_page_passes_an_accessibility_check(backend: Backend) {
    let Some(stage) = Stage::set(backend, &[]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    for (title, extra) in [
        (
            "Renew the passport",
            json!({"priority": 5, "due_date": "2020-02-01"}),
        ),
        ("Water the plants", json!({"completed": true})),
        (
            "Plan the trip",
            json!({"priority": 2, "due_date": "2099-06-01"}),
        ),
    ] {
        let mut body = extra;
        body["title"] = json!(title);
        service.create(&body).await;
    }
    // Light and dark, at a phone's width and a desktop's.
    for (scheme, width) in [("dark", 360), ("light", 1024)] {
        let args = [format!(
            "--blink-settings=preferredColorScheme={}",
            u8::from(scheme == "light")
        )];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let page = Page::open_only(chromium, &base(service), &args).await;
        page.session
            .client
            .set_window_size(width, 800)
            .await
            .unwrap();
        page.wait_until_live().await;
        page.shows(&["Plan the trip", "Water the plants", "Renew the passport"])
            .await;
        let dark = page
            .js(
                "return matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await;
        assert_eq!(dark, json!(scheme == "dark"));
        let violations = axe_violations(&page).await;
        assert!(
            violations.is_empty(),
            "{scheme} at {width} px: {violations:#?}"
        );
        // The page fits the width: nothing scrolls sideways.
        let overflow = page
            .js(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{overflow} px too wide at {width} px"
        );
        if let Some(path) = std::env::var_os("WEBAPP_SCREENSHOT").filter(|_| width > 360) {
            // `WEBAPP_SCREENSHOT=docs/web-app.png` takes the README's picture.
            let png = page.session.client.screenshot().await.unwrap();
            std::fs::write(path, png).unwrap();
        }
        page.close().await;
    }
}

async fn the_list_works_from_the_keyboard_alone(backend: Backend) {
    let Some(stage) = Stage::set(backend, &[]).await else {
        return;
    };
    let (chromium, service) = (&stage.chromium, &stage.service);
    service.create(&json!({"title": "Pay rent"})).await;
    let page = Page::open(chromium, &base(service)).await;
    page.shows(&["Pay rent"]).await;

    // The new todo's field has the focus from the start.
    page.type_keys(&format!("Call mom{ENTER}")).await;
    page.shows(&["Call mom", "Pay rent"]).await;

    // Tab to a row's checkbox, Space toggles it; the focus is visible.
    page.tab_to(
        "the checkbox of Pay rent",
        &focused_in_row("toggle", "Pay rent"),
    )
    .await;
    let outline = page
        .js(
            "return getComputedStyle(document.activeElement).outlineStyle;",
            vec![],
        )
        .await;
    assert_ne!(outline, json!("none"), "no visible focus");
    page.type_keys(SPACE).await;
    page.wait_for_text("#count", "1 item left").await;

    // Tab to a row's Edit button, Enter edits, Enter saves.
    page.tab_to(
        "the Edit button of Call mom",
        &focused_in_row("edit", "Call mom"),
    )
    .await;
    page.type_keys(ENTER).await;
    page.select_edit_field().await;
    page.type_keys(&format!("Call dad{ENTER}")).await;
    page.shows(&["Call dad", "Pay rent"]).await;

    // And its Delete button deletes.
    page.tab_to(
        "the Delete button of Call dad",
        &focused_in_row("destroy", "Call dad"),
    )
    .await;
    page.type_keys(ENTER).await;
    page.shows(&["Pay rent"]).await;
    assert_eq!(titles(service).await, ["Pay rent"]);
    page.close().await;
}

/// A page-side test: the focus is on the control `class` of the row titled
/// `title`.
fn focused_in_row(class: &str, title: &str) -> String {
    format!(
        "document.activeElement?.classList.contains({class:?}) && \
         titleOf(document.activeElement.closest('li')) === {title:?}"
    )
}

/// The serious and critical violations axe-core finds in the page.
async fn axe_violations(page: &Page) -> Vec<Value> {
    let axe = include_str!("../fixtures/axe-core/axe.min.js");
    page.js(axe, vec![]).await;
    let result = page
        .session
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
                .then(r => done(r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))))
                .catch(e => done([{error: String(e)}]));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(result).unwrap()
}

/// What every test here starts from: the browser, its turn with it, a
/// database on `backend` and the service on it.
struct Stage {
    chromium: Chromium,
    database: Database,
    service: Service,
    _turn: MutexGuard<'static, ()>,
}

impl Stage {
    /// `None` where no browser can be had (the test then passes as skipped).
    async fn set(backend: Backend, args: &[&str]) -> Option<Stage> {
        Stage::set_at(backend, 0, args).await
    }

    /// As [`Stage::set`], the service on `port`.
    async fn set_at(backend: Backend, port: u16, args: &[&str]) -> Option<Stage> {
        let chromium = Chromium::find()?;
        let turn = BROWSER_TURN.lock().await;
        let database = Database::new(backend).await;
        let service = Service::start_at(&database, port, args).await;
        Some(Stage {
            chromium,
            database,
            service,
            _turn: turn,
        })
    }
}

/// Changes a todo's title through the API, as another client would.
async fn rename(service: &Service, id: i64, title: &str) {
    let request = service
        .request(Method::PATCH, &format!("/api/todo/{id}"))
        .json(&json!({ "title": title }));
    let renamed = service.send(request).await.unwrap();
    assert_eq!(renamed.status, 200, "{}", renamed.describe());
}

async fn sign_in(page: &Page, token: &str) {
    page.wait_for(
        "the sign-in form",
        "!document.querySelector('#sign-in').hidden",
        Duration::from_secs(10),
    )
    .await;
    page.type_into("#token", token).await;
    page.click("#sign-in-form button[type='submit']").await;
}

fn base(service: &Service) -> String {
    format!("http://{}", service.addr())
}

/// A port nobody listens on now, for a service started twice on it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HS256 token for `sub`, made by the binary's own `token` command.
fn token(sub: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(["token", "--sub", sub])
        .env("JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The titles in the database, in alphabetical order.
async fn titles(service: &Service) -> Vec<String> {
    let mut titles: Vec<String> = service
        .all_todos()
        .await
        .iter()
        .map(|todo| todo["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn todo_titled(service: &Service, title: &str) -> Value {
    service
        .all_todos()
        .await
        .into_iter()
        .find(|todo| todo["title"] == title)
        .unwrap_or_else(|| panic!("no todo {title:?} in the database"))
}

async fn all_completed(service: &Service, completed: bool) -> bool {
    service
        .all_todos()
        .await
        .iter()
        .all(|todo| todo["completed"] == completed)
}
