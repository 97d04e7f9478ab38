-- The service now moves the change counter itself: in a group commit the
-- writer reads the counter once, hands numbers out from memory and writes
-- the last one back before the commit; an operation alone takes its
-- numbers with one statement (`update change_counter set last = last + N
-- returning last`). Either way the rows are written already numbered. The
-- triggers that moved the counter after each numbered row go: moving it for
-- every write cost a create about a tenth of its time.
--
-- Writes that do not number their rows (another program on the file) are
-- still numbered by `todos_number_insert` and `todos_number_update`, and
-- deletes by `todos_record_delete` (V4), all from the same counter.
drop trigger todos_count_insert;
drop trigger todos_count_update;
