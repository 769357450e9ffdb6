// Vercel AI SDK: generateObject with the default openai(id) model, which uses the Responses API (text.format json_schema).
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject } from "ai";
import { baseUrl, modelId, report, check, scenario, Weather } from "./lib.mjs";

const url = baseUrl();
await scenario("ai-sdk generateObject", async () => {
  const openai = createOpenAI({ baseURL: url, apiKey: "unused" });
  const model = await modelId(url);
  const result = await generateObject({ model: openai(model), schema: Weather, prompt: "Weather in Paris?", maxOutputTokens: 300, temperature: 0, maxRetries: 0 });
  const parsed = Weather.safeParse(result.object);
  check(parsed.success, () => `object ${JSON.stringify(result.object)} fails zod: ${JSON.stringify(parsed.error?.issues)}`);
  check(result.finishReason === "stop", `finishReason ${result.finishReason}`);
  report({ object: parsed.data, finishReason: result.finishReason, usage: result.usage });
});
