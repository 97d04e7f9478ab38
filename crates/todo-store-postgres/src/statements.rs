//! The statements of the store, other than the listing and the delete by
//! filter, which `todo-listing-sql` shares with SQLite. Each is one text for
//! every call, so `prepare_cached` prepares it once per connection.

use std::sync::LazyLock;

use todo_listing_sql::TODO_COLUMNS;

#[cfg(feature = "statements")]
pub use crate::listing::listing_statement;

/// Inserts one todo: `$1` title, `$2` title search key, `$3` description,
/// `$4` priority, `$5` due date, `$6` completed, `$7` owner. Like every
/// write, it takes its owner's change log lock before it takes a change
/// number (ARCHITECTURE.md, "The change log"): the initplan runs before
/// the row is made.
pub static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
insert into todos (title, title_search, description, priority, due_date, completed, owner,
                   change_no)
select $1, $2, $3, $4, $5, $6, $7, nextval('todo_change_numbers')
where (select lock_change_log($7))
returning {TODO_COLUMNS}
"
    )
});

/// Inserts many todos in one statement, one array per column in the order
/// of [`INSERT`]'s parameters, the owners too (a group of creates mixes
/// users). `order by ord` makes the identity values follow the input order;
/// the owners' change log locks come first, all of them, in one order.
pub static INSERT_MANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
insert into todos (title, title_search, description, priority, due_date, completed, owner,
                   change_no)
select u.title, u.title_search, u.description, u.priority, u.due_date, u.completed, u.owner,
       nextval('todo_change_numbers')
from unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $6::boolean[],
            $7::bigint[])
    with ordinality as u(title, title_search, description, priority, due_date, completed, owner, ord)
where (select lock_change_logs($7::bigint[]))
order by u.ord
returning {TODO_COLUMNS}
"
    )
});

/// The todo `$1` of the owner `$2`.
pub static SELECT_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}
from todos
where id = $1 and owner = $2
"
    )
});

/// The todos of the (id, owner) pairs in `$1` and `$2` (arrays), each
/// once, in no order, with their owner after the todo's columns: a group of
/// reads mixes users, and each caller gets only its own todo.
pub static SELECT_MANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}, owner
from todos
where (id, owner) in (
    select r.id, r.owner
    from unnest($1::bigint[], $2::bigint[]) as r(id, owner)
)
"
    )
});

/// Applies a patch, checking the owner and the version in the same step.
/// `$1` id; then per field its new value, `null` meaning "keep" for the
/// non-nullable ones, and a "set" flag before the nullable ones, whose
/// `null` means "clear"; `$10` true accepts any version, else `$11` lists
/// the accepted; `$12` the owner. Every write takes its owner's change log
/// lock before it locks a row (`lock_change_log`, ARCHITECTURE.md, "The
/// change log"); the trigger that numbers the change finds it held.
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
    version = version + 1,
    change_no = nextval('todo_change_numbers')
where id = $1
  and owner = $12
  and ($10::boolean or version = any($11::bigint[]))
  and (select lock_change_log($12))
returning {TODO_COLUMNS}
"
    )
});

/// Applies many patches to distinct todos in one statement: one array per
/// parameter of [`UPDATE`] except the version check, which is one expected
/// version per todo (`null`: any), and the owner of each. The rows are
/// visited in id order (the arrays are sorted by id), the order a bulk
/// update locks them in, so the two cannot deadlock. The owners' change
/// log locks come first, all of them, in one order.
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
    version = version + 1,
    change_no = nextval('todo_change_numbers')
from (
    select *
    from unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[],
                $6::smallint[], $7::boolean[], $8::timestamptz[], $9::boolean[], $10::bigint[],
                $11::bigint[])
        as p(todo_id, new_title, new_title_search, set_description, new_description,
             new_priority, set_due_date, new_due_date, new_completed, expected_version,
             todo_owner)
    order by todo_id
) as u
where id = u.todo_id
  and owner = u.todo_owner
  and (u.expected_version is null or version = u.expected_version)
  and (select lock_change_logs($11::bigint[]))
returning {TODO_COLUMNS}
"
    )
});

/// Which of the (id, owner) pairs in `$1` and `$2` (arrays) are todos, by
/// id.
pub const EXISTING: &str = r"
select id
from todos
where (id, owner) in (
    select e.id, e.owner
    from unnest($1::bigint[], $2::bigint[]) as e(id, owner)
)
";

/// Deletes a todo of the owner `$4` with the version check of [`UPDATE`]:
/// `$1` id, `$2` any version, `$3` the accepted versions.
pub const DELETE: &str = r"
delete from todos
where id = $1
  and owner = $4
  and ($2::boolean or version = any($3::bigint[]))
  and (select lock_change_log($4))
";

/// Tells a missing todo (or another owner's) from one whose version did
/// not match, after a conditional write changed nothing: `$1` id, `$2`
/// owner.
pub const EXISTS: &str = r"
select 1
from todos
where id = $1 and owner = $2
";

