// Every call to the service goes through here: the bearer token, JSON, problem+json.

const TOKEN_KEY = "shipments-console.token";

/** An answer that was not 2xx (or no answer at all: status 0). */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.headers = headers || new Headers();
  }
}

const unauthorizedListeners = new Set();

/** Call ``listener(error)`` whenever the service answers 401. */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The headers every request carries (the bearer token, when there is one). */
export function authHeaders(extra = {}) {
  const token = storedToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

/** ``fetch`` with the token; resolves to ``{body, headers, status}``, rejects with ApiError. */
export async function request(path, { method = "GET", headers = {}, body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: authHeaders({ Accept: "application/json", ...headers }),
      body,
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { title: "The service could not be reached", detail: String(error) });
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
  }
  if (!response.ok) throw refusal(response, parsed);
  return { body: parsed, headers: response.headers, status: response.status };
}

/** The ApiError for a non-2xx answer; a 401 is also told to the ``onUnauthorized`` listeners. */
export function refusal(response, problem) {
  const error = new ApiError(response.status, problem, response.headers);
  if (response.status === 401) for (const listener of unauthorizedListeners) listener(error);
  return error;
}

export async function getJson(path, options) {
  return (await request(path, options)).body;
}

/** A query string from the non-empty members of ``params`` ("" when none). */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export function shipmentPath(id) {
  return `/v1/shipments/${encodeURIComponent(id)}`;
}

/** The ``If-Match`` value for a loaded shipment: its ETag header, else its quoted eTag field. */
export function ifMatchValue(shipment, etagHeader) {
  return etagHeader || `"${shipment.eTag}"`;
}

/** A one-line account of an error, for people. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  if (error.status === 0) return `${error.problem.title}.`;
  const title = error.problem.title || `HTTP ${error.status}`;
  const detail = error.problem.detail ? `: ${error.problem.detail}` : "";
  return `${error.status} ${title}${detail}`;
}
