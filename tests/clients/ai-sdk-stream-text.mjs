// Vercel AI SDK: streamText through openai(id) (Responses API) or openai.chat(id) (Chat Completions), chosen by the
// second argument; the text arrives in parts, the finish reason is known and the usage counted.
import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import { baseUrl, modelId, report, check, fail, scenario } from "./lib.mjs";

const url = baseUrl();
const api = process.argv[3] ?? "responses";
await scenario(`ai-sdk streamText (${api})`, async () => {
  const openai = createOpenAI({ baseURL: url, apiKey: "unused" });
  const model = await modelId(url);
  const errors = [];
  const result = streamText({
    model: api === "chat" ? openai.chat(model) : openai(model),
    system: "Be brief.",
    prompt: "Tell me a story.",
    maxOutputTokens: 12,
    temperature: 0,
    maxRetries: 0,
    // streamText reports errors here and ends the stream quietly: collect them so they fail the scenario.
    onError: ({ error }) => errors.push(error),
  });
  const parts = [];
  for await (const part of result.textStream) parts.push(part);
  if (errors.length > 0) fail(`streamText (${api}) reported an error`, errors[0]);
  const finishReason = await result.finishReason;
  const usage = await result.usage;
  const text = await result.text;
  check(parts.join("") === text, () => `streamed ${JSON.stringify(parts)} differs from text ${JSON.stringify(text)}`);
  check(parts.length >= 1, "no text part streamed");
  check(finishReason === "length" || finishReason === "stop", `finishReason ${finishReason}`);
  check(usage.outputTokens > 0 && usage.outputTokens <= 12, () => `usage ${JSON.stringify(usage)}`);
  report({ api, parts: parts.length, text, finishReason, usage });
});