/// Locks the rows of the owner `$2` a bulk update will change, in id order
/// so that two bulk updates over the same todos cannot deadlock.
pub const LOCK_MANY: &str = r"
select id
from todos
where id = any($1::bigint[]) and owner = $2
  and (select lock_change_log($2))
order by id
for update
";

/// The owner whose subject is `$1`.
pub const SELECT_USER: &str = r"
select id
from users
where subject = $1
";

/// Makes the owner whose subject is `$1`, unless another request just
/// did: then it returns nothing, and [`SELECT_USER`] finds that one.
pub const INSERT_USER: &str = r"
insert into users (subject)
values ($1)
on conflict (subject) do nothing
returning id
";

/// Takes the change log lock of the owner `$1` for a transaction that
/// writes without a statement above (a delete by filter).
pub const LOCK_CHANGE_LOG: &str = "select lock_change_log($1)";

/// Takes the change log lock of the owner `$1` in exclusive mode, for a
/// reader of the log: it returns once no writer of that owner is between
/// taking a change number and committing, and keeps new ones waiting until
/// the reader's transaction ends (ARCHITECTURE.md, "The change log").
pub const LOCK_CHANGE_LOG_TO_READ: &str =
    "select pg_advisory_xact_lock(1953457263, ($1::bigint % 2147483647)::integer)";

/// Where the log of the owner `$1` stands: the newest purged change, the
/// newest delete and the newest upsert (0 for none).
pub const CHANGE_HEAD: &str = r"
select coalesce((select purged_through from change_log_horizons where owner = $1), 0),
       coalesce((select max(change_no) from todo_tombstones where owner = $1), 0),
       coalesce((select max(change_no) from todos where owner = $1), 0)
";

/// The newest purged change of the owner `$1`, if any was.
pub const CHANGE_HORIZON: &str = r"
select purged_through
from change_log_horizons
where owner = $1
";

/// The owner `$1`'s todos changed after number `$2`, at most `$3`, in
/// number order, each with its number after the todo's columns.
pub static UPSERTS_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
select {TODO_COLUMNS}, change_no
from todos
where owner = $1 and change_no > $2
order by change_no
limit $3
"
    )
});

/// The owner `$1`'s deletes after number `$2`, at most `$3`, in number
/// order: number, todo id.
pub const DELETES_AFTER: &str = r"
select change_no, id
from todo_tombstones
where owner = $1 and change_no > $2
order by change_no
limit $3
";

/// Removes at most one batch of tombstones of deletes before `$1`, and
/// moves each owner's horizon past what it removed, in one statement;
/// returns how many it removed.
pub const PURGE_TOMBSTONES: &str = r"
with batch as (
    select owner, change_no
    from todo_tombstones
    where deleted_at < $1
    order by deleted_at
    limit 1000
), purged as (
    delete from todo_tombstones as t
    using batch as b
    where t.owner = b.owner and t.change_no = b.change_no
    returning t.owner, t.change_no
), horizons as (
    insert into change_log_horizons (owner, purged_through)
    select owner, max(change_no) from purged group by owner
    on conflict (owner) do update
    set purged_through = greatest(change_log_horizons.purged_through, excluded.purged_through)
)
select count(*) from purged
";

/// Sends the notification `$2` on the channel `$1`.
pub const NOTIFY: &str = "select pg_notify($1, $2)";

pub const PING: &str = "select 1";

/// Serialises migrations of several instances starting at once.
pub const ADVISORY_LOCK: &str = "select pg_advisory_lock($1)";

pub const ADVISORY_UNLOCK: &str = "select pg_advisory_unlock($1)";

/// Takes the transaction-scoped lock of an idempotency key (`$1` scope,
/// `$2` key, `$3` owner) if no other transaction holds it: held means a
/// request with that key is in flight, on this instance or another. Keys
/// have no spaces, so the spaces keep owner, scope and key apart.
pub const TRY_LOCK_KEY: &str = r"
select pg_try_advisory_xact_lock(hashtextextended($3::bigint || ' ' || $1 || ' ' || $2, 0))
";

pub const SELECT_KEY: &str = r"
select fingerprint, status, body
from idempotency_keys
where scope = $1 and key = $2 and owner = $3
";

pub const INSERT_KEY: &str = r"
insert into idempotency_keys (scope, key, owner, fingerprint, status, body)
values ($1, $2, $3, $4, $5, $6)
";

/// Deletes at most one batch of keys first used before `$1`.
pub const PURGE_KEYS: &str = r"
delete from idempotency_keys
where (owner, scope, key) in (
    select owner, scope, key
    from idempotency_keys
    where created_at < $1
    limit 1000
)
";

/// The size of one purge batch, as in [`PURGE_KEYS`].
pub const PURGE_BATCH: u64 = 1000;
