//! Checks of `update`, `update_many` and `delete`, with and without an
//! expected version (API.md, "Optimistic concurrency").

use crate::input::{IdentifiedPatch, NewTodo, TodoPatch};
use crate::store::{Expected, StoreError};
use crate::testing::UserStore;
use crate::testing::seed::{all_todos, at, description, new_todo, priority, title};
use crate::todo::Todo;

/// What a patch does to the expected todo.
type Apply = fn(&mut Todo);

/// A todo with every field set, so a patch can be seen to leave fields be.
fn full_todo(name: &str) -> NewTodo {
    NewTodo {
        title: title(name),
        description: Some(description(&format!("about {name}"))),
        priority: priority(2),
        due_date: Some(at("2026-12-01T09:30:00.123456Z")),
        completed: false,
    }
}

/// Asserts that `after` is `before` changed by a successful write: the same
/// id and created_at, updated_at not earlier, the next version.
#[track_caller]
fn assert_changed_once(before: &Todo, after: &Todo) {
    assert_eq!(after.id, before.id);
    assert_eq!(after.created_at, before.created_at);
    assert!(
        after.updated_at >= before.updated_at,
        "{after:?} {before:?}"
    );
    assert_eq!(after.version, before.version + 1, "{after:?} {before:?}");
}

#[track_caller]
fn assert_not_found(result: Result<impl std::fmt::Debug, StoreError>, id: i64) {
    match result {
        Err(StoreError::NotFound(missing)) => assert_eq!(missing, id),
        other => panic!("expected NotFound({id}), got {other:?}"),
    }
}

#[track_caller]
fn assert_precondition_failed(result: Result<impl std::fmt::Debug, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::PreconditionFailed)),
        "expected PreconditionFailed, got {result:?}"
    );
}

pub async fn update_changes_only_the_fields_set_and_bumps_the_version(store: UserStore) {
    let mut current = store.create(full_todo("patch me")).await.unwrap();
    let other = store.create(full_todo("bystander")).await.unwrap();
    let patches: Vec<(TodoPatch, Apply)> = vec![
        (
            TodoPatch {
                title: Some(title("  renamed ✓ ")),
                ..TodoPatch::default()
            },
            |todo| todo.title = "  renamed ✓ ".into(),
        ),
        (
            TodoPatch {
                description: Some(Some(description("new words"))),
                ..TodoPatch::default()
            },
            |todo| todo.description = Some("new words".into()),
        ),
        (
            TodoPatch {
                priority: Some(priority(5)),
                ..TodoPatch::default()
            },
            |todo| todo.priority = 5,
        ),
        (
            TodoPatch {
                due_date: Some(Some(at("2030-01-02T03:04:05.000006Z"))),
                ..TodoPatch::default()
            },
            |todo| todo.due_date = Some(at("2030-01-02T03:04:05.000006Z")),
        ),
        (
            TodoPatch {
                completed: Some(true),
                ..TodoPatch::default()
            },
            |todo| todo.completed = true,
        ),
        (
            TodoPatch {
                title: Some(title("both")),
                completed: Some(false),
                ..TodoPatch::default()
            },
            |todo| {
                todo.title = "both".into();
                todo.completed = false;
            },
        ),
    ];
    for (patch, apply) in patches {
        let updated = store.update(current.id, patch.clone(), None).await.unwrap();
        assert_changed_once(&current, &updated);
        let mut expected = current.clone();
        apply(&mut expected);
        expected.updated_at = updated.updated_at;
        expected.version = updated.version;
        assert_eq!(updated, expected, "after {patch:?}");
        assert_eq!(store.get(current.id).await.unwrap(), updated);
        current = updated;
    }
    assert_eq!(
        store.get(other.id).await.unwrap(),
        other,
        "others unchanged"
    );
}

