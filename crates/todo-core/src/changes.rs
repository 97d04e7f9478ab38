//! The change log (API.md, "Changes"): each user's writes, numbered in the
//! order they committed, read as pages that a client applies to its copy.
//!
//! The stores keep the log compacted: a todo carries the number of its
//! latest change, a deleted todo leaves a tombstone with the number of its
//! delete. Reading "after a position" is then reading the todos and the
//! tombstones numbered past it, in number order. Why the numbers follow the
//! commit order is each store's business (ARCHITECTURE.md, "The change
//! log").

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::listing::{last_values, read_bounded};
use crate::owner::Owner;
use crate::todo::{Todo, todo_json};
use crate::validation::{FieldError, Loc, ValidationErrors};

/// Most changes one page holds.
pub const MAX_CHANGES_LIMIT: u16 = 1000;

/// Changes a page holds unless asked otherwise.
pub const DEFAULT_CHANGES_LIMIT: u16 = 100;

/// Where a reader of a change log stands: it has seen every upsert numbered
/// up to `upserts_seen` and every delete numbered up to `deletes_seen`.
///
/// The two differ only for a copy made from scratch: it needs no delete of
/// a todo it never had, so the deletes committed before it started are
/// behind it from the start, whatever upserts are still to come. That also
/// keeps a fresh copy valid when old tombstones are purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeCursor {
    pub upserts_seen: i64,
    pub deletes_seen: i64,
}

const FORMAT_VERSION: u8 = 1;

impl ChangeCursor {
    /// The position after `number`, the change a reader has just seen.
    #[must_use]
    pub fn past(self, number: i64) -> ChangeCursor {
        ChangeCursor {
            upserts_seen: number.max(self.upserts_seen),
            deletes_seen: number.max(self.deletes_seen),
        }
    }

    /// The opaque text of this position in `owner`'s log.
    pub fn encode(self, owner: Owner) -> String {
        let mut bytes = Vec::with_capacity(21);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&self.upserts_seen.to_be_bytes());
        bytes.extend_from_slice(&self.deletes_seen.to_be_bytes());
        let checksum = checksum(&bytes, owner);
        bytes.extend_from_slice(&checksum.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position `text` encodes, if it was made for `owner`'s log and
    /// not altered; `None` otherwise.
    pub fn decode(text: &str, owner: Owner) -> Option<ChangeCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if checksum(body, owner).to_be_bytes() != sum {
            return None;
        }
        let (&version, rest) = body.split_first()?;
        let (upserts, rest) = rest.split_first_chunk::<8>()?;
        let (deletes, rest) = rest.split_first_chunk::<8>()?;
        let cursor = ChangeCursor {
            upserts_seen: i64::from_be_bytes(*upserts),
            deletes_seen: i64::from_be_bytes(*deletes),
        };
        let sound = version == FORMAT_VERSION
            && rest.is_empty()
            && cursor.upserts_seen >= 0
            && cursor.deletes_seen >= cursor.upserts_seen;
        sound.then_some(cursor)
    }
}

/// A checksum of the cursor's bytes and its owner: a cursor of one user
/// is refused in another's log, and an altered one anywhere.
fn checksum(bytes: &[u8], owner: Owner) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&owner.id().to_be_bytes());
    hasher.update(bytes);
    hasher.finalize()
}

/// What `GET /api/todo/changes` asks for: where to start and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangesQuery {
    /// `None`: from the start.
    pub since: Option<ChangeCursor>,
    pub limit: u16,
}

impl ChangesQuery {
    /// Reads `since` and `limit` from `owner`'s query string; other
    /// parameters are ignored, as by the listing.
    pub fn from_params(
        pairs: &[(String, String)],
        owner: Owner,
    ) -> Result<ChangesQuery, ValidationErrors> {
        let params = last_values(pairs);
        let mut errors = ValidationErrors::default();
        let limit = read_bounded(
            &params,
            "limit",
            1,
            i64::from(MAX_CHANGES_LIMIT),
            &mut errors,
        );
        let since = match params.get("since") {
            None => None,
            Some(text) => match ChangeCursor::parse(text, Loc::query("since"), owner) {
                Ok(cursor) => Some(cursor),
                Err(error) => {
                    errors.push(error);
                    None
                }
            },
        };
        errors.into_result(ChangesQuery {
            since,
            limit: limit.map_or(DEFAULT_CHANGES_LIMIT, |limit| limit as u16),
        })
    }
}

impl ChangeCursor {
    /// The cursor `text` sent at `loc`, or the 422 fault to answer.
    pub fn parse(text: &str, loc: Loc, owner: Owner) -> Result<ChangeCursor, FieldError> {
        ChangeCursor::decode(text, owner).ok_or_else(|| {
            FieldError::new(
                loc,
                "value_error",
                "Value error, invalid change cursor, or one made for another user",
            )
            .with_input(text)
        })
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The todo as it is now (created or changed).
    Upsert(Todo),
    /// The todo of this id was deleted.
    Delete(i64),
}

impl Change {
    /// `upsert` or `delete`: the `op` of the change, the `event` of its
    /// server-sent event.
    pub fn op(&self) -> &'static str {
        match self {
            Change::Upsert(_) => "upsert",
            Change::Delete(_) => "delete",
        }
    }

