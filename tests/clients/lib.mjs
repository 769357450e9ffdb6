// Shared by the client scenarios: the base URL argument, the served model's id, one JSON result line, and failures that
// print what the client saw (HTTP status and body) so the C# test that runs the script can show it.
import { z } from "zod";

/** The base URL (…/v1) given as the first argument. */
export function baseUrl() {
  const url = process.argv[2];
  if (!url) fail("usage: node <script> <base URL, e.g. http://127.0.0.1:8000/v1>");
  return url.replace(/\/$/, "");
}

/** The first model the server lists (the demo model), read with plain fetch so a client bug cannot hide it. */
export async function modelId(url) {
  const response = await fetch(`${url}/models`);
  const text = await response.text();
  if (!response.ok) fail(`GET ${url}/models: HTTP ${response.status} ${text}`);
  return JSON.parse(text).data[0].id;
}

/**
 * An object whose every field finishes within a few tokens even from the random-weight demo model: enums, bounded
 * integers, booleans, a string with maxLength and an array with maxItems.
 */
export const Weather = z
  .object({
    city: z.enum(["Paris", "Tokyo", "Lima"]),
    celsius: z.number().int().min(-40).max(50),
    sunny: z.boolean(),
    note: z.string().max(12),
    tags: z.array(z.enum(["wind", "rain", "sun"])).max(3),
  })
  .strict();

/** The get_weather function's parameters, as plain JSON Schema (strict: every property required, no others). */
export const weatherParameters = {
  type: "object",
  properties: {
    city: { type: "string", enum: ["Paris", "Tokyo", "Lima"] },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};

export const WeatherArguments = z.object({ city: z.enum(["Paris", "Tokyo", "Lima"]), unit: z.enum(["celsius", "fahrenheit"]) }).strict();

/** Prints the result as one JSON line and exits 0. */
export function report(result) {
  process.stdout.write(JSON.stringify({ ok: true, ...result }) + "\n");
  process.exit(0);
}

/** Prints a diagnostic (with the HTTP status and body an error carries) and exits 1. */
export function fail(message, error) {
  const detail = error === undefined ? "" : " | " + describe(error);
  process.stderr.write(`FAIL ${message}${detail}\n`);
  process.stdout.write(JSON.stringify({ ok: false, message, error: error === undefined ? undefined : describe(error) }) + "\n");
  process.exit(1);
}

/** What an error from any of the clients says: openai's APIError (status, error), the AI SDK's APICallError (statusCode, responseBody), zod issues, causes. */
export function describe(error) {
  if (error === null || typeof error !== "object") return String(error);
  const parts = [`${error.name ?? "Error"}: ${error.message}`];
  if (error.status !== undefined) parts.push(`HTTP ${error.status}`);
  if (error.statusCode !== undefined) parts.push(`HTTP ${error.statusCode}`);
  if (error.url) parts.push(`url ${error.url}`);
  if (error.error !== undefined) parts.push(`body ${JSON.stringify(error.error)}`);
  if (error.responseBody !== undefined) parts.push(`body ${error.responseBody}`);
  if (error.text !== undefined) parts.push(`text ${JSON.stringify(error.text)}`);
  if (error.issues !== undefined) parts.push(`issues ${JSON.stringify(error.issues)}`);
  if (error.cause !== undefined && error.cause !== error) parts.push(`cause ${describe(error.cause)}`);
  return parts.join("; ");
}

/** Runs the scenario; any exception becomes a diagnostic failure. */
export async function scenario(name, body) {
  try {
    await body();
  } catch (error) {
    fail(`${name} threw`, error);
  }
}

/** Fails with the given message unless the condition holds. */
export function check(condition, message) {
  if (!condition) fail(typeof message === "function" ? message() : message);
}
