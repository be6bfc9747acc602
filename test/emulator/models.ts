/**
 * The models the emulator knows, with the fields /api/tags, /api/ps, /api/show and /v1/models report,
 * and the trigger model names that provoke Ollama's failure modes.
 */
import type { Behaviour } from "./options.ts";

export interface ModelInfo {
  /** Full name with tag, as /api/tags lists it. */
  name: string;
  size: number;
  sizeVram: number;
  digest: string;
  modifiedAt: string;
  family: string;
  parameterSize: string;
  quantizationLevel: string;
  contextLength: number;
  embeddingLength: number;
  capabilities: string[];
}

/**
 * - `midstream-error`: streams some chunks, then an `{"error":...}` line with status 200 (500 when not streaming).
 * - `busy`: 503 `server busy, please try again.  maximum pending requests exceeded`, before any byte.
 * - `slow`: a 1.5 s model load before the first chunk and 100 ms between chunks (the header can override both).
 */
export type Trigger = "midstream-error" | "busy" | "slow";

export interface ResolvedModel {
  info: ModelInfo;
  trigger?: Trigger;
}

export const MIDSTREAM_ERROR = "an error was encountered while running the model: unexpected EOF";
export const BUSY_ERROR = "server busy, please try again.  maximum pending requests exceeded";

const MODIFIED_AT = "2025-06-01T10:20:30.123456789Z";

export const MODELS: readonly ModelInfo[] = [
  {
    name: "llama3.2:1b",
    size: 1321098329,
    sizeVram: 1321098329,
    digest: "baf6a787fdffd633537aa2eb51cfd54cb93ff08e28040095462bb63daf552878",
    modifiedAt: MODIFIED_AT,
    family: "llama",
    parameterSize: "1.2B",
    quantizationLevel: "Q8_0",
    contextLength: 131072,
    embeddingLength: 2048,
    capabilities: ["completion", "tools"],
  },
  {
    name: "qwen2.5:0.5b",
    size: 397821319,
    sizeVram: 397821319,
    digest: "a8b0c51577010a279d933d14c2a8ab4b268079d44c5c8830c0a93900f1827c67",
    modifiedAt: MODIFIED_AT,
    family: "qwen2",
    parameterSize: "494.03M",
    quantizationLevel: "Q4_K_M",
    contextLength: 32768,
    embeddingLength: 896,
    capabilities: ["completion", "tools"],
  },
  {
    name: "nomic-embed-text:latest",
    size: 274302450,
    sizeVram: 274302450,
    digest: "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
    modifiedAt: MODIFIED_AT,
    family: "nomic-bert",
    parameterSize: "137M",
    quantizationLevel: "F16",
    contextLength: 2048,
    embeddingLength: 768,
    capabilities: ["embedding"],
  },
];

const TRIGGERS: readonly Trigger[] = ["midstream-error", "busy", "slow"];

const TRIGGER_BEHAVIOUR: Record<Trigger, Partial<Behaviour>> = {
  "midstream-error": {},
  busy: {},
  slow: { firstTokenDelayMs: 1500, chunkDelayMs: 100 },
};

const BY_NAME = new Map(MODELS.map((m) => [m.name, m]));
const GENERATIVE = MODELS[0] as ModelInfo;

/** Ollama's display name: a missing tag means `:latest`. */
export function displayName(name: string): string {
  return name.includes(":") ? name : `${name}:latest`;
}

/** The model a request names, or undefined when Ollama would answer 404. */
export function resolveModel(name: string): ResolvedModel | undefined {
  const trigger = TRIGGERS.find((t) => t === name || `${t}:latest` === name);
  if (trigger) return { info: GENERATIVE, trigger };
  const info = BY_NAME.get(displayName(name.trim()));
  return info ? { info } : undefined;
}

export function triggerBehaviour(model: ResolvedModel): Partial<Behaviour> {
  return model.trigger ? TRIGGER_BEHAVIOUR[model.trigger] : {};
}

export function canGenerate(info: ModelInfo): boolean {
  return info.capabilities.includes("completion");
}