    /// The change as `GET /api/todo/changes` lists it:
    /// `{"op":"upsert","todo":{…}}` or `{"op":"delete","id":N}`.
    pub fn json(&self) -> Vec<u8> {
        let mut json = Vec::with_capacity(320);
        json.extend_from_slice(br#"{"op":""#);
        json.extend_from_slice(self.op().as_bytes());
        match self {
            Change::Upsert(todo) => {
                json.extend_from_slice(br#"","todo":"#);
                json.extend_from_slice(&todo_json(todo));
            }
            Change::Delete(id) => {
                json.extend_from_slice(br#"","id":"#);
                json.extend_from_slice(itoa::Buffer::new().format(*id).as_bytes());
            }
        }
        json.push(b'}');
        json
    }

    /// The `data` of the change's server-sent event: the todo, or
    /// `{"id":N}`.
    pub fn event_data(&self) -> Vec<u8> {
        match self {
            Change::Upsert(todo) => todo_json(todo),
            Change::Delete(id) => format!(r#"{{"id":{id}}}"#).into_bytes(),
        }
    }

    /// The todo's id either way.
    pub fn id(&self) -> i64 {
        match self {
            Change::Upsert(todo) => todo.id,
            Change::Delete(id) => *id,
        }
    }
}

/// A change and its number in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberedChange {
    pub number: i64,
    pub change: Change,
}

/// A page of the log: its changes in order, the position after them, and
/// whether more changes followed when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    pub changes: Vec<NumberedChange>,
    pub cursor: ChangeCursor,
    pub has_more: bool,
}

impl ChangePage {
    /// The page as `GET /api/todo/changes` answers it, its cursor made
    /// for `owner`.
    pub fn json(&self, owner: Owner) -> Vec<u8> {
        let mut json = Vec::with_capacity(64 + self.changes.len() * 320);
        json.extend_from_slice(br#"{"changes":["#);
        for (index, numbered) in self.changes.iter().enumerate() {
            if index > 0 {
                json.push(b',');
            }
            json.extend_from_slice(&numbered.change.json());
        }
        json.extend_from_slice(br#"],"cursor":""#);
        json.extend_from_slice(self.cursor.encode(owner).as_bytes());
        json.extend_from_slice(br#"","has_more":"#);
        json.extend_from_slice(if self.has_more { b"true" } else { b"false" });
        json.push(b'}');
        json
    }

    /// The page of at most `limit` changes from the upserts and the deletes
    /// a store read past `from` (each in number order, each at most
    /// `limit + 1` long, so that a longer list tells there are more).
    pub fn merge(
        from: ChangeCursor,
        upserts: Vec<(i64, Todo)>,
        deletes: Vec<(i64, i64)>,
        limit: u16,
    ) -> ChangePage {
        let limit = usize::from(limit);
        let mut upserts = upserts.into_iter().peekable();
        let mut deletes = deletes.into_iter().peekable();
        let mut changes = Vec::with_capacity(limit.min(64));
        let mut cursor = from;
        let mut has_more = false;
        loop {
            let upsert_first = match (upserts.peek(), deletes.peek()) {
                (None, None) => break,
                (Some((upsert, _)), Some((delete, _))) => upsert < delete,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if changes.len() == limit {
                has_more = true;
                break;
            }
            let change = if upsert_first {
                upserts.next().map(|(number, todo)| NumberedChange {
                    number,
                    change: Change::Upsert(todo),
                })
            } else {
                deletes.next().map(|(number, id)| NumberedChange {
                    number,
                    change: Change::Delete(id),
                })
            };
            if let Some(change) = change {
                cursor = cursor.past(change.number);
                changes.push(change);
            }
        }
        ChangePage {
            changes,
            cursor,
            has_more,
        }
    }
}

/// Told of committed changes, so that live streams read the log again.
pub trait ChangeListener: Send + Sync + fmt::Debug {
    /// Changes of `owner` committed, on this instance or another.
    fn changed(&self, owner: Owner);

    /// Changes of anyone may have been missed (notifications were lost
    /// while the connection that carries them was down): every reader
    /// should look at the log again.
    fn all_changed(&self);

    /// A notification from another instance arrived `lag` after it was
    /// sent.
    fn notified(&self, lag: Duration);
}

/// Where a store tells of the changes it commits: the first listener set,
/// if any. Cloning shares it.
#[derive(Clone, Default)]
pub struct ChangeSignals(Arc<OnceLock<Arc<dyn ChangeListener>>>);

impl ChangeSignals {
    /// Sets the listener; `false` when one was set already (kept).
    pub fn listen(&self, listener: Arc<dyn ChangeListener>) -> bool {
        self.0.set(listener).is_ok()
    }

    /// The listener, once set.
    pub fn listener(&self) -> Option<&Arc<dyn ChangeListener>> {
        self.0.get()
    }

    /// Tells the listener that `owner`'s log has new changes.
    pub fn changed(&self, owner: Owner) {
        if let Some(listener) = self.0.get() {
            listener.changed(owner);
        }
    }
}

impl fmt::Debug for ChangeSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeSignals")
            .field("listened", &self.0.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Owner = Owner::from_id(7);
    const BOB: Owner = Owner::from_id(8);

    #[test]
    fn a_cursor_round_trips_for_its_owner_only() {
        let cursor = ChangeCursor {
            upserts_seen: 12,
            deletes_seen: 40,
        };
        let text = cursor.encode(ALICE);
        assert_eq!(ChangeCursor::decode(&text, ALICE), Some(cursor));
        assert_eq!(ChangeCursor::decode(&text, BOB), None);
    }

    #[test]
    fn an_altered_or_malformed_cursor_is_refused() {
        let text = ChangeCursor::default().encode(ALICE);
        let mut altered = text.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for bad in ["", "x", "!!!!", &altered, &text[..text.len() - 1]] {
            assert_eq!(ChangeCursor::decode(bad, ALICE), None, "{bad}");
        }
    }

    fn todo(id: i64) -> Todo {
        Todo {
            id,
            title: "t".into(),
            description: None,
            priority: 3,
            due_date: None,
            completed: false,
            created_at: crate::now(),
            updated_at: crate::now(),
            version: 1,
        }
    }

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_changes_query_reads_since_and_limit_and_refuses_bad_ones() {
        let cursor = ChangeCursor {
            upserts_seen: 3,
            deletes_seen: 3,
        };
        let text = cursor.encode(ALICE);
        let query = ChangesQuery::from_params(
            &pairs(&[("since", &text), ("limit", "7"), ("other", "x")]),
            ALICE,
        )
        .unwrap();
        assert_eq!(
            query,
            ChangesQuery {
                since: Some(cursor),
                limit: 7
            }
        );
        assert_eq!(
            ChangesQuery::from_params(&[], ALICE).unwrap(),
            ChangesQuery {
                since: None,
                limit: DEFAULT_CHANGES_LIMIT
            }
        );
        let errors = ChangesQuery::from_params(&pairs(&[("since", &text), ("limit", "1001")]), BOB)
            .unwrap_err();
        assert_eq!(errors.errors().len(), 2, "{errors:?}");
        for bad in ["0", "x", ""] {
            assert!(ChangesQuery::from_params(&pairs(&[("limit", bad)]), ALICE).is_err());
        }
        assert!(ChangesQuery::from_params(&pairs(&[("since", "")]), ALICE).is_err());
    }

    #[test]
    fn a_page_merges_upserts_and_deletes_in_number_order() {
        let page = ChangePage::merge(
            ChangeCursor::default(),
            vec![(1, todo(10)), (4, todo(11))],
            vec![(2, 9), (3, 8)],
            10,
        );
        let numbers: Vec<i64> = page.changes.iter().map(|c| c.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert!(!page.has_more);
        assert_eq!(
            page.cursor,
            ChangeCursor {
                upserts_seen: 4,
                deletes_seen: 4
            }
        );
    }

    #[test]
    fn a_page_reads_as_the_contract_shows_it() {
        let page = ChangePage::merge(
            ChangeCursor::default(),
            vec![(1, todo(10))],
            vec![(2, 9)],
            10,
        );
        let json: serde_json::Value = serde_json::from_slice(&page.json(ALICE)).unwrap();
        assert_eq!(json["changes"][0]["op"], "upsert");
        assert_eq!(json["changes"][0]["todo"]["id"], 10);
        assert_eq!(
            json["changes"][1],
            serde_json::json!({"op": "delete", "id": 9})
        );
        assert_eq!(json["has_more"], false);
        let cursor = json["cursor"].as_str().unwrap();
        assert_eq!(ChangeCursor::decode(cursor, ALICE), Some(page.cursor));
        assert_eq!(Change::Delete(9).event_data(), br#"{"id":9}"#);
    }

    #[test]
    fn a_full_page_says_more_follow_and_stops_at_its_last_change() {
        let page = ChangePage::merge(
            ChangeCursor::default(),
            vec![(1, todo(10)), (3, todo(11))],
            vec![(2, 9)],
            2,
        );
        assert_eq!(page.changes.len(), 2);
        assert!(page.has_more);
        assert_eq!(page.cursor.upserts_seen, 2);
    }

    #[test]
    fn a_fresh_copy_keeps_its_deletes_position_until_the_upserts_pass_it() {
        let start = ChangeCursor {
            upserts_seen: 0,
            deletes_seen: 50,
        };
        let page = ChangePage::merge(start, vec![(5, todo(1))], Vec::new(), 10);
        assert_eq!(
            page.cursor,
            ChangeCursor {
                upserts_seen: 5,
                deletes_seen: 50
            }
        );
        assert_eq!(page.cursor.past(60).deletes_seen, 60);
    }
}
