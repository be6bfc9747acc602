/** The three request shapes of the bench, identical for every configuration. */
import type { Workload } from "./bench-wrk.ts";

const MESSAGES = [{ role: "user", content: "Why is the sky blue? Answer in one short sentence." }];
const MODEL = "llama3.2:1b";

export const WORKLOADS: Workload[] = [
  {
    name: "chat",
    title: "(a) /api/chat, small, not streamed",
    path: "/api/chat",
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, stream: false }),
    headers: {},
    streamed: false,
  },
  {
    name: "chat-stream",
    title: "(b) /api/chat streamed, 50 chunks",
    path: "/api/chat",
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true }),
    headers: { "x-emulator": JSON.stringify({ chunks: 50 }) },
    streamed: true,
  },
  {
    name: "openai-stream",
    title: "(c) /v1/chat/completions streamed, 50 chunks",
    path: "/v1/chat/completions",
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true }),
    headers: { "x-emulator": JSON.stringify({ chunks: 50 }) },
    streamed: true,
  },
];
