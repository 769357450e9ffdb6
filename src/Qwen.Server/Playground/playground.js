// The chat playground: a plain client of the server's public API (/v1/models, /v1/chat/completions with SSE,
// /tokenize and /detokenize), as any OpenAI client is. No framework and no build step: the server embeds this file.
// Text from the model or the user is only ever set as textContent, never parsed as HTML.
"use strict";

const STATE_KEY = "qwen-playground"; // localStorage: the conversation and settings survive a reload
const KEY_KEY = "qwen-playground-api-key"; // sessionStorage: the key lives as long as the tab

const EXAMPLE_TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The current weather in a city.",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", description: "The city, e.g. Paris" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city"],
      },
    },
  },
];

const $ = (id) => document.getElementById(id);
const ui = {
  modelLine: $("model-line"), demoNotice: $("demo-notice"), settings: $("settings"), settingsToggle: $("settings-toggle"),
  keyButton: $("key-button"), keyPanel: $("key-panel"), keyMessage: $("key-message"), keyForm: $("key-form"),
  apiKey: $("api-key"), keyForget: $("key-forget"), system: $("system-prompt"), tools: $("tools"),
  toolsError: $("tools-error"), toolsExample: $("tools-example"), toolChoice: $("tool-choice"), viewPrompt: $("view-prompt"),
  exportButton: $("export"), newChat: $("new-chat"), messages: $("messages"), error: $("error"), status: $("status"),
  composer: $("composer"), input: $("input"), send: $("send"), stop: $("stop-answer"), regenerate: $("regenerate"),
  promptDialog: $("prompt-dialog"), promptCount: $("prompt-count"), promptText: $("prompt-text"), promptClose: $("prompt-close"),
};
const samplingInputs = [...document.querySelectorAll("[data-field]")];

// messages: the conversation in the API's shape, each assistant message with its figures in `stats` (stripped when sent).
let state = { messages: [], system: "", sampling: {}, tools: "", toolChoice: "auto" };
let model = null; // the /v1/models card
let running = null; // the AbortController of the answer in flight

// ---- storage -----------------------------------------------------------------------------------------------------

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(STATE_KEY) || "null");
    if (saved && Array.isArray(saved.messages)) {
      state = { ...state, ...saved };
    }
  } catch {
    // A corrupt entry starts a fresh conversation rather than a broken page.
  }
}

function save() {
  localStorage.setItem(STATE_KEY, JSON.stringify(state));
}

const apiKey = () => sessionStorage.getItem(KEY_KEY) || "";

// ---- the API -----------------------------------------------------------------------------------------------------

/** A failed call: the OpenAI error object's fields and the HTTP status. */
class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || null;
    this.param = error.param || null;
    this.code = error.code || null;
  }
}

async function call(path, body, signal) {
  const headers = { "Content-Type": "application/json" };
  if (apiKey()) {
    headers.Authorization = `Bearer ${apiKey()}`;
  }
  const response = await fetch(path, body === undefined ? { headers, signal } : { method: "POST", headers, body: JSON.stringify(body), signal });
  if (!response.ok) {
    let error = { message: `HTTP ${response.status} ${response.statusText}` };
    try {
      error = (await response.json()).error || error;
    } catch {
      // not JSON (a proxy's page): the status line says enough
    }
    throw new ApiError(response.status, error);
  }
  return response;
}

/** Yields each SSE event's data (JSON parsed) until [DONE]. */
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      return;
    }
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data === "[DONE]") {
        return;
      }
      if (data) {
        yield JSON.parse(data); // comments (keep-alives) carry no data
      }
    }
  }
}

// ---- settings ----------------------------------------------------------------------------------------------------

