"""Drives a running todo-api through the Python client that
openapi-python-client generated from its /openapi.json, as a user of that
client would: only the generated functions and models, never a hand-made
request. Run by generated_client.rs with the tools' virtualenv and the
generated package `todo_api_client` on PYTHONPATH:

    python generated_client.py BASE_URL

The service must start with no todos. Exits non-zero, saying what differed,
at the first result that breaks API.md.
"""

import datetime
import sys

# A dependency of the generated client, installed with the generator.
import httpx
from todo_api_client import Client
from todo_api_client.api.todos import (
    create_todo,
    create_todos,
    delete_todo,
    delete_todos,
    get_todo,
    list_todos,
    update_todo,
    update_todos,
)
from todo_api_client.models import (
    BulkPatch,
    Deleted,
    ErrorBody,
    NewTodo,
    Todo,
    TodoPatch,
    ValidationError,
)

UTC = datetime.UTC


class Broken(Exception):
    """A result that breaks the contract."""


def expect(what, got, wanted):
    # Not `assert`: `python -O` would drop those and pass anything.
    if got != wanted:
        raise Broken(f"{what}: got {got!r}, wanted {wanted!r}")


def expect_parsed(what, response, status, model):
    """The response's status, and its body parsed by the generated client
    as the model the document promises for that status."""
    body = response.content.decode(errors="replace")
    if response.status_code != status:
        raise Broken(
            f"{what}: status {response.status_code}, wanted {status}; body {body}"
        )
    if not isinstance(response.parsed, model):
        raise Broken(
            f"{what}: parsed as {type(response.parsed).__name__}, wanted {model.__name__}; body {body}"
        )
    print(f"ok: {what} -> {status} {model.__name__}")
    return response.parsed


def fields(todo, *names):
    return {name: getattr(todo, name) for name in names}


