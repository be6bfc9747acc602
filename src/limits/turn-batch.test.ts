import { describe, expect, it } from "vitest";
import { TurnBatcher } from "./turn-batch.ts";

describe("TurnBatcher", () => {
  it("runs the calls of one turn as one batch per key, in arrival order, answering each its own", async () => {
    const calls: [string, number[]][] = [];
    const batcher = new TurnBatcher<number, number>(async (key, inputs) => {
      calls.push([key, inputs]);
      return inputs.map((n) => n * 10);
    });
    const outs = await Promise.all([batcher.add("a", 1), batcher.add("b", 2), batcher.add("a", 3)]);
    expect(outs).toEqual([10, 20, 30]);
    expect(calls).toEqual([["a", [1, 3]], ["b", [2]]]);
    expect(await batcher.add("a", 4)).toBe(40);
    expect(calls).toHaveLength(3);
  });

  it("holds a key's calls while its call is in flight and sends them as the next call, in order", async () => {
    const calls: [string, number[]][] = [];
    let answer!: () => void;
    const batcher = new TurnBatcher<number, number>(async (key, inputs) => {
      calls.push([key, inputs]);
      if (inputs[0] === 1) await new Promise<void>((resolve) => (answer = resolve));
      return inputs;
    });
    const first = batcher.add("a", 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([["a", [1]]]);
    const later = [batcher.add("a", 2)];
    await new Promise((resolve) => setImmediate(resolve));
    later.push(batcher.add("a", 3), batcher.add("b", 4));
    await new Promise((resolve) => setImmediate(resolve));
    // b has nothing in flight and goes at once; a's two wait for its first answer.
    expect(calls).toEqual([["a", [1]], ["b", [4]]]);
    answer();
    expect(await first).toBe(1);
    expect(await Promise.all(later)).toEqual([2, 3, 4]);
    expect(calls).toEqual([["a", [1]], ["b", [4]], ["a", [2, 3]]]);
  });

  it("splits a long group and rejects every waiter of a failed batch", async () => {
    const sizes: number[] = [];
    const batcher = new TurnBatcher<number, number>(async (_key, inputs) => {
      sizes.push(inputs.length);
      if (inputs.includes(-1)) throw new Error("down");
      return inputs;
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, -1, 5].map((n) => batcher.add("k", n)));
    expect(sizes).toEqual([2, 2, 1]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "rejected", "fulfilled"]);
  });

  it("rejects every waiter when the batch answers the wrong number of results", async () => {
    const batcher = new TurnBatcher<number, number>(async () => [1]);
    const results = await Promise.allSettled([batcher.add("k", 1), batcher.add("k", 2)]);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
  });
});
