import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastCounter, FastHistogram } from "./series.ts";

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe("FastCounter and FastHistogram", () => {
  it("expose exactly what prom-client's Counter and Histogram expose for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new FastCounter("x_requests_total", "Requests.", ["endpoint", "status"], ours);
    const promCounter = new Counter({ name: "x_requests_total", help: "Requests.", labelNames: ["endpoint", "status"], registers: [theirs] });
    const histogram = new FastHistogram("x_duration_seconds", "Duration.", ["endpoint"], ours, BUCKETS);
    const promHistogram = new Histogram({ name: "x_duration_seconds", help: "Duration.", labelNames: ["endpoint"], buckets: BUCKETS, registers: [theirs] });
    const bare = new FastHistogram("x_overhead_seconds", "Overhead.", [], ours, BUCKETS);
    const promBare = new Histogram({ name: "x_overhead_seconds", help: "Overhead.", buckets: BUCKETS, registers: [theirs] });

    const seen: [string, string, number][] = [["/api/chat", "200", 0.0005], ["/api/chat", "200", 0.001], ["/api/chat", "429", 0.05], ["/v1/models", "200", 3], ["/api/chat", "200", 0.5]];
    for (const [endpoint, status, seconds] of seen) {
      counter.inc([endpoint, status]);
      promCounter.inc({ endpoint, status });
      histogram.observe([endpoint], seconds);
      promHistogram.observe({ endpoint }, seconds);
      bare.observe([], seconds);
      promBare.observe(seconds);
    }
    counter.inc(["/api/chat", "200"], 5);
    promCounter.inc({ endpoint: "/api/chat", status: "200" }, 5);

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('x_requests_total{endpoint="/api/chat",status="200"} 8');
  });
});
