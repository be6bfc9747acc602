import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { tempDir } from "../support/tmp.ts";
import { requireBinary, ROOT, run, runOk } from "./ops-support.ts";

const tmp = tempDir("parallama-docs-");
afterAll(() => tmp.remove());

const guide = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
/** Fenced blocks of one language in the deployment guide. */
const blocks = (lang: string) => [...guide.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);

/** The metric families the gateway exports (src/server/metrics.ts) and prom-client's process metrics. */
const COUNTERS = ["parallama_requests_total", "parallama_tokens_total", "parallama_rejections_total", "parallama_upstream_errors_total", "parallama_limiter_errors_total", "process_cpu_seconds_total"];
const GAUGES = ["parallama_in_flight_requests", "parallama_usage_queue_depth", "parallama_usage_spill_bytes", "process_resident_memory_bytes"];
const HISTOGRAMS = ["parallama_request_duration_seconds", "parallama_upstream_ttfb_seconds", "parallama_overhead_seconds"];

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, "docs/grafana-dashboard.json"), "utf8"));
  const panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; w: number }; targets?: Array<{ expr: string }> }> = dashboard.panels;
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it("is an importable dashboard: uid, data source variable, unique panel ids inside the grid", () => {
    expect(dashboard).toMatchObject({ uid: "parallama-gateway", title: "Parallama" });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.find((v: { name: string }) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== "row") expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it("names only metrics the gateway exports, and shows every family", () => {
    const exported = new Set([...COUNTERS, ...GAUGES, ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`])]);
    const named = new Set(exprs.flatMap((e) => e.match(/\b(?:parallama|process)_[a-z_]+\b/g) ?? []));
    expect([...named].filter((m) => !exported.has(m))).toEqual([]);
    const family = (m: string) => HISTOGRAMS.find((h) => m.startsWith(`${h}_`)) ?? m;
    const families = new Set([...named].map(family));
    expect([...COUNTERS, ...GAUGES, ...HISTOGRAMS].filter((f) => !families.has(f))).toEqual([]);
  });

  it("has queries Prometheus accepts", () => {
    // promtool parses each query as a recording rule; Grafana's own variables become plain values.
    const rules = {
      groups: [
        {
          name: "dashboard",
          rules: exprs.map((expr, i) => ({ record: `parallama:dashboard_${i}`, expr: expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h") })),
        },
      ],
    };
    const file = join(tmp.path, "rules.yaml");
    writeFileSync(file, JSON.stringify(rules));
    const r = run("promtool", ["check", "rules", file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe("deployment guide", () => {
  it("uses only commands the binary has", () => {
    const help = runOk(requireBinary(), ["--help"]);
    const commands = new Set([...help.matchAll(/^ {2}([a-z]+(?: [a-z]+)?)(?: [<[]|\s{2,})/gm)].map((m) => m[1]!));
    expect(commands.has("user create")).toBe(true);
    const used = blocks("sh").flatMap((b) => [...b.matchAll(/(?:^|sudo )parallama ([a-z]+)(?: ([a-z]+))?/gm)].map((m) => (commands.has(`${m[1]} ${m[2]}`) ? `${m[1]} ${m[2]}` : m[1]!)));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((c) => !commands.has(c))).toEqual([]);
  });

  it("shows config snippets the config loader accepts", () => {
    const configs = blocks("yaml").filter((b) => !/^scrape_configs:/m.test(b));
    expect(configs.length).toBeGreaterThanOrEqual(4);
    for (const [i, text] of configs.entries()) {
      const file = join(tmp.path, `snippet-${i}.yaml`);
      writeFileSync(file, text);
      expect(() => loadConfig({ file, env: {} }), text).not.toThrow();
    }
    for (const text of blocks("yaml").filter((b) => /^scrape_configs:/m.test(b))) expect(parseYaml(text).scrape_configs[0].static_configs[0].targets.length).toBe(1);
  });

  it("shows an nginx server block that nginx accepts", () => {
    // The snippet goes into a minimal http block as written; only the certificate paths point at a
    // throwaway self-signed pair, since nginx -t loads them.
    const [snippet] = blocks("nginx");
    const cert = join(tmp.path, "cert.pem");
    const key = join(tmp.path, "key.pem");
    runOk("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=llm.example.org", "-keyout", key, "-out", cert]);
    const server = snippet!.replace(/ssl_certificate +\S+;/, `ssl_certificate ${cert};`).replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${key};`);
    expect(server).not.toBe(snippet);
    const conf = join(tmp.path, "nginx.conf");
    writeFileSync(conf, `pid ${tmp.path}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n${server}\n}\n`);
    const r = run("nginx", ["-t", "-q", "-p", tmp.path, "-c", conf]);
    expect(r.status, r.stderr).toBe(0);
  });
});
