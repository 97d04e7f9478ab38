//! The storage conformance suite: every storage behaviour the HTTP layer
//! relies on (API.md, "The resource", "Listing", "Optimistic concurrency"),
//! checked by the same code against every [`TodoStore`] implementation.
//!
//! Each check is a plain `async fn` taking a fresh store as one user sees
//! it ([`UserStore`]) and panicking on the first violation;
//! [`conformance_suite!`](crate::conformance_suite) turns them into one test
//! per check in a store crate. Every check runs beside other users' todos
//! ([`OthersTodos`]), which must come out of it unseen and unchanged; the
//! checks of `users.rs` set users against each other directly. Listing
//! checks compare the store with an independent in-memory model computed
//! from the todos the test created.

// This module is compiled under the `testing` feature, not `cfg(test)`, so
// clippy's test allowances do not apply; it is test code all the same, where
// a panic is how a check fails.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod changes;
mod changing;
mod concurrency;
mod creating;
mod idempotency;
mod listing;
#[cfg(test)]
mod memory;
mod model;
mod paging;
mod seed;
mod user_store;
mod users;

use std::sync::Arc;

use crate::store::TodoStore;

pub use user_store::{OthersTodos, UserStore};

pub use changes::{
    a_follower_is_told_of_each_committed_write,
    a_follower_of_concurrent_writers_misses_nothing_and_sees_nothing_twice,
    changes_after_a_cursor_give_each_todo_once_in_its_latest_state,
    changes_from_scratch_give_every_todo_once_as_upserts, deletes_by_filter_are_changes_too,
    purged_deletes_expire_the_cursors_that_needed_them_only,
    the_head_is_past_every_committed_change,
};
pub use changing::{
    delete_of_a_missing_todo_is_not_found_whatever_is_expected, delete_removes_the_todo,
    delete_with_a_stale_version_fails_and_keeps_the_todo,
    delete_with_the_current_version_removes_the_todo,
    update_changes_only_the_fields_set_and_bumps_the_version,
    update_many_applies_every_patch_and_returns_them_in_input_order,
    update_many_with_a_missing_id_names_the_first_and_changes_nothing,
    update_of_a_missing_todo_is_not_found_whatever_is_expected,
    update_with_a_stale_version_fails_and_changes_nothing,
    update_with_none_inside_some_clears_description_and_due_date,
    update_with_the_current_version_applies,
};
pub use concurrency::{
    concurrent_conditional_updates_with_retry_lose_no_increment,
    concurrent_creates_all_succeed_with_distinct_ids,
    concurrent_creates_are_each_reported_in_one_group,
    concurrent_reads_and_updates_each_get_their_own_answer, concurrent_updates_each_apply_once,
    ping_succeeds_and_the_pool_has_a_size,
};
pub use creating::{
    create_returns_the_stored_todo_with_defaults, create_stores_every_field_as_sent,
    created_todos_get_increasing_ids_in_input_order, getting_a_missing_todo_is_not_found,
    successive_creates_get_increasing_ids, timestamps_round_trip_at_microsecond_precision,
    titles_and_descriptions_are_stored_exactly_as_sent,
};
pub use idempotency::{
    a_key_reused_with_another_request_is_refused_and_creates_nothing,
    a_keyed_create_is_replayed_with_its_stored_answer_and_creates_once,
    keys_of_different_scopes_do_not_meet, purging_removes_keys_older_than_the_cutoff_only,
    racing_copies_of_a_keyed_bulk_create_create_once,
};
pub use listing::{
    delete_matching_deletes_exactly_what_list_matches, each_filter_lists_what_the_model_expects,
    each_sort_lists_what_the_model_expects,
    filters_combined_with_sorts_list_what_the_model_expects, limit_and_offset_page_like_the_model,
    title_search_is_case_insensitive_beyond_ascii, title_search_wildcards_match_only_themselves,
    undated_todos_sort_last_in_both_directions,
};
pub use paging::{
    keyset_pages_visit_every_match_once_in_order_for_every_sort,
    keyset_walk_during_concurrent_inserts_and_deletes_visits_survivors_once,
};
pub use users::{
    a_subject_is_one_owner_everywhere_and_never_the_anonymous_one,
    another_users_todo_is_missing_to_every_operation,
    concurrent_listings_of_many_users_each_get_their_own_page,
    concurrent_requests_of_many_users_each_get_only_their_own,
    the_same_idempotency_key_of_two_users_is_two_keys,
    users_doing_random_work_each_see_exactly_their_own_model,
};

/// What a store factory may produce: a shared store or a concrete one.
pub trait IntoStore {
    fn into_store(self) -> Arc<dyn TodoStore>;
}

impl IntoStore for Arc<dyn TodoStore> {
    fn into_store(self) -> Arc<dyn TodoStore> {
        self
    }
}

impl<S: TodoStore> IntoStore for S {
    fn into_store(self) -> Arc<dyn TodoStore> {
        Arc::new(self)
    }
}

