// openai (Node): Chat Completions streamed, plain text and then a required tool call accumulated from its deltas.
import OpenAI from "openai";
import { baseUrl, modelId, report, check, scenario, weatherParameters } from "./lib.mjs";

const url = baseUrl();
await scenario("openai chat tools", async () => {
  const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  const model = await modelId(url);

  let text = "";
  let finish;
  let usage;
  const plain = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hi." }], max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of plain) {
    text += chunk.choices[0]?.delta?.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  check(finish === "length" || finish === "stop", `plain stream: finish_reason ${finish}`);
  check(usage?.completion_tokens > 0 && usage.completion_tokens <= 8, () => `plain stream: usage ${JSON.stringify(usage)}`);

  // tool_choice "required": the answer must be a call of a listed function. Arguments are a JSON object when the call finished.
  const tools = [{ type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: weatherParameters } }];
  const calls = [];
  let toolFinish;
  const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Weather in Paris?" }], tools, tool_choice: "required", max_tokens: 200, temperature: 0, stream: true });
  for await (const chunk of stream) {
    for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[delta.index] ??= { id: "", name: "", arguments: "" };
      calls[delta.index].id += delta.id ?? "";
      calls[delta.index].name += delta.function?.name ?? "";
      calls[delta.index].arguments += delta.function?.arguments ?? "";
    }
    toolFinish = chunk.choices[0]?.finish_reason ?? toolFinish;
  }
  check(calls.length >= 1, `required tool_choice streamed no tool call (finish_reason ${toolFinish})`);
  check(calls.every((c) => c.name === "get_weather" && c.id.startsWith("call_")), () => `calls ${JSON.stringify(calls)}`);
  check(toolFinish === "tool_calls" || toolFinish === "length", `finish_reason ${toolFinish}`);
  if (toolFinish === "tool_calls") {
    for (const c of calls) {
      const args = JSON.parse(c.arguments);
      check(args !== null && typeof args === "object" && !Array.isArray(args), `arguments not an object: ${c.arguments}`);
    }
  }
  report({ text, finish, usage, calls: calls.map((c) => ({ ...c, arguments: c.arguments.slice(0, 200) })), toolFinish });
});
