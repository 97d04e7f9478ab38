//! The checks after a scenario, through the API only: exactly the
//! acknowledged creates exist, none twice, and every acknowledged update is
//! visible (or a later one the client sent).

use std::collections::{HashMap, HashSet};

use http::StatusCode;

use super::{Action, Scenario, Verification};
use crate::client::{ClientError, Connection};
use crate::service_url::ServiceUrl;

/// A create the server acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct Acked {
    pub(crate) id: i64,
    pub(crate) title: String,
}

/// An update a client sent, in the order it sent them.
#[derive(Debug, Clone)]
pub(crate) struct UpdateAttempt {
    pub(crate) id: i64,
    pub(crate) title: String,
    pub(crate) acked: bool,
}

/// The problem of todos that exist though their create got no answer (a
/// client without a key cannot tell): what a reader that expects them,
/// such as the rolling-restart bench after a SIGKILL, looks for.
pub const UNACKNOWLEDGED_CREATES: &str = "todos exist whose create was not acknowledged";

pub(crate) async fn verify(
    service: &ServiceUrl,
    scenario: &Scenario,
    tag: &str,
    created: &[Acked],
    updates: &[UpdateAttempt],
    todo_ids: &[i64],
) -> Verification {
    let checked = match scenario.action {
        Action::CreateOne => verify_creates(service, tag, created).await,
        Action::Update(_) => verify_updates(service, updates).await,
        // Each read was checked as it came: the answer named the todo asked for.
        Action::Read(_) => Ok((todo_ids.len() as u64, Vec::new())),
    };
    match checked {
        Ok((checked, problems)) => Verification {
            ok: problems.is_empty(),
            checked,
            problems,
        },
        Err(error) => Verification {
            ok: false,
            checked: 0,
            problems: vec![format!("could not read back through the API: {error}")],
        },
    }
}

/// Lists every todo whose title holds `tag`, following `Link: rel="next"`.
pub(crate) async fn list_tagged(
    connection: &mut Connection,
    tag: &str,
) -> Result<Vec<(i64, String)>, String> {
    let mut path = format!("/api/todo?q={tag}&sort=id&limit=1000");
    let mut todos = Vec::new();
    // A bound on pages, so a server whose links loop cannot hang the check.
    for _ in 0..10_000 {
        let response = connection
            .get_retrying(&path)
            .await
            .map_err(|error: ClientError| error.to_string())?;
        if response.status != StatusCode::OK {
            return Err(format!("GET {path} answered {}", response.status));
        }
        let page = response.json().and_then(|value| value.as_array().cloned());
        let page = page.ok_or_else(|| format!("GET {path} gave no JSON array"))?;
        for todo in page {
            let id = todo.get("id").and_then(|v| v.as_i64());
            let title = todo.get("title").and_then(|v| v.as_str());
            match (id, title) {
                (Some(id), Some(title)) => todos.push((id, title.to_owned())),
                _ => return Err(format!("GET {path} gave a todo without id or title")),
            }
        }
        match response.next_link() {
            Some(next) => path = next,
            None => return Ok(todos),
        }
    }
    Err("the listing did not end within 10,000 pages".to_owned())
}

async fn verify_creates(
    service: &ServiceUrl,
    tag: &str,
    created: &[Acked],
) -> Result<(u64, Vec<String>), String> {
    let mut connection = Connection::open(service)
        .await
        .map_err(|error| error.to_string())?;
    let listed = list_tagged(&mut connection, tag).await?;
    let mut problems = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut titles: HashMap<&str, u32> = HashMap::new();
    for (id, title) in &listed {
        if !seen_ids.insert(*id) {
            problems.push(format!("todo {id} is listed twice"));
        }
        *titles.entry(title.as_str()).or_default() += 1;
    }
    let duplicates = titles.values().filter(|count| **count > 1).count();
    if duplicates > 0 {
        problems.push(format!(
            "{duplicates} titles exist more than once (duplicate creates)"
        ));
    }
    let acked: HashSet<i64> = created.iter().map(|todo| todo.id).collect();
    let missing = acked.difference(&seen_ids).count();
    if missing > 0 {
        problems.push(format!("{missing} acknowledged creates are missing"));
    }
    let extra = seen_ids.difference(&acked).count();
    if extra > 0 {
        problems.push(format!("{extra} {UNACKNOWLEDGED_CREATES}"));
    }
    for todo in created {
        if !listed
            .iter()
            .any(|(id, title)| *id == todo.id && *title == todo.title)
        {
            problems.push(format!("todo {} does not hold its title", todo.id));
            break;
        }
    }
    Ok((listed.len() as u64, problems))
}

async fn verify_updates(
    service: &ServiceUrl,
    updates: &[UpdateAttempt],
) -> Result<(u64, Vec<String>), String> {
    let mut connection = Connection::open(service)
        .await
        .map_err(|error| error.to_string())?;
    let mut by_todo: HashMap<i64, Vec<&UpdateAttempt>> = HashMap::new();
    for update in updates {
        by_todo.entry(update.id).or_default().push(update);
    }
    let mut problems = Vec::new();
    for (id, attempts) in &by_todo {
        let Some(last_acked) = attempts.iter().rposition(|attempt| attempt.acked) else {
            continue;
        };
        let response = connection
            .get_retrying(&format!("/api/todo/{id}"))
            .await
            .map_err(|error| error.to_string())?;
        let shown = response.json().and_then(|todo| {
            todo.get("title")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
        // The last acknowledged update, or a later one whose answer was lost.
        let allowed = &attempts[last_acked..];
        if !allowed
            .iter()
            .any(|attempt| Some(&attempt.title) == shown.as_ref())
        {
            problems.push(format!(
                "todo {id} shows {shown:?}, not its last acknowledged update {:?}",
                attempts[last_acked].title
            ));
        }
    }
    Ok((by_todo.len() as u64, problems))
}
