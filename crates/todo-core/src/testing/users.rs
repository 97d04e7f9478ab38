//! Checks of isolation between users (API.md, "Users"): another user's
//! todo is missing to every operation, requests of many users served
//! together each get only their own, keys are per user, and users doing
//! random work each see exactly what a model of their own todos predicts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::idempotency::{Created, Creation, IdempotencyKey, KeyedOutcome};
use crate::input::{IdentifiedPatch, NewTodo, TodoPatch};
use crate::listing::{ListQuery, Position, Sort, TodoFilter};
use crate::owner::Owner;
use crate::store::{Expected, StoreError, TodoStore};
use crate::testing::UserStore;
use crate::testing::model::{assert_same_todos, expected_page, sorted_matches};
use crate::testing::seed::{
    all_todos, every_sort, new_todo, priority, probe_filters, seed, seed_todo,
};
use crate::todo::{Title, Todo};

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, id: i64, what: &str) {
    assert!(
        matches!(result, Err(StoreError::NotFound(missing)) if missing == id),
        "{what}: {result:?}"
    );
}

pub async fn a_subject_is_one_owner_everywhere_and_never_the_anonymous_one(
    store: Arc<dyn TodoStore>,
) {
    let alice = store.owner_of("alice").await.unwrap();
    assert_eq!(store.owner_of("alice").await.unwrap(), alice);
    let bob = store.owner_of("bob").await.unwrap();
    assert_ne!(alice, bob);
    assert!(!alice.is_anonymous() && !bob.is_anonymous());
    // Racing first sightings of one subject make one owner.
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.owner_of("carol").await.unwrap() })
        })
        .collect();
    let mut owners = Vec::new();
    for task in racing {
        owners.push(task.await.unwrap());
    }
    owners.dedup();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(![alice, bob].contains(&owners[0]));
}

pub async fn another_users_todo_is_missing_to_every_operation(store: Arc<dyn TodoStore>) {
    let alice = UserStore::of(&store, "alice").await;
    let bob = UserStore::of(&store, "bob").await;
    let hers = alice.create(new_todo("alice's secret")).await.unwrap();
    let his = bob.create(new_todo("bob's own")).await.unwrap();
    let id = hers.id;
    assert_not_found(bob.get(id).await, id, "get");
    let patch = || TodoPatch {
        title: Some(Title::parse("taken".to_owned()).unwrap()),
        ..TodoPatch::default()
    };
    for expected in [
        None,
        Some(Expected::Any),
        Some(Expected::Versions(vec![hers.version])),
        Some(Expected::Versions(vec![hers.version + 1])),
    ] {
        // Never 412: that would tell the todo exists.
        assert_not_found(
            bob.update(id, patch(), expected.as_ref()).await,
            id,
            "update",
        );
        assert_not_found(bob.delete(id, expected.as_ref()).await, id, "delete");
    }
    let bulk = vec![
        IdentifiedPatch {
            id: his.id,
            patch: patch(),
        },
        IdentifiedPatch { id, patch: patch() },
    ];
    assert_not_found(bob.update_many(bulk).await, id, "bulk update");
    assert_eq!(bob.get(his.id).await.unwrap(), his, "all or nothing");
    let listed = bob.list(&ListQuery::default()).await.unwrap();
    assert_eq!(listed.todos, vec![his.clone()]);
    let everything = TodoFilter {
        min_priority: Some(priority(1)),
        ..TodoFilter::default()
    };
    assert_eq!(bob.delete_matching(&everything).await.unwrap(), 1);
    assert_eq!(alice.get(id).await.unwrap(), hers, "untouched");
    assert_eq!(all_todos(&alice).await, vec![hers]);
}

