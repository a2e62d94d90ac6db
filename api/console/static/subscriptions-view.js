// The subscriptions page (admin): status, lag, last error and latest attempts of each
// subscription, with re-enable and rewind. Reads and writes only /v1/subscriptions.

import { describeError, getJson, request } from "./api.js";
import { h, replaceChildren, timeElement } from "./dom.js";

function subscriptionPath(id) {
  return `/v1/subscriptions/${encodeURIComponent(id)}`;
}

/** Send a merge patch to one subscription; resolves to the changed subscription. */
async function change(id, members) {
  const answer = await request(subscriptionPath(id), {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify(members),
  });
  return answer.body;
}

/** The latest attempts of one subscription, as a small table. */
async function attemptsTable(id) {
  const { items } = await getJson(`${subscriptionPath(id)}/deliveries?limit=10`);
  if (items.length === 0) return h("p", { class: "none" }, "No attempts yet.");
  return h(
    "table",
    { class: "attempts" },
    h(
      "thead",
      {},
      h("tr", {}, ["Position", "Attempt", "Status", "Error", "ms", "At"].map((t) => h("th", {}, t))),
    ),
    h(
      "tbody",
      {},
      items.map((attempt) =>
        h(
          "tr",
          {},
          h("td", {}, String(attempt.position)),
          h("td", {}, String(attempt.attempt)),
          h("td", {}, attempt.status === null ? "—" : String(attempt.status)),
          h("td", {}, attempt.error || "—"),
          h("td", {}, attempt.durationMs.toFixed(1)),
          h("td", {}, timeElement(attempt.at)),
        ),
      ),
    ),
  );
}

/** One subscription's row, with its actions. */
function subscriptionRow(subscription, reload, say) {
  const details = h("div", { class: "attempts-wrap" });
  const rewindInput = h("input", {
    type: "number",
    min: "0",
    value: String(subscription.position),
    "aria-label": `Rewind ${subscription.url} to position`,
  });
  const act = async (members, done) => {
    try {
      await change(subscription.id, members);
      say(done);
      reload();
    } catch (error) {
      say(describeError(error));
    }
  };
  return h(
    "tr",
    { dataset: { id: subscription.id }, class: `status-${subscription.status}` },
    h("td", {}, subscription.url, subscription.description ? h("div", { class: "hint" }, subscription.description) : null),
    h("td", { class: "status" }, subscription.status),
    h("td", {}, String(subscription.position)),
    h("td", { class: "lag" }, String(subscription.lag)),
    h("td", {}, subscription.lastError || "—", h("div", {}, timeElement(subscription.lastAttemptAt))),
    h(
      "td",
      { class: "actions" },
      subscription.status === "active"
        ? null
        : h(
            "button",
            { type: "button", onclick: () => act({ status: "active" }, "Re-enabled.") },
            "Re-enable",
          ),
      h(
        "form",
        {
          class: "rewind",
          onsubmit: (event) => {
            event.preventDefault();
            act({ position: Number(rewindInput.value) }, `Moved to position ${rewindInput.value}.`);
          },
        },
        rewindInput,
        h("button", { type: "submit" }, "Rewind"),
      ),
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            try {
              replaceChildren(details, await attemptsTable(subscription.id));
            } catch (error) {
              replaceChildren(details, h("p", { role: "alert" }, describeError(error)));
            }
          },
        },
        "Latest attempts",
      ),
      details,
    ),
  );
}

/** Render the page into ``main``; returns the view (disposed when another is shown). */
export function renderSubscriptions(main) {
  document.title = "Subscriptions · Shipment console";
  const status = h("p", { class: "list-status", "aria-live": "polite" });
  const body = h("tbody");
  const say = (text) => replaceChildren(status, text);

  async function load() {
    try {
      const { items } = await getJson("/v1/subscriptions");
      replaceChildren(body, items.map((item) => subscriptionRow(item, load, say)));
      if (items.length === 0) say("No subscriptions. Add one with POST /v1/subscriptions or `shipments subscriptions add`.");
    } catch (error) {
      say(describeError(error));
    }
  }

  replaceChildren(
    main,
    h("h1", {}, "Subscriptions"),
    h("button", { type: "button", onclick: () => load() }, "Refresh"),
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "subscription-list" },
        h(
          "thead",
          {},
          h("tr", {}, ["URL", "Status", "Position", "Lag", "Last error", ""].map((t) => h("th", {}, t))),
        ),
        body,
      ),
    ),
  );
  load();
  return { dispose() {} };
}
