-- The change log (API.md, "Changes"; ARCHITECTURE.md, "The change log").
-- Each todo carries the number of its latest change and each delete leaves
-- a tombstone with the number of the delete, so the log is kept compacted:
-- a reader asks for the todos and tombstones numbered past its position.
-- SQLite has one writer at a time, so numbers taken from one counter in
-- the writing transaction follow the commit order. Every write is
-- numbered, whichever statement makes it (the triggers below).
create table change_counter (
    last integer not null
);

insert into change_counter (last) select coalesce(max(id), 0) from todos;

alter table todos add column change_no integer not null default 0;
update todos set change_no = id;
create index todos_owner_change_no_idx on todos (owner, change_no);

create table todo_tombstones (
    owner integer not null,
    change_no integer not null,
    id integer not null,
    -- Microseconds since the Unix epoch.
    deleted_at integer not null,
    primary key (owner, change_no)
) without rowid;
create index todo_tombstones_deleted_at_idx on todo_tombstones (deleted_at);

-- Per owner, the newest change whose tombstone was purged: a reader whose
-- position is older may have missed a delete and must start again (410).
create table change_log_horizons (
    owner integer primary key,
    purged_through integer not null
);

-- The service's statements number their rows themselves, with the next
-- number of the counter (`change_no` = `last + 1`); these triggers then only
-- move the counter. A write that did not number its row (another program,
-- an older instance during an upgrade) is numbered here, which costs
-- writing the row a second time.
create trigger todos_count_insert after insert on todos
when new.change_no <> 0
begin
    update change_counter set last = new.change_no;
end;

create trigger todos_number_insert after insert on todos
when new.change_no = 0
begin
    update change_counter set last = last + 1;
    update todos set change_no = (select last from change_counter) where id = new.id;
end;

-- Every change of the service's writes the version; the number-only
-- update of the trigger above does not fire these.
create trigger todos_count_update after update of version on todos
when new.change_no <> old.change_no
begin
    update change_counter set last = new.change_no;
end;

create trigger todos_number_update after update of version on todos
when new.change_no = old.change_no
begin
    update change_counter set last = last + 1;
    update todos set change_no = (select last from change_counter) where id = new.id;
end;

create trigger todos_record_delete after delete on todos
begin
    update change_counter set last = last + 1;
    insert into todo_tombstones (owner, change_no, id, deleted_at)
    values (
        old.owner,
        (select last from change_counter),
        old.id,
        cast(unixepoch('subsec') * 1000000 as integer)
    );
end;