/** The tools as the API takes them, or throws a readable Error. */
function parseTools() {
  const text = ui.tools.value.trim();
  if (!text) {
    return [];
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`Tools are not valid JSON: ${e.message}`);
  }
  if (!Array.isArray(parsed)) {
    parsed = [parsed];
  }
  return parsed.map((t, i) => {
    const tool = t && t.type === "function" ? t : { type: "function", function: t };
    if (!tool.function || typeof tool.function.name !== "string" || !tool.function.name) {
      throw new Error(`Tool ${i + 1} has no function name`);
    }
    return tool;
  });
}

function refreshToolChoice() {
  let names = [];
  try {
    names = parseTools().map((t) => t.function.name);
    ui.toolsError.textContent = "";
  } catch (e) {
    ui.toolsError.textContent = e.message;
  }
  const wanted = state.toolChoice;
  ui.toolChoice.replaceChildren(...["auto", "none", "required", ...names.map((n) => `function:${n}`)].map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = value.startsWith("function:") ? `function ${value.slice(9)}` : value;
    return option;
  }));
  ui.toolChoice.value = [...ui.toolChoice.options].some((o) => o.value === wanted) ? wanted : "auto";
}

function readSettings() {
  state.system = ui.system.value;
  state.tools = ui.tools.value;
  state.toolChoice = ui.toolChoice.value;
  state.sampling = Object.fromEntries(samplingInputs.map((input) => [input.dataset.field, input.value]));
  save();
}

function showSettings() {
  ui.system.value = state.system;
  ui.tools.value = state.tools;
  for (const input of samplingInputs) {
    input.value = state.sampling[input.dataset.field] ?? "";
  }
  refreshToolChoice();
}

/** The sampling fields the user filled in, typed as the API wants them. */
function samplingFields() {
  const fields = {};
  for (const input of samplingInputs) {
    const raw = input.value.trim();
    if (!raw) {
      continue;
    }
    const kind = input.dataset.kind;
    fields[input.dataset.field] = kind === "lines" ? raw.split("\n").filter((l) => l.length > 0) : kind === "int" ? Number.parseInt(raw, 10) : Number(raw);
  }
  return fields;
}

/** The request body for the conversation so far (plus `extra` messages), as /v1/chat/completions takes it. */
function requestBody(extra = []) {
  const messages = [];
  if (ui.system.value.trim()) {
    messages.push({ role: "system", content: ui.system.value });
  }
  for (const m of [...state.messages, ...extra]) {
    const { stats, ...wire } = m; // figures are the page's, not the API's
    messages.push(wire);
  }
  const body = { model: model ? model.id : undefined, messages, ...samplingFields() };
  const tools = parseTools();
  if (tools.length > 0) {
    body.tools = tools;
    const choice = ui.toolChoice.value;
    body.tool_choice = choice.startsWith("function:") ? { type: "function", function: { name: choice.slice(9) } } : choice;
  }
  return body;
}

// ---- the model card ----------------------------------------------------------------------------------------------

async function loadModel() {
  try {
    const list = await (await call("/v1/models")).json();
    model = list.data[0];
    ui.keyPanel.hidden = true;
    ui.modelLine.textContent = `${model.id} · ${model.max_model_len} tokens of context`;
    const defaults = model.generation_config || {};
    for (const input of samplingInputs) {
      const value = defaults[input.dataset.field];
      if (value !== undefined && value !== null) {
        input.placeholder = `default ${value}`;
      } else if (input.dataset.field === "max_tokens") {
        input.placeholder = "default: all the room left";
      }
    }
    if (model.random_weights) {
      ui.demoNotice.textContent = `Demo model: ${model.id} has random weights (preset "${model.random_weights}"), so its text is ` +
        "meaningless. Everything else is real: streaming, tool calls, sampling and the figures. " +
        "Serve a trained model with --model Qwen/Qwen2.5-0.5B-Instruct.";
    }
    ui.demoNotice.hidden = !model.random_weights;
  } catch (e) {
    if (e.status === 401) {
      askForKey(e);
    } else {
      ui.modelLine.textContent = `Cannot reach the server: ${e.message}`;
    }
  }
}

