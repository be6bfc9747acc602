/**
 * `parallama serve`: builds every service once from config (drivers chosen here and nowhere
 * else), listens, and owns the process lifecycle: SIGTERM drains, SIGHUP reopens logs and
 * reloads keys, limits and allowlists.
 */
import { join } from "node:path";
import type { Server } from "bun";
import type { Config } from "../config/schema.ts";
import { KeyVerifier } from "../keys/verifier.ts";
import { openLimiter } from "../limits/open.ts";
import { openStore } from "../store/open.ts";
import { startRetention } from "../usage/retention.ts";
import { UsageRecorder } from "../usage/recorder.ts";
import { Front } from "../front/front.ts";
import { UpstreamPool } from "../front/upstream-pool.ts";
import { releaseWhenIdle } from "./allocator.ts";
import { buildApp, metricsResponse } from "./app.ts";
import { ensureFirstAdmin, firstRunBanner } from "./first-run.ts";
import { LimitGate } from "./limit-gate.ts";
import { createLogSink } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { RequestLog } from "./request-log.ts";
import { requestUrl } from "./request-id.ts";

export async function serve(config: Config): Promise<void> {
  const sink = createLogSink(config.logging);
  const { logger } = sink;
  const store = await openStore(config.database, { background: { onError: (err) => logger.warn({ err: err.message }, "store background work failed") } });
  const applied = await store.migrate();
  if (applied.length > 0) logger.info({ applied }, "applied migrations");
  const admin = await ensureFirstAdmin(store);
  if (admin) process.stderr.write(`${firstRunBanner(admin)}\n`);

  const limiter = openLimiter(config.redis);
  const recorder = new UsageRecorder(store, {
    flushIntervalMs: config.usage.flushIntervalMs,
    batchSize: config.usage.batchSize,
    memoryLimit: config.usage.memoryLimit,
    spillPath: join(config.dataDir, "usage-spill.jsonl"),
    logger,
  });
  const stopRetention = startRetention(store, config.usage.retentionDays, logger);
  const metrics = new Metrics(config.metrics.perUser, { queueDepth: () => recorder.queueDepth, spillBytes: () => recorder.spillBytes });
  const verifier = await KeyVerifier.start(store, { cacheTtlMs: config.auth.cacheTtlMs, onError: (err) => logger.warn({ err: String(err) }, "could not poll the store for key and limit changes") });
  const gate = new LimitGate(limiter, config.limits.default, config.redis?.onError ?? "allow", metrics, logger);
  const requestLog = new RequestLog(recorder, metrics, sink.request);
  const stopReleasing = releaseWhenIdle(() => requestLog.completed);
  let draining = false;

  const app = buildApp({
    upstreamUrl: config.ollama.url,
    maxBodyBytes: config.server.maxBodyBytes,
    verifier,
    gate,
    metrics,
    logger,
    requestLog,
    store,
    limiter,
    metricsOnMain: config.metrics.enabled && config.metrics.listen == null,
    isDraining: () => draining,
  });
  // Bun's HTTP server takes what the front hands over; only the front connects to it.
  app.listen({
    hostname: "127.0.0.1",
    port: 0,
    // Blob uploads by admins can be model-sized; everyone else is held to server.max_body_size by the gateway.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 255,
  });
  const server = app.server as Server<unknown>;
  const pool = new UpstreamPool(new URL(config.ollama.url));
  const front = new Front(
    { verifier, gate, metrics, requestLog, logger, pool, upstreamUrl: config.ollama.url, upstreamHost: new URL(config.ollama.url).host },
    { host: config.server.host, port: config.server.port, tls: config.server.tls ?? null, internalPort: server.port!, maxBodyBytes: config.server.maxBodyBytes },
  );
  const metricsServer = startMetricsServer(config, metrics);
  const scheme = config.server.tls ? "https" : "http";
  logger.info(
    { url: `${scheme}://${config.server.host}:${front.port}`, store: store.driver, limiter: limiter.driver, upstream: config.ollama.url, config: config.source, dataDir: config.dataDir },
    "parallama listening",
  );
  process.stderr.write(`parallama: listening on ${scheme}://${config.server.host}:${front.port} (store ${store.driver}, limiter ${limiter.driver}, upstream ${config.ollama.url}, data ${config.dataDir})\n`);

  process.on("SIGHUP", () => {
    sink.reopen();
    verifier.invalidate();
    logger.info("SIGHUP: log file reopened; keys, limits and allowlists reloaded");
  });
  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, "draining: no new connections; waiting for in-flight requests");
    const finished = await drain(front, server, metrics, config.server.shutdownTimeoutMs);
    pool.close();
    if (!finished) logger.warn({ timeoutMs: config.server.shutdownTimeoutMs }, "shutdown timeout: closing remaining connections");
    metricsServer?.stop(true);
    stopRetention();
    stopReleasing();
    verifier.close();
    await recorder.close(config.server.shutdownTimeoutMs);
    await Promise.allSettled([limiter.close(), store.close()]);
    logger.info({ written: recorder.writtenTotal }, "stopped");
    await sink.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** Stops accepting, then waits for in-flight requests up to the timeout; true when all finished. */
async function drain(front: Front, server: Server<unknown>, metrics: Metrics, timeoutMs: number): Promise<boolean> {
  front.drain();
  void server.stop(false);
  const deadline = Date.now() + timeoutMs;
  let finished = false;
  while (!finished && Date.now() < deadline) {
    finished = front.busy === 0 && metrics.inFlightCount === 0 && server.pendingRequests === 0;
    if (!finished) await Bun.sleep(25);
  }
  front.closeAll();
  await server.stop(true);
  return finished;
}

function startMetricsServer(config: Config, metrics: Metrics): Server<unknown> | null {
  if (!config.metrics.enabled || config.metrics.listen == null) return null;
  return Bun.serve({
    hostname: config.metrics.listen.host,
    port: config.metrics.listen.port,
    fetch: (request) => (requestUrl(request).pathname === "/metrics" ? metricsResponse(metrics) : new Response("not found\n", { status: 404 })),
  });
}
