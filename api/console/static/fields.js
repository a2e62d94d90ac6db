// The shipment's fields as people read them: API name, label, and how a value is shown.

import { h } from "./dom.js";

export const SHIPMENT_TYPES = ["HHG", "PPM", "NTS", "UHAUL", "UPS", "BOAT_HAUL_AWAY", "MOBILE_HOME"];
export const STATUSES = ["DRAFT", "SUBMITTED", "APPROVED", "IN_TRANSIT", "DELIVERED", "CANCELED"];

export const ADDRESS_PARTS = [
  ["streetAddress1", "Street address 1"],
  ["streetAddress2", "Street address 2"],
  ["city", "City"],
  ["state", "State"],
  ["postalCode", "Postal code"],
];

/** The client-writable fields, in the order the page shows them. */
export const WRITABLE_FIELDS = [
  ["shipmentType", "Shipment type"],
  ["status", "Status"],
  ["requestedPickupDate", "Requested pickup date"],
  ["deliveryDate", "Delivery date"],
  ["weightLbs", "Weight (lbs)"],
  ["customerRemarks", "Customer remarks"],
  ["pickupAddress", "Pickup address"],
  ["destinationAddress", "Destination address"],
];

/** Every field of the representation, server-owned ones last. */
export const ALL_FIELDS = [
  ...WRITABLE_FIELDS,
  ["version", "Version"],
  ["eTag", "ETag"],
  ["createdAt", "Created at"],
  ["updatedAt", "Updated at"],
];

const LABELS = Object.fromEntries(ALL_FIELDS);

export function fieldLabel(name) {
  return LABELS[name] || name;
}

const EVENT_LABELS = { Created: "Created", Revised: "Revised", StatusChanged: "Status changed" };

/** An event type as people read it ("Status changed" for StatusChanged). */
export function eventLabel(type) {
  return EVENT_LABELS[type] || type;
}

export function isAddressField(name) {
  return name === "pickupAddress" || name === "destinationAddress";
}

/** A value as one line of text ("" for null). */
export function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") {
    if (Object.keys(value).length === 1 && "state" in value) return `(erased), ${value.state}`;
    const { streetAddress1, streetAddress2, city, state, postalCode } = value;
    return [streetAddress1, streetAddress2, `${city || ""}, ${state || ""} ${postalCode || ""}`]
      .filter(Boolean)
      .join(", ");
  }
  return String(value);
}

/** A value as an element: "none" (styled) for null. */
export function valueElement(value) {
  const text = formatValue(value);
  return text === "" ? h("span", { class: "none" }, "none") : h("span", { class: "value" }, text);
}

/** Deep equality of two JSON values (key order ignored). */
export function sameValue(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    return (a ?? null) === (b ?? null);
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!sameValue(a[key] ?? null, b[key] ?? null)) return false;
  return true;
}

/** The names of the writable fields whose values differ between two representations. */
export function differingFields(before, after) {
  return WRITABLE_FIELDS.map(([name]) => name).filter((name) => !sameValue(before?.[name], after?.[name]));
}