pub async fn update_with_none_inside_some_clears_description_and_due_date(store: UserStore) {
    let before = store.create(full_todo("clear me")).await.unwrap();
    let patch = TodoPatch {
        description: Some(None),
        due_date: Some(None),
        ..TodoPatch::default()
    };
    let after = store.update(before.id, patch, None).await.unwrap();
    assert_changed_once(&before, &after);
    assert_eq!(after.description, None);
    assert_eq!(after.due_date, None);
    assert_eq!(
        (&after.title, after.priority, after.completed),
        (&before.title, before.priority, before.completed)
    );
    assert_eq!(store.get(before.id).await.unwrap(), after);
}

pub async fn update_with_a_stale_version_fails_and_changes_nothing(store: UserStore) {
    let first = store.create(full_todo("contested")).await.unwrap();
    let second = store
        .update(
            first.id,
            TodoPatch {
                priority: Some(priority(4)),
                ..TodoPatch::default()
            },
            None,
        )
        .await
        .unwrap();
    let patch = TodoPatch {
        title: Some(title("lost update")),
        description: Some(None),
        ..TodoPatch::default()
    };
    for expected in [
        Expected::Versions(vec![first.version]),
        Expected::Versions(vec![first.version, second.version + 1]),
        Expected::Versions(Vec::new()),
    ] {
        let result = store.update(first.id, patch.clone(), Some(&expected)).await;
        assert_precondition_failed(result);
        assert_eq!(store.get(first.id).await.unwrap(), second, "{expected:?}");
    }
}

pub async fn update_of_a_missing_todo_is_not_found_whatever_is_expected(store: UserStore) {
    let deleted = store.create(new_todo("gone")).await.unwrap();
    store.delete(deleted.id, None).await.unwrap();
    let never = deleted.id + 1000;
    let patch = TodoPatch {
        completed: Some(true),
        ..TodoPatch::default()
    };
    for id in [deleted.id, never] {
        for expected in [
            None,
            Some(Expected::Any),
            Some(Expected::Versions(vec![1])),
            Some(Expected::Versions(Vec::new())),
        ] {
            let result = store.update(id, patch.clone(), expected.as_ref()).await;
            assert_not_found(result, id);
        }
    }
    assert!(all_todos(&store).await.is_empty());
}

pub async fn update_with_the_current_version_applies(store: UserStore) {
    let before = store.create(full_todo("agreed")).await.unwrap();
    let patch = |text: &str| TodoPatch {
        title: Some(title(text)),
        ..TodoPatch::default()
    };
    let second = store
        .update(
            before.id,
            patch("second"),
            Some(&Expected::Versions(vec![before.version])),
        )
        .await
        .unwrap();
    assert_changed_once(&before, &second);
    assert_eq!(second.title, "second");
    let third = store
        .update(
            before.id,
            patch("third"),
            Some(&Expected::Versions(vec![0, second.version, 99])),
        )
        .await
        .unwrap();
    assert_changed_once(&second, &third);
    let fourth = store
        .update(before.id, patch("fourth"), Some(&Expected::Any))
        .await
        .unwrap();
    assert_changed_once(&third, &fourth);
    assert_eq!(store.get(before.id).await.unwrap(), fourth);
}

pub async fn update_many_applies_every_patch_and_returns_them_in_input_order(store: UserStore) {
    let before: Vec<Todo> = store
        .create_many(
            (0..5)
                .map(|index| full_todo(&format!("many {index}")))
                .collect(),
        )
        .await
        .unwrap();
    let bystander = store.create(full_todo("bystander")).await.unwrap();
    // Not in id order, so "input order" cannot be mistaken for id order.
    let order = [3, 0, 4, 1];
    let patches: Vec<IdentifiedPatch> = order
        .iter()
        .map(|&index| IdentifiedPatch {
            id: before[index].id,
            patch: TodoPatch {
                title: Some(title(&format!("patched {index}"))),
                priority: Some(priority(i64::try_from(index).unwrap() % 5 + 1)),
                due_date: (index % 2 == 0).then_some(None),
                ..TodoPatch::default()
            },
        })
        .collect();
    let updated = store.update_many(patches).await.unwrap();
    assert_eq!(
        updated.iter().map(|todo| todo.id).collect::<Vec<_>>(),
        order
            .iter()
            .map(|&index| before[index].id)
            .collect::<Vec<_>>(),
        "returned in input order"
    );
    for (todo, &index) in updated.iter().zip(&order) {
        let old = &before[index];
        assert_changed_once(old, todo);
        assert_eq!(todo.title, format!("patched {index}"));
        assert_eq!(todo.priority, i16::try_from(index).unwrap() % 5 + 1);
        let due = if index % 2 == 0 { None } else { old.due_date };
        assert_eq!(todo.due_date, due);
        assert_eq!(todo.description, old.description);
        assert_eq!(&store.get(todo.id).await.unwrap(), todo);
    }
    assert_eq!(store.get(before[2].id).await.unwrap(), before[2]);
    assert_eq!(store.get(bystander.id).await.unwrap(), bystander);
}

