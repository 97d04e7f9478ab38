//! The web app in one headless Chromium session, driven as a person would:
//! keys typed into its fields, clicks on its controls; read back through
//! the page's own elements.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::support::{PAGE_TIMEOUT, Session, browser_and_driver};

/// WebDriver's Enter, Escape, Tab and Space keys.
pub const ENTER: &str = "\u{E007}";
pub const ESCAPE: &str = "\u{E00C}";
pub const TAB: &str = "\u{E004}";
pub const SPACE: &str = "\u{E00D}";

/// How long the page may take to show what a test waits for.
const SHOW_TIMEOUT: Duration = Duration::from_secs(10);

/// Chromium and its driver, found (or installed) once per test.
pub struct Chromium {
    browser: std::path::PathBuf,
    driver: std::path::PathBuf,
}

impl Chromium {
    /// `None` (and a line saying why) where no browser can be had.
    pub fn find() -> Option<Chromium> {
        browser_and_driver().map(|(browser, driver)| Chromium { browser, driver })
    }

    /// A new browser session (its own profile: its own storage).
    pub async fn session(&self, extra_args: &[&str]) -> Session {
        Session::open_with(&self.browser, &self.driver, extra_args).await
    }
}

/// The app's page in a session.
pub struct Page {
    pub session: Session,
    pub base: String,
}

impl Page {
    /// Opens `/` of the service at `base` and waits until the list is live.
    pub async fn open(chromium: &Chromium, base: &str) -> Page {
        let page = Page::open_only(chromium, base, &[]).await;
        page.wait_until_live().await;
        page
    }

    /// Opens `/` without waiting for anything (a page that asks to sign in).
    pub async fn open_only(chromium: &Chromium, base: &str, extra_args: &[&str]) -> Page {
        let session = chromium.session(extra_args).await;
        session.client.goto(&format!("{base}/")).await.unwrap();
        Page {
            session,
            base: base.to_owned(),
        }
    }

    pub async fn close(self) {
        self.session.close().await;
    }

