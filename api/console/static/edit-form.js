// The edit form: a merge patch of the changed fields, sent with the ETag it was loaded with.
//
// A 412 never overwrites anything: the conflict panel (conflict.js) shows what others
// changed beside the unsaved edits, and the user re-applies or discards them.

import { ApiError, describeError, ifMatchValue, request, shipmentPath } from "./api.js";
import { showConflict } from "./conflict.js";
import { h, replaceChildren } from "./dom.js";
import {
  ADDRESS_PARTS,
  SHIPMENT_TYPES,
  STATUSES,
  WRITABLE_FIELDS,
  isAddressField,
  sameValue,
} from "./fields.js";

const SIMPLE_CONTROLS = {
  shipmentType: () =>
    h(
      "select",
      {},
      SHIPMENT_TYPES.map((type) => h("option", { value: type }, type)),
    ),
  status: () =>
    h(
      "select",
      {},
      STATUSES.map((status) => h("option", { value: status }, status)),
    ),
  requestedPickupDate: () => h("input", { type: "date" }),
  deliveryDate: () => h("input", { type: "date" }),
  weightLbs: () => h("input", { type: "text", inputmode: "numeric", autocomplete: "off" }),
  customerRemarks: () => h("textarea", { rows: 3 }),
};

/** The edit form of shipment ``id``; ``onSaved(shipment, etag)`` after each accepted write. */
export function editForm(id, { onSaved }) {
  let loaded = null; // the version the edits are based on
  let loadedEtag = null;
  const controls = new Map(); // control id suffix ("weightLbs", "pickupAddress-city") → element
  const errors = new Map(); // same keys → the element that shows the field's error
  const message = h("p", { class: "form-message", role: "status", "aria-live": "polite" });
  const formError = h("div", { class: "form-error", role: "alert" });
  const basis = h("p", { class: "hint basis" });
  const conflictArea = h("div", { class: "conflict-area" });
  const save = h("button", { type: "submit" }, "Save");

  const fields = WRITABLE_FIELDS.map(([name, label]) =>
    isAddressField(name) ? addressFieldset(name, label) : simpleField(name, label),
  );
  const form = h(
    "form",
    { class: "edit-form", novalidate: true, "aria-labelledby": "edit-heading", oninput: () => showPending() },
    basis,
    h("div", { class: "fields" }, fields),
    formError,
    h("div", { class: "actions" }, save, message),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  const element = h(
    "section",
    { class: "edit-section", "aria-labelledby": "edit-heading" },
    h("h2", { id: "edit-heading" }, "Edit"),
    conflictArea,
    form,
  );

  function simpleField(name, label) {
    const control = SIMPLE_CONTROLS[name]();
    return labelled(name, label, control);
  }

  function addressFieldset(name, legend) {
    const errorId = `edit-${name}-error`;
    const error = h("p", { id: errorId, class: "field-error", role: "alert", hidden: true });
    errors.set(name, error);
    return h(
      "fieldset",
      { class: "address", id: `edit-${name}`, "aria-describedby": errorId },
      h("legend", {}, legend),
      ADDRESS_PARTS.map(([part, label]) =>
        labelled(`${name}-${part}`, label, h("input", { type: "text", autocomplete: "off" })),
      ),
      error,
    );
  }

  function labelled(key, label, control) {
    const controlId = `edit-${key}`;
    const errorId = `${controlId}-error`;
    control.id = controlId;
    control.name = key;
    const error = h("p", { id: errorId, class: "field-error", role: "alert", hidden: true });
    controls.set(key, control);
    errors.set(key, error);
    return h("div", { class: "field" }, h("label", { for: controlId }, label), control, error);
  }

  /** The form's values, as the API names and types them. */
  function values() {
    const text = (key) => controls.get(key).value;
    const orNull = (value) => (value.trim() === "" ? null : value);
    const result = {
      shipmentType: text("shipmentType"),
      status: text("status"),
      requestedPickupDate: orNull(text("requestedPickupDate")),
      deliveryDate: orNull(text("deliveryDate")),
      weightLbs: weight(text("weightLbs")),
      customerRemarks: orNull(text("customerRemarks")),
    };
    for (const name of ["pickupAddress", "destinationAddress"]) {
      const parts = Object.fromEntries(ADDRESS_PARTS.map(([part]) => [part, text(`${name}-${part}`).trim()]));
      result[name] = Object.values(parts).every((value) => value === "")
        ? null
        : { ...parts, streetAddress2: parts.streetAddress2 || null };
    }
    return result;
  }

  function fill(shipment) {
    for (const [name] of WRITABLE_FIELDS) {
      if (isAddressField(name)) {
        for (const [part] of ADDRESS_PARTS)
          controls.get(`${name}-${part}`).value = shipment[name]?.[part] ?? "";
      } else {
        controls.get(name).value = shipment[name] ?? "";
      }
    }
  }

  /** The fields whose value in the form differs from the loaded version, with that value. */
  function pendingChanges() {
    const current = values();
    return Object.fromEntries(
      WRITABLE_FIELDS.map(([name]) => name)
        .filter((name) => !sameValue(current[name], loaded[name]))
        .map((name) => [name, current[name]]),
    );
  }

  function showPending() {
    const count = Object.keys(pendingChanges()).length;
    message.textContent = count ? `${count} unsaved change${count === 1 ? "" : "s"}.` : "";
  }

  function load(shipment, etag) {
    loaded = shipment;
    loadedEtag = ifMatchValue(shipment, etag);
    fill(shipment);
    replaceChildren(
      basis,
      `Editing version ${shipment.version}; Save sends If-Match: `,
      h("code", {}, loadedEtag),
    );
  }

  function clearErrors() {
    formError.replaceChildren();
    for (const [key, error] of errors) {
      error.hidden = true;
      error.textContent = "";
      const target = controls.get(key) || document.getElementById(`edit-${key}`);
      target?.removeAttribute("aria-invalid");
    }
  }

  /** Show ``reason`` next to the API field ``field`` ("destinationAddress.postalCode"); false if there is no such field here. */
  function fieldError(field, reason) {
    const key = field.replace(".", "-");
    const error = errors.get(key);
    if (!error) return false;
    error.textContent = reason;
    error.hidden = false;
    const target = controls.get(key) || document.getElementById(`edit-${key}`);
    target?.setAttribute("aria-invalid", "true");
    if (target && !target.getAttribute("aria-describedby")) target.setAttribute("aria-describedby", error.id);
    return true;
  }

  async function submit() {
    clearErrors();
    const changes = pendingChanges();
    if (!Object.keys(changes).length) {
      message.textContent = `Nothing to save: the form equals version ${loaded.version}.`;
      return;
    }
    save.disabled = true;
    message.textContent = "Saving…";
    try {
      const { body, headers } = await request(shipmentPath(id), {
        method: "PATCH",
        headers: { "Content-Type": "application/merge-patch+json", "If-Match": loadedEtag },
        body: JSON.stringify(changes),
      });
      load(body, headers.get("ETag"));
      message.textContent = `Saved: now at version ${body.version}.`;
      onSaved(body, headers.get("ETag"));
    } catch (error) {
      message.textContent = "Not saved.";
      refused(error, changes);
    } finally {
      save.disabled = false;
    }
  }

  function refused(error, changes) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 412) {
      showConflict(conflictArea, { id, loaded, changes, problem: error.problem, reapply, discard });
      return;
    }
    const problem = error.problem;
    const unplaced =
      error.status === 422 && Array.isArray(problem.errors)
        ? problem.errors.filter((item) => !fieldError(item.field, item.reason))
        : [];
    if (error.status === 409) fieldError("status", problem.detail || problem.title);
    if (error.status !== 422 || unplaced.length) {
      replaceChildren(
        formError,
        h("p", {}, describeError(error)),
        unplaced.length
          ? h(
              "ul",
              {},
              unplaced.map((item) => h("li", {}, `${item.field}: ${item.reason}`)),
            )
          : null,
      );
    }
    (form.querySelector("[aria-invalid=true]") || formError).focus?.();
  }

  /** Load the current version, then put the user's edits back on top of it. */
  async function reapply(changes) {
    const { body, headers } = await request(shipmentPath(id));
    load(body, headers.get("ETag"));
    fill({ ...body, ...changes });
    replaceChildren(conflictArea);
    message.textContent = `Your edits are re-applied on version ${body.version}. Check them, then Save.`;
    save.focus();
  }

  async function discard() {
    const { body, headers } = await request(shipmentPath(id));
    load(body, headers.get("ETag"));
    replaceChildren(conflictArea);
    message.textContent = `Your edits are discarded; the form shows version ${body.version}.`;
  }

  return {
    element,
    load,
    /** Another writer's version arrived: an untouched form follows it, edits stay on theirs. */
    remoteChange(shipment, etag) {
      if (!loaded || shipment.version <= loaded.version || conflictArea.childElementCount) return;
      if (Object.keys(pendingChanges()).length === 0) {
        load(shipment, etag);
        message.textContent = `Updated to version ${shipment.version}, saved by someone else.`;
      } else {
        message.textContent = `Version ${shipment.version} was saved meanwhile; your edits are still based on version ${loaded.version}.`;
      }
    },
  };
}

function weight(text) {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  // Anything but a whole number goes as typed: the service names what is wrong with it.
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}
