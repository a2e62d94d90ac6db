// Client-side routing: /ui/ is the list, /ui/shipments/{id} one shipment,
// /ui/subscriptions the subscriptions (admin).

let handler = () => {};

/** Set what renders the page for the current URL. */
export function setRouteHandler(render) {
  handler = render;
}

/** Go to ``href`` inside the app (a history entry, or replacing the current one). */
export function navigate(href, { replace = false } = {}) {
  window.history[replace ? "replaceState" : "pushState"](null, "", href);
  handler({ focus: true });
}

/** Change the URL to ``href`` without rendering again (the view already shows it). */
export function recordLocation(href, { replace = false } = {}) {
  window.history[replace ? "replaceState" : "pushState"](null, "", href);
}

export function startRouting() {
  window.addEventListener("popstate", () => handler({ focus: true }));
  document.addEventListener("click", (event) => {
    const anchor = event.target.closest?.("a[data-internal]");
    if (!anchor || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(anchor.getAttribute("href"));
  });
  handler({ focus: false });
}
