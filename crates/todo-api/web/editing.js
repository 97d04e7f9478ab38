// Editing a todo in place: the form in its row, the version the edit
// started from (its ETag, asked for as the edit begins), and a save sent
// with `If-Match`, so that it never overwrites a change made elsewhere
// meanwhile: a 412 shows the current version and says so instead.

import { detailOf } from "./api.js";
import { editForm } from "./view.js";

export class Editor {
  /**
   * @param {object} app what an edit needs of the page: `api`, `list`,
   *   `rowOf(id)`, `render()`, `applyTodo(todo)`, `applyDeleted(id)`,
   *   `destroy(id)`, `say(message)`, `failed(what, error)`
   */
  constructor(app) {
    this.app = app;
    // The todo being edited: its id, the version the form started from,
    // whether the person typed, and the promise of its ETag.
    this.current = null;
  }

  /** The id of the todo being edited, or null. */
  get id() {
    return this.current?.id ?? null;
  }

  /** Leaves the edit without saving (the view changed under it). */
  drop() {
    this.current = null;
  }

  /** The todo `id` was deleted: an edit of it ends. */
  deleted(id) {
    if (this.current?.id !== id) return;
    this.current = null;
    this.app.say("A todo you were editing was deleted elsewhere.");
  }

  start(id) {
    const { api, list, rowOf } = this.app;
    if (this.current) return;
    const todo = list.find(id);
    const row = rowOf(id);
    if (!todo || !row) return;
    const edit = { id, base: todo, touched: false, etag: null };
    this.current = edit;
    edit.etag = api.get(id).then((reply) => {
      if (reply.status === 404) {
        this.app.applyDeleted(id);
        return null;
      }
      // A newer version than the row showed: edit that one, unless the
      // person has already typed.
      if (this.current === edit && !edit.touched && reply.body.updated_at !== edit.base.updated_at) {
        edit.base = reply.body;
        fillForm(row.querySelector(".edit-form"), reply.body);
      }
      return reply.headers.get("ETag");
    });
    // Awaited when the edit is saved; a cancelled edit needs no answer.
    edit.etag.catch(() => {});
    const form = editForm(todo);
    // Busy until the version being edited is known.
    form.setAttribute("aria-busy", "true");
    edit.etag.finally(() => form.removeAttribute("aria-busy")).catch(() => {});
    row.classList.add("editing");
    row.querySelector(".view").hidden = true;
    row.append(form);
    form.addEventListener("input", () => {
      edit.touched = true;
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.finish(false);
      }
    });
    form.addEventListener("focusout", (event) => {
      if (!form.contains(event.relatedTarget)) this.finish(true);
    });
    const title = form.querySelector(".edit-title");
    title.focus();
    title.setSelectionRange(title.value.length, title.value.length);
  }

  async finish(save) {
    const { api, rowOf, render, applyTodo, applyDeleted, destroy, say, failed } = this.app;
    if (!this.current) return;
    const { id, base, etag } = this.current;
    const row = rowOf(id);
    const form = row?.querySelector(".edit-form");
    const wanted = form && {
      title: form.querySelector(".edit-title").value.trim(),
      priority: Number(form.querySelector(".edit-priority").value),
      due: form.querySelector(".edit-due").value,
    };
    const hadFocus = form?.contains(document.activeElement);
    this.current = null;
    // The row is drawn again from the latest version known.
    row?.remove();
    render();
    if (hadFocus) rowOf(id)?.querySelector(".edit")?.focus();
    if (!save || !wanted) return;
    if (!wanted.title) {
      await destroy(id);
      return;
    }
    const changes = {};
    if (wanted.title !== base.title) changes.title = wanted.title;
    if (wanted.priority !== base.priority) changes.priority = wanted.priority;
    if (wanted.due !== (base.due_date?.slice(0, 10) ?? "")) changes.due_date = wanted.due || null;
    if (Object.keys(changes).length === 0) return;
    try {
      const tag = await etag;
      if (tag === null) return;
      const reply = await api.update(id, changes, tag);
      if (reply.ok) applyTodo(reply.body);
      else if (reply.status === 404) applyDeleted(id);
      else if (reply.status === 412) await this.conflict(id, changes, reply.retried);
      else say(`The change was not saved: ${detailOf(reply.body) ?? `status ${reply.status}`}.`);
    } catch (error) {
      failed("The change was not saved", error);
    }
  }

  /** The todo changed since the edit began: show its current version and
   *  say so, rather than overwrite the other change. */
  async conflict(id, changes, retried) {
    const { api, applyTodo, applyDeleted, say } = this.app;
    const reply = await api.get(id);
    if (reply.status === 404) {
      applyDeleted(id);
      return;
    }
    const current = reply.body;
    applyTodo(current);
    const applied = Object.entries(changes).every(([field, value]) =>
      field === "due_date" ? (current.due_date?.slice(0, 10) ?? null) === value : current[field] === value,
    );
    // A retry whose first attempt went through finds its own change.
    if (retried && applied) return;
    say(`“${current.title}” was changed elsewhere while you edited it; your edit was not saved, and the current version is shown.`);
  }
}

function fillForm(form, todo) {
  if (!form) return;
  form.querySelector(".edit-title").value = todo.title;
  form.querySelector(".edit-priority").value = String(todo.priority);
  form.querySelector(".edit-due").value = todo.due_date?.slice(0, 10) ?? "";
}
