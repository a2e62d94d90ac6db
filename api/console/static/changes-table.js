// What one event changed, as a table of API field names with their values before and after.

import { h, timeElement } from "./dom.js";
import { fieldLabel, valueElement } from "./fields.js";

/** A table of ``changes`` ({field: {from, to}}), one row per field. */
export function changesTable(changes, { caption, highlight = [] } = {}) {
  const names = Object.keys(changes || {});
  if (!names.length) return h("p", { class: "hint" }, "No field changed.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "changes" },
      caption ? h("caption", {}, caption) : null,
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, "From"),
          h("th", { scope: "col" }, "To"),
        ),
      ),
      h(
        "tbody",
        {},
        names.map((name) =>
          h(
            "tr",
            { "data-field": name, class: highlight.includes(name) ? "overlap" : null },
            h("th", { scope: "row" }, fieldLabel(name), " ", h("code", { class: "api-name" }, name)),
            h("td", { class: "from" }, changeValue(changes[name], "from")),
            h("td", { class: "to" }, changeValue(changes[name], "to")),
          ),
        ),
      ),
    ),
  );
}

/** One side of a change: its value, or "erased" when the personal data was erased since. */
function changeValue(change, side) {
  return change.erased ? h("span", { class: "none erased" }, "erased") : valueElement(change[side]);
}

/** "by writer-1 · request abc-123" facts of one history item, as a description list. */
export function eventFacts(item) {
  return h(
    "dl",
    { class: "facts" },
    h("div", {}, h("dt", {}, "Recorded"), h("dd", {}, timeElement(item.recordedAt))),
    h("div", {}, h("dt", {}, "Actor"), h("dd", { class: "actor" }, item.actor ?? "unknown")),
    h(
      "div",
      {},
      h("dt", {}, "Request id"),
      h("dd", {}, h("code", { class: "request-id" }, item.requestId ?? "none")),
    ),
  );
}
