// /ui/shipments/{id}: the current state or a past one, the timeline, time travel, editing.
//
// The URL says what is shown: nothing (the current state), ?version=N, ?asOf=<instant>,
// and ?compare=A,B for a comparison, so every view of the past can be linked to.

import { ApiError, describeError, query, request, shipmentPath } from "./api.js";
import { canErase, canWrite, currentIdentity } from "./auth.js";
import { h, link, replaceChildren, timeElement } from "./dom.js";
import { editForm } from "./edit-form.js";
import { onFeedEvent } from "./feed.js";
import { ALL_FIELDS, eventLabel, sameValue } from "./fields.js";
import { recordLocation } from "./router.js";
import { comparisonTable, stateTable } from "./state-table.js";
import { StreamHistory } from "./stream-history.js";
import { instantFromInput, timeTravelSection } from "./time-travel.js";
import { timelineSection } from "./timeline.js";

/** Render shipment ``id`` into ``main``; returns the view (``dispose`` stops its live updates). */
export function renderShipment(main, id, params) {
  document.title = `Shipment ${id} · Shipment console`;
  const path = shipmentPath(id);
  const history = new StreamHistory(id);
  const urlState = {
    version: params.get("version"),
    asOf: params.get("asOf"),
    compare: params.get("compare"),
  };
  let current = null;
  let currentEtag = null;
  let form = null;
  let backToCurrent = null;
  let refreshing = Promise.resolve();

  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const stateSection = h("section", { class: "state-section", "aria-labelledby": "state-heading" });
  const editArea = h("div", { class: "edit-area" });
  const timeline = timelineSection(id, history, {
    onLoadEarlier: () => history.loadEarlier().then(timeline.render, showProblem),
  });
  const travel = timeTravelSection({
    onShowVersion: (version) => go({ version: String(version), asOf: null }),
    onShowAsOf: (instant) => go({ version: null, asOf: instantFromInput(instant) }),
    onCompare: (left, right) => {
      urlState.compare = `${left},${right}`;
      recordLocation(here(), { replace: true });
      compare();
    },
  });

  replaceChildren(
    main,
    h(
      "nav",
      { class: "breadcrumb", "aria-label": "Breadcrumb" },
      h(
        "ol",
        {},
        h("li", {}, link("/ui/", "Shipments")),
        h("li", { "aria-current": "page" }, h("code", {}, id)),
      ),
    ),
    h("h1", {}, "Shipment ", h("code", { class: "shipment-id" }, id)),
    summary,
    h(
      "div",
      { class: "shipment-layout" },
      h("div", { class: "primary" }, stateSection, travel.element, editArea),
      timeline.element,
    ),
  );

  start();

  async function start() {
    try {
      await loadCurrent();
      await history.loadRecent(current.version);
      if (current.personalDataErasedAt) await loadCurrent(); // the note names who erased
    } catch (error) {
      const text =
        error instanceof ApiError && error.status === 404
          ? "There is no such shipment."
          : describeError(error);
      replaceChildren(
        main,
        h("h1", {}, "Shipment not shown"),
        h("p", { role: "alert", class: "error" }, text),
        link("/ui/", "Back to the list"),
      );
      return;
    }
    timeline.render();
    travel.setLatest(current.version);
    travel.setInstants(history.itemsAfter(history.lowest - 1));
    showEditing();
    await showState();
    if (urlState.compare) await compare();
  }

  async function loadCurrent() {
    const { body, headers } = await request(path);
    current = body;
    currentEtag = headers.get("ETag");
    replaceChildren(
      summary,
      h("span", { class: `badge status-${current.status}` }, current.status),
      ` ${current.shipmentType} · current version ${current.version} · updated `,
      timeElement(current.updatedAt),
      erasureNote(),
    );
  }

  /** "personal data erased on … by …" while the shipment's personal data is erased. */
  function erasureNote() {
    if (!current.personalDataErasedAt) return null;
    const erasures = history.itemsAfter(history.lowest - 1).filter((i) => i.type === "PersonalDataErased");
    const last = erasures[erasures.length - 1];
    return h(
      "span",
      { class: "erasure-note" },
      " · personal data erased on ",
      timeElement(current.personalDataErasedAt),
      last ? ` by ${last.actor ?? "unknown"}` : "",
    );
  }

  /** For admins: erase the personal data, after a confirmation. */
  function eraseButton() {
    return h(
      "button",
      {
        type: "button",
        class: "danger erase-personal-data",
        onclick: async () => {
          const question =
            "Erase this shipment's personal data (addresses but their state, and remarks) " +
            "from its whole history? This cannot be undone.";
          if (!window.confirm(question)) return;
          try {
            await request(`${path}/personal-data`, {
              method: "DELETE",
              headers: { "If-Match": currentEtag },
            });
            await refresh();
          } catch (error) {
            showProblem(error);
          }
        },
      },
      "Erase personal data…",
    );
  }

  function here() {
    return `/ui/shipments/${encodeURIComponent(id)}${query(urlState)}`;
  }

  function go(changes) {
    Object.assign(urlState, changes);
    recordLocation(here());
    return showState();
  }

  /** Draw the state section for what the URL names: the current state, a version or an instant. */
  async function showState() {
    const wanted = { ...urlState };
    let shown;
    let heading;
    try {
      if (wanted.version) {
        shown = (await request(`${path}/versions/${encodeURIComponent(wanted.version)}`)).body;
        heading = `Version ${shown.version}`;
      } else if (wanted.asOf) {
        shown = (await request(`${path}${query({ asOf: wanted.asOf })}`)).body;
        heading = `As of ${wanted.asOf}: version ${shown.version}`;
      } else {
        shown = current;
        heading = "Current state";
      }
    } catch (error) {
      replaceChildren(
        stateSection,
        h(
          "h2",
          { id: "state-heading" },
          wanted.version ? `Version ${wanted.version}` : `As of ${wanted.asOf}`,
        ),
        h("p", { role: "alert", class: "error" }, describeError(error)),
        stepControls(null),
      );
      showEditing();
      return;
    }
    if (urlState.version !== wanted.version || urlState.asOf !== wanted.asOf) return; // a newer choice won
    const past = shown !== current;
    const item = await history.item(shown.version).catch(() => null);
    const changed = past && item ? Object.keys(item.changes) : [];
    replaceChildren(
      stateSection,
      h(
        "h2",
        { id: "state-heading" },
        heading,
        past ? h("span", { class: "read-only" }, " (read-only)") : null,
      ),
      past && item ? pastBanner(shown, item) : null,
      stepControls(shown.version),
      stateTable(shown, {
        caption: past
          ? `The shipment at version ${shown.version}; the fields this version changed are marked.`
          : `The shipment now, at version ${shown.version}.`,
        marked: changed,
      }),
    );
    showEditing();
  }

  function pastBanner(shown, item) {
    const latest = shown.version === current.version ? " This is the current version." : "";
    return h(
      "p",
      { class: "past-banner" },
      `The shipment as it was at version ${shown.version} (${eventLabel(item.type)}), recorded `,
      timeElement(item.recordedAt),
      ` by ${item.actor ?? "unknown"}.${latest} `,
      link(`/ui/shipments/${id}`, "Back to the current state"),
    );
  }

  /** Previous / next version: the browser's ``shipments replay``. */
  function stepControls(version) {
    const latest = current.version;
    const step = (to) =>
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          disabled: version === null || to < 1 || to > latest,
          onclick: () => go({ version: String(to), asOf: null }),
        },
        to < version ? "Previous version" : "Next version",
      );
    return h(
      "div",
      { class: "step-controls", role: "group", "aria-label": "Step through versions" },
      version === null ? null : step(version - 1),
      h("span", { class: "position" }, version === null ? "" : `Version ${version} of ${latest}`),
      version === null ? null : step(version + 1),
    );
  }

  async function compare() {
    const [left, right] = (urlState.compare || "").split(",").map(Number);
    if (!(left >= 1 && right >= 1)) return;
    try {
      const [a, b] = await Promise.all(
        [left, right].map(async (n) => (await request(`${path}/versions/${n}`)).body),
      );
      const differing = ALL_FIELDS.map(([name]) => name).filter(
        (name) => !["eTag", "version"].includes(name) && !sameValue(a[name], b[name]),
      );
      const summaryText = differing.length
        ? `${differing.length} field${differing.length === 1 ? "" : "s"} differ: ${differing.join(", ")}.`
        : "The two versions are the same.";
      travel.showComparison(
        left,
        right,
        h("p", { class: "comparison-summary" }, summaryText),
        comparisonTable(a, b, differing),
      );
    } catch (error) {
      travel.showComparison(left, right, h("p", { role: "alert", class: "error" }, describeError(error)));
    }
  }

  /** The edit form for writers while the current state is shown; a plain note otherwise.
   *  Built once and then only shown or hidden: a refresh never moves a control being typed in. */
  function showEditing() {
    const showingCurrent = !urlState.version && !urlState.asOf;
    if (!canWrite()) {
      const role = currentIdentity()?.role || "unknown";
      replaceChildren(
        editArea,
        h(
          "p",
          { class: "note" },
          `Signed in with the ${role} role: you can read this shipment but not change it, so there is no edit form.`,
        ),
      );
      return;
    }
    if (!form) {
      form = editForm(id, { onSaved: () => refresh() });
      form.load(current, currentEtag);
      backToCurrent = h(
        "p",
        { class: "note" },
        "Editing starts from the current state: ",
        link(`/ui/shipments/${id}`, "back to the current state"),
        ".",
      );
      replaceChildren(editArea, backToCurrent, form.element, canErase() ? eraseButton() : null);
    }
    backToCurrent.hidden = showingCurrent;
    form.element.hidden = !showingCurrent;
  }

  let refreshQueued = false;
  /** Bring everything up to date after a write (ours, or one the live feed announced);
   *  writes announced while a refresh waits share it. */
  function refresh() {
    if (refreshQueued) return refreshing; // the one waiting will see this write too
    refreshQueued = true;
    refreshing = refreshing.then(async () => {
      refreshQueued = false;
      try {
        await loadCurrent();
        await history.catchUp();
        if (current.personalDataErasedAt) await loadCurrent(); // the note names who erased
        timeline.render();
        travel.setLatest(current.version);
        travel.setInstants(history.itemsAfter(history.lowest - 1));
        form?.remoteChange(current, currentEtag);
        await showState();
      } catch (error) {
        showProblem(error);
      }
    });
    return refreshing;
  }

  function showProblem(error) {
    replaceChildren(summary, h("span", { role: "alert", class: "error" }, describeError(error)));
  }

  const stopFollowing = onFeedEvent((item) => {
    if (current && (item.type === "connected" || item.shipmentId === id)) refresh();
  });
  return {
    shipmentId: id,
    dispose: stopFollowing,
    /** Show what another URL of this shipment names, keeping the edit form as it is. */
    update(params) {
      Object.assign(urlState, {
        version: params.get("version"),
        asOf: params.get("asOf"),
        compare: params.get("compare"),
      });
      if (!current) return;
      showState();
      if (urlState.compare) compare();
    },
  };
}