def main():
    # Every status the service answers must be one the document lists:
    # the generated client raises on any other. A plain Client, no token:
    # the service runs open, and the document's empty security requirement
    # says so, though the generator still hints AuthenticatedClient.
    client = Client(
        base_url=sys.argv[1],
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(30.0),
    )

    # Create: omitted fields take their defaults (API.md, "The resource").
    created = create_todo.sync_detailed(
        client=client,
        body=NewTodo(title="Buy milk", description="two litres", due_date="2026-12-01"),
    )
    todo = expect_parsed("create", created, 201, Todo)
    expect("create: Location", created.headers.get("location"), f"/api/todo/{todo.id}")
    expect(
        "create: the todo",
        fields(todo, "title", "description", "priority", "completed", "due_date"),
        {
            "title": "Buy milk",
            "description": "two litres",
            "priority": 3,
            "completed": False,
            "due_date": datetime.datetime(2026, 12, 1, tzinfo=UTC),
        },
    )

    # A one-field PATCH: the generated model sends only the field set, and
    # only that field changes.
    rename = TodoPatch(title="Buy oat milk")
    expect(
        "one-field patch: the body sent", rename.to_dict(), {"title": "Buy oat milk"}
    )
    renamed = expect_parsed(
        "one-field patch",
        update_todo.sync_detailed(todo.id, client=client, body=rename),
        200,
        Todo,
    )
    expect("one-field patch: title", renamed.title, "Buy oat milk")
    untouched = ("id", "description", "priority", "completed", "due_date", "created_at")
    expect(
        "one-field patch: the other fields",
        fields(renamed, *untouched),
        fields(todo, *untouched),
    )

    # `null` clears the nullable fields, and leaves the others alone.
    clear = TodoPatch(description=None, due_date=None)
    expect(
        "null patch: the body sent",
        clear.to_dict(),
        {"description": None, "due_date": None},
    )
    cleared = expect_parsed(
        "null patch",
        update_todo.sync_detailed(todo.id, client=client, body=clear),
        200,
        Todo,
    )
    expect(
        "null patch: cleared",
        fields(cleared, "description", "due_date"),
        {"description": None, "due_date": None},
    )
    kept = ("id", "title", "priority", "completed", "created_at")
    expect(
        "null patch: the other fields", fields(cleared, *kept), fields(renamed, *kept)
    )
    fetched = expect_parsed(
        "get", get_todo.sync_detailed(todo.id, client=client), 200, Todo
    )
    expect("get: the todo as last patched", fetched.to_dict(), cleared.to_dict())

    # Bulk create: the todos in input order, with increasing ids.
    bulk = expect_parsed(
        "bulk create",
        create_todos.sync_detailed(
            client=client,
            body=[
                NewTodo(title="Call the bank", priority=5),
                NewTodo(title="Water the plants", completed=True),
                NewTodo(
                    title="Post the parcel",
                    completed=True,
                    due_date="2026-12-24T18:00:00+01:00",
                ),
            ],
        ),
        201,
        list,
    )
    expect("bulk create: parsed as todos", [type(item) for item in bulk], [Todo] * 3)
    call, water, parcel = bulk
    expect(
        "bulk create: titles in input order",
        [item.title for item in bulk],
        ["Call the bank", "Water the plants", "Post the parcel"],
    )
    expect(
        "bulk create: increasing ids", todo.id < call.id < water.id < parcel.id, True
    )
    expect("bulk create: default priority", water.priority, 3)
    expect(
        "bulk create: due date in UTC",
        parcel.due_date,
        datetime.datetime(2026, 12, 24, 17, tzinfo=UTC),
    )

    # Bulk PATCH: each item changes only its own fields sent.
    patched = expect_parsed(
        "bulk patch",
        update_todos.sync_detailed(
            client=client,
            body=[
                BulkPatch(id=call.id, completed=True),
                BulkPatch(id=water.id, priority=1),
            ],
        ),
        200,
        list,
    )
    expect(
        "bulk patch: ids in input order",
        [item.id for item in patched],
        [call.id, water.id],
    )
    expect(
        "bulk patch: first item",
        fields(patched[0], "title", "priority", "completed"),
        {"title": "Call the bank", "priority": 5, "completed": True},
    )
    expect(
        "bulk patch: second item",
        fields(patched[1], "title", "priority", "completed"),
        {"title": "Water the plants", "priority": 1, "completed": True},
    )

    # Delete by filter: exactly the completed ones go.
    deleted = expect_parsed(
        "delete by filter",
        delete_todos.sync_detailed(client=client, completed=True),
        200,
        Deleted,
    )
    expect("delete by filter: count", deleted.deleted, 3)
    left = expect_parsed("list", list_todos.sync_detailed(client=client), 200, list)
    expect("list after delete by filter: ids", [item.id for item in left], [todo.id])

    # 404: an unknown id, read, patched or in a bulk patch (which names it).
    gone = expect_parsed(
        "get unknown id", get_todo.sync_detailed(call.id, client=client), 404, ErrorBody
    )
    expect("get unknown id: detail", gone.detail, "Todo not found")
    gone = expect_parsed(
        "patch unknown id",
        update_todo.sync_detailed(
            call.id, client=client, body=TodoPatch(completed=False)
        ),
        404,
        ErrorBody,
    )
    expect("patch unknown id: detail", gone.detail, "Todo not found")
    gone = expect_parsed(
        "bulk patch with an unknown id",
        update_todos.sync_detailed(
            client=client,
            body=[BulkPatch(id=todo.id, priority=2), BulkPatch(id=call.id, priority=2)],
        ),
        404,
        ErrorBody,
    )
    expect("bulk patch with an unknown id: names it", str(call.id) in gone.detail, True)
    still = expect_parsed(
        "get after a refused bulk patch",
        get_todo.sync_detailed(todo.id, client=client),
        200,
        Todo,
    )
    expect("a refused bulk patch changes nothing", still.priority, cleared.priority)

    # 422: every fault listed with where it is; nothing created.
    invalid = expect_parsed(
        "invalid create",
        create_todo.sync_detailed(client=client, body=NewTodo(title="", priority=9)),
        422,
        ValidationError,
    )
    expect(
        "invalid create: faults",
        sorted(tuple(fault.loc) for fault in invalid.detail),
        [("body", "priority"), ("body", "title")],
    )
    unfiltered = expect_parsed(
        "delete without a filter",
        delete_todos.sync_detailed(client=client),
        422,
        ValidationError,
    )
    expect(
        "delete without a filter: where",
        [fault.loc for fault in unfiltered.detail],
        [["query"]],
    )

    # Delete one: 204, and the list is empty.
    removed = delete_todo.sync_detailed(todo.id, client=client)
    expect("delete: status", removed.status_code, 204)
    print("ok: delete -> 204")
    left = expect_parsed(
        "list at the end", list_todos.sync_detailed(client=client), 200, list
    )
    expect("list at the end", left, [])


if __name__ == "__main__":
    try:
        main()
    except Broken as broken:
        print(f"BROKEN: {broken}", file=sys.stderr)
        sys.exit(1)
