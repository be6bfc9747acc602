/** Real PostgreSQL and Redis for tests (scripts/test makes sure both run on 127.0.0.1). */
import { SQL } from "bun";

export const POSTGRES_ADMIN_URL = process.env.PARALLAMA_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.PARALLAMA_TEST_REDIS ?? "redis://127.0.0.1:6379/0";

/** The store drivers every driver-parametrised suite runs against. */
export type Driver = "sqlite" | "postgres";
export const DRIVERS: Driver[] = ["sqlite", "postgres"];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database for one suite; drop() removes it. */
export async function freshPostgres(): Promise<TestDatabase> {
  const name = `parallama_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new SQL(POSTGRES_ADMIN_URL);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const a = new SQL(POSTGRES_ADMIN_URL);
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

/** A Redis key prefix no other suite uses. */
export function redisPrefix(): string {
  return `parallama_test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
}
