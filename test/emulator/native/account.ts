/**
 * The ollama.com account routes (POST /api/me, /api/signout, DELETE /api/user/keys/:key) and the
 * web tools Ollama proxies to ollama.com (POST /api/experimental/web_search, web_fetch), answered
 * locally as a signed-in account would see them.
 */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { ginJson, ollamaError } from "../http.ts";

const USER = {
  id: "7d2b1d8e-3c4f-4a6b-9e10-2f3a4b5c6d7e",
  email: "owner@example.com",
  name: "owner",
  plan: "free",
};

export const meHandler: Handler = () => ginJson(200, USER);

/** Signout and key removal answer `null` (gin's c.JSON(200, nil)). */
export const signoutHandler: Handler = () => ginJson(200, null);

export const webSearchHandler: Handler = (ctx) => {
  const query = stringField(bodyRecord(ctx), "query");
  if (query === "") return ollamaError(400, "query is required");
  return ginJson(200, {
    results: [
      { title: `Result for ${query}`, url: "https://example.com/1", content: `Emulated search result about ${query}.` },
      { title: `More on ${query}`, url: "https://example.com/2", content: `A second emulated result about ${query}.` },
    ],
  });
};

export const webFetchHandler: Handler = (ctx) => {
  const url = stringField(bodyRecord(ctx), "url");
  if (url === "") return ollamaError(400, "url is required");
  return ginJson(200, { title: "Emulated page", content: `Emulated content of ${url}.`, links: ["https://example.com/"] });
};