pub async fn update_many_with_a_missing_id_names_the_first_and_changes_nothing(store: UserStore) {
    let before: Vec<Todo> = store
        .create_many(
            (0..4)
                .map(|index| full_todo(&format!("keep {index}")))
                .collect(),
        )
        .await
        .unwrap();
    let deleted = store.create(new_todo("deleted")).await.unwrap();
    store.delete(deleted.id, None).await.unwrap();
    let never = deleted.id + 1000;
    let patch = |id: i64| IdentifiedPatch {
        id,
        patch: TodoPatch {
            title: Some(title("must not stick")),
            completed: Some(true),
            ..TodoPatch::default()
        },
    };
    // The higher missing id comes first in input order.
    let patches = vec![
        patch(before[1].id),
        patch(never),
        patch(before[0].id),
        patch(deleted.id),
        patch(before[3].id),
    ];
    assert_not_found(store.update_many(patches).await, never);
    let missing_last = vec![patch(before[2].id), patch(before[0].id), patch(deleted.id)];
    assert_not_found(store.update_many(missing_last).await, deleted.id);
    assert_eq!(all_todos(&store).await, before, "nothing changed");
}

pub async fn delete_removes_the_todo(store: UserStore) {
    let doomed = store.create(new_todo("doomed")).await.unwrap();
    let kept = store.create(new_todo("kept")).await.unwrap();
    store.delete(doomed.id, None).await.unwrap();
    assert_not_found(store.get(doomed.id).await, doomed.id);
    assert_eq!(all_todos(&store).await, vec![kept]);
}

pub async fn delete_of_a_missing_todo_is_not_found_whatever_is_expected(store: UserStore) {
    let doomed = store.create(new_todo("doomed")).await.unwrap();
    store.delete(doomed.id, None).await.unwrap();
    let kept = store.create(new_todo("kept")).await.unwrap();
    let never = kept.id + 1000;
    for id in [doomed.id, never] {
        for expected in [None, Some(Expected::Any), Some(Expected::Versions(vec![1]))] {
            assert_not_found(store.delete(id, expected.as_ref()).await, id);
        }
    }
    assert_eq!(all_todos(&store).await, vec![kept]);
}

pub async fn delete_with_a_stale_version_fails_and_keeps_the_todo(store: UserStore) {
    let first = store.create(full_todo("contested")).await.unwrap();
    let second = store
        .update(
            first.id,
            TodoPatch {
                completed: Some(true),
                ..TodoPatch::default()
            },
            None,
        )
        .await
        .unwrap();
    for expected in [
        Expected::Versions(vec![first.version]),
        Expected::Versions(Vec::new()),
    ] {
        assert_precondition_failed(store.delete(first.id, Some(&expected)).await);
        assert_eq!(store.get(first.id).await.unwrap(), second, "{expected:?}");
    }
}

pub async fn delete_with_the_current_version_removes_the_todo(store: UserStore) {
    let first = store.create(new_todo("agreed")).await.unwrap();
    let second = store.create(new_todo("any")).await.unwrap();
    store
        .delete(first.id, Some(&Expected::Versions(vec![first.version])))
        .await
        .unwrap();
    store.delete(second.id, Some(&Expected::Any)).await.unwrap();
    assert!(all_todos(&store).await.is_empty());
}