function askForKey(error) {
  ui.keyPanel.hidden = false;
  ui.keyMessage.textContent = !error
    ? "Enter the key this server was started with (--api-keys)."
    : apiKey()
      ? `The server refused this key (401: ${error.message}). Check it and try again.`
      : `This server needs an API key (401: ${error.message}). Enter one of its --api-keys.`;
  ui.modelLine.textContent = "Waiting for an API key";
  ui.apiKey.focus();
}

// ---- the conversation --------------------------------------------------------------------------------------------

const ROLE_NAMES = { user: "You", assistant: "Assistant", tool: "Tool result", system: "System" };

function renderMessages() {
  ui.messages.replaceChildren(...state.messages.map((m, i) => renderMessage(m, i)));
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function renderMessage(m, index) {
  const item = document.createElement("li");
  item.className = `message ${m.role}`;
  item.dataset.role = m.role;
  const role = document.createElement("p");
  role.className = "role";
  role.textContent = m.role === "tool" ? `Tool result (${m.tool_call_id})` : ROLE_NAMES[m.role] || m.role;
  item.append(role);
  if (m.content || m.role !== "assistant") {
    const content = document.createElement("div");
    content.className = "content";
    content.textContent = m.content || "";
    item.append(content);
  }
  if (m.tool_calls && m.tool_calls.length > 0) {
    const calls = document.createElement("ol");
    calls.className = "tool-calls";
    calls.setAttribute("aria-label", "Tool calls");
    for (const c of m.tool_calls) {
      const call = document.createElement("li");
      call.className = "tool-call";
      call.dataset.callId = c.id || "";
      const name = document.createElement("p");
      name.className = "tool-name";
      name.textContent = c.function.name ? `${c.function.name}(…)` : "…";
      const args = document.createElement("pre");
      args.className = "tool-arguments";
      args.textContent = c.function.arguments || "";
      call.append(name, args);
      calls.append(call);
    }
    item.append(calls);
    if (index === state.messages.length - 1 && !running) {
      item.append(renderToolReplies(m.tool_calls));
    }
  }
  if (m.stats) {
    item.append(renderStats(m.stats));
  }
  return item;
}

/** The form that answers each of the last message's tool calls by hand, to continue the loop. */
function renderToolReplies(calls) {
  const form = document.createElement("form");
  form.className = "tool-replies";
  const inputs = calls.map((c, i) => {
    const id = `tool-result-${i}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `Result of ${c.function.name} (${c.id})`;
    const input = document.createElement("textarea");
    input.id = id;
    input.rows = 2;
    input.placeholder = '{"temperature": 21}';
    form.append(label, input);
    return input;
  });
  const send = document.createElement("button");
  send.type = "submit";
  send.textContent = calls.length === 1 ? "Send tool result" : "Send tool results";
  form.append(send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const [i, c] of calls.entries()) {
      state.messages.push({ role: "tool", tool_call_id: c.id, content: inputs[i].value });
    }
    save();
    answer();
  });
  return form;
}

const FIGURES = [
  ["ttft", "time to first token", (s) => (s.ttft_ms === undefined ? "—" : `${Math.round(s.ttft_ms)} ms`)],
  ["tokens_per_second", "tokens/s", (s) => (s.tokens_per_second === undefined ? "—" : s.tokens_per_second.toFixed(1))],
  ["prompt_tokens", "prompt tokens", (s) => s.prompt_tokens ?? "—"],
  ["cached_tokens", "of them cached", (s) => s.cached_tokens ?? "—"],
  ["completion_tokens", "completion tokens", (s) => s.completion_tokens ?? "—"],
  ["finish_reason", "finish reason", (s) => s.finish_reason ?? "—"],
];

function renderStats(stats) {
  const list = document.createElement("dl");
  list.className = "figures";
  for (const [key, label, format] of FIGURES) {
    const term = document.createElement("dt");
    term.textContent = label;
    const value = document.createElement("dd");
    value.dataset.figure = key;
    value.textContent = String(format(stats));
    const pair = document.createElement("div"); // a dl may group each term with its value, so a pair never wraps apart
    pair.append(term, value);
    list.append(pair);
  }
  return list;
}

function showError(e) {
  const where = [e.status && `HTTP ${e.status}`, e.type, e.param && `field ${e.param}`, e.code && `code ${e.code}`].filter(Boolean).join(" · ");
  ui.error.textContent = where ? `${where}: ${e.message}` : e.message;
  ui.error.hidden = false;
}

function setRunning(controller) {
  running = controller;
  ui.send.hidden = !!controller;
  ui.stop.hidden = !controller;
  ui.regenerate.disabled = !!controller;
  ui.viewPrompt.disabled = !!controller;
}

/** Streams the model's next answer to the conversation into a new assistant message. */
async function answer() {
  ui.error.hidden = true;
  readSettings();
  let body;
  try {
    body = { ...requestBody(), stream: true, stream_options: { include_usage: true } };
  } catch (e) {
    showError(e);
    renderMessages();
    return;
  }
  const controller = new AbortController();
  setRunning(controller);
  const message = { role: "assistant", content: "", stats: {} };
  state.messages.push(message);
  renderMessages();
  let item = ui.messages.lastElementChild;
  ui.status.textContent = "Answering…";
  const started = performance.now();
  let first = null;
  try {
    const response = await call("/v1/chat/completions", body, controller.signal);
    for await (const chunk of events(response)) {
      if (chunk.error) {
        throw new ApiError(0, chunk.error); // an error after the stream began arrives as an event
      }
      const choice = chunk.choices && chunk.choices[0];
      const delta = choice ? choice.delta || {} : {};
      if (first === null && (delta.content || delta.tool_calls)) {
        first = performance.now();
        message.stats.ttft_ms = first - started;
      }
      if (delta.content) {
        message.content += delta.content;
      }
      for (const d of delta.tool_calls || []) {
        message.tool_calls = message.tool_calls || [];
        const c = (message.tool_calls[d.index] = message.tool_calls[d.index] || { id: "", type: "function", function: { name: "", arguments: "" } });
        c.id = d.id || c.id;
        c.function.name += (d.function && d.function.name) || "";
        c.function.arguments += (d.function && d.function.arguments) || "";
      }
      if (choice && choice.finish_reason) {
        message.stats.finish_reason = choice.finish_reason;
      }
      if (chunk.usage) {
        message.stats.prompt_tokens = chunk.usage.prompt_tokens;
        message.stats.completion_tokens = chunk.usage.completion_tokens;
        message.stats.cached_tokens = chunk.usage.prompt_tokens_details ? chunk.usage.prompt_tokens_details.cached_tokens : undefined;
      }
      const drawn = renderMessage(message, -1);
      item.replaceWith(drawn);
      item = drawn;
      item.scrollIntoView({ block: "end" });
    }
    const s = message.stats;
    if (first !== null && s.completion_tokens > 1) {
      // The first token's wait is the TTFT; the rate is over the tokens after it.
      s.tokens_per_second = (s.completion_tokens - 1) / ((performance.now() - first) / 1000);
    }
    ui.status.textContent = `Answer finished: ${s.completion_tokens ?? "?"} tokens, ${s.finish_reason ?? "no finish reason"}.`;
  } catch (e) {
    if (e.name === "AbortError") {
      message.stats.finish_reason = "stopped by you";
      ui.status.textContent = "Answer stopped.";
    } else {
      if (!message.content && !message.tool_calls) {
        state.messages.pop(); // nothing came: the error takes its place
      }
      if (e.status === 401) {
        askForKey(e);
      }
      showError(e);
      ui.status.textContent = "The request failed.";
    }
  } finally {
    setRunning(null);
    save();
    renderMessages();
  }
}

function sendMessage() {
  const text = ui.input.value;
  if (running || !text.trim()) {
    return;
  }
  state.messages.push({ role: "user", content: text });
  ui.input.value = "";
  save();
  answer();
}

function regenerate() {
  if (running) {
    return;
  }
  while (state.messages.length > 0 && state.messages[state.messages.length - 1].role === "assistant") {
    state.messages.pop();
  }
  if (state.messages.length > 0) {
    answer();
  }
}

async function viewPrompt() {
  ui.error.hidden = true;
  try {
    const draft = ui.input.value.trim() ? [{ role: "user", content: ui.input.value }] : [];
    const { model: id, messages, tools, tool_choice } = requestBody(draft);
    if (messages.length === 0) {
      throw new Error("There is no conversation yet: type a message first.");
    }
    const tokenized = await (await call("/tokenize", { model: id, messages, tools, tool_choice, add_generation_prompt: true })).json();
    const text = await (await call("/detokenize", { model: id, tokens: tokenized.tokens })).json();
    ui.promptCount.textContent = `${tokenized.count} tokens of the ${tokenized.max_model_len} a sequence may hold (the assistant's answer is written after the last line).`;
    ui.promptText.textContent = text.prompt;
    ui.promptDialog.showModal();
  } catch (e) {
    if (e.status === 401) {
      askForKey(e);
    }
    showError(e);
  }
}

function exportConversation() {
  readSettings();
  let body;
  try {
    body = requestBody();
  } catch (e) {
    showError(e);
    return;
  }
  // The export is a request body: POST it to /v1/chat/completions to ask the next answer again.
  const blob = new Blob([JSON.stringify(body, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "conversation.json";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

// ---- wiring ------------------------------------------------------------------------------------------------------

function wire() {
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && running && !ui.promptDialog.open) {
      running.abort();
    }
  });
  ui.stop.addEventListener("click", () => running && running.abort());
  ui.regenerate.addEventListener("click", regenerate);
  ui.newChat.addEventListener("click", () => {
    if (running) {
      running.abort();
    }
    state.messages = [];
    ui.error.hidden = true;
    save();
    renderMessages();
    ui.input.focus();
  });
  ui.exportButton.addEventListener("click", exportConversation);
  ui.viewPrompt.addEventListener("click", viewPrompt);
  ui.promptClose.addEventListener("click", () => ui.promptDialog.close());
  for (const input of [ui.system, ...samplingInputs]) {
    input.addEventListener("input", readSettings);
  }
  const toolsChanged = () => {
    refreshToolChoice(); // the named-function choices follow the tools
    readSettings();
  };
  ui.tools.addEventListener("input", toolsChanged);
  ui.toolChoice.addEventListener("change", readSettings);
  ui.toolsExample.addEventListener("click", () => {
    ui.tools.value = JSON.stringify(EXAMPLE_TOOLS, null, 2);
    toolsChanged();
  });
  ui.settingsToggle.addEventListener("click", () => {
    const open = ui.settingsToggle.getAttribute("aria-expanded") !== "true";
    ui.settingsToggle.setAttribute("aria-expanded", String(open));
    ui.settings.hidden = !open;
  });
  ui.keyButton.addEventListener("click", () => askForKey(null));
  ui.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_KEY, ui.apiKey.value.trim());
    ui.apiKey.value = "";
    loadModel();
  });
  ui.keyForget.addEventListener("click", () => {
    sessionStorage.removeItem(KEY_KEY);
    ui.keyMessage.textContent = "The key is forgotten.";
  });
}

function start() {
  load();
  showSettings();
  if (window.matchMedia("(max-width: 800px)").matches) {
    // On a phone the settings start folded away, behind the Settings button.
    ui.settingsToggle.setAttribute("aria-expanded", "false");
    ui.settings.hidden = true;
  }
  wire();
  renderMessages();
  loadModel();
}

start();
