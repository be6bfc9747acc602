/**
 * The Limiter contract (src/limits/limiter.ts) as scenarios with exact expected numbers; every
 * driver runs them all and must give the same answers. Time is moved through `now`.
 */

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Admission, type Limiter, SLOT_TTL_MS, WINDOW_MS } from "../../src/limits/limiter.ts";
import { NO_LIMITS, type Limits } from "../../src/store/store.ts";

export interface LimiterUnderTest {
  limiter: Limiter;
  cleanup(): Promise<void>;
}

const HOUR = WINDOW_MS.hour;
const DAY = WINDOW_MS.day;
/** Midnight UTC, so hour and day buckets both start here. */
const T0 = Date.UTC(2030, 0, 1);

function limits(l: Partial<Limits>): Limits {
  return { ...NO_LIMITS, ...l };
}

function refused(a: Admission): Extract<Admission, { ok: false }> {
  if (a.ok) throw new Error("expected a refusal, got an admission");
  return a;
}

function admitted(a: Admission): Extract<Admission, { ok: true }> {
  if (!a.ok) throw new Error(`expected an admission, got a refusal by ${a.kind}`);
  return a;
}

export function limiterContract(name: string, make: () => Promise<LimiterUnderTest>): void {
  describe(`Limiter contract: ${name}`, () => {
    let subject: LimiterUnderTest;
    let limiter: Limiter;
    beforeAll(async () => {
      subject = await make();
      limiter = subject.limiter;
    });
    afterAll(() => subject.cleanup());
    const user = () => randomUUID();

    async function admitMany(id: string, l: Limits, n: number, now: number): Promise<Admission[]> {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await limiter.admit(id, l, now));
      return out;
    }

    it("admits exactly the limit out of 200 concurrent requests", async () => {
      const id = user();
      const l = limits({ requestsHourly: 50 });
      const results = await Promise.all(Array.from({ length: 200 }, () => limiter.admit(id, l, T0 + 1000)));
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      for (const r of results.filter((r) => !r.ok)) {
        expect(r).toMatchObject({ kind: "requests_hourly", limit: 50 });
      }
      const state = await limiter.state(id, l, T0 + 1000);
      expect(state.windows).toEqual([
        { name: "requests_hourly", limit: 50, used: 50, remaining: 0, resetMs: expect.any(Number) },
      ]);
    });

    it("decides concurrent admissions and settlements of one user as if each came alone", async () => {
      const id = user();
      const l = limits({ concurrency: 3, tokensHourly: 100 });
      const results = await Promise.all(Array.from({ length: 10 }, () => limiter.admit(id, l, T0)));
      const passed = results.filter((r) => r.ok);
      expect(passed).toHaveLength(3);
      expect(new Set(passed.map((r) => r.slot)).size).toBe(3);
      expect(passed.map((r) => r.state.concurrency!.inFlight).sort()).toEqual([1, 2, 3]);
      await Promise.all(passed.map((r) => limiter.finish(id, r.slot, 7, l, T0)));
      const state = await limiter.state(id, l, T0);
      expect(state.concurrency).toEqual({ limit: 3, inFlight: 0 });
      expect(state.windows.find((w) => w.name === "tokens_hourly")?.used).toBe(21);
    });

    it("applies settlements made before admissions in the same turn to those admissions", async () => {
      const id = user();
      const l = limits({ concurrency: 2, tokensHourly: 30 });
      const [a, b] = (await Promise.all([limiter.admit(id, l, T0), limiter.admit(id, l, T0)])).map(admitted);
      // One turn: a's slot and tokens come back, then two new requests arrive. The freed slot
      // admits exactly one of them; a's 30 tokens then fill the token window for the second.
      const [, c, d] = await Promise.all([limiter.finish(id, a!.slot, 30, l, T0), limiter.admit(id, l, T0), limiter.admit(id, l, T0)]);
      expect(refused(c!)).toMatchObject({ kind: "tokens_hourly" });
      expect(refused(d!)).toMatchObject({ kind: "tokens_hourly" });
      await limiter.finish(id, b!.slot, 0, l, T0);
      const next = admitted(await limiter.admit(id, l, T0 + HOUR + 1));
      expect(next.state.concurrency).toEqual({ limit: 2, inFlight: 1 });
      // Slots alone: a release and an admission in one turn.
      const other = user();
      const m = limits({ concurrency: 1 });
      const held = admitted(await limiter.admit(other, m, T0));
      const [, again] = await Promise.all([limiter.finish(other, held.slot, 0, m, T0), limiter.admit(other, m, T0)]);
      expect(admitted(again!).state.concurrency).toEqual({ limit: 1, inFlight: 1 });
    });

    it("reports to each of concurrent admissions the state right after its own", async () => {
      const id = user();
      const l = limits({ requestsHourly: 5, requestsDaily: 100, tokensHourly: 1000 });
      const results = await Promise.all(Array.from({ length: 8 }, () => limiter.admit(id, l, T0)));
      const remaining = (r: Admission, name: string) => r.state.windows.find((w) => w.name === name)!.remaining;
      const passed = results.filter((r) => r.ok);
      expect(passed.map((r) => remaining(r, "requests_hourly")).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(passed.map((r) => remaining(r, "requests_daily")).sort()).toEqual([95, 96, 97, 98, 99]);
      for (const r of results.filter((r) => !r.ok)) {
        expect([remaining(r, "requests_hourly"), remaining(r, "requests_daily"), remaining(r, "tokens_hourly")]).toEqual([0, 95, 1000]);
      }
    });

    it("charges all request windows or none", async () => {
      const id = user();
      const l = limits({ requestsHourly: 10, requestsDaily: 3 });
      await admitMany(id, l, 3, T0);
      const r = refused(await limiter.admit(id, l, T0));
      expect([r.kind, r.limit]).toEqual(["requests_daily", 3]);
      const used = (await limiter.state(id, l, T0)).windows.map((w) => [w.name, w.used]);
      expect(used).toEqual([
        ["requests_hourly", 3],
        ["requests_daily", 3],
      ]);

      const other = user();
      const l2 = limits({ requestsHourly: 2, requestsDaily: 100 });
      await admitMany(other, l2, 3, T0);
      const daily = (await limiter.state(other, l2, T0)).windows[1]!;
      expect([daily.name, daily.used]).toEqual(["requests_daily", 2]);
    });

    it("takes no slot and charges nothing when a window refuses, and charges nothing when concurrency refuses", async () => {
      const id = user();
      const l = limits({ requestsHourly: 1, concurrency: 5 });
      admitted(await limiter.admit(id, l, T0));
      refused(await limiter.admit(id, l, T0));
      expect((await limiter.state(id, l, T0)).concurrency).toEqual({ limit: 5, inFlight: 1 });

      const busy = user();
      const l2 = limits({ requestsHourly: 10, concurrency: 1 });
      admitted(await limiter.admit(busy, l2, T0));
      const r = refused(await limiter.admit(busy, l2, T0));
      expect([r.kind, r.limit, r.retryAfter]).toEqual(["concurrency", 1, 1]);
      expect((await limiter.state(busy, l2, T0)).windows[0]!.used).toBe(1);
    });

    it("reflects the charge in the state returned on admission", async () => {
      const id = user();
      const l = limits({ requestsHourly: 4, tokensDaily: 100, concurrency: 2 });
      const a = admitted(await limiter.admit(id, l, T0));
      expect(a.slot).not.toBe("");
      expect(a.state).toEqual({
        windows: [
          // One request in this bucket has weight left until the end of the next one.
          { name: "requests_hourly", limit: 4, used: 1, remaining: 3, resetMs: 2 * HOUR },
          { name: "tokens_daily", limit: 100, used: 0, remaining: 100, resetMs: 0 },
        ],
        concurrency: { limit: 2, inFlight: 1 },
      });
    });

    it("refuses at or over a token limit and charges tokens on finish", async () => {
      const id = user();
      const l = limits({ tokensHourly: 100 });
      const now = T0 + 1000;
      const a = admitted(await limiter.admit(id, l, now));
      expect(a.slot).toBe("");
      await limiter.finish(id, a.slot, 60, l, now);
      expect((await limiter.state(id, l, now)).windows[0]).toMatchObject({ used: 60, remaining: 40 });
      const b = admitted(await limiter.admit(id, l, now));
      await limiter.finish(id, b.slot, 50, l, now);
      const r = refused(await limiter.admit(id, l, now));
      expect([r.kind, r.limit]).toEqual(["tokens_hourly", 100]);
      // 110 tokens in this bucket weigh below 100 once 1/11 of the next hour has passed.
      expect(r.retryAfter).toBe(Math.ceil((HOUR - 1000 + HOUR / 11) / 1000));
      refused(await limiter.admit(id, l, now + (r.retryAfter - 1) * 1000));
      admitted(await limiter.admit(id, l, now + r.retryAfter * 1000));
    });

    it("refuses a token limit exactly at the limit, hourly before daily", async () => {
      const id = user();
      const l = limits({ tokensHourly: 100, tokensDaily: 100 });
      await limiter.finish(id, "", 100, l, T0);
      const r = refused(await limiter.admit(id, l, T0));
      expect([r.kind, r.limit]).toEqual(["tokens_hourly", 100]);
      // The daily window still refuses after the hour: 100 tokens weigh under 100 one
      // millisecond into the next day.
      expect(r.retryAfter).toBe(DAY / 1000 + 1);
    });

    it("releases slots on finish, idempotently, and by expiry", async () => {
      const id = user();
      const l = limits({ concurrency: 2 });
      const a = admitted(await limiter.admit(id, l, T0));
      const b = admitted(await limiter.admit(id, l, T0));
      expect(a.slot).not.toBe(b.slot);
      const full = refused(await limiter.admit(id, l, T0));
      expect(full.state.concurrency).toEqual({ limit: 2, inFlight: 2 });
      await limiter.finish(id, a.slot, 0, l, T0);
      const c = admitted(await limiter.admit(id, l, T0));
      await limiter.finish(id, a.slot, 0, l, T0);
      refused(await limiter.admit(id, l, T0));
      expect((await limiter.state(id, l, T0)).concurrency).toEqual({ limit: 2, inFlight: 2 });

      // b and c are never finished: their gateway died. They hold their places until expiry.
      refused(await limiter.admit(id, l, T0 + SLOT_TTL_MS - 1));
      expect((await limiter.state(id, l, T0 + SLOT_TTL_MS)).concurrency).toEqual({ limit: 2, inFlight: 0 });
      admitted(await limiter.admit(id, l, T0 + SLOT_TTL_MS));
      await limiter.finish(id, c.slot, 0, l, T0 + SLOT_TTL_MS);
    });

    it("expires slots taken while the clock went back, each at its own time", async () => {
      const id = user();
      const l = limits({ concurrency: 3 });
      admitted(await limiter.admit(id, l, T0 + 5000));
      admitted(await limiter.admit(id, l, T0)); // taken later, expires sooner
      const at = (t: number) => limiter.admit(id, l, t).then((a) => admitted(a).state.concurrency!.inFlight);
      // At T0 + TTL the second has expired though the first, ahead of it, has not.
      expect(await at(T0 + SLOT_TTL_MS)).toBe(2);
      expect(await at(T0 + 5000 + SLOT_TTL_MS)).toBe(2); // the first and the one just taken expired
    });

    it("slides: the previous bucket still weighs after the edge, and requests pass again later", async () => {
      const id = user();
      const l = limits({ requestsHourly: 10 });
      await admitMany(id, l, 10, T0 + HOUR - 60_000);
      const edge = refused(await limiter.admit(id, l, T0 + HOUR + 1000));
      expect(edge.kind).toBe("requests_hourly");
      // At a tenth into the next hour the previous 10 weigh 9: exactly one more passes.
      const tenth = T0 + HOUR + HOUR / 10;
      refused(await limiter.admit(id, l, tenth - 1));
      expect((await admitMany(id, l, 2, tenth)).map((r) => r.ok)).toEqual([true, false]);
      expect((await admitMany(id, l, 11, T0 + 3 * HOUR)).filter((r) => r.ok)).toHaveLength(10);
    });

    it("gives retryAfter as the exact wait until the request passes", async () => {
      const id = user();
      const l = limits({ requestsHourly: 5 });
      const now = T0 + 1000;
      await admitMany(id, l, 5, now);
      const r = refused(await limiter.admit(id, l, now));
      // 5 in this bucket weigh 4 once a fifth of the next hour has passed.
      expect(r.retryAfter).toBe((HOUR - 1000 + HOUR / 5) / 1000);
      expect(r.state.windows[0]).toMatchObject({ used: 5, remaining: 0, resetMs: HOUR - 1000 + HOUR / 5 });
      refused(await limiter.admit(id, l, now + r.retryAfter * 1000 - 1));
      admitted(await limiter.admit(id, l, now + r.retryAfter * 1000));
    });

    it("reports the wait of the slowest failing window", async () => {
      const id = user();
      const l = limits({ requestsHourly: 2, requestsDaily: 2 });
      await admitMany(id, l, 2, T0);
      const r = refused(await limiter.admit(id, l, T0));
      expect([r.kind, r.retryAfter]).toEqual(["requests_hourly", (DAY + DAY / 2) / 1000]);
    });

    it("lets nothing pass a limit of 0", async () => {
      const cases: [Partial<Limits>, string, number][] = [
        [{ requestsHourly: 0 }, "requests_hourly", HOUR / 1000],
        [{ tokensDaily: 0 }, "tokens_daily", DAY / 1000],
        [{ concurrency: 0 }, "concurrency", 1],
      ];
      for (const [l, kind, retryAfter] of cases) {
        const r = refused(await limiter.admit(user(), limits(l), T0));
        expect([r.kind, r.limit, r.retryAfter]).toEqual([kind, 0, retryAfter]);
      }
    });

    it("admits a user without limits every time", async () => {
      const id = user();
      const results = await admitMany(id, NO_LIMITS, 500, T0);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results[0]).toEqual({ ok: true, slot: "", state: { windows: [], concurrency: null } });
      await limiter.finish(id, "", 1000, NO_LIMITS, T0);
      expect(await limiter.state(id, NO_LIMITS, T0)).toEqual({ windows: [], concurrency: null });
    });

    it("reports every limited window in state, in order, with resets", async () => {
      const id = user();
      const l = limits({ requestsHourly: 10, requestsDaily: 100, tokensHourly: 1000, concurrency: 5 });
      const now = T0 + 1000;
      const slots = (await admitMany(id, l, 4, now)).map((a) => admitted(a).slot);
      await limiter.finish(id, slots[0]!, 250, l, now);
      expect(await limiter.state(id, l, now)).toEqual({
        windows: [
          // 4 in this bucket weigh 3 once a quarter of the next window has passed.
          { name: "requests_hourly", limit: 10, used: 4, remaining: 6, resetMs: HOUR - 1000 + HOUR / 4 },
          { name: "requests_daily", limit: 100, used: 4, remaining: 96, resetMs: DAY - 1000 + DAY / 4 },
          // Tokens: 250 weigh under 250 one millisecond into the next hour.
          { name: "tokens_hourly", limit: 1000, used: 250, remaining: 750, resetMs: HOUR - 1000 + 1 },
        ],
        concurrency: { limit: 5, inFlight: 3 },
      });
      // Half an hour into the next hour, half of each hourly bucket still weighs.
      const later = await limiter.state(id, l, T0 + HOUR + HOUR / 2);
      expect(later.windows.map((w) => [w.name, w.used])).toEqual([
        ["requests_hourly", 2],
        ["requests_daily", 4],
        ["tokens_hourly", 125],
      ]);
    });

    it("works on the driver's own clock when no time is given", async () => {
      const id = user();
      const l = limits({ requestsHourly: 2, tokensHourly: 10, concurrency: 1 });
      const a = admitted(await limiter.admit(id, l));
      await limiter.finish(id, a.slot, 4, l);
      admitted(await limiter.admit(id, l));
      const r = refused(await limiter.admit(id, l));
      expect(r.kind).toBe("concurrency");
      const state = await limiter.state(id, l);
      expect(state.windows.map((w) => w.used)).toEqual([2, 4]);
      await limiter.ping();
    });
  });
}
