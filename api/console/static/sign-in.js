// Signing in at the service's identity provider: the authorization code flow with PKCE
// (RFC 7636), run by the page itself as a public client. The service tells the page
// where the provider is (/ui/sign-in); the access token ends up in session storage,
// like a pasted token, and is sent to /v1 the same way.

import { storeToken } from "./api.js";

const PENDING_KEY = "shipments-console.sign-in";

/** ``{issuer, clientId, authorizationEndpoint, tokenEndpoint, scope}``, or null. */
export async function signInOptions() {
  try {
    const response = await fetch("/ui/sign-in", {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) return null;
    return (await response.json()).signIn;
  } catch {
    return null;
  }
}

/** Go to the provider's sign-in page; it sends the browser back to /ui/ with a code. */
export async function startSignIn(options) {
  const verifier = randomText(32);
  const state = randomText(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(
    PENDING_KEY,
    JSON.stringify({
      verifier,
      state,
      returnTo: window.location.pathname + window.location.search,
      tokenEndpoint: options.tokenEndpoint,
      clientId: options.clientId,
    }),
  );
  const target = new URL(options.authorizationEndpoint);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: options.clientId,
    redirect_uri: redirectUri(),
    scope: options.scope,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  })) {
    target.searchParams.set(name, value);
  }
  window.location.assign(target.toString());
}

/**
 * Back from the provider (``?code=…&state=…`` or ``?error=…``): trade the code for an
 * access token and put the URL back as it was before signing in. Resolves to a
 * message for the user when that failed, else null (also when this is no return).
 */
export async function finishSignIn() {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("state") || !(params.has("code") || params.has("error"))) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  window.history.replaceState(null, "", pending?.returnTo || "/ui/");
  if (pending === null || params.get("state") !== pending.state) {
    return "The sign-in answer does not belong to this tab; sign in again.";
  }
  if (params.has("error")) {
    return `The identity provider refused: ${params.get("error_description") || params.get("error")}.`;
  }
  let answer;
  try {
    const response = await fetch(pending.tokenEndpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: redirectUri(),
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }),
    });
    answer = await response.json();
    if (!response.ok || !answer.access_token) {
      return `The identity provider issued no token (${answer.error || response.status}).`;
    }
  } catch (error) {
    return `The identity provider could not be reached: ${error}.`;
  }
  storeToken(answer.access_token);
  return null;
}

/** The one address the provider sends the browser back to (register it there). */
function redirectUri() {
  return `${window.location.origin}/ui/`;
}

function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
