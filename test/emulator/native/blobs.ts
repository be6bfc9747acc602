/**
 * HEAD /api/blobs/:digest (200 when uploaded, else 404) and POST /api/blobs/:digest, which checks
 * the body's sha256 against the digest: 201 created, 200 when already present, 400 on mismatch.
 */
import { createHash } from "node:crypto";
import type { Handler } from "../context.ts";
import { emptyResponse, ollamaError } from "../http.ts";

const DIGEST = /^sha256[:-][0-9a-fA-F]{64}$/;

export const headBlobHandler: Handler = (ctx) => {
  if (!DIGEST.test(ctx.param)) return ollamaError(400, "invalid digest format");
  if (!ctx.state.blobs.has(canonical(ctx.param))) return ollamaError(404, `blob ${JSON.stringify(ctx.param)} not found`);
  return emptyResponse(200);
};

export const createBlobHandler: Handler = async (ctx) => {
  if (!DIGEST.test(ctx.param)) return ollamaError(400, "invalid digest format");
  if (ctx.state.blobs.has(canonical(ctx.param))) return emptyResponse(200);
  const hash = createHash("sha256");
  for await (const chunk of ctx.request.body ?? []) hash.update(chunk);
  const actual = `sha256:${hash.digest("hex")}`;
  if (actual !== ctx.param) {
    return ollamaError(400, `digest mismatch, expected ${JSON.stringify(ctx.param)}, got ${JSON.stringify(actual)}`);
  }
  ctx.state.blobs.add(canonical(ctx.param));
  return emptyResponse(201);
};

/** Ollama stores sha256:X and sha256-X as the same file. */
function canonical(digest: string): string {
  return `sha256:${digest.slice(7).toLowerCase()}`;
}
