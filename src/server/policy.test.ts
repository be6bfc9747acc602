import { describe, expect, it } from "vitest";
import type { Principal } from "../store/store.ts";
import { canonicalModel, checkPolicy, filterModelListing, modelAllowed, PolicyError, routeOf } from "./policy.ts";

function principal(role: "admin" | "user", models: string[] | null = null): Principal {
  const now = new Date();
  return {
    user: { id: "u", name: "ann", role, disabled: false, createdAt: now },
    key: { id: "k", keyId: "abcdefghijkl", userId: "u", name: null, hash: "", createdAt: now, expiresAt: null, revokedAt: null, lastUsedAt: null },
    limits: null,
    models,
  };
}

describe("routeOf", () => {
  it("labels known routes and marks the mutating ones admin-only", () => {
    expect(routeOf("POST", "/api/chat")).toEqual({ endpoint: "/api/chat", admin: false });
    expect(routeOf("HEAD", "/api/tags")).toEqual({ endpoint: "/api/tags", admin: false });
    expect(routeOf("GET", "/v1/models/llama3:8b")).toEqual({ endpoint: "/v1/models/:model", admin: false });
    expect(routeOf("HEAD", "/api/blobs/sha256:ab")).toEqual({ endpoint: "/api/blobs/:digest", admin: false });
    expect(routeOf("POST", "/api/blobs/sha256:ab")).toEqual({ endpoint: "/api/blobs/:digest", admin: true });
    expect(routeOf("DELETE", "/api/delete").admin).toBe(true);
    expect(routeOf("POST", "/api/experimental/web_fetch").admin).toBe(true);
  });

  it("forwards unknown routes, admin-only under a method that can change state", () => {
    expect(routeOf("GET", "/api/something-new")).toEqual({ endpoint: "other", admin: false });
    expect(routeOf("POST", "/api/something-new")).toEqual({ endpoint: "other", admin: true });
  });
});

describe("models", () => {
  it("treats a name without a tag as :latest", () => {
    expect(canonicalModel("llama3")).toBe("llama3:latest");
    expect(canonicalModel("library/llama3:8b")).toBe("library/llama3:8b");
    expect(canonicalModel("host:5000/team/model")).toBe("host:5000/team/model:latest");
    expect(modelAllowed(["llama3:latest"], "llama3")).toBe(true);
    expect(modelAllowed(["llama3"], "llama3:8b")).toBe(false);
  });

  it("filters listings to the allowlist", () => {
    const tags = { models: [{ name: "a:1" }, { name: "b:latest" }] };
    expect(filterModelListing("/api/tags", tags, ["b"])).toEqual({ models: [{ name: "b:latest" }] });
    const v1 = { object: "list", data: [{ id: "a:1" }, { id: "b:latest" }] };
    expect(filterModelListing("/v1/models", v1, ["a:1"])).toEqual({ object: "list", data: [{ id: "a:1" }] });
  });
});

describe("checkPolicy", () => {
  const chat = routeOf("POST", "/api/chat");
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return err as PolicyError;
    }
    return null;
  };

  it("lets admins do anything", () => {
    expect(refusal(() => checkPolicy(principal("admin", ["x"]), routeOf("POST", "/api/pull"), "POST", "/api/pull", { model: "y:cloud", unloads: true }))).toBeNull();
  });

  it("refuses users admin routes, unloading, cloud models and models off their list", () => {
    const user = principal("user", ["llama3"]);
    expect(refusal(() => checkPolicy(user, routeOf("POST", "/api/pull"), "POST", "/api/pull", { model: null, unloads: false }))?.reason).toBe("policy_admin_only");
    expect(refusal(() => checkPolicy(user, chat, "POST", "/api/chat", { model: "llama3", unloads: true }))?.reason).toBe("policy_admin_only");
    expect(refusal(() => checkPolicy(user, chat, "POST", "/api/chat", { model: "gpt-oss:120b-cloud", unloads: false }))?.reason).toBe("policy_model");
    const offList = refusal(() => checkPolicy(user, chat, "POST", "/api/chat", { model: "qwen", unloads: false }));
    expect(offList?.status).toBe(403);
    expect(offList?.message).toBe("model 'qwen' is not allowed for user 'ann'");
    expect(refusal(() => checkPolicy(user, chat, "POST", "/api/chat", { model: "llama3:latest", unloads: false }))).toBeNull();
  });
});
