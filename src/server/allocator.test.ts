import { expect, it } from "vitest";
import { releaseWhenIdle } from "./allocator.ts";

it("collects once after each spell of traffic, and never while traffic goes on or nothing happened", async () => {
  let completed = 0;
  let collections = 0;
  const stop = releaseWhenIdle(() => completed, () => collections++, 30);
  await Bun.sleep(150);
  expect(collections).toBe(0); // idle from the start: nothing to give back
  for (let i = 0; i < 30; i++) {
    completed++;
    await Bun.sleep(5);
  }
  expect(collections).toBe(0); // busy: it takes two quiet checks in a row
  await Bun.sleep(250);
  expect(collections).toBe(1); // then once, not once per check
  completed++;
  await Bun.sleep(250);
  expect(collections).toBe(2);
  stop();
});