    /// Runs `script` (a function body; `arguments` are `args`).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.session.client.execute(script, args).await.unwrap()
    }

    /// Waits until `condition` (an expression) is true in the page, within
    /// `bound`, naming `what` when it never is.
    pub async fn wait_for(&self, what: &str, condition: &str, bound: Duration) {
        let script = format!("{ROWS_JS} return !!({condition});");
        let deadline = Instant::now() + bound;
        loop {
            if self.js(&script, vec![]).await == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {bound:?}; it shows {:?} ({})",
                self.titles().await,
                self.text("#notices").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_until_live(&self) {
        self.wait_for(
            "the live list",
            "!document.querySelector('#todoapp').hidden && document.querySelector('#connection').textContent === 'Live'",
            PAGE_TIMEOUT,
        )
        .await;
    }

    /// The titles of the rows shown, in order.
    pub async fn titles(&self) -> Vec<String> {
        let titles = self
            .js(&format!("{ROWS_JS} return rows().map(titleOf);"), vec![])
            .await;
        serde_json::from_value(titles).unwrap()
    }

    /// Waits until the rows shown are exactly `expected`, in order.
    pub async fn wait_for_titles(&self, expected: &[&str], bound: Duration) {
        let expected = serde_json::to_string(expected).unwrap();
        self.wait_for(
            &format!("the titles {expected}"),
            &format!("JSON.stringify(rows().map(titleOf)) === {expected:?}"),
            bound,
        )
        .await;
    }

    /// Waits until the rows shown are `expected` within [`SHOW_TIMEOUT`].
    pub async fn shows(&self, expected: &[&str]) {
        self.wait_for_titles(expected, SHOW_TIMEOUT).await;
    }

    /// The text of the element `css` matches (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        let text = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                vec![json!(css)],
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the element `css` matches has the text `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        self.wait_for(
            &format!("{expected:?} in {css}"),
            &format!("document.querySelector({css:?})?.textContent === {expected:?}"),
            SHOW_TIMEOUT,
        )
        .await;
    }

    /// Types `keys` into the element `css` matches.
    pub async fn type_into(&self, css: &str, keys: &str) {
        self.find(css).await.send_keys(keys).await.unwrap();
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.session
            .client
            .wait()
            .at_most(SHOW_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Adds a todo as a person does: its title typed, then Enter.
    pub async fn add(&self, title: &str) {
        self.type_into("#new-title", &format!("{title}{ENTER}"))
            .await;
    }

    /// The row whose title is `title`.
    pub async fn row(&self, title: &str) -> fantoccini::elements::Element {
        self.session
            .client
            .wait()
            .at_most(SHOW_TIMEOUT)
            .for_element(Locator::XPath(&format!(
                "//ul[@id='todo-list']/li[.//span[@class='title' and text()='{title}']]"
            )))
            .await
            .unwrap_or_else(|error| panic!("no row {title:?}: {error}"))
    }

    /// Clicks the control `css` of the row titled `title`.
    pub async fn click_in_row(&self, title: &str, css: &str) {
        self.row(title)
            .await
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Double-clicks a row's title (the TodoMVC way into editing), waits
    /// for its edit field to have the focus, and selects its text.
    pub async fn start_editing(&self, title: &str) {
        self.js(
            &format!(
                "{ROWS_JS} rows().find(r => titleOf(r) === arguments[0]).querySelector('.title')\
                 .dispatchEvent(new MouseEvent('dblclick', {{bubbles: true}}));"
            ),
            vec![json!(title)],
        )
        .await;
        self.select_edit_field().await;
    }

    /// Waits for a row's edit field to have the focus, and selects its
    /// text, so that what is typed next replaces it.
    pub async fn select_edit_field(&self) {
        self.wait_for(
            "an edit field with the focus",
            "document.activeElement?.classList.contains('edit-title')",
            SHOW_TIMEOUT,
        )
        .await;
        self.js("document.activeElement.select();", vec![]).await;
    }

    /// Types into the focused element.
    pub async fn type_keys(&self, keys: &str) {
        self.session
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// Presses Tab until `condition` (a page-side expression) holds, as a
    /// keyboard user moves through the page; fails after a bounded number
    /// of presses.
    pub async fn tab_to(&self, what: &str, condition: &str) {
        let script = format!("{ROWS_JS} return !!({condition});");
        for _ in 0..60 {
            if self.js(&script, vec![]).await == json!(true) {
                return;
            }
            self.type_keys(TAB).await;
        }
        panic!("Tab never reached {what}");
    }

    /// Whether the row titled `title` has the class `class`.
    pub async fn row_has_class(&self, title: &str, class: &str) -> bool {
        let row = self.row(title).await;
        let classes = row.attr("class").await.unwrap().unwrap_or_default();
        classes.split_whitespace().any(|name| name == class)
    }

    /// What the page loaded so far.
    pub async fn loads(&self) -> Loads {
        let loads = self
            .js(
                "const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
                 const own = entries.filter(e => e.name === location.origin + '/' || e.name.includes('/app/'));
                 const main = own.find(e => e.name.endsWith('/app/main.js'));
                 return {
                     urls: entries.map(e => e.name),
                     own_bytes: own.reduce((sum, e) => sum + e.transferSize, 0),
                     compressed: !!main && main.encodedBodySize < main.decodedBodySize,
                 };",
                vec![],
            )
            .await;
        serde_json::from_value(loads).unwrap()
    }
}

/// The URLs a page loaded, the bytes its own files (the page and
/// `/app/*`) took on the wire, and whether its main script came compressed.
#[derive(Debug, serde::Deserialize)]
pub struct Loads {
    pub urls: Vec<String>,
    pub own_bytes: u64,
    pub compressed: bool,
}

/// Page-side helpers every wait and read uses: the rows, a row's title
/// (its edit field's while it is edited).
const ROWS_JS: &str = "const rows = () => [...document.querySelectorAll('#todo-list > li')];
     const titleOf = r => r.querySelector('.edit-title')?.value ?? r.querySelector('.title')?.textContent;";
