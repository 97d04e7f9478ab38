// Calls to the service's API: the signed-in user's token on every call,
// and writes retried until they get an answer they can trust. A create
// carries an Idempotency-Key that stays the same across its retries, so a
// retry after a lost answer never makes a second todo.

/** Statuses after which the same request may simply be sent again. */
const RETRYABLE = new Set([408, 409, 429, 502, 503, 504]);
/** Waits before the retries of one request, in milliseconds. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000];
/** How long one attempt may take before it is abandoned and retried. */
const ATTEMPT_TIMEOUT_MS = 15000;

/** The response of a call: status, parsed body (or null), headers. */
export class Reply {
  constructor(status, body, headers) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
}

/** The service refused the token: the person has to sign in again. */
export class SignedOut extends Error {}

/** A request that got no trustworthy answer after every retry. */
export class Unreachable extends Error {}

/** A fresh random key, also where `crypto.randomUUID` is missing (pages
 *  not served over HTTPS or from localhost). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Api {
  /**
   * @param {() => string | null} token the current bearer token, if any
   * @param {(state: "retrying" | "ok") => void} onRetry told when a write
   *   waits for the service and when it got through
   */
  constructor(token, onRetry = () => {}) {
    this.token = token;
    this.onRetry = onRetry;
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  /** One attempt; a network failure or timeout throws. */
  async once(method, url, { body, headers = {} } = {}) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ATTEMPT_TIMEOUT_MS);
    try {
      const init = { method, headers: this.headers(headers), signal: abort.signal, cache: "no-store" };
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers["Content-Type"] = "application/json";
      }
      const response = await fetch(url, init);
      const text = await response.text();
      let parsed = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = null;
        }
      }
      if (response.status === 401) throw new SignedOut(detailOf(parsed) ?? "signed out");
      return new Reply(response.status, parsed, response.headers);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends until the answer is final: network failures, timeouts and the
   * statuses in RETRYABLE are retried (after `Retry-After` when given).
   * `retried` tells the caller whether an earlier attempt may have been
   * applied.
   */
  async send(method, url, options = {}) {
    let lastProblem = "no answer";
    for (let attempt = 0; ; attempt++) {
      let reply = null;
      try {
        reply = await this.once(method, url, options);
      } catch (error) {
        if (error instanceof SignedOut) throw error;
        lastProblem = "the service cannot be reached";
      }
      if (reply && !RETRYABLE.has(reply.status)) {
        if (attempt > 0) this.onRetry("ok");
        reply.retried = attempt > 0;
        return reply;
      }
      if (reply) lastProblem = detailOf(reply.body) ?? `status ${reply.status}`;
      if (attempt >= BACKOFF_MS.length) {
        this.onRetry("ok");
        throw new Unreachable(lastProblem);
      }
      this.onRetry("retrying");
      await sleep(waitBefore(reply, BACKOFF_MS[attempt]));
    }
  }

  me() {
    return this.send("GET", "/api/me");
  }

  get(id) {
    return this.send("GET", `/api/todo/${id}`);
  }

  /** A page of a listing: `url` is a first-page query or a `Link` target. */
  async page(url) {
    const reply = await this.send("GET", url);
    if (!reply.ok) throw new Unreachable(detailOf(reply.body) ?? `status ${reply.status}`);
    return { todos: reply.body, next: nextLink(reply.headers.get("Link")) };
  }

  create(todo) {
    return this.send("POST", "/api/todo", {
      body: todo,
      headers: { "Idempotency-Key": newIdempotencyKey() },
    });
  }

  update(id, changes, etag) {
    const headers = etag ? { "If-Match": etag } : {};
    return this.send("PATCH", `/api/todo/${id}`, { body: changes, headers });
  }

  updateMany(changes) {
    return this.send("PATCH", "/api/todo/bulk", { body: changes });
  }

  remove(id) {
    return this.send("DELETE", `/api/todo/${id}`);
  }

  removeCompleted() {
    return this.send("DELETE", "/api/todo?completed=true");
  }
}

/** The `detail` of an error body, as text. */
export function detailOf(body) {
  if (!body || body.detail === undefined) return null;
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail)) return body.detail.map((fault) => fault.msg).join("; ");
  return null;
}

/** The target of `rel="next"` in a `Link` header (RFC 8288), if any. */
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (match && /(^|;)\s*rel="?next"?\s*(;|$)/.test(match[2])) return match[1];
  }
  return null;
}

function waitBefore(reply, fallback) {
  const seconds = Number(reply?.headers.get("Retry-After"));
  if (Number.isFinite(seconds) && seconds > 0) return Math.min(seconds * 1000, 30000);
  return fallback;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
