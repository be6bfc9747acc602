/** Helpers for the emulator's own tests. */

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** NDJSON lines of a response body, parsed. */
export async function ndjson(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** SSE events of a body: each `event:` name (or "") and its raw `data:` payload. */
export function sseEvents(text: string): { event: string; data: string }[] {
  expectFramed(text);
  return text
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "";
      return { event, data };
    });
}

function expectFramed(text: string): void {
  if (!text.endsWith("\n\n")) throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
}

/** Polls until `check` holds or the time is up. */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}
