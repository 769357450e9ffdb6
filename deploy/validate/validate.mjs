// node validate.mjs <manifest.yaml|docker-compose.yml>...  -> one line per document, exit 1 if any is invalid.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const classes = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "Namespace"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/PersistentVolumeClaim": ["kubernetes-models/v1/PersistentVolumeClaim", "PersistentVolumeClaim"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler", "HorizontalPodAutoscaler"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "PodDisruptionBudget"],
};

let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) { console.log(`INVALID ${file}: ${doc.errors[0].message}`); failed++; continue; }
    const obj = doc.toJS();
    if (file.endsWith("docker-compose.yml")) {
      const ok = obj?.services?.["qwen-server"]?.deploy?.resources?.reservations?.devices?.[0]?.driver === "nvidia"
        && obj.services.prometheus?.profiles?.includes("monitoring");
      console.log(`${ok ? "OK" : "INVALID"} ${file}: compose services ${Object.keys(obj?.services ?? {}).join(",")}`);
      failed += ok ? 0 : 1;
      continue;
    }
    if (obj?.kind === "Kustomization") {
      const ok = Array.isArray(obj.resources) && obj.resources.length > 0;
      console.log(`${ok ? "OK" : "INVALID"} ${file}: Kustomization`);
      failed += ok ? 0 : 1;
      continue;
    }
    const key = `${obj?.apiVersion}/${obj?.kind}`;
    const entry = classes[key];
    if (!entry) { console.log(`INVALID ${file}: unknown kind ${key}`); failed++; continue; }
    const mod = await import(entry[0]);
    try {
      new mod[entry[1]](obj).validate();
      console.log(`OK ${file}: ${key} ${obj.metadata?.name}`);
    } catch (e) {
      console.log(`INVALID ${file}: ${key} ${obj.metadata?.name}: ${String(e.message).split("\n")[0]}`);
      failed++;
    }
  }
}
process.exit(failed ? 1 : 0);
