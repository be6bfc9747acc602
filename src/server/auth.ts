import type { Server } from "bun";
import { handedOverPeer } from "../front/handover.ts";
import type { KeyVerifier, VerifyFailure, VerifyResult } from "../keys/verifier.ts";
import type { Principal } from "../store/store.ts";
import { type ErrorCode, GatewayError } from "./errors.ts";
import type { RejectionReason } from "./metrics.ts";

/**
 * The presented key: `Authorization: Bearer KEY`, `X-API-Key: KEY`, or HTTP Basic with the key as
 * password (for tools that only take a URL). null when the request carries none.
 */
function presentedKey(headers: HeaderReader): string | null {
  const apiKey = headers.get("x-api-key");
  if (apiKey) return apiKey.trim();
  const auth = headers.get("authorization");
  if (!auth) return null;
  if (auth.startsWith("Bearer ") && auth.charCodeAt(7) > 32 && auth.charCodeAt(auth.length - 1) > 32) return auth.slice(7);
  const space = auth.indexOf(" ");
  const scheme = auth.slice(0, space).toLowerCase();
  const value = auth.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return "";
}

/** Request headers as both the fetch Request and the front's own parser hold them. */
export interface HeaderReader {
  get(name: string): string | null;
}

const FAILURES: Record<VerifyFailure, { code: ErrorCode; reason: RejectionReason; message: string }> = {
  malformed: { code: "auth_malformed", reason: "auth_invalid", message: "malformed API key: expected plm_<id>_<secret>" },
  unknown: { code: "auth_unknown", reason: "auth_invalid", message: "invalid API key" },
  revoked: { code: "auth_revoked", reason: "auth_revoked", message: "API key revoked" },
  expired: { code: "auth_expired", reason: "auth_expired", message: "API key expired" },
  disabled: { code: "auth_disabled", reason: "auth_disabled", message: "user disabled" },
  throttled: { code: "auth_throttled", reason: "auth_throttled", message: "too many failed authentication attempts; try again in a minute" },
};

export class AuthError extends GatewayError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly reason: RejectionReason,
  ) {
    super(code, message, code === "auth_throttled" ? { "retry-after": "60" } : { "www-authenticate": 'Bearer realm="parallama"' });
  }
}

/**
 * The client's address as the socket reports it (used only to throttle failed attempts and to spot
 * loopback); for a connection the front handed over, the address of the client behind it.
 */
export function clientAddress(server: Server<unknown> | null, request: Request): string {
  const peer = server?.requestIP(request);
  if (!peer) return "unknown";
  return handedOverPeer(peer.port) ?? peer.address;
}

/**
 * Resolves the request's principal or throws AuthError saying which check failed (never echoing
 * the key); a cached key resolves without a promise.
 */
export function authenticate(verifier: KeyVerifier, headers: HeaderReader, address: () => string): Principal | Promise<Principal> {
  const key = presentedKey(headers);
  if (key == null) {
    throw new AuthError("auth_missing", "missing API key: send Authorization: Bearer <key>, X-API-Key, or HTTP Basic with the key as password", "auth_missing");
  }
  const result = verifier.verify(key, address);
  return result instanceof Promise ? result.then(principalOf) : principalOf(result);
}

function principalOf(result: VerifyResult): Principal {
  if (result.ok) return result.principal;
  const failure = FAILURES[result.reason];
  throw new AuthError(failure.code, failure.message, failure.reason);
}
