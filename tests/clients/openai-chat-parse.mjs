// openai (Node): chat.completions.parse with zodResponseFormat (a strict json_schema); the parsed object must satisfy zod.
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { baseUrl, modelId, report, check, scenario, Weather } from "./lib.mjs";

const url = baseUrl();
await scenario("openai chat parse", async () => {
  const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  const model = await modelId(url);
  const completion = await client.chat.completions.parse({
    model,
    messages: [{ role: "developer", content: "Answer in JSON." }, { role: "user", content: "Weather in Paris?" }],
    response_format: zodResponseFormat(Weather, "weather"),
    max_tokens: 300,
    temperature: 0,
  });
  const choice = completion.choices[0];
  check(choice.finish_reason === "stop", () => `finish_reason ${choice.finish_reason}: ${JSON.stringify(choice.message)}`);
  const parsed = Weather.safeParse(choice.message.parsed);
  check(parsed.success, () => `parsed ${JSON.stringify(choice.message.parsed)} fails zod: ${JSON.stringify(parsed.error?.issues)}`);
  report({ parsed: parsed.data, usage: completion.usage });
});
