// Building elements without innerHTML: every value from the API is text, never markup.

/** h("p", {class: "x", onclick: fn}, "text", child, [more]) → an element. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside ``element`` with ``children``. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** An ``<a>`` that navigates inside the app without reloading the page. */
export function link(href, ...children) {
  return h("a", { href, "data-internal": true }, ...children);
}

/** A <time> element: the instant in the reader's time zone, named, to the millisecond;
 * the exact RFC 3339 value (UTC, microseconds) on hover. */
export function timeElement(instant) {
  if (!instant) return h("span", { class: "none" }, "none");
  return h("time", { datetime: instant, title: instant }, formatInstant(instant));
}

const INSTANT_PARTS = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
  timeZoneName: "short",
});

/** "2026-12-06 03:51:55.285 UTC": unambiguous in any locale, and versions written
 * milliseconds apart do not look simultaneous. */
export function formatInstant(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.valueOf())) return instant;
  const part = Object.fromEntries(
    INSTANT_PARTS.formatToParts(date).map(({ type, value }) => [type, value]),
  );
  const day = `${part.year}-${part.month}-${part.day}`;
  return `${day} ${part.hour}:${part.minute}:${part.second}.${part.fractionalSecond} ${part.timeZoneName}`;
}

let uniqueCounter = 0;
/** An id no other element of the page has. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}
