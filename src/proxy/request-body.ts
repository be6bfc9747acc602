import { GatewayError } from "../server/errors.ts";

function tooLarge(max: number): GatewayError {
  return new GatewayError("body_too_large", `request body larger than ${max} bytes (server.max_body_size)`);
}

/**
 * Reads a request body whole, refusing it as soon as it passes `max` bytes (by Content-Length
 * before reading, or while reading a chunked body).
 */
export async function readBodyLimited(request: Request, max: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared != null && Number(declared) > max) throw tooLarge(max);
  if (!request.body) return new Uint8Array(0);
  if (declared != null) return new Uint8Array(await request.arrayBuffer());
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.byteLength;
    if (size > max) throw tooLarge(max);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

const decoder = new TextDecoder();

/** Parses a JSON object body; null when the body is empty or not a JSON object (upstream will say why). */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  if (bytes.byteLength === 0) return null;
  try {
    const doc = JSON.parse(decoder.decode(bytes));
    return doc && typeof doc === "object" && !Array.isArray(doc) ? doc : null;
  } catch {
    return null;
  }
}
