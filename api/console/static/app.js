// The console's entry point: who is calling, the live feed, and which view the URL names.

import { describeError, onUnauthorized } from "./api.js";
import { askForToken, returnFromProvider, signIn } from "./auth.js";
import { h, replaceChildren } from "./dom.js";
import { startFeed } from "./feed.js";
import { renderList } from "./list-view.js";
import { setRouteHandler, startRouting } from "./router.js";
import { renderShipment } from "./shipment-view.js";
import { renderSubscriptions } from "./subscriptions-view.js";

const main = document.getElementById("main");
const feedStatus = document.getElementById("feed-status");
let view = null;

/** Show the view the URL names. Another URL of the shipment already shown (a version,
 *  back, forward) only changes what that view shows, so unsaved edits survive it. */
function render({ focus, fresh = false }) {
  const match = window.location.pathname.match(/^\/ui\/shipments\/([^/]+)\/?$/);
  const params = new URLSearchParams(window.location.search);
  const id = match ? decodeURIComponent(match[1]) : null;
  if (!fresh && id !== null && view?.shipmentId === id) {
    view.update(params);
    return;
  }
  view?.dispose?.();
  if (/^\/ui\/subscriptions\/?$/.test(window.location.pathname)) {
    view = renderSubscriptions(main);
  } else {
    view = id !== null ? renderShipment(main, id, params) : renderList(main, params);
  }
  if (focus) main.focus();
}

let reauthenticating = false;

/** Any 401 later on (a token revoked, or never given): ask for one, then start over. */
async function reauthenticate(error) {
  if (reauthenticating) return;
  reauthenticating = true;
  try {
    await askForToken(error);
    await signIn();
    startFeed(feedStatus);
    render({ focus: true, fresh: true });
  } finally {
    reauthenticating = false;
  }
}

async function start() {
  try {
    await returnFromProvider();
    await signIn();
  } catch (error) {
    replaceChildren(main, h("p", { role: "alert", class: "error" }, describeError(error)));
    return;
  }
  onUnauthorized(reauthenticate);
  startFeed(feedStatus);
  setRouteHandler(render);
  startRouting();
}

start();
