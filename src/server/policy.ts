/**
 * Who may call what: admin-only upstream endpoints, the user's model allowlist, and the two
 * ways a shared box is hurt through ordinary endpoints (unloading a model, cloud models that
 * spend the owner's ollama.com account).
 */
import type { Principal } from "../store/store.ts";
import { GatewayError } from "./errors.ts";
import type { RejectionReason } from "./metrics.ts";

export interface Route {
  /** Low-cardinality label for metrics and usage rows. */
  endpoint: string;
  admin: boolean;
}

/** Known upstream routes by exact method and path (HEAD is looked up as GET). */
const EXACT = new Map<string, Route>(
  [
    ["POST /api/generate"],
    ["POST /api/chat"],
    ["POST /api/embed"],
    ["POST /api/embeddings"],
    ["POST /api/show"],
    ["GET /api/tags"],
    ["GET /api/ps"],
    ["GET /api/version"],
    ["POST /v1/chat/completions"],
    ["POST /v1/completions"],
    ["POST /v1/embeddings"],
    ["POST /v1/responses"],
    ["POST /v1/messages"],
    ["GET /v1/models"],
    ["POST /api/pull", true],
    ["POST /api/push", true],
    ["POST /api/create", true],
    ["POST /api/copy", true],
    ["DELETE /api/delete", true],
    ["POST /api/me", true],
    ["POST /api/signout", true],
  ].map(([key, admin]) => [key as string, { endpoint: (key as string).split(" ")[1]!, admin: admin === true }]),
);

/** Routes with a parameter; checked only when no exact route matched. */
const PATTERNS: Array<{ method: string; pattern: RegExp; route: Route }> = [
  { method: "GET", pattern: /^\/v1\/models\/.+$/, route: { endpoint: "/v1/models/:model", admin: false } },
  { method: "HEAD", pattern: /^\/api\/blobs\/[^/]+$/, route: { endpoint: "/api/blobs/:digest", admin: false } },
  { method: "POST", pattern: /^\/api\/blobs\/[^/]+$/, route: { endpoint: "/api/blobs/:digest", admin: true } },
  { method: "DELETE", pattern: /^\/api\/user\/keys\/[^/]+$/, route: { endpoint: "/api/user/keys/:key", admin: true } },
  { method: "*", pattern: /^\/api\/experimental\//, route: { endpoint: "/api/experimental", admin: true } },
];

export function routeOf(method: string, path: string): Route {
  const exact = EXACT.get(`${method === "HEAD" ? "GET" : method} ${path}`);
  if (exact) return exact;
  for (const p of PATTERNS) {
    if ((p.method === method || p.method === "*") && p.pattern.test(path)) return p.route;
  }
  // Unknown routes are still forwarded (Ollama answers them); under a method that can change
  // state they need an admin, since we cannot know what they do.
  return { endpoint: "other", admin: method !== "GET" && method !== "HEAD" };
}

export class PolicyError extends GatewayError {
  constructor(
    message: string,
    readonly reason: RejectionReason,
  ) {
    super(reason === "policy_model" ? "model_not_allowed" : "admin_only", message);
  }
}

/** What the request body says that policy needs; extracted once by the proxy. */
export interface RequestFacts {
  model: string | null;
  /** The request would unload the model (empty prompt with keep_alive 0). */
  unloads: boolean;
}

/** Throws PolicyError when the principal may not make this request. */
export function checkPolicy(principal: Principal, route: Route, method: string, path: string, facts: RequestFacts): void {
  if (principal.user.role === "admin") return;
  if (route.admin) throw new PolicyError(`${method} ${path} needs an admin key`, "policy_admin_only");
  if (facts.unloads) throw new PolicyError("unloading a model (keep_alive 0 with an empty prompt) needs an admin key", "policy_admin_only");
  const model = facts.model;
  if (model == null) return;
  if (isCloudModel(model)) throw new PolicyError(`model '${model}' runs on ollama.com on the box owner's account: it needs an admin key`, "policy_model");
  if (principal.models && !modelAllowed(principal.models, model)) {
    throw new PolicyError(`model '${model}' is not allowed for user '${principal.user.name}'`, "policy_model");
  }
}

function isCloudModel(model: string): boolean {
  return model.endsWith(":cloud") || model.endsWith("-cloud");
}

/** "llama3" and "llama3:latest" name the same model. */
export function canonicalModel(name: string): string {
  const slash = name.lastIndexOf("/");
  return name.indexOf(":", slash + 1) >= 0 ? name : `${name}:latest`;
}

export function modelAllowed(allowlist: readonly string[], model: string): boolean {
  const wanted = canonicalModel(model);
  return allowlist.some((m) => canonicalModel(m) === wanted);
}

/** Removes models the user may not use from /api/tags, /api/ps and /v1/models listings. */
export function filterModelListing(endpoint: string, body: unknown, allowlist: readonly string[]): unknown {
  if (body == null || typeof body !== "object") return body;
  const doc = body as Record<string, unknown>;
  if ((endpoint === "/api/tags" || endpoint === "/api/ps") && Array.isArray(doc.models)) {
    return { ...doc, models: doc.models.filter((m: { name?: string; model?: string }) => modelAllowed(allowlist, m.name ?? m.model ?? "")) };
  }
  if (endpoint === "/v1/models" && Array.isArray(doc.data)) {
    return { ...doc, data: doc.data.filter((m: { id?: string }) => modelAllowed(allowlist, m.id ?? "")) };
  }
  return body;
}
