// What the page shows, kept in the URL's fragment so that a reload, a
// bookmark or the back button gives the same view: `#/active?q=milk&sort=-priority`.

export const FILTERS = ["all", "active", "completed"];
export const SORTS = ["-created_at", "created_at", "-priority", "priority", "due_date", "-due_date"];
const DEFAULT_SORT = "-created_at";

/** The view a fragment names; anything unknown falls back to the default. */
export function readRoute(hash) {
  const [path, query = ""] = hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const name = path.replace(/^\//, "");
  const sort = params.get("sort");
  return {
    filter: FILTERS.includes(name) ? name : "all",
    q: params.get("q") ?? "",
    sort: SORTS.includes(sort) ? sort : DEFAULT_SORT,
  };
}

/** The fragment of a view. */
export function writeRoute(route) {
  const params = new URLSearchParams();
  if (route.q) params.set("q", route.q);
  if (route.sort !== DEFAULT_SORT) params.set("sort", route.sort);
  const query = params.toString();
  const path = route.filter === "all" ? "#/" : `#/${route.filter}`;
  return query ? `${path}?${query}` : path;
}

/** The first page of the listing that shows a view. */
export function listingUrl(route, limit) {
  const params = new URLSearchParams();
  if (route.filter !== "all") params.set("completed", String(route.filter === "completed"));
  if (route.q) params.set("q", route.q);
  params.set("sort", route.sort);
  params.set("limit", String(limit));
  return `/api/todo?${params}`;
}

/** Whether the listing of `route` includes `todo` (as the service decides). */
export function matches(route, todo) {
  if (route.filter === "active" && todo.completed) return false;
  if (route.filter === "completed" && !todo.completed) return false;
  return !route.q || todo.title.toLowerCase().includes(route.q.toLowerCase());
}

/** Microseconds since the epoch of an RFC 3339 UTC timestamp. */
export function micros(timestamp) {
  const fraction = /\.(\d+)/.exec(timestamp)?.[1] ?? "";
  const whole = Date.parse(timestamp.replace(/\.\d+/, ""));
  return whole * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}

/** The listing's order for `sort`: ties by id in the same direction, no
 *  due date last either way. */
export function comparator(sort) {
  const descending = sort.startsWith("-");
  const field = sort.replace(/^-/, "");
  const sign = descending ? -1 : 1;
  const key = {
    created_at: (todo) => micros(todo.created_at),
    priority: (todo) => todo.priority,
    due_date: (todo) => (todo.due_date === null ? null : micros(todo.due_date)),
  }[field];
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null || kb === null) {
      if (ka !== kb) return ka === null ? 1 : -1;
    } else if (ka !== kb) {
      return sign * (ka < kb ? -1 : 1);
    }
    return sign * (a.id - b.id);
  };
}
