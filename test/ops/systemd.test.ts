import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.ts";
import { ROOT, requireBinary, run, runOk } from "./ops-support.ts";

const UNIT = join(ROOT, "systemd/parallama.service");
const unitText = readFileSync(UNIT, "utf8");
const tmp = tempDir("parallama-systemd-");
afterAll(() => tmp.remove());

/** The unit's [Service] assignments in order; a key may repeat (SystemCallFilter). */
function serviceSettings(): Array<[string, string]> {
  const body = unitText.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  return body
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
}
const setting = (key: string) => serviceSettings().filter(([k]) => k === key).map(([, v]) => v);

describe("systemd unit", () => {
  it("passes systemd-analyze verify with no warning", () => {
    // verify insists that ExecStart's program exists; /usr/bin/parallama is only there once the RPM is
    // installed, so a copy of the unit points at the binary this test run built. Nothing else changes.
    const dir = join(tmp.path, "verify");
    mkdirSync(dir);
    const copy = join(dir, "parallama.service");
    writeFileSync(copy, unitText.replace(/^ExecStart=\/usr\/bin\/parallama /m, `ExecStart=${requireBinary()} `));
    expect(readFileSync(copy, "utf8")).not.toBe(unitText);
    const r = run("systemd-analyze", ["verify", copy]);
    // verify exits 0 on unknown or misspelt keys and only warns, so any output is a failure too.
    expect({ status: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ status: 0, output: "" });
  });

  it("is rated OK or better by systemd-analyze security", () => {
    const out = runOk("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT]);
    const m = /Overall exposure level for parallama\.service: (\d+(?:\.\d+)?) (\w+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(["PERFECT", "SAFE", "OK"]).toContain(m![2]);
    // Measured 1.3 on systemd 252 with everything the gateway can give up; a higher number means
    // a protection was dropped.
    expect(Number(m![1])).toBeLessThanOrEqual(1.3);
  });

  it("runs the binary as parallama, reloads with SIGHUP and restarts on failure", () => {
    expect(setting("ExecStart")).toEqual(["/usr/bin/parallama serve --config /etc/parallama/config.yaml"]);
    expect(setting("ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
    expect(setting("Type")).toEqual(["simple"]);
    expect(setting("User")).toEqual(["parallama"]);
    expect(setting("Group")).toEqual(["parallama"]);
    expect(setting("Restart")).toEqual(["on-failure"]);
    // The server drains for up to server.shutdown_timeout (30 s) and then flushes usage.
    expect(Number(/^(\d+)s$/.exec(setting("TimeoutStopSec")[0] ?? "")?.[1])).toBeGreaterThan(30);
  });

  it("grants no capability and writes only to its state and log directories", () => {
    expect(setting("CapabilityBoundingSet")).toEqual([""]);
    expect(setting("AmbientCapabilities")).toEqual([""]);
    for (const key of ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"]) expect(setting(key), key).toEqual(["yes"]);
    expect(setting("ProtectSystem")).toEqual(["strict"]);
    expect(setting("ReadWritePaths")).toEqual([]);
    expect(setting("StateDirectory")).toEqual(["parallama"]);
    expect(setting("LogsDirectory")).toEqual(["parallama"]);
    expect(setting("RestrictAddressFamilies")).toEqual(["AF_INET AF_INET6 AF_UNIX"]);
    expect(setting("SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources"]);
    // Bun's JIT needs writable and executable memory: turning this on kills the process at start.
    expect(setting("MemoryDenyWriteExecute")).toEqual(["no"]);
  });
});

describe("sysusers entry", () => {
  it("creates a system user parallama with its own group, no shell and home /var/lib/parallama", () => {
    const root = join(tmp.path, "sysroot");
    mkdirSync(join(root, "etc"), { recursive: true });
    runOk("systemd-sysusers", [`--root=${root}`, "-"], { input: readFileSync(join(ROOT, "systemd/parallama.sysusers"), "utf8") });
    const [name, , uid, gid, gecos, home, shell] = readFileSync(join(root, "etc/passwd"), "utf8").trim().split(":");
    expect({ name, gecos, home, shell }).toEqual({ name: "parallama", gecos: "Parallama gateway", home: "/var/lib/parallama", shell: "/usr/sbin/nologin" });
    expect(Number(uid)).toBeLessThan(1000);
    expect(readFileSync(join(root, "etc/group"), "utf8").trim()).toBe(`parallama:x:${gid}:`);
  });
});

describe("logrotate", () => {
  it("rotates parallama.log past 100M, recreates it and sends SIGHUP to the service", () => {
    // A copy aimed at a temporary log directory, owned by whoever runs the test (logrotate refuses
    // a user that does not exist), with systemctl replaced by a stub on PATH that records its call.
    const dir = join(tmp.path, "logrotate");
    const logs = join(dir, "log");
    const bin = join(dir, "bin");
    mkdirSync(logs, { recursive: true });
    mkdirSync(bin);
    const calls = join(dir, "systemctl-calls");
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
    const me = runOk("id", ["-un"]).trim();
    const group = runOk("id", ["-gn"]).trim();
    const conf = readFileSync(join(ROOT, "systemd/parallama.logrotate"), "utf8")
      .replaceAll("/var/log/parallama", logs)
      .replace("create 0640 parallama parallama", `create 0640 ${me} ${group}`);
    writeFileSync(join(dir, "parallama.conf"), conf);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const rotate = () => runOk("logrotate", ["--state", join(dir, "state"), join(dir, "parallama.conf")], { env });

    const log = join(logs, "parallama.log");
    writeFileSync(log, "");
    truncateSync(log, 99 * 1024 * 1024);
    rotate();
    expect(existsSync(join(logs, "parallama.log.1"))).toBe(false);

    truncateSync(log, 101 * 1024 * 1024);
    rotate();
    expect(statSync(join(logs, "parallama.log.1")).size).toBe(101 * 1024 * 1024);
    expect(statSync(log).size).toBe(0);
    expect(statSync(log).mode & 0o777).toBe(0o640);
    expect(readFileSync(calls, "utf8")).toBe("kill -s HUP --kill-whom=main parallama.service\n");
  });

  it("keeps ten compressed generations", () => {
    const conf = readFileSync(join(ROOT, "systemd/parallama.logrotate"), "utf8");
    expect(conf).toMatch(/^\s+size 100M$/m);
    expect(conf).toMatch(/^\s+rotate 10$/m);
    expect(conf).toMatch(/^\s+compress$/m);
  });
});
