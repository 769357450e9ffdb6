// @langchain/openai: ChatOpenAI.withStructuredOutput(zod) with its default method (json_schema for this model name).
import { ChatOpenAI } from "@langchain/openai";
import { baseUrl, modelId, report, check, scenario, Weather } from "./lib.mjs";

const url = baseUrl();
await scenario("langchain structured output", async () => {
  const model = await modelId(url);
  const chat = new ChatOpenAI({ model, apiKey: "unused", configuration: { baseURL: url }, maxTokens: 300, temperature: 0, maxRetries: 0, timeout: 60_000 });
  const structured = chat.withStructuredOutput(Weather, { name: "weather", includeRaw: true });
  const { raw, parsed } = await structured.invoke("Weather in Paris?");
  const result = Weather.safeParse(parsed);
  check(result.success, () => `parsed ${JSON.stringify(parsed)} fails zod: ${JSON.stringify(result.error?.issues)}; raw ${JSON.stringify(raw?.content)}`);
  report({ parsed: result.data, method: "jsonSchema", finish: raw?.response_metadata?.finish_reason });
});
