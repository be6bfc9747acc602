import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { tempDir } from "../support/tmp.ts";
import { freePort, requireBinary, ROOT, run, runOk } from "./ops-support.ts";

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
const tmp = tempDir("parallama-rpm-");
let rpmFile = "";
let payload = "";
/** The binary as scripts/build-rpm staged it: dist/parallama may be rebuilt while this suite runs. */
let staged = "";

beforeAll(() => {
  requireBinary();
  // A private rpmbuild tree, so a developer's `sh scripts/build-rpm` in dist/ is never disturbed.
  const top = join(tmp.path, "rpmbuild");
  const out = runOk("sh", ["scripts/build-rpm"], { env: { ...process.env, RPM_TOPDIR: top } });
  staged = join(top, "SOURCES/parallama");
  rpmFile = out.trim().split("\n").at(-1)!;
  expect(rpmFile).toMatch(new RegExp(`/parallama-${VERSION.replaceAll(".", "\\.")}-1\\.\\w+\\.rpm$`));
  payload = join(tmp.path, "payload");
  mkdirSync(payload);
  runOk("sh", ["-c", 'rpm2cpio "$1" | cpio -idm --quiet', "sh", rpmFile], { cwd: payload });
}, 120_000);
afterAll(() => tmp.remove());

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

const query = (...args: string[]) => runOk("rpm", ["-qp", ...args, rpmFile]);

describe("RPM contents", () => {
  it("carries the version from package.json", () => {
    expect(query("--qf", "%{NAME} %{VERSION}")).toBe(`parallama ${VERSION}`);
  });

  it("installs exactly the binary, unit, sysusers, logrotate, config, password file, directories and guide", () => {
    expect(query("-l").trim().split("\n").sort()).toEqual([
      "/etc/logrotate.d/parallama",
      "/etc/parallama",
      "/etc/parallama/config.yaml",
      "/etc/parallama/db_password",
      "/usr/bin/parallama",
      "/usr/lib/systemd/system/parallama.service",
      "/usr/lib/sysusers.d/parallama.conf",
      "/usr/share/doc/parallama/deploy.md",
      "/var/lib/parallama",
      "/var/log/parallama",
    ]);
  });

  it("sets modes and owners so only the service reads its config and password", () => {
    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    const rows = Object.fromEntries(
      query("--dump")
        .trim()
        .split("\n")
        .map((line) => {
          const [path, size, , digest, mode, owner, group, isConfig] = line.split(" ");
          return [path, { size: Number(size), digest, mode, owner, group, config: isConfig === "1" }];
        }),
    );
    const pick = (path: string) => {
      const { mode, owner, group, config } = rows[path]!;
      return { mode, owner, group, config };
    };
    expect(pick("/usr/bin/parallama")).toEqual({ mode: "0100755", owner: "root", group: "root", config: false });
    expect(pick("/usr/lib/systemd/system/parallama.service")).toEqual({ mode: "0100644", owner: "root", group: "root", config: false });
    expect(pick("/usr/lib/sysusers.d/parallama.conf")).toEqual({ mode: "0100644", owner: "root", group: "root", config: false });
    expect(pick("/etc/logrotate.d/parallama")).toEqual({ mode: "0100644", owner: "root", group: "root", config: true });
    expect(pick("/etc/parallama")).toEqual({ mode: "040750", owner: "root", group: "parallama", config: false });
    expect(pick("/etc/parallama/config.yaml")).toEqual({ mode: "0100640", owner: "root", group: "parallama", config: true });
    expect(pick("/etc/parallama/db_password")).toEqual({ mode: "0100640", owner: "root", group: "parallama", config: true });
    expect(pick("/var/lib/parallama")).toEqual({ mode: "040750", owner: "parallama", group: "parallama", config: false });
    expect(pick("/var/log/parallama")).toEqual({ mode: "040750", owner: "parallama", group: "parallama", config: false });
    // No password ships in the package; %post generates one per box.
    expect(rows["/etc/parallama/db_password"]!.size).toBe(0);
    // Stripping a `bun build --compile` binary leaves a bare Bun: the packaged one is the built one.
    expect(rows["/usr/bin/parallama"]!.digest).toBe(sha256(staged));
    expect(sha256(join(payload, "usr/bin/parallama"))).toBe(sha256(staged));
    expect(sha256(join(payload, "etc/parallama/config.yaml"))).toBe(sha256(join(ROOT, "rpm/config.yaml")));
    expect(sha256(join(payload, "usr/lib/systemd/system/parallama.service"))).toBe(sha256(join(ROOT, "systemd/parallama.service")));
  });

  it("keeps every file under /etc on upgrade when the admin changed it", () => {
    const flags = Object.fromEntries(
      query("--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\\n]")
        .trim()
        .split("\n")
        .map((l) => l.split(" ")),
    );
    expect(flags["/etc/parallama/config.yaml"]).toBe("cn");
    expect(flags["/etc/parallama/db_password"]).toBe("cn");
    expect(flags["/etc/logrotate.d/parallama"]).toBe("cn");
    expect(flags["/usr/share/doc/parallama/deploy.md"]).toBe("d");
  });

  it("packages the seed config: PostgreSQL and Redis on localhost, logs in /var/log/parallama", () => {
    // The loader rejects unknown keys; only password_file moves, since /etc/parallama is not here.
    const password = join(tmp.path, "db_password");
    writeFileSync(password, "s3cret\n");
    const file = join(tmp.path, "packaged-config.yaml");
    writeFileSync(file, readFileSync(join(payload, "etc/parallama/config.yaml"), "utf8").replace("/etc/parallama/db_password", password));
    const config = loadConfig({ file, env: {} });
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 8000, shutdownTimeoutMs: 30_000, tls: null });
    expect(config.database).toEqual({ driver: "postgres", url: "postgres://parallama:s3cret@localhost:5432/parallama", poolSize: 10 });
    expect(config.redis).toMatchObject({ url: "redis://localhost:6379/0" });
    expect(config.ollama.url).toBe("http://localhost:11434");
    expect(config.logging).toEqual({ level: "info", dir: "/var/log/parallama", maxSize: "100M", backupCount: 10 });
    expect(config.dataDir).toBe("/var/lib/parallama");
    expect(config.metrics).toEqual({ enabled: true, listen: null, perUser: false });
  });
});