pub async fn concurrent_requests_of_many_users_each_get_only_their_own(store: Arc<dyn TodoStore>) {
    const USERS: usize = 6;
    const ROUNDS: usize = 5;
    let mut users = Vec::new();
    let mut todos = Vec::new();
    for index in 0..USERS {
        let user = UserStore::of(&store, &format!("user-{index}")).await;
        todos.push(user.create(new_todo(&format!("of {index}"))).await.unwrap());
        users.push(user);
    }
    // Every user reads and updates every todo at once, so the store's
    // grouped statements mix users: each must get only its own rows.
    let mut tasks = Vec::new();
    for (index, user) in users.iter().enumerate() {
        for (target, todo) in todos.iter().enumerate() {
            for round in 0..ROUNDS {
                let (user, id) = (user.clone(), todo.id);
                let own = index == target;
                tasks.push(tokio::spawn(async move {
                    let read = user.get(id).await;
                    let patch = TodoPatch {
                        priority: Some(priority(1 + (round as i64 % 5))),
                        ..TodoPatch::default()
                    };
                    let updated = user.update(id, patch, None).await;
                    if own {
                        assert_eq!(read.unwrap().id, id);
                        assert_eq!(updated.unwrap().id, id);
                    } else {
                        assert_not_found(read, id, "a read of another's");
                        assert_not_found(updated, id, "an update of another's");
                    }
                }));
            }
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (user, todo) in users.iter().zip(&todos) {
        let now = user.get(todo.id).await.unwrap();
        assert_eq!(
            now.version,
            todo.version + ROUNDS as i64,
            "only its owner's updates"
        );
        assert_eq!(all_todos(user).await.len(), 1);
    }
}

/// Users listing at once with every filter and sort, first pages and the
/// pages after them: a store may serve such listings together (on
/// PostgreSQL, one statement for the listings of one shape, whoever's they
/// are), and each must be answered with exactly its own page, as the model
/// of its user's todos has it.
pub async fn concurrent_listings_of_many_users_each_get_their_own_page(store: Arc<dyn TodoStore>) {
    const USERS: usize = 3;
    const TODOS_EACH: usize = 60;
    const ROUNDS: usize = 3;
    let mut listings = Vec::new();
    for index in 0..USERS {
        let user = UserStore::of(&store, &format!("lister-{index}")).await;
        // Users of different sizes, so one user's page is never another's.
        let todos = Arc::new(seed(&user, TODOS_EACH + 7 * index).await);
        for filter in probe_filters() {
            for sort in every_sort() {
                for limit in [3, 20] {
                    let first = ListQuery {
                        filter: filter.clone(),
                        sort,
                        limit,
                        offset: 0,
                        after: None,
                    };
                    let after = expected_page(&todos, &first).next;
                    let second = ListQuery {
                        after,
                        ..first.clone()
                    };
                    for query in [first, second] {
                        listings.push((user.clone(), Arc::clone(&todos), query));
                    }
                }
            }
        }
    }
    for _ in 0..ROUNDS {
        let mut tasks = tokio::task::JoinSet::new();
        for (user, todos, query) in &listings {
            let (user, todos, query) = (user.clone(), Arc::clone(todos), query.clone());
            tasks.spawn(async move {
                let listed = user.list(&query).await.unwrap();
                let expected = expected_page(&todos, &query);
                assert_same_todos(&listed.todos, &expected.todos, &query);
                assert_eq!(
                    listed.next, expected.next,
                    "where the page after {query:?} starts"
                );
            });
        }
        tasks.join_all().await;
    }
}

pub async fn the_same_idempotency_key_of_two_users_is_two_keys(store: Arc<dyn TodoStore>) {
    let alice = UserStore::of(&store, "alice").await;
    let bob = UserStore::of(&store, "bob").await;
    let key = IdempotencyKey::new(
        String::new(),
        "same-key".to_owned(),
        "/api/todo",
        &serde_json::json!({"title": "t"}),
    );
    let created = |outcome: KeyedOutcome| match outcome {
        KeyedOutcome::Created(Created::One(todo)) => todo,
        other => panic!("expected a creation, got {other:?}"),
    };
    let hers = created(
        alice
            .create_keyed(&key, Creation::One(new_todo("t")))
            .await
            .unwrap(),
    );
    let his = created(
        bob.create_keyed(&key, Creation::One(new_todo("t")))
            .await
            .unwrap(),
    );
    assert_ne!(hers.id, his.id);
    for (user, todo) in [(&alice, &hers), (&bob, &his)] {
        let replay = user
            .create_keyed(&key, Creation::One(new_todo("t")))
            .await
            .unwrap();
        match replay {
            KeyedOutcome::Replayed(stored) => {
                assert_eq!(stored.body, Created::One(todo.clone()).body());
            }
            other => panic!("expected a replay, got {other:?}"),
        }
        assert_eq!(all_todos(user).await, vec![todo.clone()]);
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Steps(u64);

impl Steps {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One user's todos as the model has them.
type Model = BTreeMap<i64, Todo>;

fn random_patch(steps: &mut Steps) -> TodoPatch {
    let source = seed_todo(steps.below(40));
    TodoPatch {
        title: steps.chance(40).then(|| source.title.clone()),
        description: steps.chance(30).then(|| source.description.clone()),
        priority: steps.chance(50).then_some(source.priority),
        due_date: steps.chance(30).then_some(source.due_date),
        completed: steps.chance(50).then_some(source.completed),
    }
}

/// The todo `before` with `patch` applied, as the store must return it
/// (its `updated_at` and `version` aside, which the caller checks).
fn patched(before: &Todo, patch: &TodoPatch) -> Todo {
    let mut after = before.clone();
    if let Some(title) = &patch.title {
        after.title = title.as_str().to_owned();
    }
    if let Some(description) = &patch.description {
        after.description = description.as_ref().map(|text| text.as_str().to_owned());
    }
    if let Some(priority) = patch.priority {
        after.priority = priority.get();
    }
    if let Some(due_date) = patch.due_date {
        after.due_date = due_date;
    }
    if let Some(completed) = patch.completed {
        after.completed = completed;
    }
    after
}

#[track_caller]
fn assert_applied(before: &Todo, patch: &TodoPatch, after: &Todo) {
    let expected = Todo {
        updated_at: after.updated_at,
        version: before.version + 1,
        ..patched(before, patch)
    };
    assert_eq!(after, &expected);
}

/// Follows the listing's pages by their `next` to the end.
async fn walk(user: &UserStore, filter: &TodoFilter, sort: Sort, limit: u32) -> Vec<Todo> {
    let mut seen = Vec::new();
    let mut after: Option<Position> = None;
    loop {
        let query = ListQuery {
            filter: filter.clone(),
            sort,
            limit,
            offset: 0,
            after,
        };
        let page = user.list(&query).await.unwrap();
        seen.extend(page.todos);
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

pub async fn users_doing_random_work_each_see_exactly_their_own_model(store: Arc<dyn TodoStore>) {
    const STEPS: usize = 400;
    let users = [
        UserStore::of(&store, "alice").await,
        UserStore::of(&store, "bob").await,
        UserStore::as_owner(&store, Owner::ANONYMOUS),
    ];
    let mut models: Vec<Model> = vec![Model::new(); users.len()];
    let filters = probe_filters();
    let sorts = every_sort();
    let mut steps = Steps(0x005e_ed0f_7e57);
    for step in 0..STEPS {
        let me = steps.below(users.len());
        let user = &users[me];
        // Any id of anyone's, so users keep reaching for others' todos.
        let every_id: Vec<i64> = models
            .iter()
            .flat_map(|model| model.keys().copied())
            .collect();
        let target = (!every_id.is_empty()).then(|| *steps.pick(&every_id));
        let mine = |id: i64, models: &[Model]| models[me].contains_key(&id);
        let context = format!("step {step}, user {me}");
        match steps.below(9) {
            0 => {
                let todo: NewTodo = seed_todo(steps.below(60));
                let created = user.create(todo).await.unwrap();
                models[me].insert(created.id, created);
            }
            1 => {
                let todos: Vec<NewTodo> = (0..1 + steps.below(3))
                    .map(|_| seed_todo(steps.below(60)))
                    .collect();
                for created in user.create_many(todos).await.unwrap() {
                    models[me].insert(created.id, created);
                }
            }
            2 => {
                let Some(id) = target else { continue };
                match models[me].get(&id) {
                    Some(todo) => assert_eq!(&user.get(id).await.unwrap(), todo, "{context}"),
                    None => assert_not_found(user.get(id).await, id, &context),
                }
            }
            3 => {
                let Some(id) = target else { continue };
                let patch = random_patch(&mut steps);
                let stale = steps.chance(25);
                let expected = models[me]
                    .get(&id)
                    .map(|todo| Expected::Versions(vec![todo.version + i64::from(stale)]));
                let expected = if steps.chance(50) { expected } else { None };
                let result = user.update(id, patch.clone(), expected.as_ref()).await;
                match models[me].get(&id).cloned() {
                    Some(before) if stale && expected.is_some() => {
                        assert!(
                            matches!(result, Err(StoreError::PreconditionFailed)),
                            "{context}: {result:?}"
                        );
                        assert_eq!(user.get(id).await.unwrap(), before, "{context}");
                    }
                    Some(before) => {
                        let after = result.unwrap();
                        assert_applied(&before, &patch, &after);
                        models[me].insert(id, after);
                    }
                    None => assert_not_found(result, id, &context),
                }
            }
            4 => {
                let Some(id) = target else { continue };
                let result = user.delete(id, None).await;
                if models[me].remove(&id).is_some() {
                    result.unwrap();
                } else {
                    assert_not_found(result, id, &context);
                }
            }
            5 => {
                if every_id.is_empty() {
                    continue;
                }
                let mut ids: Vec<i64> = (0..1 + steps.below(4))
                    .map(|_| *steps.pick(&every_id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let patches: Vec<IdentifiedPatch> = ids
                    .iter()
                    .map(|&id| IdentifiedPatch {
                        id,
                        patch: random_patch(&mut steps),
                    })
                    .collect();
                let result = user.update_many(patches.clone()).await;
                match ids.iter().find(|&&id| !mine(id, &models)) {
                    Some(&foreign) => assert_not_found(result, foreign, &context),
                    None => {
                        let updated = result.unwrap();
                        for (patch, after) in patches.iter().zip(updated) {
                            assert_applied(&models[me][&patch.id], &patch.patch, &after);
                            models[me].insert(after.id, after);
                        }
                    }
                }
            }
            6 | 7 => {
                let filter = steps.pick(&filters).clone();
                let sort = *steps.pick(&sorts);
                let limit = 1 + steps.below(7) as u32;
                let seen = walk(user, &filter, sort, limit).await;
                let model: Vec<Todo> = models[me].values().cloned().collect();
                let expected = sorted_matches(&model, &filter, sort);
                assert_same_todos(&seen, &expected, &(&context, &filter, sort));
            }
            _ => {
                if !steps.chance(30) {
                    continue;
                }
                let filter = steps.pick(&filters[1..]).clone();
                let model: Vec<Todo> = models[me].values().cloned().collect();
                let matching = sorted_matches(&model, &filter, Sort::default());
                let deleted = user.delete_matching(&filter).await.unwrap();
                assert_eq!(deleted, matching.len() as u64, "{context}: {filter:?}");
                for todo in matching {
                    models[me].remove(&todo.id);
                }
            }
        }
        if step % 25 == 0 || step + 1 == STEPS {
            for (user, model) in users.iter().zip(&models) {
                let expected: Vec<Todo> = model.values().cloned().collect();
                assert_same_todos(&all_todos(user).await, &expected, &context);
            }
        }
    }
}
