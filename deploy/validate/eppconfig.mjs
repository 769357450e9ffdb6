// The EndpointPickerConfig of the Gateway API Inference Extension's EPP v1.5.0 (apix/config/v1alpha1 and
// pkg/epp/config/loader at tag v1.5.0), checked as the EPP reads it at startup, so that a broken ConfigMap fails here
// and not in a pod's crash loop:
//  - the top level and its sections are decoded strictly (the EPP's decoder refuses unknown fields): same here;
//  - every plugin type is one the EPP registers, names are unique, and every pluginRef names a plugin;
//  - plugin parameters are decoded with encoding/json, which ignores unknown keys: a misspelled metric spec would
//    silently leave that metric unread. The parameters of the two data-layer plugins are checked strictly here.
// Written from the release's Go types; nothing is copied from them.
import { parse } from "yaml";
import Ajv from "ajv";

const ajv = new Ajv({ allErrors: true, strict: false });
const object = (properties, required = []) => ({ type: "object", additionalProperties: false, properties, required });
const string = { type: "string" };
const refs = { type: "array", items: object({ pluginRef: string }, ["pluginRef"]) };

const validateConfig = ajv.compile(object({
  apiVersion: { const: "inference.networking.x-k8s.io/v1alpha1" },
  kind: { const: "EndpointPickerConfig" },
  featureGates: { type: "array", items: string },
  plugins: { type: "array", items: object({ name: string, type: string, parameters: {} }, ["type"]) },
  schedulingProfiles: { type: "array", items: object({ name: string, plugins: { type: "array", items: object({ pluginRef: string, weight: { type: "number" } }, ["pluginRef"]) } }, ["name"]) },
  saturationDetector: object({ pluginRef: string }),
  dataLayer: object({ sources: { type: "array", items: object({ pluginRef: string, extractors: refs }, ["pluginRef"]) } }, ["sources"]),
  flowControl: { type: "object" },
  parser: object({ pluginRef: string }),
}, ["apiVersion", "kind", "plugins"]));

// The types cmd/epp/runner registers in v1.5.0 (registerInTreePlugins), less the two for conformance tests only.
const pluginTypes = new Set([
  "prefix-cache-scorer", "max-score-picker", "random-picker", "weighted-random-picker", "single-profile-handler",
  "kv-cache-utilization-scorer", "queue-scorer", "running-requests-size-scorer", "lora-affinity-scorer", "token-load-scorer",
  "global-strict-fairness-policy", "round-robin-fairness-policy", "fcfs-ordering-policy", "edf-ordering-policy",
  "slo-deadline-ordering-policy", "static-usage-limit-policy", "approx-prefix-cache-producer",
  "predicted-latency-scorer", "predicted-latency-producer", "latency-slo-admitter", "prefix-cache-affinity-filter",
  "slo-headroom-tier-filter", "latency-scorer", "inflight-load-producer", "metrics-data-source", "core-metrics-extractor",
  "k8s-notification-source", "endpoint-notification-source", "request-attribute-reporter", "openai-parser",
  "vllmgrpc-parser", "passthrough-parser", "concurrency-detector", "utilization-detector",
]);

// The engines core-metrics-extractor knows without engineConfigs (pkg/epp/framework/plugins/datalayer/extractor/metrics).
const builtInEngines = ["vllm", "sglang", "trtllm-serve", "triton-tensorrt-llm"];

const parameters = new Map([
  ["metrics-data-source", ajv.compile(object({ scheme: { enum: ["http", "https"] }, path: { type: "string", pattern: "^/" }, insecureSkipVerify: { type: "boolean" } }))],
  ["core-metrics-extractor", ajv.compile(object({
    engineLabelKey: string,
    defaultEngine: string,
    engineConfigs: {
      type: "array",
      items: object({
        name: { type: "string", minLength: 1, not: { const: "default" } }, // "default" is the extractor's own fallback entry
        queuedRequestsSpec: string, runningRequestsSpec: string, kvUsageSpec: string, loraSpec: string, cacheInfoSpec: string,
        cacheBlockSizeLabelName: string, cacheNumBlocksLabelName: string, cacheBlockSizeSpec: string, cacheNumBlocksSpec: string,
      }, ["name"]),
    },
  }))],
]);

const problem = (prefix) => (e) => {
  const at = `${prefix}${e.instancePath}` || "/";
  if (e.keyword === "additionalProperties") return `${at}: unknown field "${e.params.additionalProperty}"`;
  return `${at} ${e.message}`;
};

/** Whether a ConfigMap value is an EndpointPickerConfig (its first lines name the kind). */
export function isEppConfig(text) {
  return typeof text === "string" && /^kind: EndpointPickerConfig$/m.test(text);
}

/** The parsed config and its problems, each naming the place ("/plugins/3/parameters: ..."). */
export function checkEppConfig(text) {
  let config;
  try {
    config = parse(text);
  } catch (e) {
    return { config: null, problems: [`YAML: ${e.message.split("\n")[0]}`] };
  }
  const problems = validateConfig(config) ? [] : validateConfig.errors.map(problem(""));
  const names = new Map();
  (config?.plugins ?? []).forEach((p, i) => {
    const name = p.name ?? p.type;
    if (names.has(name)) problems.push(`/plugins/${i}: duplicate plugin name "${name}"`);
    names.set(name, p.type);
    if (!pluginTypes.has(p.type)) problems.push(`/plugins/${i}: plugin type "${p.type}" is not registered in the EPP v1.5.0`);
    const check = parameters.get(p.type);
    if (check && p.parameters !== undefined && !check(p.parameters)) problems.push(...check.errors.map(problem(`/plugins/${i}/parameters`)));
    if (p.type === "core-metrics-extractor") {
      const engines = [...(p.parameters?.engineConfigs ?? []).map((e) => e.name), ...builtInEngines];
      const engine = p.parameters?.defaultEngine ?? "vllm";
      if (!engines.includes(engine)) problems.push(`/plugins/${i}/parameters: defaultEngine "${engine}" is not in engineConfigs (${engines.join(", ")})`);
    }
  });
  const ref = (at, name) => { if (name !== undefined && !names.has(name)) problems.push(`${at}: pluginRef "${name}" names no plugin`); };
  (config?.schedulingProfiles ?? []).forEach((s, i) => (s.plugins ?? []).forEach((p, j) => ref(`/schedulingProfiles/${i}/plugins/${j}`, p.pluginRef)));
  (config?.dataLayer?.sources ?? []).forEach((s, i) => {
    ref(`/dataLayer/sources/${i}`, s.pluginRef);
    (s.extractors ?? []).forEach((e, j) => ref(`/dataLayer/sources/${i}/extractors/${j}`, e.pluginRef));
  });
  ref("/saturationDetector", config?.saturationDetector?.pluginRef);
  ref("/parser", config?.parser?.pluginRef);
  return { config, problems };
}
