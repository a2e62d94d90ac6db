// The controls that move through a stream: go to a version, to an instant, compare two.

import { h, replaceChildren } from "./dom.js";

/** The "Travel in time" section; handlers do the reading and showing. */
export function timeTravelSection({ onShowVersion, onShowAsOf, onCompare }) {
  const versionInput = h("input", {
    id: "travel-version",
    name: "version",
    type: "number",
    min: 1,
    step: 1,
    inputmode: "numeric",
    required: true,
  });
  const instantInput = h("input", {
    id: "travel-instant",
    name: "asOf",
    type: "text",
    placeholder: "2026-05-01T12:00:00Z",
    "aria-describedby": "travel-instant-hint",
    list: "travel-instants",
    required: true,
  });
  const leftInput = h("input", {
    id: "compare-left",
    name: "left",
    type: "number",
    min: 1,
    step: 1,
    inputmode: "numeric",
    required: true,
  });
  const rightInput = h("input", {
    id: "compare-right",
    name: "right",
    type: "number",
    min: 1,
    step: 1,
    inputmode: "numeric",
    required: true,
  });
  const comparison = h("div", { class: "comparison-result", "aria-live": "polite" });
  const instants = h("datalist", { id: "travel-instants" });

  const submitted = (handler) => (event) => {
    event.preventDefault();
    handler();
  };
  const section = h(
    "section",
    { class: "travel-section", "aria-labelledby": "travel-heading" },
    h("h2", { id: "travel-heading" }, "Travel in time"),
    h(
      "form",
      { class: "inline-form", onsubmit: submitted(() => onShowVersion(Number(versionInput.value))) },
      field("Version", versionInput),
      h("button", { type: "submit" }, "Show version"),
    ),
    h(
      "form",
      { class: "inline-form", onsubmit: submitted(() => onShowAsOf(instantInput.value.trim())) },
      field("Instant", instantInput),
      instants,
      h("button", { type: "submit" }, "Show as of"),
      h(
        "p",
        { id: "travel-instant-hint", class: "hint" },
        "RFC 3339, e.g. 2026-05-01T12:00:00Z (without a zone: your local time); the versions' own instants are offered.",
      ),
    ),
    h("h3", {}, "Compare two versions"),
    h(
      "form",
      {
        class: "inline-form",
        onsubmit: submitted(() => onCompare(Number(leftInput.value), Number(rightInput.value))),
      },
      field("Compare version", leftInput),
      field("with version", rightInput),
      h("button", { type: "submit" }, "Compare"),
    ),
    comparison,
  );
  return {
    element: section,
    /** Put ``content`` (a table, an error) where the comparison goes; fill the inputs. */
    showComparison(left, right, ...content) {
      leftInput.value = left;
      rightInput.value = right;
      replaceChildren(comparison, ...content);
    },
    /** Keep the inputs' bounds at the stream's length. */
    /** Offer the instants the stream's versions were recorded at. */
    setInstants(items) {
      replaceChildren(
        instants,
        items.map((item) => h("option", { value: item.recordedAt }, `version ${item.version}`)),
      );
    },
    setLatest(version) {
      for (const input of [versionInput, leftInput, rightInput]) input.max = version;
    },
  };
}

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

/** An instant as typed → RFC 3339 (a value without a zone is read as local time). */
export function instantFromInput(text) {
  if (/([zZ]|[+-]\d\d:\d\d)$/.test(text)) return text;
  const date = new Date(text);
  return Number.isNaN(date.valueOf()) ? text : date.toISOString();
}
