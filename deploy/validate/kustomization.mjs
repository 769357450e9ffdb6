// A Kustomization as `kubectl apply -k` would need it: known keys, every resource present (a file, or a folder with a
// kustomization.yaml of its own, read recursively), and every patch applicable: its file present, its target matching
// at least one resource, and each JSON 6902 operation's path resolving on every resource it targets (an "add" needs the
// parent, the others the path itself). A strategic-merge patch without a target must name a resource by kind and name.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

const kustomizeKeys = new Set(["apiVersion", "kind", "metadata", "namespace", "resources", "namePrefix", "nameSuffix", "labels", "commonLabels", "commonAnnotations", "images", "configMapGenerator", "secretGenerator", "patches", "replicas"]);
const patchKeys = new Set(["path", "patch", "target", "options"]);
const targetKeys = new Set(["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"]);
const ops = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/** The objects a kustomization's resources hold (before its patches), each with the file it came from. */
function resourcesOf(file, obj, problems, seen = new Set()) {
  const objects = [];
  for (const r of obj.resources ?? []) {
    const path = join(dirname(file), String(r));
    if (!existsSync(path)) { problems.push(`resource ${r} not found`); continue; }
    if (statSync(path).isDirectory()) {
      const nested = join(path, "kustomization.yaml");
      if (!existsSync(nested)) { problems.push(`resource ${r} is a folder without a kustomization.yaml`); continue; }
      if (seen.has(nested)) { problems.push(`resource ${r} is included twice`); continue; }
      seen.add(nested);
      objects.push(...resourcesOf(nested, parse(readFileSync(nested, "utf8")), problems, seen));
    } else {
      for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) if (!doc.errors.length && doc.contents) objects.push({ file: path, object: doc.toJS() });
    }
  }
  return objects;
}

const groupOf = (apiVersion) => apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
const versionOf = (apiVersion) => apiVersion.split("/").pop();

function matches(target, obj) {
  return (target.kind === undefined || target.kind === obj.kind)
    && (target.name === undefined || target.name === obj.metadata?.name)
    && (target.namespace === undefined || target.namespace === obj.metadata?.namespace)
    && (target.group === undefined || target.group === groupOf(obj.apiVersion ?? ""))
    && (target.version === undefined || target.version === versionOf(obj.apiVersion ?? ""));
}

// RFC 6901: "/a/b~1c" -> ["a", "b/c"].
const tokens = (pointer) => pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));

function resolves(obj, pointer) {
  let node = obj;
  for (const t of tokens(pointer)) {
    if (node === null || typeof node !== "object") return false;
    if (Array.isArray(node) ? !(t === "-" || (/^\d+$/.test(t) && Number(t) < node.length)) : !(t in node)) return false;
    node = Array.isArray(node) ? node[t === "-" ? node.length - 1 : Number(t)] : node[t];
  }
  return true;
}

function checkOperations(operations, targets, where, problems) {
  if (!Array.isArray(operations)) { problems.push(`${where}: a JSON 6902 patch is a list of operations`); return; }
  operations.forEach((op, i) => {
    if (!ops.has(op?.op)) { problems.push(`${where}[${i}]: op must be one of ${[...ops].join(", ")} (given ${op?.op})`); return; }
    if (typeof op.path !== "string" || !op.path.startsWith("/")) { problems.push(`${where}[${i}]: path must be a JSON pointer (given ${op.path})`); return; }
    if ((op.op === "add" || op.op === "replace" || op.op === "test") && !("value" in op)) problems.push(`${where}[${i}]: ${op.op} needs a value`);
    const needed = op.op === "add" ? op.path.slice(0, op.path.lastIndexOf("/")) : op.path;
    for (const t of targets) {
      if (!resolves(t.object, needed)) problems.push(`${where}[${i}]: ${op.op} ${op.path}: ${needed || "/"} not found in ${t.object.kind}/${t.object.metadata?.name}`);
    }
  });
}

/** The problems of a Kustomization read from `file`. */
export function checkKustomization(obj, file) {
  const problems = [];
  if (obj.apiVersion !== "kustomize.config.k8s.io/v1beta1") problems.push(`apiVersion must be kustomize.config.k8s.io/v1beta1`);
  for (const key of Object.keys(obj)) if (!kustomizeKeys.has(key)) problems.push(`${key} is not a Kustomization field`);
  if (!Array.isArray(obj.resources) || obj.resources.length === 0) problems.push("resources must be a non-empty list");
  const resources = resourcesOf(file, obj, problems);
  (obj.patches ?? []).forEach((p, i) => {
    const where = `patches[${i}]`;
    for (const key of Object.keys(p ?? {})) if (!patchKeys.has(key)) problems.push(`${where}: ${key} is not a patch field`);
    for (const key of Object.keys(p?.target ?? {})) if (!targetKeys.has(key)) problems.push(`${where}.target: ${key} is not a target field`);
    if ((p?.path === undefined) === (p?.patch === undefined)) { problems.push(`${where}: give either path or patch`); return; }
    const path = p.path === undefined ? null : join(dirname(file), p.path);
    if (path && !existsSync(path)) { problems.push(`${where}: patch file ${p.path} not found`); return; }
    const patch = parse(path ? readFileSync(path, "utf8") : p.patch);
    const target = p.target ?? (Array.isArray(patch) ? null : { kind: patch?.kind, name: patch?.metadata?.name });
    if (!target) { problems.push(`${where}: a JSON 6902 patch needs a target`); return; }
    const targets = resources.filter((r) => matches(target, r.object));
    if (targets.length === 0) { problems.push(`${where}: target ${JSON.stringify(target)} matches no resource`); return; }
    if (Array.isArray(patch)) checkOperations(patch, targets, where, problems);
  });
  return problems;
}
