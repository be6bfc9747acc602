/**
 * POST /api/pull, /api/push, /api/create: NDJSON progress ending in {"status":"success"}, or with
 * `"stream": false` only the last status. Nothing is downloaded or stored.
 */
import { bodyRecord, type Handler, type RequestContext, stringField } from "../context.ts";
import { ollamaError } from "../http.ts";
import { type ModelInfo, resolveModel } from "../models.ts";

type Progress = Record<string, unknown>;

export const pullHandler: Handler = (ctx) => {
  const name = modelName(ctx);
  if (name === "") return ollamaError(400, "invalid model name");
  const info = resolveModel(name)?.info;
  const steps: Progress[] = [{ status: "pulling manifest" }];
  if (!info) return progress(ctx, [...steps, { error: "pull model manifest: file does not exist" }]);
  return progress(ctx, [
    ...steps,
    ...layerSteps("pulling", info),
    { status: "verifying sha256 digest" },
    { status: "writing manifest" },
    { status: "success" },
  ]);
};

export const pushHandler: Handler = (ctx) => {
  const name = modelName(ctx);
  if (name === "") return ollamaError(400, "model is required");
  const info = resolveModel(name)?.info;
  if (!info) return progress(ctx, [{ error: "open manifest: file does not exist" }]);
  return progress(ctx, [{ status: "retrieving manifest" }, ...layerSteps("pushing", info), { status: "pushing manifest" }, { status: "success" }]);
};

export const createHandler: Handler = (ctx) => {
  const name = modelName(ctx);
  if (name === "") return ollamaError(400, "invalid model name");
  const base = resolveModel(stringField(bodyRecord(ctx), "from"))?.info;
  const layer = base ? [{ status: `using existing layer sha256:${base.digest}` }] : [];
  return progress(ctx, [...layer, { status: "writing manifest" }, { status: "success" }]);
};

function modelName(ctx: RequestContext): string {
  const body = bodyRecord(ctx);
  return stringField(body, "model") || stringField(body, "name");
}

function layerSteps(verb: string, info: ModelInfo): Progress[] {
  const layer = { digest: `sha256:${info.digest}`, total: info.size };
  const status = `${verb} ${info.digest.slice(0, 12)}`;
  return [
    { status, ...layer, completed: 0 },
    { status, ...layer, completed: info.size },
  ];
}

/** Streams the steps as Ollama's streamResponse does; an error step ends the stream. */
function progress(ctx: RequestContext, steps: Progress[]): Response {
  if (bodyRecord(ctx).stream === false) {
    const last = steps.at(-1) as Progress;
    const status = "error" in last ? 500 : 200;
    // waitForStream sets plain application/json before c.JSON, so gin keeps it.
    return new Response(JSON.stringify(last), { status, headers: { "content-type": "application/json" } });
  }
  return new Response(steps.map((step) => `${JSON.stringify(step)}\n`).join(""), {
    headers: { "content-type": "application/x-ndjson" },
  });
}
