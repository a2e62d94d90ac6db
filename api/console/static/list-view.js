// /ui/: the list of shipments (GET /v1/shipments): filters, sort, cursor pages, live rows.

import { describeError, getJson, query, shipmentPath } from "./api.js";
import { h, link, replaceChildren, timeElement } from "./dom.js";
import { onFeedEvent } from "./feed.js";
import { SHIPMENT_TYPES, STATUSES, formatValue } from "./fields.js";
import { recordLocation } from "./router.js";
import { fromLocalInput, toLocalInput } from "./time-inputs.js";

const PAGE_SIZE = 25;
const FILTERS = [
  "status",
  "shipmentType",
  "destinationState",
  "deliveryDateFrom",
  "deliveryDateTo",
  "updatedSince",
  "sort",
];
const REFRESH_DELAY_MILLISECONDS = 200;

/** Render the list into ``main``; returns the view (``dispose`` stops its live updates). */
export function renderList(main, params) {
  document.title = "Shipments · Shipment console";
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));
  const cursors = [null]; // the cursor of each page shown so far: Previous pops one
  const changed = new Set();
  let refreshTimer = null;

  const status = h("p", { class: "list-status", "aria-live": "polite" });
  const body = h("tbody");
  const previous = h("button", { type: "button", onclick: () => turn(-1) }, "Previous page");
  const next = h("button", { type: "button", onclick: () => turn(1) }, "Next page");
  let nextCursor = null;

  const form = filterForm(filters, (chosen) => {
    Object.assign(filters, chosen);
    recordLocation(`/ui/${query(filters)}`, { replace: true });
    cursors.length = 1;
    load();
  });

  replaceChildren(
    main,
    h("h1", {}, "Shipments"),
    form,
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "shipment-list" },
        h("caption", { class: "visually-hidden" }, "Shipments, one per row"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "Shipment",
              "Type",
              "Status",
              "Delivery date",
              "Destination",
              "Weight (lbs)",
              "Version",
              "Updated",
            ].map((title) => h("th", { scope: "col" }, title)),
          ),
        ),
        body,
      ),
    ),
    h("nav", { class: "pager", "aria-label": "Pages of shipments" }, previous, next),
  );

  let latestLoad = 0;
  async function load() {
    const ticket = ++latestLoad;
    status.textContent = "Loading…";
    try {
      const page = await getJson(
        `/v1/shipments${query({ ...filters, limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] })}`,
      );
      if (ticket !== latestLoad) return; // a later load answers instead
      nextCursor = page.nextCursor;
      replaceChildren(
        body,
        page.items.map((item) => row(item, changed.has(item.id))),
      );
      const where = cursors.length === 1 ? "first page" : `page ${cursors.length}`;
      status.textContent = page.items.length
        ? `${page.items.length} shipment${page.items.length === 1 ? "" : "s"} on the ${where}.`
        : "No shipment matches these filters.";
    } catch (error) {
      if (ticket !== latestLoad) return;
      nextCursor = null;
      replaceChildren(body);
      status.textContent = describeError(error);
    }
    previous.disabled = cursors.length === 1;
    next.disabled = !nextCursor;
  }

  function turn(direction) {
    if (direction > 0 && nextCursor) cursors.push(nextCursor);
    if (direction < 0 && cursors.length > 1) cursors.pop();
    load();
  }

  // Live: the first page is read again (a changed shipment may move or newly match);
  // on a later page, a row that is shown is brought up to date in place.
  // On (re)connection the first page is read again too: writes made before the feed
  // was followed are then shown as well.
  const stopFollowing = onFeedEvent(async (item) => {
    if (item.type !== "connected") changed.add(item.shipmentId);
    if (cursors.length === 1) {
      // At most one read per interval, however fast the writes come.
      refreshTimer ??= setTimeout(() => {
        refreshTimer = null;
        load();
      }, REFRESH_DELAY_MILLISECONDS);
      return;
    }
    if (item.type === "connected") return;
    const shown = body.querySelector(`tr[data-id="${CSS.escape(item.shipmentId)}"]`);
    if (!shown) return;
    try {
      shown.replaceWith(row(await getJson(shipmentPath(item.shipmentId)), true));
    } catch {
      // It stays as it was; the next page load shows it as it is.
    }
  });

  load();
  return {
    dispose() {
      stopFollowing();
      clearTimeout(refreshTimer);
    },
  };
}

function row(shipment, recentlyChanged) {
  const cell = (label, ...content) => h("td", { "data-label": label }, ...content);
  return h(
    "tr",
    { "data-id": shipment.id, class: recentlyChanged ? "just-changed" : null },
    h(
      "th",
      { scope: "row", "data-label": "Shipment" },
      link(`/ui/shipments/${shipment.id}`, h("code", {}, shipment.id)),
    ),
    cell("Type", shipment.shipmentType),
    cell("Status", h("span", { class: `badge status-${shipment.status}` }, shipment.status)),
    cell("Delivery date", shipment.deliveryDate || "—"),
    cell("Destination", formatValue(shipment.destinationAddress) || "—"),
    cell("Weight (lbs)", shipment.weightLbs ?? "—"),
    cell("Version", String(shipment.version)),
    cell("Updated", timeElement(shipment.updatedAt)),
  );
}

function filterForm(filters, apply) {
  const choice = (name, label, options) =>
    field(
      label,
      h(
        "select",
        { id: `filter-${name}`, name },
        options.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)),
      ),
    );
  const input = (name, label, attributes) =>
    field(label, h("input", { id: `filter-${name}`, name, value: filters[name], ...attributes }));
  const field = (label, control) =>
    h("div", { class: "field" }, h("label", { for: control.id }, label), control);

  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter and sort shipments" },
    choice("status", "Status", [["", "Any"], ...STATUSES.map((s) => [s, s])]),
    choice("shipmentType", "Shipment type", [["", "Any"], ...SHIPMENT_TYPES.map((t) => [t, t])]),
    input("destinationState", "Destination state", { maxlength: 2, size: 3, autocapitalize: "characters" }),
    input("deliveryDateFrom", "Delivery from", { type: "date" }),
    input("deliveryDateTo", "Delivery to", { type: "date" }),
    field(
      "Updated since",
      h("input", {
        id: "filter-updatedSince",
        name: "updatedSince",
        type: "datetime-local",
        step: 1,
        value: toLocalInput(filters.updatedSince),
      }),
    ),
    choice("sort", "Sort", [
      ["", "Recently updated first"],
      ["deliveryDate", "Soonest delivery first"],
    ]),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Apply"),
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            for (const control of form.elements) if (control.name) control.value = "";
            apply(chosen());
          },
        },
        "Clear",
      ),
    ),
  );
  const chosen = () => {
    const data = new FormData(form);
    const values = Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) || "").trim()]));
    values.destinationState = values.destinationState.toUpperCase();
    values.updatedSince = fromLocalInput(values.updatedSince);
    return values;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(chosen());
  });
  return form;
}
