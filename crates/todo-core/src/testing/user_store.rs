//! The checks' view of a store: [`UserStore`] is a store as one user sees
//! it, and [`OthersTodos`] the todos of other users planted beside every
//! check, which must come out of it unseen and unchanged.

use std::sync::Arc;

use crate::changes::{ChangeCursor, ChangePage};
use crate::groups::GroupObserver;
use crate::idempotency::{Creation, IdempotencyKey, KeyedOutcome};
use crate::input::{IdentifiedPatch, NewTodo, TodoPatch};
use crate::listing::{ListQuery, MAX_LIMIT, Page, Sort, SortField, TodoFilter};
use crate::owner::Owner;
use crate::store::{Expected, PoolStatus, StoreError, TodoStore};
use crate::testing::seed::seed_todo;
use crate::todo::{Timestamp, Todo};

/// A store as one owner sees it: the store's methods with the owner filled
/// in. Cloning is cheap and shares the store.
#[derive(Clone)]
pub struct UserStore {
    store: Arc<dyn TodoStore>,
    owner: Owner,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStore")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl UserStore {
    /// `store` as the user whose subject is `subject` sees it.
    pub async fn of(store: &Arc<dyn TodoStore>, subject: &str) -> UserStore {
        let owner = store.owner_of(subject).await.unwrap();
        UserStore::as_owner(store, owner)
    }

    /// `store` as `owner` sees it.
    pub fn as_owner(store: &Arc<dyn TodoStore>, owner: Owner) -> UserStore {
        UserStore {
            store: Arc::clone(store),
            owner,
        }
    }

    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// The store itself, for what belongs to no user.
    pub fn store(&self) -> &Arc<dyn TodoStore> {
        &self.store
    }

    pub async fn create(&self, todo: NewTodo) -> Result<Todo, StoreError> {
        self.store.create(self.owner, todo).await
    }

    pub async fn create_many(&self, todos: Vec<NewTodo>) -> Result<Vec<Todo>, StoreError> {
        self.store.create_many(self.owner, todos).await
    }

    pub async fn create_keyed(
        &self,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        self.store.create_keyed(self.owner, key, creation).await
    }

    pub async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.store.purge_idempotency_keys(cutoff).await
    }

    pub async fn get(&self, id: i64) -> Result<Todo, StoreError> {
        self.store.get(self.owner, id).await
    }

    pub async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.store.list(self.owner, query).await
    }

    pub async fn update(
        &self,
        id: i64,
        patch: TodoPatch,
        expected: Option<&Expected>,
    ) -> Result<Todo, StoreError> {
        self.store.update(self.owner, id, patch, expected).await
    }

    pub async fn update_many(
        &self,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError> {
        self.store.update_many(self.owner, patches).await
    }

    pub async fn delete(&self, id: i64, expected: Option<&Expected>) -> Result<(), StoreError> {
        self.store.delete(self.owner, id, expected).await
    }

    pub async fn delete_matching(&self, filter: &TodoFilter) -> Result<u64, StoreError> {
        self.store.delete_matching(self.owner, filter).await
    }

    pub async fn changes(
        &self,
        since: Option<ChangeCursor>,
        limit: u16,
    ) -> Result<ChangePage, StoreError> {
        self.store.changes(self.owner, since, limit).await
    }

    pub async fn change_head(&self) -> Result<ChangeCursor, StoreError> {
        self.store.change_head(self.owner).await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    pub fn pool_status(&self) -> PoolStatus {
        self.store.pool_status()
    }

    pub fn observe_groups(&self, observer: Arc<dyn GroupObserver>) {
        self.store.observe_groups(observer);
    }
}

/// Todos of users other than the one a check acts as: another user's and
/// the anonymous user's, the seeds' variety of fields and titles, so that
/// every filter, sort and search of a check meets rows it must not see.
#[derive(Debug)]
pub struct OthersTodos {
    planted: Vec<(UserStore, Vec<Todo>)>,
}

/// How many todos each other user has.
const OTHERS_TODOS: usize = 12;

impl OthersTodos {
    /// Plants the other users' todos in `store`.
    pub async fn plant(store: &Arc<dyn TodoStore>) -> OthersTodos {
        let mut planted = Vec::new();
        for user in [
            UserStore::of(store, "mallory").await,
            UserStore::as_owner(store, Owner::ANONYMOUS),
        ] {
            let todos = user
                .create_many((0..OTHERS_TODOS).map(seed_todo).collect())
                .await
                .unwrap();
            planted.push((user, todos));
        }
        OthersTodos { planted }
    }

    /// Panics unless every planted todo is still there as it was, and
    /// nothing else is.
    pub async fn assert_untouched(&self, store: &Arc<dyn TodoStore>) {
        for (user, todos) in &self.planted {
            let user = UserStore::as_owner(store, user.owner());
            let query = ListQuery {
                sort: Sort {
                    field: SortField::Id,
                    descending: false,
                },
                limit: MAX_LIMIT,
                ..ListQuery::default()
            };
            let now = user.list(&query).await.unwrap().todos;
            assert_eq!(&now, todos, "the todos of {:?}", user.owner());
        }
    }
}
