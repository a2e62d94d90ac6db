// The "mid-air collision" panel: a 412 shows what others changed beside the unsaved edits.

import { describeError } from "./api.js";
import { changesTable, eventFacts } from "./changes-table.js";
import { h, replaceChildren } from "./dom.js";
import { eventLabel, fieldLabel, valueElement } from "./fields.js";
import { changesAfter } from "./stream-history.js";

/**
 * Show, in ``area``, what was written since ``loaded`` (from the 412's ``changesSince``,
 * or read from the history) and the user's ``changes``, with the two ways on.
 */
export async function showConflict(area, { id, loaded, changes, problem, reapply, discard }) {
  const others = h("div", { class: "others" }, h("p", {}, "Reading what changed…"));
  const reapplyButton = h("button", { type: "button" }, "Re-apply my edits");
  const discardButton = h("button", { type: "button", class: "secondary" }, "Discard my edits");
  const failure = h("p", { class: "error", role: "alert" });
  const act = (action) => async () => {
    reapplyButton.disabled = discardButton.disabled = true;
    try {
      await action(changes);
    } catch (error) {
      failure.textContent = describeError(error);
      reapplyButton.disabled = discardButton.disabled = false;
    }
  };
  reapplyButton.addEventListener("click", act(reapply));
  discardButton.addEventListener("click", act(discard));
  const now = problem.currentVersion ? ` It is now at version ${problem.currentVersion}.` : "";
  replaceChildren(
    area,
    h(
      "section",
      { class: "conflict", "aria-labelledby": "conflict-heading" },
      h("h3", { id: "conflict-heading" }, "Someone else changed this shipment"),
      h(
        "p",
        { role: "alert" },
        `Not saved: your edits are based on version ${loaded.version}, and others saved since (412 Precondition Failed).${now} Nothing was overwritten.`,
      ),
      h(
        "div",
        { class: "conflict-columns" },
        h("div", {}, h("h4", {}, `What others changed since version ${loaded.version}`), others),
        h("div", {}, h("h4", {}, "Your unsaved edits"), yourEdits(loaded, changes)),
      ),
      h("div", { class: "actions" }, reapplyButton, discardButton),
      failure,
    ),
  );
  reapplyButton.focus();
  try {
    const items = await writtenSince(id, loaded.version, problem);
    const yours = Object.keys(changes);
    replaceChildren(
      others,
      items.length
        ? h(
            "ol",
            { class: "their-changes" },
            items.map((item) =>
              h(
                "li",
                { "data-version": item.version },
                h("p", {}, h("strong", {}, `Version ${item.version}`), ` ${eventLabel(item.type)}`),
                eventFacts(item),
                changesTable(item.changes, { highlight: yours }),
              ),
            ),
          )
        : h("p", {}, "No change was found after your version."),
      overlapNote(items, yours),
    );
  } catch (error) {
    replaceChildren(
      others,
      h("p", { class: "error" }, `Could not read the changes: ${describeError(error)}`),
    );
  }
}

async function writtenSince(id, version, problem) {
  if (!Array.isArray(problem.changesSince)) return changesAfter(id, version);
  const items = [...problem.changesSince];
  if (problem.changesSinceComplete === false && items.length) {
    items.push(...(await changesAfter(id, items[items.length - 1].version)));
  }
  return items;
}

function overlapNote(items, yours) {
  const theirs = new Set(items.flatMap((item) => Object.keys(item.changes || {})));
  const both = yours.filter((name) => theirs.has(name));
  if (!both.length) return h("p", { class: "hint" }, "None of the fields you edited was changed by others.");
  return h(
    "p",
    { class: "overlap-note" },
    `Changed by others as well as by you: ${both.join(", ")}. Re-applying puts your value over theirs.`,
  );
}

function yourEdits(loaded, changes) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "changes yours" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, `Version ${loaded.version}`),
          h("th", { scope: "col" }, "Your value"),
        ),
      ),
      h(
        "tbody",
        {},
        Object.entries(changes).map(([name, value]) =>
          h(
            "tr",
            { "data-field": name },
            h("th", { scope: "row" }, h("code", { title: fieldLabel(name) }, name)),
            h("td", {}, valueElement(loaded[name])),
            h("td", {}, valueElement(value)),
          ),
        ),
      ),
    ),
  );
}
