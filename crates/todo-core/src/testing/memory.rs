//! A small in-memory [`TodoStore`] that runs the suite inside this crate,
//! so the checks themselves are exercised before any backend exists.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::changes::{ChangeCursor, ChangeListener, ChangePage, ChangeSignals};
use crate::groups::{GroupKind, GroupObserver, GroupReports};
use crate::idempotency::{Created, Creation, IdempotencyKey, KeyedOutcome, StoredResponse};
use crate::input::{IdentifiedPatch, NewTodo, TodoPatch};
use crate::listing::{ListQuery, Page, TodoFilter};
use crate::owner::Owner;
use crate::store::{Expected, PoolStatus, StoreError, TodoStore};
use crate::testing::model::{expected_page, matches};
use crate::todo::{Timestamp, Todo, now};

#[derive(Debug, Default)]
struct MemoryStore {
    state: Mutex<State>,
    groups: GroupReports,
    signals: ChangeSignals,
}

#[derive(Debug, Default)]
struct State {
    last_id: i64,
    todos: BTreeMap<i64, (Owner, Todo)>,
    keys: BTreeMap<(Owner, String, String), (String, StoredResponse, Timestamp)>,
    users: HashMap<String, Owner>,
    last_change: i64,
    /// Each todo's latest change number.
    numbers: HashMap<i64, i64>,
    /// (owner, change number, todo id, when deleted).
    tombstones: Vec<(Owner, i64, i64, Timestamp)>,
    horizons: HashMap<Owner, i64>,
}

impl State {
    fn insert(&mut self, owner: Owner, todo: NewTodo) -> Todo {
        self.last_id += 1;
        let at = now();
        let todo = Todo {
            id: self.last_id,
            title: todo.title.into_inner(),
            description: todo.description.map(|text| text.into_inner()),
            priority: todo.priority.get(),
            due_date: todo.due_date,
            completed: todo.completed,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        self.todos.insert(todo.id, (owner, todo.clone()));
        self.number(todo.id);
        todo
    }

    fn number(&mut self, id: i64) {
        self.last_change += 1;
        self.numbers.insert(id, self.last_change);
    }

    fn remove(&mut self, id: i64) {
        if let Some((owner, _)) = self.todos.remove(&id) {
            self.last_change += 1;
            self.numbers.remove(&id);
            self.tombstones.push((owner, self.last_change, id, now()));
        }
    }

    fn head(&self, owner: Owner) -> (i64, i64, i64) {
        let purged = self.horizons.get(&owner).copied().unwrap_or(0);
        let last_delete = self
            .tombstones
            .iter()
            .filter(|(of, ..)| *of == owner)
            .map(|(_, number, ..)| *number)
            .max()
            .unwrap_or(0);
        let last_upsert = self
            .todos
            .iter()
            .filter(|(_, (of, _))| *of == owner)
            .map(|(id, _)| self.numbers[id])
            .max()
            .unwrap_or(0);
        (purged, last_delete, last_upsert)
    }

    fn owned(&self, owner: Owner) -> Vec<Todo> {
        self.todos
            .values()
            .filter(|(of, _)| *of == owner)
            .map(|(_, todo)| todo.clone())
            .collect()
    }

    fn check(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<&Todo, StoreError> {
        let todo = match self.todos.get(&id) {
            Some((of, todo)) if *of == owner => todo,
            _ => return Err(StoreError::NotFound(id)),
        };
        match expected {
            Some(expected) if !expected.accepts(todo.version) => {
                Err(StoreError::PreconditionFailed)
            }
            _ => Ok(todo),
        }
    }

    fn apply(&mut self, id: i64, patch: TodoPatch) -> Todo {
        let (_, todo) = self.todos.get_mut(&id).unwrap();
        if let Some(title) = patch.title {
            todo.title = title.into_inner();
        }
        if let Some(description) = patch.description {
            todo.description = description.map(|text| text.into_inner());
        }
        if let Some(priority) = patch.priority {
            todo.priority = priority.get();
        }
        if let Some(due_date) = patch.due_date {
            todo.due_date = due_date;
        }
        if let Some(completed) = patch.completed {
            todo.completed = completed;
        }
        todo.updated_at = now().max(todo.updated_at);
        todo.version += 1;
        let todo = todo.clone();
        self.number(id);
        todo
    }
}

#[async_trait]
impl TodoStore for MemoryStore {
    async fn owner_of(&self, subject: &str) -> Result<Owner, StoreError> {
        let mut state = self.state.lock().unwrap();
        let next = Owner::from_id(state.users.len() as i64 + 2);
        Ok(*state.users.entry(subject.to_owned()).or_insert(next))
    }

    async fn create(&self, owner: Owner, todo: NewTodo) -> Result<Todo, StoreError> {
        let created = self.state.lock().unwrap().insert(owner, todo);
        // Every create is a group of its own here.
        self.groups.served(GroupKind::Create, 1);
        self.signals.changed(owner);
        Ok(created)
    }

    async fn create_many(
        &self,
        owner: Owner,
        todos: Vec<NewTodo>,
    ) -> Result<Vec<Todo>, StoreError> {
        let created = {
            let mut state = self.state.lock().unwrap();
            todos
                .into_iter()
                .map(|todo| state.insert(owner, todo))
                .collect()
        };
        self.signals.changed(owner);
        Ok(created)
    }

    async fn create_keyed(
        &self,
        owner: Owner,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        let mut state = self.state.lock().unwrap();
        let entry = (owner, key.scope.clone(), key.key.clone());
        if let Some((fingerprint, response, _)) = state.keys.get(&entry) {
            return if *fingerprint == key.fingerprint {
                Ok(KeyedOutcome::Replayed(response.clone()))
            } else {
                Err(StoreError::IdempotencyKeyReused)
            };
        }
        let created = match creation {
            Creation::One(todo) => Created::One(state.insert(owner, todo)),
            Creation::Many(todos) => Created::Many(
                todos
                    .into_iter()
                    .map(|todo| state.insert(owner, todo))
                    .collect(),
            ),
        };
        let response = StoredResponse {
            status: 201,
            body: created.body(),
        };
        state
            .keys
            .insert(entry, (key.fingerprint.clone(), response, now()));
        self.signals.changed(owner);
        Ok(KeyedOutcome::Created(created))
    }

    async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap();
        let before = state.keys.len();
        state.keys.retain(|_, (_, _, at)| *at >= cutoff);
        Ok((before - state.keys.len()) as u64)
    }

    async fn get(&self, owner: Owner, id: i64) -> Result<Todo, StoreError> {
        Ok(self.state.lock().unwrap().check(owner, id, None)?.clone())
    }

    async fn list(&self, owner: Owner, query: &ListQuery) -> Result<Page, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(expected_page(&state.owned(owner), query))
    }

