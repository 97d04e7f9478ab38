-- The change log (API.md, "Changes"; ARCHITECTURE.md, "The change log").
-- Each todo carries the number of its latest change and each delete leaves
-- a tombstone with the number of the delete, so the log is kept compacted:
-- a reader asks for the todos and tombstones numbered past its position.
-- Every write is numbered, whichever statement makes it: the service's
-- statements number their rows, the triggers below every other write.

-- Numbers are handed out in the order they are asked for (no per-session
-- cache: `cache 1`), which the ordering argument relies on.
create sequence todo_change_numbers cache 1;

alter table todos add column change_no bigint not null default nextval('todo_change_numbers');
alter table todos alter column change_no drop default;
create index todos_owner_change_no_idx on todos (owner, change_no);

create table todo_tombstones (
    owner bigint not null,
    change_no bigint not null,
    id bigint not null,
    deleted_at timestamptz not null default now(),
    primary key (owner, change_no)
);
create index todo_tombstones_deleted_at_idx on todo_tombstones (deleted_at);

-- Per owner, the newest change whose tombstone was purged: a reader whose
-- position is older may have missed a delete and must start again (410).
create table change_log_horizons (
    owner bigint primary key,
    purged_through bigint not null
);

-- A writer of an owner's log holds that owner's lock in share mode from
-- before it takes its first number until it commits (the service's
-- statements through these functions, in an initplan that runs before the
-- statement touches a row); a reader takes it in
-- exclusive mode, so it reads when no writer of that owner is between
-- taking a number and committing. Writers never wait for each other.
-- The key space (1953457263, "todo") is this log's alone.
create function lock_change_log(owner bigint) returns boolean
language plpgsql volatile as $$
begin
    perform pg_advisory_xact_lock_shared(1953457263, (owner % 2147483647)::integer);
    return true;
end
$$;

-- The same for several owners, always in one order, so that two writers
-- waiting behind readers cannot wait for each other.
create function lock_change_logs(owners bigint[]) returns boolean
language plpgsql volatile as $$
declare
    key integer;
begin
    for key in
        select distinct (o % 2147483647)::integer from unnest(owners) as o order by 1
    loop
        perform pg_advisory_xact_lock_shared(1953457263, key);
    end loop;
    return true;
end
$$;

-- Numbers a change that its statement did not number itself (a write by
-- another program, or by an older instance during an upgrade). The
-- service's statements take the lock first and set `change_no` to
-- `nextval('todo_change_numbers')`, so the `when` conditions below skip
-- this function for them: a trigger function called per row cost a bulk
-- insert about as much as the insert itself.
create function number_todo_change() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock_shared(1953457263, (new.owner % 2147483647)::integer);
    new.change_no := nextval('todo_change_numbers');
    return new;
end
$$;

create trigger todos_number_insert
before insert on todos
for each row when (new.change_no is null)
execute function number_todo_change();

create trigger todos_number_update
before update on todos
for each row when (new.change_no is not distinct from old.change_no)
execute function number_todo_change();

create function record_todo_deletes() returns trigger
language plpgsql as $$
begin
    perform lock_change_logs(array(select distinct owner from deleted_todos));
    insert into todo_tombstones (owner, change_no, id)
    select owner, nextval('todo_change_numbers'), id
    from (select owner, id from deleted_todos order by owner, id) as gone;
    return null;
end
$$;

create trigger todos_record_deletes
after delete on todos
referencing old table as deleted_todos
for each statement execute function record_todo_deletes();
