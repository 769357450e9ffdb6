// The server's OpenAPI document, checked as a tool would rely on it:
//   node openapi-document.mjs <base URL .../v1> <API key> <prompt answered with a get_weather call> <prompt answered with text>
//
// 1. The document is a valid OpenAPI 3.0 document (@apidevtools/swagger-parser: the OAS JSON schema, then its semantic
//    rules), and its component names follow the spec's rule ^[a-zA-Z0-9.\-_]+$ (which the OAS JSON schema leaves out).
// 2. It does not lie: requests the server accepts validate against the documented request schema, and every answer the
//    server gives (status, content type, JSON body, each SSE event) validates against the schema the document gives for
//    it. Schemas are turned into JSON Schema by @openapi-contrib/openapi-schema-to-json-schema and checked by Ajv.
//    "nullable": true on a schema without "type" (a nullable $ref wrapped in allOf, the Swashbuckle/openapi-generator
//    idiom of OpenAPI 3.0) is read as "or null", which the converter, following OAS 3.0.3 to the letter, drops.
import SwaggerParser from "@apidevtools/swagger-parser";
import { fromSchema } from "@openapi-contrib/openapi-schema-to-json-schema";
import Ajv from "ajv";
import { baseUrl, check, report, scenario } from "./lib.mjs";

const api = baseUrl();
const origin = new URL(api).origin;
const key = process.argv[3];
const [toolPrompt, textPrompt] = process.argv.slice(4);
check(key && toolPrompt && textPrompt, "usage: node openapi-document.mjs <base URL> <API key> <tool-call prompt> <text prompt>");
const auth = { Authorization: `Bearer ${key}` };

const doc = await (await fetch(`${origin}/swagger/v1/swagger.json`, { headers: auth })).json();
await scenario("swagger-parser validate", async () => {
  await SwaggerParser.validate(structuredClone(doc));
});
const badNames = Object.values(doc.components ?? {}).flatMap((group) => Object.keys(group)).filter((n) => !/^[a-zA-Z0-9.\-_]+$/.test(n));
check(badNames.length === 0, `component names that break the OpenAPI rule ^[a-zA-Z0-9.\\-_]+$: ${badNames.join(", ")}`);

// ---- JSON Schema from the document's schemas ----
const orNull = (node) => {
  if (Array.isArray(node)) return node.map(orNull);
  if (!node || typeof node !== "object") return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === "example" ? v : orNull(v)]));
  if (out.nullable === true && out.type === undefined) {
    delete out.nullable;
    return { anyOf: [{ type: "null" }, out] };
  }
  return out;
};
const toJsonSchema = (schema) => {
  const converted = fromSchema(orNull(schema), { cloneSchema: true });
  delete converted.$schema;
  return JSON.parse(JSON.stringify(converted).replaceAll('"#/components/schemas/', '"doc#/definitions/'));
};
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ definitions: Object.fromEntries(Object.entries(doc.components.schemas).map(([n, s]) => [n, toJsonSchema(s)])) }, "doc");
const validators = new Map();
function validate(schema, value, where) {
  const id = JSON.stringify(schema);
  if (!validators.has(id)) validators.set(id, ajv.compile(toJsonSchema(schema)));
  const v = validators.get(id);
  check(v(value), () => `${where}: ${JSON.stringify(value).slice(0, 600)}\n does not match the document: ${ajv.errorsText(v.errors, { separator: "; " })}`);
}

