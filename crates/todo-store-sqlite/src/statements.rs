//! The statement texts of the store's single-todo operations, in SQLite's
//! dialect with named parameters; the listing and the delete by filter come
//! from `todo-listing-sql`. Public behind the `statements` feature, so the
//! benchmark's bare rusqlite reference runs exactly these.

use std::sync::LazyLock;

use todo_listing_sql::TODO_COLUMNS;

/// Takes `:count` numbers of the change log, in the writing transaction,
/// for an operation outside a group commit (a group's numbers come from
/// the writer's memory, `change_numbers.rs`); answers the last of them (the
/// block is `last - count + 1 ..= last`).
pub const TAKE_CHANGE_NUMBERS: &str = r"
update change_counter
set last = last + :count
returning last
";

/// Sets the counter of the change log to `:last`, the last number a group
/// commit handed out.
pub const SET_LAST_CHANGE_NUMBER: &str = r"
update change_counter
set last = :last
";

/// Inserts one todo of `:owner`: `:title`, `:title_search` (the lowercased
/// title), `:description`, `:priority`, `:due_date` and `:now` in
/// microseconds, `:completed`; numbered in the change log with
/// `:change_no`, the writer's next number in the same transaction.
pub static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
insert into todos (
    title, title_search, description, priority, due_date, completed,
    created_at, updated_at, version, owner, change_no
)
values (
    :title, :title_search, :description, :priority, :due_date, :completed,
    :now, :now, 1, :owner, :change_no
)
returning {TODO_COLUMNS}
"
    )
});

/// Applies a patch to the todo `:id` of `:owner`, numbered `:change_no` in
/// the change log (as [`INSERT`]). One statement for every patch, so it
/// is prepared once: a field the patch leaves alone is bound as null
/// (non-null columns) or flagged off (`:set_description`, `:set_due_date`:
/// nullable columns, where null is a value the patch may set).
pub static UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
update todos
set title = coalesce(:title, title),
    title_search = coalesce(:title_search, title_search),
    description = case when :set_description then :description else description end,
    priority = coalesce(:priority, priority),
    due_date = case when :set_due_date then :due_date else due_date end,
    completed = coalesce(:completed, completed),
    updated_at = :now,
    version = version + 1,
    change_no = :change_no
where id = :id and owner = :owner
returning {TODO_COLUMNS}
"
    )
});

/// The todo `:id` of `:owner`.
pub static GET: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}
from todos
where id = :id and owner = :owner
"
    )
});

/// The version of the todo `:id` of `:owner`, for an `If-Match` check.
pub const VERSION: &str = r"
select version
from todos
where id = :id and owner = :owner
";

/// Deletes the todo `:id` of `:owner`.
pub const DELETE: &str = r"
delete from todos
where id = :id and owner = :owner
";

/// The owner whose subject is `:subject`.
pub const SELECT_USER: &str = r"
select id
from users
where subject = :subject
";

/// Makes the owner whose subject is `:subject`, at `:now`.
pub const INSERT_USER: &str = r"
insert into users (subject, created_at)
values (:subject, :now)
returning id
";
