// The live change feed: Server-Sent Events from /v1/events/stream, read with fetch().
//
// EventSource cannot send an Authorization header, so the stream is read from a
// fetch() body instead; that works with and without tokens. The stream starts at
// the feed's current head (found with a few cheap reads of /v1/events), resumes
// after the last event it saw when it reconnects, and after every (re)connection
// tells its listeners so, so that a view can catch up on what it may have missed.

import { ApiError, authHeaders, getJson, refusal } from "./api.js";

const RETRY_MILLISECONDS = 1000;
const listeners = new Set();
let position = null;
let running = false;
let statusElement = null;

/** Call ``listener(item)`` for every feed item, and ``listener({type: "connected"})``. */
export function onFeedEvent(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Start following the feed (once; again after it stopped for a missing token). */
export function startFeed(element) {
  statusElement = element || statusElement;
  if (running) return;
  running = true;
  follow();
}

function setStatus(state, text) {
  document.body.dataset.feed = state;
  if (statusElement) statusElement.textContent = text;
}

async function follow() {
  while (running) {
    try {
      if (position === null) position = await feedHead();
      await consume();
      setStatus("closed", "Live updates ended; reconnecting…");
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        running = false;
        setStatus("off", "Live updates off (no access).");
        return;
      }
      setStatus("retrying", "Live updates interrupted; retrying…");
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MILLISECONDS));
  }
}

/**
 * The position of the newest event: the least ``p`` with nothing after it.
 *
 * Whether anything follows ``p`` only ever changes from yes to no as ``p`` grows,
 * so a doubling search, then halving, finds it in about 2·log2(head) reads of
 * one item each, however long the feed (a read of one item also tells where the
 * next event is, which skips ahead).
 */
async function feedHead() {
  const firstAfter = async (after) => {
    const page = await getJson(`/v1/events?after=${after}&limit=1`);
    return page.items.length ? page.items[0].position : null;
  };
  let known = await firstAfter(0); // a position that exists
  if (known === null) return 0;
  let bound = null; // a position with nothing after it
  for (let probe = known; bound === null;) {
    const next = await firstAfter(probe);
    if (next === null) bound = probe;
    else [known, probe] = [next, next * 2];
  }
  while (known < bound) {
    const middle = Math.floor((known + bound) / 2);
    const next = await firstAfter(middle);
    if (next === null) bound = middle;
    else known = next; // never past bound: nothing follows bound
  }
  return known;
}

async function consume() {
  const response = await fetch(`/v1/events/stream?after=${position}`, {
    headers: authHeaders({ Accept: "text/event-stream" }),
    cache: "no-store",
  });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw refusal(response, problem);
  }
  setStatus("live", "Live updates on.");
  dispatch({ type: "connected" });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      handleBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
    }
  }
}

function handleBlock(block) {
  const data = [];
  let id = null;
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (!data.length) return;
  const item = JSON.parse(data.join("\n"));
  if (id !== null) position = Number(id);
  dispatch(item);
}

function dispatch(item) {
  for (const listener of listeners) {
    try {
      listener(item);
    } catch (error) {
      console.warn("a live-update listener failed", error);
    }
  }
}
