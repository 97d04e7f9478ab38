//! Checks of keyset pagination: walking pages with `after` set to the last
//! todo of the previous page (API.md, "Listing", `cursor`).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::input::TodoPatch;
use crate::listing::{ListQuery, Sort, TodoFilter};
use crate::testing::UserStore;
use crate::testing::model::{assert_same_todos, compare, matches, sorted_matches};
use crate::testing::seed::{
    SEED_COUNT, description, every_sort, new_todo, priority, seed, seed_due_base,
};
use crate::todo::Todo;

/// Walks every page of `filter` in `sort` order, `limit` todos a page.
/// Before fetching page `n` (from 1) it calls `before_page(n)`.
async fn walk(
    store: &UserStore,
    filter: &TodoFilter,
    sort: Sort,
    limit: u32,
    mut before_page: impl AsyncFnMut(u64),
) -> Vec<Todo> {
    let mut visited = Vec::new();
    let mut after = None;
    for page_number in 1.. {
        before_page(page_number).await;
        let query = ListQuery {
            filter: filter.clone(),
            sort,
            limit,
            offset: 0,
            after,
        };
        let page = store.list(&query).await.unwrap();
        assert!(page.todos.len() <= limit as usize, "{query:?}");
        visited.extend(page.todos);
        let Some(next) = page.next else {
            break;
        };
        // A store that ignores `after` would otherwise walk forever.
        assert!(visited.len() <= 20_000, "the walk does not end: {query:?}");
        after = Some(next);
    }
    visited
}

pub async fn keyset_pages_visit_every_match_once_in_order_for_every_sort(store: UserStore) {
    let todos = seed(&store, SEED_COUNT).await;
    let filters = [
        TodoFilter::default(),
        TodoFilter {
            completed: Some(false),
            min_priority: Some(priority(2)),
            ..TodoFilter::default()
        },
        TodoFilter {
            due_after: Some(seed_due_base() - TimeDelta::days(2)),
            ..TodoFilter::default()
        },
    ];
    for filter in &filters {
        for sort in every_sort() {
            let expected = sorted_matches(&todos, filter, sort);
            for limit in [1, 7, 20, 1000] {
                if limit == 1 && filter != &TodoFilter::default() {
                    continue;
                }
                let visited = walk(&store, filter, sort, limit, async |_| {}).await;
                assert_same_todos(&visited, &expected, &(filter, sort, limit));
            }
        }
    }
}

/// What the concurrent writer did during one walk.
#[derive(Default)]
struct Writes {
    deleted_seeds: BTreeSet<i64>,
    created: BTreeSet<i64>,
    /// The todos it created and left in place, which later walks must see.
    kept: Vec<i64>,
}

/// One write round: create a todo, delete the oldest one it created once
/// three are kept, delete a seed every other round, and rewrite a seed's
/// description (which moves no sort key) every third.
async fn write_round(
    store: &UserStore,
    round: u64,
    doomed_seeds: &mut VecDeque<i64>,
    touched_seeds: &[i64],
    kept: &mut VecDeque<i64>,
    writes: &mut Writes,
) {
    let index = usize::try_from(round).unwrap();
    let mut todo = new_todo(&format!("written during the walk {round}"));
    todo.priority = priority(i64::try_from(round % 5).unwrap() + 1);
    todo.completed = round.is_multiple_of(4);
    todo.due_date = (!round.is_multiple_of(3))
        .then(|| seed_due_base() + TimeDelta::days(i64::try_from(round % 9).unwrap() - 4));
    let created = store.create(todo).await.unwrap();
    writes.created.insert(created.id);
    kept.push_back(created.id);
    if kept.len() > 3 {
        let oldest = kept.pop_front().unwrap();
        store.delete(oldest, None).await.unwrap();
    }
    if round.is_multiple_of(2)
        && let Some(id) = doomed_seeds.pop_front()
    {
        store.delete(id, None).await.unwrap();
        writes.deleted_seeds.insert(id);
    }
    if round.is_multiple_of(3) {
        let id = touched_seeds[index % touched_seeds.len()];
        let patch = TodoPatch {
            description: Some(Some(description(&format!("touched in round {round}")))),
            ..TodoPatch::default()
        };
        store.update(id, patch, None).await.unwrap();
    }
}

