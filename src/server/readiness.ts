import type { Limiter } from "../limits/limiter.ts";
import type { Store } from "../store/store.ts";

export interface ReadinessDeps {
  store: Store;
  limiter: Limiter;
  upstreamUrl: string;
}

type Check = "store" | "limiter" | "upstream";

/** Checks every part a request needs, in parallel, each bounded to two seconds. */
export async function readiness(deps: ReadinessDeps): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const checks: Record<Check, () => Promise<unknown>> = {
    store: () => deps.store.ping(),
    limiter: () => deps.limiter.ping(),
    upstream: async () => {
      const res = await fetch(`${deps.upstreamUrl}/api/version`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await res.arrayBuffer();
    },
  };
  const names = Object.keys(checks) as Check[];
  const results = await Promise.all(names.map((name) => withTimeout(checks[name](), 2000).then(() => "ok", (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`)));
  const status = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  const failed = names.filter((_, i) => results[i] !== "ok");
  return failed.length === 0 ? { ok: true, body: { status: "ok", checks: status } } : { ok: false, body: { error: `not ready: ${failed.join(", ")} unavailable`, checks: status } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