/// Turns what a store factory produced into the store the checks take.
pub fn into_store(store: impl IntoStore) -> Arc<dyn TodoStore> {
    store.into_store()
}

/// Expands to the storage conformance suite: one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per check
/// of [`todo_core::testing`](crate::testing), in a module `conformance`.
///
/// The argument is an expression evaluating to a future of a store, either
/// `Arc<dyn TodoStore>` or a value implementing `TodoStore`; it is evaluated
/// once per test and must give a fresh, empty database each time:
///
/// ```ignore
/// todo_core::conformance_suite!(async { my_store_crate::test_store().await });
/// ```
///
/// The invoking crate needs `todo-core` with the `testing` feature and
/// `tokio` with `macros` and `rt-multi-thread` as dev-dependencies.
#[macro_export]
macro_rules! conformance_suite {
    ($make_store:expr $(,)?) => {
        $crate::conformance_suite!(@tests $make_store;
            create_returns_the_stored_todo_with_defaults,
            create_stores_every_field_as_sent,
            getting_a_missing_todo_is_not_found,
            titles_and_descriptions_are_stored_exactly_as_sent,
            timestamps_round_trip_at_microsecond_precision,
            created_todos_get_increasing_ids_in_input_order,
            successive_creates_get_increasing_ids,
            each_filter_lists_what_the_model_expects,
            each_sort_lists_what_the_model_expects,
            filters_combined_with_sorts_list_what_the_model_expects,
            limit_and_offset_page_like_the_model,
            undated_todos_sort_last_in_both_directions,
            title_search_is_case_insensitive_beyond_ascii,
            title_search_wildcards_match_only_themselves,
            keyset_pages_visit_every_match_once_in_order_for_every_sort,
            keyset_walk_during_concurrent_inserts_and_deletes_visits_survivors_once,
            update_changes_only_the_fields_set_and_bumps_the_version,
            update_with_none_inside_some_clears_description_and_due_date,
            update_with_a_stale_version_fails_and_changes_nothing,
            update_of_a_missing_todo_is_not_found_whatever_is_expected,
            update_with_the_current_version_applies,
            update_many_applies_every_patch_and_returns_them_in_input_order,
            update_many_with_a_missing_id_names_the_first_and_changes_nothing,
            delete_removes_the_todo,
            delete_of_a_missing_todo_is_not_found_whatever_is_expected,
            delete_with_a_stale_version_fails_and_keeps_the_todo,
            delete_with_the_current_version_removes_the_todo,
            delete_matching_deletes_exactly_what_list_matches,
            concurrent_creates_all_succeed_with_distinct_ids,
            concurrent_creates_are_each_reported_in_one_group,
            concurrent_conditional_updates_with_retry_lose_no_increment,
            concurrent_updates_each_apply_once,
            concurrent_reads_and_updates_each_get_their_own_answer,
            ping_succeeds_and_the_pool_has_a_size,
            a_keyed_create_is_replayed_with_its_stored_answer_and_creates_once,
            a_key_reused_with_another_request_is_refused_and_creates_nothing,
            keys_of_different_scopes_do_not_meet,
            racing_copies_of_a_keyed_bulk_create_create_once,
            purging_removes_keys_older_than_the_cutoff_only,
            changes_from_scratch_give_every_todo_once_as_upserts,
            changes_after_a_cursor_give_each_todo_once_in_its_latest_state,
            deletes_by_filter_are_changes_too,
            the_head_is_past_every_committed_change,
            purged_deletes_expire_the_cursors_that_needed_them_only,
            a_follower_of_concurrent_writers_misses_nothing_and_sees_nothing_twice,
            a_follower_is_told_of_each_committed_write,
        );
        $crate::conformance_suite!(@users $make_store;
            a_subject_is_one_owner_everywhere_and_never_the_anonymous_one,
            another_users_todo_is_missing_to_every_operation,
            concurrent_listings_of_many_users_each_get_their_own_page,
            concurrent_requests_of_many_users_each_get_only_their_own,
            the_same_idempotency_key_of_two_users_is_two_keys,
            users_doing_random_work_each_see_exactly_their_own_model,
        );
    };
    (@tests $make_store:expr; $($check:ident),* $(,)?) => {
        async fn conformance_suite_store() -> ::std::sync::Arc<dyn $crate::TodoStore> {
            $crate::testing::into_store(($make_store).await)
        }

        mod conformance {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let store = super::conformance_suite_store().await;
                    let others = $crate::testing::OthersTodos::plant(&store).await;
                    $crate::testing::$check($crate::testing::UserStore::of(&store, "alice").await)
                        .await;
                    others.assert_untouched(&store).await;
                }
            )*
        }
    };
    (@users $make_store:expr; $($check:ident),* $(,)?) => {
        mod conformance_users {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $crate::testing::$check(super::conformance_suite_store().await).await;
                }
            )*
        }
    };
}
