//! A small in-memory [`TodoStore`] that runs the suite inside this crate,
//! so the checks themselves are exercised before any backend exists.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

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
}

#[derive(Debug, Default)]
struct State {
    last_id: i64,
    todos: BTreeMap<i64, (Owner, Todo)>,
    keys: BTreeMap<(Owner, String, String), (String, StoredResponse, Timestamp)>,
    users: HashMap<String, Owner>,
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
        todo
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
        todo.clone()
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
        Ok(created)
    }

    async fn create_many(
        &self,
        owner: Owner,
        todos: Vec<NewTodo>,
    ) -> Result<Vec<Todo>, StoreError> {
        let mut state = self.state.lock().unwrap();
        Ok(todos
            .into_iter()
            .map(|todo| state.insert(owner, todo))
            .collect())
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
        Ok(state.apply(id, patch))
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
        Ok(patches
            .into_iter()
            .map(|patch| state.apply(patch.id, patch.patch))
            .collect())
    }

    async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.check(owner, id, expected)?;
        state.todos.remove(&id);
        Ok(())
    }

    async fn delete_matching(&self, owner: Owner, filter: &TodoFilter) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap();
        let before = state.todos.len();
        state
            .todos
            .retain(|_, (of, todo)| *of != owner || !matches(filter, todo));
        Ok((before - state.todos.len()) as u64)
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
