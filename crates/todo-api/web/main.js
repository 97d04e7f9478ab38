// The web app: signs in when the service asks for a token, shows the view
// the URL names, keeps it live through the change feed, and sends the
// person's changes through the API.

import { Api, SignedOut, Unreachable, detailOf } from "./api.js";
import { ChangeFeed } from "./feed.js";
import { TALLY_PAGES, Tally, TodoList } from "./model.js";
import { listingUrl, readRoute, writeRoute } from "./route.js";
import { Editor } from "./editing.js";
import { askToSignIn, session, wireSignIn } from "./session.js";
import { notice, renderList } from "./view.js";

/** Rows per page of the view; more come with "Show more". */
const PAGE_SIZE = 50;
/** Rows per page when counting every todo. */
const TALLY_PAGE_SIZE = 1000;
/** Ids per bulk update (the service's default `MAX_BULK_ITEMS`). */
const BULK_SIZE = 1000;
const SEARCH_DELAY_MS = 250;

const $ = (selector) => document.querySelector(selector);

const api = new Api(
  () => session.token,
  (state) => showConnection(state === "retrying" ? "Saving… waiting for the service" : null),
);
const list = new TodoList();
const tally = new Tally();
const editor = new Editor({ api, list, rowOf, render, applyTodo, applyDeleted, destroy, say, failed });
/** Bumped by every new view, so that an older view's late page is dropped. */
let viewGeneration = 0;
let feedState = "connecting";
let feed = null;

// Starting ----------------------------------------------------------------

async function boot() {
  let me;
  for (;;) {
    try {
      me = await api.me();
      break;
    } catch (error) {
      if (error instanceof SignedOut) {
        showSignIn(session.token ? "The service refused the saved token; sign in again." : "");
        return;
      }
      showConnection("The service cannot be reached; trying again…");
    }
  }
  $("#loading").hidden = true;
  $("#sign-in").hidden = true;
  $("#todoapp").hidden = false;
  const who = me.body.user ?? "everyone (open list)";
  $("#who").textContent = me.body.auth === "jwt" ? `Signed in as ${who}` : me.body.auth === "token" ? "Signed in with a token" : "";
  $("#account").hidden = !session.token;
  applyRouteToControls(readRoute(location.hash));
  feed = new ChangeFeed({
    headers: () => api.headers(),
    opened: async (resumed) => {
      if (!resumed) await reloadEverything();
    },
    change: applyChange,
    state: (state) => {
      feedState = state;
      showConnection(null);
    },
    signedOut: () => showSignIn("Your sign-in has ended; sign in again."),
  });
  feed.start();
  $("#new-title").focus();
}

/** The token was refused: stop following and ask for another. */
function showSignIn(message) {
  feed?.stop();
  askToSignIn(message);
}

// Loading ------------------------------------------------------------------

async function reloadEverything() {
  await Promise.all([loadView(), loadTally()]);
}

/** The first page of the view the URL names. */
async function loadView() {
  const route = readRoute(location.hash);
  const generation = ++viewGeneration;
  list.loading();
  const page = await api.page(listingUrl(route, PAGE_SIZE));
  if (generation !== viewGeneration) return;
  list.reset(route, page.todos, page.next);
  render();
}

async function showMore() {
  if (!list.next) return;
  const generation = viewGeneration;
  const button = $("#more");
  button.disabled = true;
  try {
    list.loading();
    const page = await api.page(list.next);
    if (generation !== viewGeneration) return;
    list.append(page.todos, page.next);
    render();
  } catch (error) {
    failed("Could not load more todos", error);
  } finally {
    button.disabled = false;
  }
}

/** Every todo's completed state, for the counts (up to TALLY_PAGES pages). */
async function loadTally() {
  tally.clear();
  let url = `/api/todo?sort=id&limit=${TALLY_PAGE_SIZE}`;
  for (let pages = 0; url; pages++) {
    if (pages === TALLY_PAGES) {
      tally.exact = false;
      break;
    }
    const page = await api.page(url);
    for (const todo of page.todos) tally.upsert(todo);
    url = page.next;
  }
  renderCounts();
}

// Changes ------------------------------------------------------------------

function applyChange({ type, data }) {
  if (type === "upsert") applyTodo(data);
  else if (type === "delete") applyDeleted(data.id);
}

function applyTodo(todo) {
  list.upsert(todo);
  tally.upsert(todo);
  render();
}

function applyDeleted(id) {
  list.remove(id);
  tally.remove(id);
  editor.deleted(id);
  render();
}

// Showing ------------------------------------------------------------------

function render() {
  renderList($("#todo-list"), list.items, editor.id);
  const more = $("#more");
  more.hidden = !list.next;
  renderCounts();
}

