//! The statements of the store, other than the listing and the delete by
//! filter, which `todo-listing-sql` shares with SQLite. Each is one text for
//! every call, so `prepare_cached` prepares it once per connection.

use std::sync::LazyLock;

use todo_listing_sql::TODO_COLUMNS;

/// Inserts one todo: `$1` title, `$2` title search key, `$3` description,
/// `$4` priority, `$5` due date, `$6` completed.
pub static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
insert into todos (title, title_search, description, priority, due_date, completed)
values ($1, $2, $3, $4, $5, $6)
returning {TODO_COLUMNS}
"
    )
});

/// Inserts many todos in one statement, one array per column in the order
/// of [`INSERT`]'s parameters. `order by ord` makes the identity values
/// follow the input order.
pub static INSERT_MANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
insert into todos (title, title_search, description, priority, due_date, completed)
select u.title, u.title_search, u.description, u.priority, u.due_date, u.completed
from unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $6::boolean[])
    with ordinality as u(title, title_search, description, priority, due_date, completed, ord)
order by u.ord
returning {TODO_COLUMNS}
"
    )
});

/// The todo `$1`.
pub static SELECT_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}
from todos
where id = $1
"
    )
});

/// The todos of the ids in `$1` (an array), each once, in no order.
pub static SELECT_MANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}
from todos
where id = any($1::bigint[])
"
    )
});

/// Applies a patch, checking the version in the same step. `$1` id; then
/// per field its new value, `null` meaning "keep" for the non-nullable
/// ones, and a "set" flag before the nullable ones, whose `null` means
/// "clear"; `$10` true accepts any version, else `$11` lists the accepted.
pub static UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
update todos
set title = coalesce($2::text, title),
    title_search = coalesce($3::text, title_search),
    description = case when $4::boolean then $5::text else description end,
    priority = coalesce($6::smallint, priority),
    due_date = case when $7::boolean then $8::timestamptz else due_date end,
    completed = coalesce($9::boolean, completed),
    updated_at = now(),
    version = version + 1
where id = $1
  and ($10::boolean or version = any($11::bigint[]))
returning {TODO_COLUMNS}
"
    )
});

/// Applies many patches to distinct todos in one statement: one array per
/// parameter of [`UPDATE`] except the version check, which is one expected
/// version per todo (`null`: any). The rows are visited in id order (the
/// arrays are sorted by id), the order a bulk update locks them in, so the
/// two cannot deadlock.
pub static UPDATE_MANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
update todos
set title = coalesce(u.new_title, title),
    title_search = coalesce(u.new_title_search, title_search),
    description = case when u.set_description then u.new_description else description end,
    priority = coalesce(u.new_priority, priority),
    due_date = case when u.set_due_date then u.new_due_date else due_date end,
    completed = coalesce(u.new_completed, completed),
    updated_at = now(),
    version = version + 1
from (
    select *
    from unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[],
                $6::smallint[], $7::boolean[], $8::timestamptz[], $9::boolean[], $10::bigint[])
        as p(todo_id, new_title, new_title_search, set_description, new_description,
             new_priority, set_due_date, new_due_date, new_completed, expected_version)
    order by todo_id
) as u
where id = u.todo_id
  and (u.expected_version is null or version = u.expected_version)
returning {TODO_COLUMNS}
"
    )
});

/// Which of the ids in `$1` (an array) are todos.
pub const EXISTING: &str = r"
select id
from todos
where id = any($1::bigint[])
";

/// Deletes a todo with the version check of [`UPDATE`]: `$1` id, `$2` any
/// version, `$3` the accepted versions.
pub const DELETE: &str = r"
delete from todos
where id = $1
  and ($2::boolean or version = any($3::bigint[]))
";

/// Tells a missing todo from one whose version did not match, after a
/// conditional write changed nothing.
pub const EXISTS: &str = r"
select 1
from todos
where id = $1
";

/// Locks the rows a bulk update will change, in id order so that two bulk
/// updates over the same todos cannot deadlock.
pub const LOCK_MANY: &str = r"
select id
from todos
where id = any($1::bigint[])
order by id
for update
";

pub const PING: &str = "select 1";

/// Serialises migrations of several instances starting at once.
pub const ADVISORY_LOCK: &str = "select pg_advisory_lock($1)";

pub const ADVISORY_UNLOCK: &str = "select pg_advisory_unlock($1)";

/// Takes the transaction-scoped lock of an idempotency key (`$1` scope,
/// `$2` key) if no other transaction holds it: held means a request with
/// that key is in flight, on this instance or another. Keys have no
/// spaces, so the space keeps scope and key apart.
pub const TRY_LOCK_KEY: &str = r"
select pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))
";

pub const SELECT_KEY: &str = r"
select fingerprint, status, body
from idempotency_keys
where scope = $1 and key = $2
";

pub const INSERT_KEY: &str = r"
insert into idempotency_keys (scope, key, fingerprint, status, body)
values ($1, $2, $3, $4, $5)
";

/// Deletes at most one batch of keys first used before `$1`.
pub const PURGE_KEYS: &str = r"
delete from idempotency_keys
where (scope, key) in (
    select scope, key
    from idempotency_keys
    where created_at < $1
    limit 1000
)
";

/// The size of one purge batch, as in [`PURGE_KEYS`].
pub const PURGE_BATCH: u64 = 1000;
