// The whole first flow of a frontend team, typed by what openapi-typescript generates
// from docs/openapi.json with its default options (src/schema.d.ts, made at test time)
// and called with openapi-fetch. tsc --strict checks it; no cast, no `any`: the types
// must be right as generated. Run against a live server by tests/e2e/test_typescript_client.py.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Shipment = components["schemas"]["ShipmentOut"];

const baseUrl = process.env["SHIPMENTS_BASE_URL"];
const token = process.env["SHIPMENTS_TOKEN"];
if (baseUrl === undefined || token === undefined) {
  throw new Error("set SHIPMENTS_BASE_URL and SHIPMENTS_TOKEN");
}
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function etagOf(response: Response): string {
  const tag = response.headers.get("ETag");
  check(tag !== null, "an answer without ETag");
  return tag;
}

// Create: only shipmentType is required; optional fields may be left out.
const created = await client.POST("/v1/shipments", {
  body: { shipmentType: "HHG", deliveryDate: "2026-12-01" },
});
check(created.data !== undefined, `create: ${created.response.status}`);
const shipment: Shipment = created.data;
check(shipment.status === "DRAFT" && shipment.version === 1, "a new shipment is DRAFT v1");
const path = { shipment_id: shipment.id };

// Read: the ETag header names the version read.
const read = await client.GET("/v1/shipments/{shipment_id}", { params: { path } });
check(read.data !== undefined, `read: ${read.response.status}`);
const firstTag = etagOf(read.response);
check(firstTag === `"${read.data.eTag}"`, "the ETag header is the quoted eTag");

// PATCH with the tag read: a merge patch of one field.
const patched = await client.PATCH("/v1/shipments/{shipment_id}", {
  params: { path, header: { "If-Match": firstTag } },
  body: { weightLbs: 4200 },
});
check(patched.data !== undefined, `patch: ${patched.response.status}`);
check(patched.data.version === 2 && patched.data.weightLbs === 4200, "patched to v2");

// The same tag again is stale: a 412 read through its typed problem.
const stale = await client.PATCH("/v1/shipments/{shipment_id}", {
  params: { path, header: { "If-Match": firstTag } },
  body: { customerRemarks: "Call before delivery" },
});
check(stale.error !== undefined && stale.response.status === 412, "a stale tag is 412");
const conflict = stale.error;
if (conflict.type !== "/problems/version-conflict") throw new Error(conflict.detail);
check(conflict.currentVersion === 2, "the 412 names the current version");
check(conflict.currentETag === patched.data.eTag, "and its tag");
const news = conflict.changesSince ?? [];
check(news.length === 1 && news[0]?.changes["weightLbs"]?.to === 4200, "and what changed");

// Retry as a merge: the remarks were not changed since version 1, so they apply.
const merged = await client.PATCH("/v1/shipments/{shipment_id}", {
  params: { path, header: { "If-Match": firstTag, Prefer: "conflict=merge" } },
  body: { customerRemarks: "Call before delivery" },
});
check(merged.data !== undefined, `merge: ${merged.response.status}`);
check(merged.response.headers.get("Preference-Applied") === "conflict=merge", "merged");
check(merged.data.version === 3 && merged.data.weightLbs === 4200, "nothing overwritten");

// A move the status machine forbids: a 409 that says where the shipment may go.
const illegal = await client.PATCH("/v1/shipments/{shipment_id}", {
  params: { path, header: { "If-Match": etagOf(merged.response) } },
  body: { status: "DELIVERED" },
});
check(illegal.error !== undefined, "an illegal move is refused");
const refusal = illegal.error;
if (refusal.type !== "/problems/illegal-transition") throw new Error(refusal.detail);
check(refusal.currentStatus === "DRAFT", "from DRAFT");
check(refusal.allowedStatuses.join() === "SUBMITTED,CANCELED", "to SUBMITTED or CANCELED");

// History: who changed what, oldest first.
const history = await client.GET("/v1/shipments/{shipment_id}/history", { params: { path } });
check(history.data !== undefined, `history: ${history.response.status}`);
check(history.data.items.map((item) => item.version).join() === "1,2,3", "three versions");
check(history.data.items[2]?.basedOn === 1, "the merge says what it was based on");

// The list, filtered by the status enum.
const listed = await client.GET("/v1/shipments", { params: { query: { status: "DRAFT" } } });
check(listed.data !== undefined, `list: ${listed.response.status}`);
check(listed.data.items.some((item) => item.id === shipment.id), "listed");
check(listed.data.nextCursor === null, "one page");

console.log("typescript client flow: ok");
