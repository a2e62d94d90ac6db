// A shipment's fields as a table, with the fields a step changed (or that differ) marked.

import { h } from "./dom.js";
import { ALL_FIELDS, valueElement } from "./fields.js";

/** One row per field of ``shipment``; rows named in ``marked`` carry ``markLabel``. */
export function stateTable(shipment, { caption, marked = [], markLabel = "changed" } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "state" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Value"))),
      h(
        "tbody",
        {},
        ALL_FIELDS.map(([name, label]) => {
          const isMarked = marked.includes(name);
          return h(
            "tr",
            { "data-field": name, class: isMarked ? "marked" : null },
            h("th", { scope: "row" }, label, " ", h("code", { class: "api-name" }, name)),
            h(
              "td",
              {},
              valueElement(shipment[name]),
              isMarked ? h("span", { class: "mark-label" }, ` ${markLabel}`) : null,
            ),
          );
        }),
      ),
    ),
  );
}

/** Two versions side by side; rows whose values differ are marked "differs". */
export function comparisonTable(left, right, differing) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "comparison" },
      h("caption", {}, `Version ${left.version} and version ${right.version}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, `Version ${left.version}`),
          h("th", { scope: "col" }, `Version ${right.version}`),
        ),
      ),
      h(
        "tbody",
        {},
        ALL_FIELDS.filter(([name]) => !["eTag", "version"].includes(name)).map(([name, label]) => {
          const differs = differing.includes(name);
          return h(
            "tr",
            { "data-field": name, class: differs ? "marked" : null },
            h(
              "th",
              { scope: "row" },
              label,
              " ",
              h("code", { class: "api-name" }, name),
              differs ? h("span", { class: "mark-label" }, " differs") : null,
            ),
            h("td", {}, valueElement(left[name])),
            h("td", {}, valueElement(right[name])),
          );
        }),
      ),
    ),
  );
}
