// Custom resources against the openAPIV3Schema of the CRDs in crds/, the way the API server treats them on create:
//  1. defaults of the schema are applied (Ajv useDefaults), as the server defaults before it validates;
//  2. the structural schema is checked: types, enums, patterns, ranges, required fields, with
//     x-kubernetes-int-or-string (integer or string), nullable (null allowed) and x-kubernetes-preserve-unknown-fields
//     (any keys) read as the server reads them;
//  3. unknown fields are refused: an object with properties and neither additionalProperties nor
//     preserve-unknown-fields takes no other key. The server prunes such a key, and kubectl's default (server-side
//     strict field validation) turns that into an error, with the message used here: unknown field "spec.x";
//  4. x-kubernetes-validations (CEL) are not evaluated. Each rule is counted; the rules whose text is in celInJs
//     below are checked in plain JS at the same place, and any other rule is reported as not evaluated.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const crdDir = join(dirname(fileURLToPath(import.meta.url)), "crds");

// CEL rules restated in JS, keyed by their exact text in the CRD (a changed rule is then "not evaluated", not misread).
// `self` is the value at the rule's place, after defaulting.
const celInJs = new Map([
  // InferencePool v1 spec.endpointPickerRef: a Service (the default kind) needs a port.
  ["self.kind != 'Service' || has(self.port)", (self) => self.kind !== "Service" || self.port !== undefined],
  // InferencePool v1 spec.targetPorts: no port number twice.
  ["self.all(p1, self.exists_one(p2, p1.number==p2.number))", (self) => self.every((p1) => self.filter((p2) => p1.number === p2.number).length === 1)],
]);

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
addFormats(ajv);
const stringFormats = new Set(["date-time", "date", "time", "uri", "email", "hostname", "ipv4", "ipv6", "uuid", "byte"]);

// An openAPIV3Schema node as a JSON schema Ajv checks like the API server (points 2 and 3 above).
function toJsonSchema(node) {
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties") out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
    else if (key === "items") out.items = toJsonSchema(value);
    else if (key === "additionalProperties") out.additionalProperties = typeof value === "object" ? toJsonSchema(value) : value;
    else if (key === "allOf" || key === "anyOf" || key === "oneOf") out[key] = value.map(toJsonSchema);
    else if (key === "not") out.not = toJsonSchema(value);
    else if (key === "format") { if (node.type === "string" && stringFormats.has(value)) out.format = value; } // int32 etc. only name the Go type
    else if (key === "type" || key === "nullable" || key === "description" || key === "example" || key.startsWith("x-kubernetes-")) continue;
    else out[key] = value; // enum, pattern, minimum/maximum, min/maxLength, min/maxItems, min/maxProperties, required, default, ...
  }
  if (node["x-kubernetes-int-or-string"]) out.anyOf = [...(out.anyOf ?? []), { type: "integer" }, { type: "string" }];
  else if (node.type) out.type = node.nullable ? [node.type, "null"] : node.type;
  if (node.nullable && out.enum) out.enum = [...out.enum, null];
  if (node.type === "object" && node.properties && !node["x-kubernetes-preserve-unknown-fields"] && node.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

// Every x-kubernetes-validations rule of a schema, with the JSON pointer of the schema node that holds it.
function celRules(node, at = "") {
  const rules = (node["x-kubernetes-validations"] ?? []).map((r) => ({ at, rule: r.rule, message: r.message ?? `failed rule: ${r.rule}` }));
  for (const [k, v] of Object.entries(node.properties ?? {})) rules.push(...celRules(v, `${at}/${k}`));
  if (node.items) rules.push(...celRules(node.items, `${at}/*`));
  if (typeof node.additionalProperties === "object") rules.push(...celRules(node.additionalProperties, `${at}/*`));
  return rules;
}

// Runs the rules in celInJs at every place of the (defaulted) object that the schema gives one to.
function checkCel(node, value, path, problems) {
  if (value === undefined || value === null) return;
  for (const r of node["x-kubernetes-validations"] ?? []) {
    const check = celInJs.get(r.rule);
    if (check && !check(value)) problems.push(`${path || "<root>"}: Invalid value: "${Array.isArray(value) ? "array" : typeof value}": ${r.message}`);
  }
  if (node.properties && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(node.properties)) checkCel(v, value[k], path ? `${path}.${k}` : k, problems);
  }
  if (node.items && Array.isArray(value)) value.forEach((v, i) => checkCel(node.items, v, `${path}[${i}]`, problems));
  if (typeof node.additionalProperties === "object" && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (!(k in (node.properties ?? {}))) checkCel(node.additionalProperties, v, `${path}.${k}`, problems);
  }
}

// "/spec/targetPorts/0/number" -> "spec.targetPorts[0].number", the API server's way of naming a field.
const fieldPath = (pointer) => pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
  .reduce((acc, p) => /^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p, "");

function ajvProblem(e) {
  const at = fieldPath(e.instancePath);
  const join = (name) => at ? `${at}.${name}` : name;
  if (e.keyword === "additionalProperties") return `unknown field "${join(e.params.additionalProperty)}"`;
  if (e.keyword === "required") return `${join(e.params.missingProperty)}: Required value`;
  return `${at || "<root>"}: ${e.message}${e.keyword === "enum" ? ` (${e.params.allowedValues.join(", ")})` : ""}`;
}

/** group/version/Kind -> { schema, validate, rules } for every version of every vendored CRD. */
export const customKinds = new Map();
for (const file of readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).sort()) {
  const crd = parse(readFileSync(join(crdDir, file), "utf8"));
  for (const version of crd.spec.versions.filter((v) => v.served)) {
    const schema = version.schema.openAPIV3Schema;
    customKinds.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, { schema, validate: ajv.compile(toJsonSchema(schema)), rules: celRules(schema) });
  }
}

/** Problems of one custom resource (metadata is the caller's: the CRD schema leaves it to the server), and a note on its CEL rules. */
export function checkCustomResource(key, obj) {
  const kind = customKinds.get(key);
  const defaulted = structuredClone(obj);
  const problems = kind.validate(defaulted) ? [] : kind.validate.errors.map(ajvProblem);
  checkCel(kind.schema, defaulted, "", problems);
  const inJs = kind.rules.filter((r) => celInJs.has(r.rule));
  const skipped = kind.rules.filter((r) => !celInJs.has(r.rule));
  const note = kind.rules.length === 0 ? "no CEL rules in the CRD"
    : `${kind.rules.length} CEL rule(s) in the CRD, not evaluated as CEL; checked in JS: ${inJs.map((r) => `${fieldPath(r.at)} "${r.message}"`).join(", ") || "none"}`
      + (skipped.length ? `; unchecked: ${skipped.map((r) => `${fieldPath(r.at)} "${r.rule}"`).join(", ")}` : "");
  return { problems, note };
}