describe("RPM scriptlets", () => {
  // Each scriptlet runs as rpm runs it (/bin/sh, $1 = count of installed versions after the step),
  // against a temporary /etc/parallama and a fake /run/systemd/system, with systemctl and the
  // user-creation tools replaced by stubs on PATH that record their calls.
  const script = (tag: string) => query("--qf", `%{${tag}}`);
  let root = "";
  let stubs = "";

  beforeAll(() => {
    root = join(tmp.path, "scriptlets");
    stubs = join(root, "bin");
    mkdirSync(join(root, "etc/parallama"), { recursive: true });
    mkdirSync(join(root, "run/systemd/system"), { recursive: true });
    mkdirSync(stubs);
    const stub = (name: string, body: string) => {
      writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(stubs, name), 0o755);
    };
    stub("systemctl", `echo "systemctl $*" >> ${root}/calls`);
    stub("systemd-sysusers", `echo "systemd-sysusers $*" >> ${root}/calls; cat >> ${root}/calls`);
    stub("getent", "exit 2");
    stub("groupadd", `echo "groupadd $*" >> ${root}/calls`);
    stub("useradd", `echo "useradd $*" >> ${root}/calls`);
  });

  function runScript(tag: string, arg: number, options: { systemd?: boolean; path?: string } = {}): string[] {
    writeFileSync(join(root, "calls"), "");
    let text = script(tag).replaceAll("/etc/parallama", join(root, "etc/parallama"));
    if (options.systemd !== false) text = text.replaceAll("/run/systemd/system", join(root, "run/systemd/system"));
    else text = text.replaceAll("/run/systemd/system", join(root, "absent"));
    const r = run("/bin/sh", ["-c", text, "sh", String(arg)], { env: { ...process.env, PATH: options.path ?? `${stubs}:${process.env.PATH}` } });
    expect({ tag, status: r.status, stderr: r.stderr }).toEqual({ tag, status: 0, stderr: "" });
    return readFileSync(join(root, "calls"), "utf8").trim().split("\n").filter(Boolean);
  }

  it("%pre creates the user from the sysusers entry, or with useradd where sysusers is missing", () => {
    expect(runScript("PREIN", 1)).toEqual([
      "systemd-sysusers --replace=/usr/lib/sysusers.d/parallama.conf -",
      ...readFileSync(join(ROOT, "systemd/parallama.sysusers"), "utf8").trim().split("\n"),
    ]);
    // PATH holds only the stubs: no systemd-sysusers, getent finds nobody.
    const stubsOnly = join(root, "stubs-only");
    mkdirSync(stubsOnly);
    for (const name of ["getent", "groupadd", "useradd"]) writeFileSync(join(stubsOnly, name), readFileSync(join(stubs, name)), { mode: 0o755 });
    expect(runScript("PREIN", 1, { path: stubsOnly })).toEqual([
      "groupadd -r parallama",
      "useradd -r -g parallama -d /var/lib/parallama -s /sbin/nologin -c Parallama gateway parallama",
    ]);
  });

  it("%post fills an empty db_password once, keeping its mode, and presets the unit on first install only", () => {
    const file = join(root, "etc/parallama/db_password");
    writeFileSync(file, "", { mode: 0o640 });
    chmodSync(file, 0o640);
    expect(runScript("POSTIN", 1)).toEqual(["systemctl daemon-reload", "systemctl --no-reload preset parallama.service"]);
    const password = readFileSync(file, "utf8");
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(statSync(file).mode & 0o777).toBe(0o640);

    expect(runScript("POSTIN", 2)).toEqual(["systemctl daemon-reload"]);
    expect(readFileSync(file, "utf8")).toBe(password);
    // In a container or image build without a running systemd, nothing is reloaded.
    expect(runScript("POSTIN", 2, { systemd: false })).toEqual([]);
  });

  it("%preun stops and disables the service on erase, not on upgrade", () => {
    expect(runScript("PREUN", 0)).toEqual(["systemctl --no-reload disable --now parallama.service"]);
    expect(runScript("PREUN", 1)).toEqual([]);
  });

  it("%postun restarts a running service after an upgrade, not after an erase", () => {
    expect(runScript("POSTUN", 1)).toEqual(["systemctl daemon-reload", "systemctl try-restart parallama.service"]);
    expect(runScript("POSTUN", 0)).toEqual(["systemctl daemon-reload"]);
  });
});

