// Building and updating the page's elements; what a click or a key does
// is decided in main.js.

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Whether a due date is a plain date (midnight UTC, as a date picker sends). */
function isPlainDate(due) {
  return /T00:00:00(\.0+)?Z$/.test(due);
}

/** Today's date in the person's own time zone, as `YYYY-MM-DD`. */
function today() {
  const now = new Date();
  const month = String(now.getMonth() + 1).padStart(2, "0");
  const day = String(now.getDate()).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${day}`;
}

/** Overdue: not completed and past its due date (a plain date is due
 *  until that day ends for the person looking). */
export function isOverdue(todo, now = new Date()) {
  if (todo.completed || todo.due_date === null) return false;
  if (isPlainDate(todo.due_date)) return todo.due_date.slice(0, 10) < today();
  return new Date(todo.due_date) < now;
}

export function formatDue(due) {
  return isPlainDate(due) ? dateOnly.format(new Date(due)) : dateTime.format(new Date(due));
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** The row of one todo, as shown (not being edited). */
export function todoRow(todo) {
  const overdue = isOverdue(todo);
  const row = element("li", {
    class: `todo${todo.completed ? " completed" : ""}${overdue ? " overdue" : ""}`,
    "data-id": String(todo.id),
    "data-version": todo.updated_at,
  });
  const meta = [element("span", { class: `chip priority priority-${todo.priority}`, text: `P${todo.priority}`, title: `Priority ${todo.priority} of 5` })];
  if (todo.due_date !== null) {
    const label = overdue ? `Overdue: ${formatDue(todo.due_date)}` : `Due ${formatDue(todo.due_date)}`;
    meta.push(element("time", { class: `chip due${overdue ? " overdue" : ""}`, datetime: todo.due_date, text: label }));
  }
  row.append(
    element("div", { class: "view" }, [
      element("input", { class: "toggle", type: "checkbox", checked: todo.completed, "aria-label": `Completed: ${todo.title}` }),
      element("span", { class: "title", text: todo.title }),
      element("span", { class: "meta" }, meta),
      element("span", { class: "actions" }, [
        element("button", { type: "button", class: "edit", "aria-label": `Edit: ${todo.title}`, text: "Edit" }),
        element("button", { type: "button", class: "destroy", "aria-label": `Delete: ${todo.title}`, text: "Delete" }),
      ]),
    ]),
  );
  return row;
}

/** The form that replaces a row's view while it is edited. */
export function editForm(todo) {
  const id = todo.id;
  const priority = element("select", { class: "edit-priority", id: `edit-priority-${id}` });
  for (let value = 1; value <= 5; value++) {
    priority.append(element("option", { value: String(value), text: String(value), selected: value === todo.priority }));
  }
  const due = element("input", { class: "edit-due", type: "date", id: `edit-due-${id}` });
  if (todo.due_date !== null) due.value = todo.due_date.slice(0, 10);
  const title = element("input", { class: "edit-title", maxlength: "200", "aria-label": "Title", id: `edit-title-${id}` });
  title.value = todo.title;
  return element("form", { class: "edit-form" }, [
    title,
    element("label", { for: `edit-priority-${id}`, text: "Priority" }),
    priority,
    element("label", { for: `edit-due-${id}`, text: "Due" }),
    due,
  ]);
}

/**
 * Makes `list` show `todos` in order, rebuilding only the rows whose todo
 * changed and leaving the row being edited as it is.
 */
export function renderList(list, todos, editingId) {
  const existing = new Map();
  for (const row of list.children) existing.set(Number(row.dataset.id), row);
  let cursor = list.firstElementChild;
  for (const todo of todos) {
    let row = existing.get(todo.id);
    existing.delete(todo.id);
    const stale = row && (row.dataset.version !== todo.updated_at || row.classList.contains("editing"));
    if (stale && todo.id !== editingId) {
      const fresh = todoRow(todo);
      row.replaceWith(fresh);
      if (cursor === row) cursor = fresh;
      row = fresh;
    }
    if (!row) row = todoRow(todo);
    if (row !== cursor) list.insertBefore(row, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const row of existing.values()) row.remove();
}

/** Shows a message that stays until dismissed; returns its element. */
export function notice(container, message) {
  const dismiss = element("button", { type: "button", text: "Dismiss" });
  const box = element("div", { class: "notice", role: "alert" }, [element("p", { text: message }), dismiss]);
  dismiss.addEventListener("click", () => box.remove());
  container.append(box);
  return box;
}
