// One shipment's stream as /v1/shipments/{id}/history gives it, loaded a window at a time.

import { getJson, shipmentPath } from "./api.js";

const WINDOW = 100; // versions read when the page opens, and per "earlier versions"
const PAGE_LIMIT = 100;

/** The history items of one stream that have been read so far, by version. */
export class StreamHistory {
  constructor(shipmentId) {
    this.path = `${shipmentPath(shipmentId)}/history`;
    this.items = new Map();
    this.lowest = 1; // the oldest version read (or to read)
    this.highest = 0; // the newest version read
  }

  /** The most recent versions up to the end of the stream (``current`` is the newest known). */
  async loadRecent(current) {
    this.lowest = Math.max(1, current - WINDOW + 1);
    await this.pages(this.lowest - 1, null);
  }

  /** Everything written after the newest version read (following ``nextAfter``). */
  async catchUp() {
    await this.pages(this.highest, null);
  }

  /** The window of versions just before the oldest one read. */
  async loadEarlier() {
    const before = this.lowest;
    this.lowest = Math.max(1, before - WINDOW);
    await this.pages(this.lowest - 1, before - 1);
  }

  /** Whether versions older than those read exist. */
  get hasEarlier() {
    return this.lowest > 1;
  }

  /** The item of one version, read on demand. */
  async item(version) {
    if (!this.items.has(version)) await this.pages(version - 1, version);
    return this.items.get(version);
  }

  /** The items read after version ``after``, oldest first. */
  itemsAfter(after) {
    return [...this.items.values()]
      .filter((item) => item.version > after)
      .sort((a, b) => a.version - b.version);
  }

  async pages(after, upTo) {
    let next = after;
    while (next !== null && (upTo === null || next < upTo)) {
      const limit = upTo === null ? PAGE_LIMIT : Math.min(PAGE_LIMIT, upTo - next);
      const page = await getJson(`${this.path}?after=${next}&limit=${limit}`);
      for (const item of page.items) {
        this.items.set(item.version, item);
        this.highest = Math.max(this.highest, item.version);
      }
      next = page.items.length ? page.nextAfter : null;
    }
  }
}

/** History items after ``after``, oldest first, paging through ``nextAfter`` to the end. */
export async function changesAfter(shipmentId, after) {
  const history = new StreamHistory(shipmentId);
  await history.pages(after, null);
  return history.itemsAfter(after);
}