// ---- Real requests, checked both ways ----
let checked = 0;
const seen = new Set();
async function call(method, template, { path = template, body, headers = auth, expect } = {}) {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  check(operation, `${method} ${template} is not in the document`);
  if (body !== undefined && expect < 400) validate(operation.requestBody.content["application/json"].schema, body, `${method} ${template} request`);
  const response = await fetch(origin + path, { method, headers: { ...headers, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  check(response.status === expect, `${method} ${path}: status ${response.status}, expected ${expect}: ${text.slice(0, 300)}`);
  const type = response.headers.get("content-type").split(";")[0];
  const media = operation.responses[String(response.status)]?.content?.[type];
  check(media, `${method} ${template}: ${response.status} ${type} is not documented`);
  const where = `${method} ${path} ${response.status} ${type}`;
  if (type === "text/event-stream") {
    let events = 0;
    for (const block of text.split("\n\n").filter((b) => b.trim())) {
      const lines = block.split("\n").filter((l) => !l.startsWith(":"));
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
      if (data === undefined || data === "[DONE]") continue;
      const json = JSON.parse(data);
      const name = lines.find((l) => l.startsWith("event: "))?.slice(7);
      if (name) check(name === json.type, `${where}: event ${name} carries type ${json.type}`);
      validate(media.schema, json, `${where} event ${name ?? events}`);
      seen.add(name ?? json.object ?? Object.keys(json)[0]);
      events++;
    }
    check(events > 0, `${where}: no events`);
  } else {
    validate(media.schema, JSON.parse(text), where);
  }
  checked++;
  return text;
}

const weatherTool = { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
await scenario("responses match the document", async () => {
  await call("GET", "/health", { expect: 200 });
  await call("GET", "/health/ready", { expect: 200 });
  await call("GET", "/health/ready", { headers: {}, expect: 200 });
  const models = JSON.parse(await call("GET", "/v1/models", { expect: 200 }));
  const model = models.data[0].id;
  await call("GET", "/v1/models/{id}", { path: `/v1/models/${encodeURIComponent(model)}`, expect: 200 });
  await call("GET", "/v1/models/{id}", { path: "/v1/models/no-such-model", expect: 404 });
  await call("GET", "/v1/models", { headers: {}, expect: 401 });

  const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: [{ type: "text", text: textPrompt }] }];
  // An unknown field: the server ignores it, so the request schema must accept it.
  await call("POST", "/v1/chat/completions", { body: { messages, max_tokens: 4, n: 2, logprobs: true, top_logprobs: 2, stop: ["\n\n"], seed: 1, unknown_field: 1 }, expect: 200 });
  await call("POST", "/v1/chat/completions", { body: { messages, max_tokens: 4, stream: true, stream_options: { include_usage: true }, stop: "x" }, expect: 200 });
  const tools = [{ type: "function", function: weatherTool }];
  const toolMessages = [{ role: "user", content: toolPrompt }];
  await call("POST", "/v1/chat/completions", { body: { messages: toolMessages, tools, tool_choice: "auto", max_tokens: 64 }, expect: 200 });
  await call("POST", "/v1/chat/completions", { body: { messages: toolMessages, tools, tool_choice: "auto", stream: true, max_tokens: 64 }, expect: 200 });
  await call("POST", "/v1/chat/completions", { body: { messages, temperature: 9 }, expect: 400 });
  await call("POST", "/v1/chat/completions", { body: { messages, model: "no-such-model" }, expect: 404 });

  await call("POST", "/v1/completions", { body: { prompt: textPrompt, max_tokens: 4, echo: true, logprobs: 2 }, expect: 200 });
  await call("POST", "/v1/completions", { body: { prompt: [9707, 11], max_tokens: 4, stream: true, stream_options: { include_usage: true } }, expect: 200 });
  await call("POST", "/v1/completions", { body: { prompt: [] }, expect: 400 });

  const input = [{ role: "user", content: [{ type: "input_text", text: toolPrompt }] }];
  await call("POST", "/v1/responses", { body: { input: textPrompt, max_output_tokens: 4, metadata: { run: "openapi" } }, expect: 200 });
  await call("POST", "/v1/responses", { body: { input: textPrompt, max_output_tokens: 4, stream: true, text: { format: { type: "text" } } }, expect: 200 });
  await call("POST", "/v1/responses", { body: { input, tools: [{ type: "function", ...weatherTool }], tool_choice: "auto", max_output_tokens: 64 }, expect: 200 });
  await call("POST", "/v1/responses", { body: { input, tools: [{ type: "function", ...weatherTool }], stream: true, max_output_tokens: 64 }, expect: 200 });
  await call("POST", "/v1/responses", { body: { input: 5 }, expect: 400 });

  const tokens = JSON.parse(await call("POST", "/tokenize", { body: { prompt: "Hello, world" }, expect: 200 })).tokens;
  await call("POST", "/tokenize", { body: { messages, add_generation_prompt: true }, expect: 200 });
  await call("POST", "/detokenize", { body: { tokens }, expect: 200 });
});
report({ checked, events: [...seen].sort() });