describe("packaged binary", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("reports the package's version", () => {
    expect(runOk(join(payload, "usr/bin/parallama"), ["--version"])).toContain(VERSION);
  });

  it("starts from the extracted payload on a SQLite config and answers /healthz", async () => {
    const dir = join(tmp.path, "serve");
    mkdirSync(dir);
    const port = await freePort();
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      [
        "server:",
        "  host: 127.0.0.1",
        `  port: ${port}`,
        "  shutdown_timeout: 5s",
        "database:",
        "  driver: sqlite",
        `  path: ${dir}/parallama.db`,
        "ollama:",
        "  url: http://127.0.0.1:9",
        `data_dir: ${dir}`,
        "",
      ].join("\n"),
    );
    // Nothing from the test environment (PARALLAMA_*) may override the config under test.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PARALLAMA_")));
    let output = "";
    child = spawn(join(payload, "usr/bin/parallama"), ["serve", "--config", config], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (b) => (output += b));
    child.stderr!.on("data", (b) => (output += b));
    const exited = new Promise<number | null>((ok) => child!.once("exit", (code) => ok(code)));

    let status = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode == null) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status, output).toBe(200);

    // SIGTERM is how systemd stops it: a clean exit, well inside TimeoutStopSec.
    child.kill("SIGTERM");
    expect(await exited, output).toBe(0);
    child = undefined;
    // Its worker thread (SQLite checkpoints) started inside the compiled binary.
    expect(output).not.toContain("store background work failed");
  }, 40_000);
});