function renderCounts() {
  const route = list.route ?? readRoute(location.hash);
  const left = tally.left;
  const completed = tally.total - left;
  const plus = tally.exact ? "" : "+";
  $("#count").textContent = `${left}${plus} ${left === 1 ? "item" : "items"} left`;
  $("#clear-completed").hidden = completed === 0;
  $("#footer").hidden = tally.exact && tally.total === 0 && !route.q;
  const toggleAll = $("#toggle-all");
  toggleAll.checked = tally.total > 0 && left === 0;
  toggleAll.disabled = tally.total === 0;
  for (const link of document.querySelectorAll(".filters a")) {
    if (link.dataset.filter === route.filter) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const empty = $("#empty");
  empty.hidden = list.items.length > 0 || list.route === null;
  if (!empty.hidden) {
    empty.textContent = route.q
      ? `No todo matches “${route.q}”.`
      : { all: "Nothing to do yet.", active: "Nothing left to do.", completed: "Nothing completed yet." }[route.filter];
  }
}

function showConnection(message) {
  const status = $("#connection");
  const offline = message !== null || feedState !== "live";
  status.textContent = message ?? { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…" }[feedState];
  status.classList.toggle("offline", offline);
}

/** A message that stays until dismissed. */
function say(message) {
  notice($("#notices"), message);
}

function failed(what, error) {
  if (error instanceof SignedOut) {
    showSignIn("Your sign-in has ended; sign in again.");
    return;
  }
  const why = error instanceof Unreachable ? error.message : String(error);
  say(`${what}: ${why}.`);
}

// Writing ------------------------------------------------------------------

$("#new-todo").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#new-title");
  const title = input.value.trim();
  if (!title) return;
  const todo = { title, priority: Number($("#new-priority").value) };
  const due = $("#new-due").value;
  if (due) todo.due_date = due;
  input.value = "";
  // The next todo starts from the defaults again.
  $("#new-priority").value = "3";
  $("#new-due").value = "";
  try {
    const reply = await api.create(todo);
    if (reply.status === 201) applyTodo(reply.body);
    else {
      if (!input.value) input.value = title;
      say(`“${title}” was not added: ${detailOf(reply.body) ?? `status ${reply.status}`}.`);
    }
  } catch (error) {
    if (!input.value) input.value = title;
    failed(`“${title}” was not added`, error);
  }
});

async function setCompleted(id, completed) {
  try {
    const reply = await api.update(id, { completed });
    if (reply.ok) applyTodo(reply.body);
    else if (reply.status === 404) applyDeleted(id);
  } catch (error) {
    failed("The change was not saved", error);
    render();
  }
}

async function destroy(id) {
  try {
    const reply = await api.remove(id);
    if (reply.status === 204 || reply.status === 404) applyDeleted(id);
  } catch (error) {
    failed("The todo was not deleted", error);
  }
}

$("#clear-completed").addEventListener("click", async () => {
  try {
    const reply = await api.removeCompleted();
    if (!reply.ok) throw new Unreachable(detailOf(reply.body) ?? `status ${reply.status}`);
    for (const id of tally.ids(true)) applyDeleted(id);
    for (const todo of list.items.filter((item) => item.completed)) applyDeleted(todo.id);
  } catch (error) {
    failed("Completed todos were not cleared", error);
  }
});

$("#toggle-all").addEventListener("change", async (event) => {
  const completed = event.target.checked;
  try {
    await updateAll(await idsWithState(!completed), completed);
  } catch (error) {
    failed("Not every todo was changed", error);
  }
  render();
});

/** The ids of every todo whose completed state is `done`. */
async function idsWithState(done) {
  if (tally.exact) return tally.ids(done);
  const ids = [];
  let url = `/api/todo?completed=${done}&sort=id&limit=${TALLY_PAGE_SIZE}`;
  while (url) {
    const page = await api.page(url);
    ids.push(...page.todos.map((todo) => todo.id));
    url = page.next;
  }
  return ids;
}

/** Sets `completed` on every id, in bulk updates; an id deleted meanwhile
 *  is left out, and where bulk updates are switched off, one by one. */
async function updateAll(ids, completed) {
  for (let start = 0; start < ids.length; start += BULK_SIZE) {
    let chunk = ids.slice(start, start + BULK_SIZE);
    while (chunk.length > 0) {
      const reply = await api.updateMany(chunk.map((id) => ({ id, completed })));
      if (reply.ok) {
        reply.body.forEach(applyTodo);
        break;
      }
      const missing = /^Todo (\d+) not found$/.exec(detailOf(reply.body) ?? "");
      if (reply.status === 404 && missing) {
        const id = Number(missing[1]);
        applyDeleted(id);
        chunk = chunk.filter((other) => other !== id);
      } else if (reply.status === 404) {
        for (const id of chunk) await setCompleted(id, completed);
        break;
      } else {
        throw new Unreachable(detailOf(reply.body) ?? `status ${reply.status}`);
      }
    }
  }
}

function rowOf(id) {
  return document.querySelector(`#todo-list li[data-id="${id}"]`);
}

// The list's controls ------------------------------------------------------

const todoList = $("#todo-list");
todoList.addEventListener("change", (event) => {
  if (!event.target.matches(".toggle")) return;
  const id = Number(event.target.closest("li").dataset.id);
  setCompleted(id, event.target.checked);
});
todoList.addEventListener("click", (event) => {
  const row = event.target.closest("li");
  if (!row) return;
  const id = Number(row.dataset.id);
  if (event.target.matches(".destroy")) destroy(id);
  else if (event.target.matches(".edit")) editor.start(id);
});
todoList.addEventListener("dblclick", (event) => {
  if (!event.target.matches(".title")) return;
  editor.start(Number(event.target.closest("li").dataset.id));
});
$("#more").addEventListener("click", showMore);

// The view: filter, search and sort in the URL ------------------------------

function applyRouteToControls(route) {
  const search = $("#search");
  if (document.activeElement !== search) search.value = route.q;
  $("#sort").value = route.sort;
}

function changeRoute(changes) {
  const route = { ...readRoute(location.hash), ...changes };
  const hash = writeRoute(route);
  if (hash !== location.hash) location.hash = hash;
}

window.addEventListener("hashchange", () => {
  if (!feed) return;
  applyRouteToControls(readRoute(location.hash));
  editor.drop();
  loadView().catch((error) => failed("The list could not be loaded", error));
});

let searchTimer = null;
$("#search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => changeRoute({ q: event.target.value }), SEARCH_DELAY_MS);
});
$("#sort").addEventListener("change", (event) => changeRoute({ sort: event.target.value }));

wireSignIn();
boot();
