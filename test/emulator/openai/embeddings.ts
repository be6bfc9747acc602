/** POST /v1/embeddings, after Ollama's EmbeddingsMiddleware and EmbedWriter. */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { gateModel, MISSING_NOT_FOUND } from "../gate.ts";
import { encoderJson, openaiError } from "../http.ts";
import { dimensions, embedding, embedInputs } from "../native/embed.ts";
import { countWords } from "../tokens.ts";

export const openaiEmbeddingsHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  const format = stringField(body, "encoding_format").toLowerCase();
  if (format !== "" && format !== "float" && format !== "base64") {
    return openaiError(400, `Invalid value for 'encoding_format' = ${body.encoding_format}. Supported values: ['float', 'base64'].`);
  }
  // The middleware turns "" into [""] and refuses a missing or empty input before the model is looked at.
  const input = body.input === "" ? [""] : body.input;
  if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) return openaiError(400, "invalid input");
  const name = stringField(body, "model");
  const gate = gateModel(name, { missing: MISSING_NOT_FOUND, scheduler: true });
  if (gate.status !== undefined) return openaiError(gate.status, gate.message);
  const inputs = embedInputs(input);
  if (!inputs) return openaiError(400, "invalid input type");
  ctx.state.markLoaded(gate.model.info);
  const dims = dimensions(gate.model.info, body.dimensions);
  const tokens = inputs.reduce((sum, text) => sum + countWords(text), 0);
  return encoderJson(200, {
    object: "list",
    data: inputs.map((text, index) => ({ object: "embedding", embedding: encode(embedding(text, dims), format), index })),
    model: name,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
};

/** base64 is the little-endian float32 bytes, as openai.floatsToBase64. */
function encode(vector: number[], format: string): number[] | string {
  if (format !== "base64") return vector;
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}
