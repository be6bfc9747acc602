import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from "./migrations.ts";

const schemaDir = join(import.meta.dirname, "../../schema");

function filesIn(dialect: string): string[] {
  return readdirSync(join(schemaDir, dialect)).filter((f) => f.endsWith(".sql")).sort();
}

describe("embedded migrations", () => {
  for (const [dialect, list] of [["postgres", POSTGRES_MIGRATIONS], ["sqlite", SQLITE_MIGRATIONS]] as const) {
    it(`lists every ${dialect} file in order with its text`, () => {
      expect(list.map((m) => `${m.name}.sql`)).toEqual(filesIn(dialect));
      for (const m of list) expect(m.sql).toBe(readFileSync(join(schemaDir, dialect, `${m.name}.sql`), "utf8"));
    });
  }

  it("has the same names in both dialects", () => {
    expect(filesIn("sqlite")).toEqual(filesIn("postgres"));
  });
});
