// Who is using the console: the bearer token of this tab, and the role it carries.

import { getJson, storeToken, storedToken } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { finishSignIn, signInOptions, startSignIn } from "./sign-in.js";

let identity = null;
let pendingPrompt = null;
let signInProblem = null;
let providerOffer = null;

/** Back from the identity provider? Take the token it issued (before anything asks /v1). */
export async function returnFromProvider() {
  signInProblem = await finishSignIn();
}

/** ``{subject, role}`` of the caller, once known. */
export function currentIdentity() {
  return identity;
}

/** Whether the caller's role may write (the edit form is shown only then). */
export function canWrite() {
  return identity !== null && (identity.role === "writer" || identity.role === "admin");
}

/**
 * Learn who the caller is (``/ui/whoami``); while the service answers 401, ask
 * for a token and try again with it.
 */
export async function signIn() {
  for (;;) {
    try {
      identity = await getJson("/ui/whoami");
      showIdentity();
      return identity;
    } catch (error) {
      if (error.status !== 401) throw error;
      identity = null;
      showIdentity();
      await askForToken(error);
    }
  }
}

/**
 * Show the token form and resolve once a token was entered (and stored for this tab).
 * Called again while it is showing, it returns the same promise.
 */
export function askForToken(error) {
  const prompt = document.getElementById("token-prompt");
  const reason = document.getElementById("token-reason");
  reason.textContent =
    signInProblem ||
    (storedToken()
      ? `The service refused the token (401): ${error?.problem?.detail || "unknown or revoked"}.`
      : "This service needs a bearer token (it answered 401 Unauthorized).");
  signInProblem = null;
  offerProviderSignIn();
  prompt.hidden = false;
  const input = document.getElementById("token-input");
  input.focus();
  if (pendingPrompt) return pendingPrompt;
  pendingPrompt = new Promise((resolve) => {
    const form = document.getElementById("token-form");
    const submitted = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      storeToken(token);
      input.value = "";
      prompt.hidden = true;
      form.removeEventListener("submit", submitted);
      pendingPrompt = null;
      resolve(token);
    };
    form.addEventListener("submit", submitted);
  });
  return pendingPrompt;
}

/** "Sign in with <issuer>", when the service trusts an identity provider's tokens. */
async function offerProviderSignIn() {
  providerOffer ??= signInOptions();
  const options = await providerOffer;
  if (!options) return;
  const button = document.getElementById("provider-button");
  button.textContent = `Sign in with ${options.issuer}`;
  button.onclick = () => startSignIn(options);
  document.getElementById("provider-sign-in").hidden = false;
}

function showIdentity() {
  const element = document.getElementById("identity");
  if (identity === null) {
    replaceChildren(element, h("span", {}, "Not signed in"));
    return;
  }
  const forget = storedToken()
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            storeToken(null);
            window.location.reload();
          },
        },
        "Forget token",
      )
    : h("span", { class: "hint" }, "(authentication is off)");
  replaceChildren(
    element,
    h("span", {}, "Signed in as ", h("strong", {}, identity.subject), ` (${identity.role})`),
    " ",
    forget,
  );
}
