// The page's copy of the user's todos: the rows of the current view loaded
// so far (in the listing's order), and the completed state of every todo
// for the counts. Both take the service's answers and the change feed's
// events in any order: a todo never goes back to an older version, and a
// deleted one never comes back.

import { comparator, matches, micros } from "./route.js";

export class TodoList {
  constructor() {
    this.route = null;
    this.items = [];
    this.next = null;
    this.gone = new Set();
    // Changes seen while a page was on its way, applied again on top of it
    // (the page may be older than they are).
    this.during = null;
  }

  /** A page is being fetched: keep the changes that arrive meanwhile. */
  loading() {
    this.during ??= [];
  }

  /** A new view: its first page and the link to the next. */
  reset(route, todos, next) {
    this.route = route;
    this.items = todos.filter((todo) => !this.gone.has(todo.id));
    this.next = next;
    this.replay();
  }

  /** The next page of the view, after the rows already there. */
  append(todos, next) {
    const seen = new Set(this.items.map((todo) => todo.id));
    for (const todo of todos) {
      if (!seen.has(todo.id) && !this.gone.has(todo.id)) this.items.push(todo);
    }
    this.next = next;
    this.replay();
  }

  replay() {
    const during = this.during ?? [];
    this.during = null;
    for (const todo of during) this.upsert(todo);
  }

  find(id) {
    return this.items.find((todo) => todo.id === id) ?? null;
  }

  /**
   * A todo's latest known version: replaces an older one, moves to its
   * place in the order, leaves the view when it no longer matches, and
   * joins it when it does and its place is among the rows loaded.
   */
  upsert(todo) {
    this.during?.push(todo);
    if (this.gone.has(todo.id) || !this.route) return;
    const index = this.items.findIndex((item) => item.id === todo.id);
    if (index >= 0) {
      if (micros(this.items[index].updated_at) > micros(todo.updated_at)) return;
      this.items.splice(index, 1);
    }
    if (!matches(this.route, todo)) return;
    const order = comparator(this.route.sort);
    let place = this.items.findIndex((item) => order(todo, item) < 0);
    if (place < 0) {
      // After every loaded row: its place is on a later page, unless there is none.
      if (this.next !== null) return;
      place = this.items.length;
    }
    this.items.splice(place, 0, todo);
  }

  remove(id) {
    this.gone.add(id);
    this.items = this.items.filter((todo) => todo.id !== id);
  }
}

/** Pages of the whole list walked for the counts; past that, they are
 *  shown as "at least". */
export const TALLY_PAGES = 10;

/** Which todos exist and which are completed, for "items left", "Clear
 *  completed" and "Mark all as complete". */
export class Tally {
  constructor() {
    this.completed = new Map();
    this.versions = new Map();
    this.exact = true;
  }

  clear() {
    this.completed.clear();
    this.versions.clear();
    this.exact = true;
  }

  upsert(todo) {
    const version = micros(todo.updated_at);
    if ((this.versions.get(todo.id) ?? -Infinity) > version) return;
    this.versions.set(todo.id, version);
    this.completed.set(todo.id, todo.completed);
  }

  remove(id) {
    this.completed.delete(id);
    this.versions.set(id, Infinity);
  }

  get total() {
    return this.completed.size;
  }

  get left() {
    let left = 0;
    for (const done of this.completed.values()) if (!done) left++;
    return left;
  }

  /** Ids of the todos whose completed state is `done`. */
  ids(done) {
    const ids = [];
    for (const [id, state] of this.completed) if (state === done) ids.push(id);
    return ids;
  }
}
