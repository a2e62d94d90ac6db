// The timeline of one stream: every version, its event, who and what, newest or oldest first.

import { h, link, replaceChildren } from "./dom.js";
import { changesTable, eventFacts } from "./changes-table.js";
import { eventLabel } from "./fields.js";

const ORDER_KEY = "shipments-console.timeline-order";

/** The timeline section; ``render()`` draws it again from ``history``. */
export function timelineSection(shipmentId, history, { onLoadEarlier }) {
  let order = sessionStorage.getItem(ORDER_KEY) || "newest";
  const list = h("ol", { class: "timeline", "aria-labelledby": "timeline-heading" });
  const earlier = h("div", { class: "earlier" });
  const choice = (value, label) =>
    h(
      "label",
      { class: "radio" },
      h("input", {
        type: "radio",
        name: "timeline-order",
        value,
        checked: order === value,
        onchange: () => {
          order = value;
          sessionStorage.setItem(ORDER_KEY, order);
          render();
        },
      }),
      label,
    );
  const section = h(
    "section",
    { class: "timeline-section", "aria-labelledby": "timeline-heading" },
    h("h2", { id: "timeline-heading" }, "Timeline"),
    h(
      "fieldset",
      { class: "order" },
      h("legend", {}, "Order"),
      choice("newest", "Newest first"),
      choice("oldest", "Oldest first"),
    ),
    list,
    earlier,
  );

  function render() {
    const items = history.itemsAfter(history.lowest - 1);
    if (order === "newest") items.reverse();
    replaceChildren(
      list,
      items.map((item) => entry(shipmentId, item)),
    );
    list.reversed = order === "newest";
    replaceChildren(
      earlier,
      history.hasEarlier
        ? h(
            "button",
            { type: "button", class: "secondary", onclick: onLoadEarlier },
            `Show versions before ${history.lowest}`,
          )
        : null,
    );
    section.dataset.versions = String(items.length);
  }

  return { element: section, render };
}

function entry(shipmentId, item) {
  const headingId = `timeline-v${item.version}`;
  return h(
    "li",
    { class: "timeline-entry", "data-version": item.version, value: item.version },
    h(
      "article",
      { "aria-labelledby": headingId },
      h(
        "h3",
        { id: headingId },
        link(`/ui/shipments/${shipmentId}?version=${item.version}`, `Version ${item.version}`),
        " ",
        h("span", { class: `event-type event-${item.type}`, "data-type": item.type }, eventLabel(item.type)),
      ),
      eventFacts(item),
      item.type === "PersonalDataErased"
        ? h(
            "p",
            { class: "erasure-note" },
            `Personal data erased on ${new Date(item.recordedAt).toLocaleString()} by ${item.actor ?? "unknown"}: `,
            "the addresses (but their state) and remarks of every earlier version are gone.",
          )
        : null,
      changesTable(item.changes),
    ),
  );
}
