//! The read-back after a keyed-writes run: every todo of the run listed
//! through the API, against what the clients were told.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AcknowledgedTodo;
use crate::client::{ClientError, Connection};
use crate::service_url::ServiceUrl;

/// Todos a listing page asks for (the most API.md allows).
const VERIFY_PAGE: u32 = 1000;

/// What the API shows afterwards, against what the clients were told.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyedWritesCheck {
    /// Acknowledged creates.
    pub acknowledged: u64,
    /// The run's todos the API lists.
    pub listed: u64,
    /// Acknowledged creates the API does not list.
    pub missing: u64,
    /// Titles listed more than once (a retry that created twice).
    pub duplicated: u64,
    /// Listed todos no client was told were created.
    pub unacknowledged: u64,
    /// Todos whose priority is not their last acknowledged update's.
    pub stale_updates: u64,
}

impl KeyedWritesCheck {
    pub fn is_exact(&self) -> bool {
        self.missing == 0
            && self.duplicated == 0
            && self.unacknowledged == 0
            && self.stale_updates == 0
    }
}

/// Lists every todo of the run (titles starting with `tag`) through the API
/// and compares them with `acknowledged`. A create a client gave up on may
/// or may not exist: such todos count as unacknowledged, which the caller
/// reads beside `given_up`.
pub async fn verify(
    service: &ServiceUrl,
    tag: &str,
    acknowledged: &[AcknowledgedTodo],
) -> Result<KeyedWritesCheck, ClientError> {
    let mut connection = Connection::open(service).await?;
    let mut listed: HashMap<String, Vec<Value>> = HashMap::new();
    let mut next = Some(format!("/api/todo?limit={VERIFY_PAGE}&sort=id"));
    while let Some(path) = next {
        let page = connection.get_retrying(&path).await?;
        let todos = page.json().unwrap_or_default();
        for todo in todos.as_array().into_iter().flatten() {
            let title = todo["title"].as_str().unwrap_or_default();
            if title.starts_with(&format!("{tag}-")) {
                listed
                    .entry(title.to_owned())
                    .or_default()
                    .push(todo.clone());
            }
        }
        next = page.next_link();
    }
    let mut check = KeyedWritesCheck {
        acknowledged: acknowledged.len() as u64,
        listed: listed.values().map(|copies| copies.len() as u64).sum(),
        ..KeyedWritesCheck::default()
    };
    check.duplicated = listed.values().filter(|copies| copies.len() > 1).count() as u64;
    let mut told: HashMap<&str, &AcknowledgedTodo> = HashMap::new();
    for todo in acknowledged {
        told.insert(&todo.title, todo);
        match listed.get(&todo.title).and_then(|copies| copies.first()) {
            None => check.missing += 1,
            Some(row) => {
                let same_id = row["id"].as_i64() == Some(todo.id);
                let fresh = todo
                    .priority
                    .is_none_or(|priority| row["priority"].as_i64() == Some(priority));
                if !same_id || !fresh {
                    check.stale_updates += 1;
                }
            }
        }
    }
    check.unacknowledged = listed
        .keys()
        .filter(|title| !told.contains_key(title.as_str()))
        .count() as u64;
    Ok(check)
}