/// Walks while a writer task runs write rounds: round `n` may start once the
/// walker has started page `n - 1`, so rounds overlap page fetches, and the
/// walker starts page `n` only after round `n - 1` finished, so every page
/// boundary sees writes. Returns the visited todos and the writes.
async fn walk_while_writing(
    store: &UserStore,
    filter: &TodoFilter,
    sort: Sort,
    doomed_seeds: Vec<i64>,
    touched_seeds: Vec<i64>,
) -> (Vec<Todo>, Writes) {
    let (pages_started, mut pages_seen) = watch::channel(0_u64);
    let (rounds_done, mut rounds_seen) = watch::channel(0_u64);
    let writer_store = store.clone();
    let writer = tokio::spawn(async move {
        let mut doomed_seeds = VecDeque::from(doomed_seeds);
        let mut kept = VecDeque::new();
        let mut writes = Writes::default();
        for round in 1.. {
            // Ends when the walker is done and drops its sender.
            if pages_seen
                .wait_for(|&page| page + 1 >= round)
                .await
                .is_err()
            {
                break;
            }
            write_round(
                &writer_store,
                round,
                &mut doomed_seeds,
                &touched_seeds,
                &mut kept,
                &mut writes,
            )
            .await;
            rounds_done.send_replace(round);
        }
        writes.kept = kept.into();
        writes
    });
    let visited = walk(store, filter, sort, 9, async |page| {
        rounds_seen
            .wait_for(|&round| round + 1 >= page)
            .await
            .expect("the writer task failed");
        pages_started.send_replace(page);
    })
    .await;
    drop(pages_started);
    let writes = writer.await.expect("the writer task failed");
    (visited, writes)
}

pub async fn keyset_walk_during_concurrent_inserts_and_deletes_visits_survivors_once(
    store: UserStore,
) {
    let seeds = seed(&store, SEED_COUNT).await;
    let seed_ids: Vec<i64> = seeds.iter().map(|todo| todo.id).collect();
    let filters = [
        TodoFilter::default(),
        TodoFilter {
            completed: Some(false),
            ..TodoFilter::default()
        },
    ];
    let walks: Vec<(&TodoFilter, Sort)> = every_sort()
        .into_iter()
        .map(|sort| (&filters[0], sort))
        .chain(
            every_sort()
                .into_iter()
                .step_by(3)
                .map(|sort| (&filters[1], sort)),
        )
        .collect();
    // Each walk deletes its own seeds, spread over the id range;
    // descriptions are rewritten only on seeds no walk deletes.
    let doomed: Vec<i64> = seed_ids.iter().copied().step_by(3).collect();
    let touched: Vec<i64> = seed_ids
        .iter()
        .copied()
        .filter(|id| !doomed.contains(id))
        .collect();
    let walk_count = walks.len();
    let mut alive: HashMap<i64, Todo> = seeds.into_iter().map(|todo| (todo.id, todo)).collect();
    for (walk_index, (filter, sort)) in walks.into_iter().enumerate() {
        let doomed_seeds: Vec<i64> = doomed
            .iter()
            .skip(walk_index)
            .step_by(walk_count)
            .copied()
            .collect();
        let (visited, writes) =
            walk_while_writing(&store, filter, sort, doomed_seeds, touched.clone()).await;
        let context = (filter, sort);
        for pair in visited.windows(2) {
            assert_eq!(
                compare(&pair[0], &pair[1], sort),
                Ordering::Less,
                "visited in strict order, so never twice: {:?} then {:?} in {context:?}",
                pair[0],
                pair[1],
            );
        }
        for todo in &visited {
            assert!(matches(filter, todo), "{todo:?} does not match {context:?}");
            assert!(
                alive.contains_key(&todo.id) || writes.created.contains(&todo.id),
                "visited {todo:?}, which was never there during {context:?}"
            );
        }
        let visited_ids: BTreeSet<i64> = visited.iter().map(|todo| todo.id).collect();
        for id in &writes.deleted_seeds {
            alive.remove(id);
        }
        for todo in alive.values().filter(|todo| matches(filter, todo)) {
            assert!(
                visited_ids.contains(&todo.id),
                "{todo:?} existed throughout but was not visited in {context:?}"
            );
        }
        for id in writes.kept {
            alive.insert(id, store.get(id).await.unwrap());
        }
    }
}