    async fn update(
        &self,
        owner: Owner,
        id: i64,
        patch: TodoPatch,
        expected: Option<&Expected>,
    ) -> Result<Todo, StoreError> {
        let mut state = self.state.lock().unwrap();
        state.check(owner, id, expected)?;
        let updated = state.apply(id, patch);
        self.signals.changed(owner);
        Ok(updated)
    }

    async fn update_many(
        &self,
        owner: Owner,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError> {
        let mut state = self.state.lock().unwrap();
        for patch in &patches {
            state.check(owner, patch.id, None)?;
        }
        let updated = patches
            .into_iter()
            .map(|patch| state.apply(patch.id, patch.patch))
            .collect();
        self.signals.changed(owner);
        Ok(updated)
    }

    async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.check(owner, id, expected)?;
        state.remove(id);
        self.signals.changed(owner);
        Ok(())
    }

    async fn delete_matching(&self, owner: Owner, filter: &TodoFilter) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap();
        let doomed: Vec<i64> = state
            .todos
            .iter()
            .filter(|(_, (of, todo))| *of == owner && matches(filter, todo))
            .map(|(id, _)| *id)
            .collect();
        for &id in &doomed {
            state.remove(id);
        }
        if !doomed.is_empty() {
            self.signals.changed(owner);
        }
        Ok(doomed.len() as u64)
    }

    async fn changes(
        &self,
        owner: Owner,
        since: Option<ChangeCursor>,
        limit: u16,
    ) -> Result<ChangePage, StoreError> {
        let state = self.state.lock().unwrap();
        let (purged, last_delete, _) = state.head(owner);
        let from = match since {
            Some(cursor) if purged > cursor.deletes_seen => {
                return Err(StoreError::ChangesExpired);
            }
            Some(cursor) => cursor,
            None => ChangeCursor {
                upserts_seen: 0,
                deletes_seen: last_delete.max(purged),
            },
        };
        let mut upserts: Vec<(i64, Todo)> = state
            .todos
            .iter()
            .filter(|(id, (of, _))| *of == owner && state.numbers[*id] > from.upserts_seen)
            .map(|(id, (_, todo))| (state.numbers[id], todo.clone()))
            .collect();
        upserts.sort_by_key(|(number, _)| *number);
        let deletes: Vec<(i64, i64)> = state
            .tombstones
            .iter()
            .filter(|(of, number, ..)| *of == owner && *number > from.deletes_seen)
            .map(|(_, number, id, _)| (*number, *id))
            .collect();
        Ok(ChangePage::merge(from, upserts, deletes, limit))
    }

    async fn change_head(&self, owner: Owner) -> Result<ChangeCursor, StoreError> {
        let (purged, last_delete, last_upsert) = self.state.lock().unwrap().head(owner);
        let newest = last_delete.max(last_upsert);
        Ok(ChangeCursor {
            upserts_seen: newest,
            deletes_seen: newest.max(purged),
        })
    }

    async fn purge_tombstones(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap();
        let (purged, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.tombstones)
            .into_iter()
            .partition(|(.., at)| *at < cutoff);
        state.tombstones = kept;
        for (owner, number, ..) in &purged {
            let horizon = state.horizons.entry(*owner).or_default();
            *horizon = (*horizon).max(*number);
        }
        Ok(purged.len() as u64)
    }

    fn follow_changes(&self, listener: Arc<dyn ChangeListener>) {
        self.signals.listen(listener);
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn close(&self) {}

    fn pool_status(&self) -> PoolStatus {
        PoolStatus {
            max_size: 1,
            ..PoolStatus::default()
        }
    }

    fn observe_groups(&self, observer: Arc<dyn GroupObserver>) {
        self.groups.observe(observer);
    }
}

crate::conformance_suite!(async { MemoryStore::default() });
