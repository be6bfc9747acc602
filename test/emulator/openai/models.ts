/** GET /v1/models and /v1/models/:model, after Ollama's ListWriter and RetrieveWriter. */
import type { Handler } from "../context.ts";
import { encoderJson, openaiError } from "../http.ts";
import { displayName, MODELS, type ModelInfo, resolveModel } from "../models.ts";

export const listModelsHandler: Handler = () => encoderJson(200, { object: "list", data: MODELS.map((m) => entry(m.name, m)) });

export const retrieveModelHandler: Handler = (ctx) => {
  const info = resolveModel(ctx.param)?.info;
  if (!info) return openaiError(404, `model '${displayName(ctx.param)}' not found`);
  return encoderJson(200, entry(ctx.param, info));
};

/** owned_by is the name's namespace, "library" for official models. */
function entry(id: string, info: ModelInfo): Record<string, unknown> {
  return { id, object: "model", created: Math.floor(Date.parse(info.modifiedAt) / 1000), owned_by: "library" };
}
