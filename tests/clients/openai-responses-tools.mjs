// openai (Node): the Responses API streamed with a required strict tool, the function_call_output sent back in a second
// (stateless) call, and previous_response_id refused with 400.
import OpenAI from "openai";
import { baseUrl, modelId, report, check, fail, scenario, weatherParameters, WeatherArguments } from "./lib.mjs";

const url = baseUrl();

/** Streams one response; returns the event types, the final response and the streamed text. */
async function streamed(client, body) {
  const types = [];
  const sequence = [];
  let final;
  let text = "";
  const stream = await client.responses.create({ ...body, stream: true });
  for await (const event of stream) {
    types.push(event.type);
    sequence.push(event.sequence_number);
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed" || event.type === "response.incomplete" || event.type === "response.failed") final = event.response;
  }
  check(types[0] === "response.created" && types[1] === "response.in_progress", () => `stream starts ${JSON.stringify(types.slice(0, 3))}`);
  check(["response.completed", "response.incomplete"].includes(types.at(-1)), () => `stream ends ${types.at(-1)}: ${JSON.stringify(final)}`);
  check(sequence.every((n, i) => n === sequence[0] + i), () => `sequence_number not consecutive: ${JSON.stringify(sequence)}`);
  check(final.usage?.input_tokens > 0 && final.usage.total_tokens === final.usage.input_tokens + final.usage.output_tokens, () => `usage ${JSON.stringify(final.usage)}`);
  return { types, final, text };
}

await scenario("openai responses tools", async () => {
  const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  const model = await modelId(url);
  const tools = [{ type: "function", name: "get_weather", description: "Weather of a city", parameters: weatherParameters, strict: true }];
  const input = [{ role: "user", content: "Weather in Paris?" }];

  const first = await streamed(client, { model, input, tools, tool_choice: "required", max_output_tokens: 200, temperature: 0 });
  check(first.final.status === "completed", () => `first response status ${first.final.status}: ${JSON.stringify(first.final)}`);
  const call = first.final.output.find((item) => item.type === "function_call");
  check(call !== undefined, () => `no function_call in ${JSON.stringify(first.final.output)}`);
  check(call.name === "get_weather" && typeof call.call_id === "string", () => `call ${JSON.stringify(call)}`);
  for (const type of ["response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done"]) {
    check(first.types.includes(type), () => `no ${type} in ${JSON.stringify(first.types)}`);
  }
  const args = WeatherArguments.safeParse(JSON.parse(call.arguments));
  check(args.success, () => `arguments ${call.arguments} do not satisfy the strict schema: ${JSON.stringify(args.error?.issues)}`);

  const second = await streamed(client, {
    model,
    input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: JSON.stringify({ celsius: 21 }) }],
    tools,
    max_output_tokens: 16,
    temperature: 0,
  });
  check(second.final.output.length >= 1, () => `second response has no output: ${JSON.stringify(second.final)}`);
  const message = second.final.output.find((item) => item.type === "message");
  const outputText = message?.content.filter((c) => c.type === "output_text").map((c) => c.text).join("") ?? "";
  check(outputText === second.text, () => `streamed text ${JSON.stringify(second.text)} differs from the final ${JSON.stringify(outputText)}`);
  check(second.final.status === "completed" || second.final.incomplete_details?.reason === "max_output_tokens", () => `second status ${second.final.status} ${JSON.stringify(second.final.incomplete_details)}`);

  // Stateless: previous_response_id is refused with 400 (nothing is stored to continue from).
  try {
    await client.responses.create({ model, input: "Hi", previous_response_id: first.final.id, max_output_tokens: 4 });
    fail("previous_response_id was accepted");
  } catch (error) {
    check(error.status === 400, () => `previous_response_id: expected HTTP 400, got ${error.status}: ${error.message}`);
  }
  report({ firstEvents: first.types.length, call: { name: call.name, arguments: call.arguments }, secondStatus: second.final.status, text: second.text, usage: second.final.usage });
});
