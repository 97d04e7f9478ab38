// The live part: `/api/todo/events` read through `fetch` (an EventSource
// cannot send the bearer token), resumed with the last event id after any
// drop, so that no change is missed or seen twice.

/** No byte for this long (heartbeats come every 15 s): the connection is dead. */
const SILENCE_MS = 45000;
/** Waits before reconnecting, growing up to the last one. */
const RECONNECT_MS = [250, 1000, 2000, 5000, 10000];

/** Splits an event stream into events (the WHATWG server-sent events rules). */
import { SignedOut } from "./api.js";

export class EventParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.type = "";
    this.data = [];
    this.id = null;
  }

  /** Feeds text; returns the events it completed, as {type, data, id}. */
  push(text) {
    this.buffer += text;
    const events = [];
    let end;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the text so far may be half of a CRLF: wait for more.
      if (end === this.buffer.length - 1 && this.buffer[end] === "\r") break;
      const line = this.buffer.slice(0, end);
      const newline = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      this.buffer = this.buffer.slice(end + newline);
      if (line === "") {
        if (this.data.length > 0) {
          events.push({ type: this.type || "message", data: this.data.join("\n"), id: this.id });
        }
        this.reset();
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.type = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id" && !value.includes("\0")) this.id = value;
    }
    return events;
  }
}

export class ChangeFeed {
  /**
   * @param {object} hooks
   * @param {() => Record<string,string>} hooks.headers the API's headers (token)
   * @param {(resumed: boolean) => Promise<void>} hooks.opened the stream is
   *   open; `resumed` is false when it could not continue from the last
   *   event seen, and the caller must load its copy again
   * @param {(event: {type: string, data: any}) => void} hooks.change a change
   * @param {(state: "live" | "reconnecting") => void} hooks.state
   * @param {() => void} hooks.signedOut the token was refused
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.lastEventId = null;
    this.running = false;
    this.abort = null;
    this.wake = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
    window.addEventListener("online", () => this.reconnectNow());
  }

  stop() {
    this.running = false;
    this.abort?.abort();
  }

  /** Drops the current connection (if any) and reconnects at once. */
  reconnectNow() {
    this.abort?.abort();
    this.wake?.();
  }

  async loop() {
    let failures = 0;
    while (this.running) {
      const connected = await this.connectOnce();
      if (!this.running) return;
      failures = connected ? 0 : failures + 1;
      this.hooks.state("reconnecting");
      const wait = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)];
      await new Promise((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, wait * (0.75 + Math.random() / 2));
      });
      this.wake = null;
    }
  }

  /** One connection, until it ends; true when it got as far as streaming. */
  async connectOnce() {
    const abort = new AbortController();
    this.abort = abort;
    let silence = setTimeout(() => abort.abort(), SILENCE_MS);
    let streamed = false;
    try {
      const headers = { ...this.hooks.headers(), Accept: "text/event-stream" };
      if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
      const response = await fetch("/api/todo/events", { headers, signal: abort.signal, cache: "no-store" });
      if (response.status === 401) {
        this.running = false;
        this.hooks.signedOut();
        return false;
      }
      if (response.status === 410) {
        // The changes since the last event are no longer kept: start over.
        this.lastEventId = null;
        return false;
      }
      if (!response.ok || !response.body) return false;
      await this.hooks.opened(this.lastEventId !== null);
      streamed = true;
      this.hooks.state("live");
      const parser = new EventParser();
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return streamed;
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENCE_MS);
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          let data;
          try {
            data = JSON.parse(event.data);
          } catch {
            continue;
          }
          this.hooks.change({ type: event.type, data });
          if (event.id !== null) this.lastEventId = event.id;
        }
      }
    } catch (error) {
      if (error instanceof SignedOut) {
        this.running = false;
        this.hooks.signedOut();
      }
      return streamed;
    } finally {
      clearTimeout(silence);
      if (this.abort === abort) this.abort = null;
    }
  }
}
