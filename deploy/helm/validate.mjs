// Validates rendered Kubernetes manifests (the output of `helm template`) against the Kubernetes JSON
// schemas shipped in the npm package kubernetes-models (+ @kubernetes-models/validate): wrong types and
// missing required fields. Unknown fields are NOT caught here; the .NET test parses every object
// strictly with KubernetesClient for that.
//
//   node deploy/helm/validate.mjs NODE_MODULES_DIR RENDERED.yaml...
//
// NODE_MODULES_DIR holds yaml, kubernetes-models and @kubernetes-models/validate (.ci/run installs them
// into .ci/tools/node_modules). Prints one line per object ("ok KIND NAME" or "invalid KIND NAME: why")
// and exits 1 if any object is invalid, of a kind the schemas do not know, or the input has no objects.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error("usage: node validate.mjs NODE_MODULES_DIR RENDERED.yaml...");
  process.exit(2);
}
const load = (path) => import(pathToFileURL(join(modules, path)).href);
const YAML = await load("yaml/dist/index.js");

let failed = 0;
let objects = 0;
for (const file of files) {
  for (const doc of YAML.parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      console.log(`invalid ${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // an empty document between separators
    objects++;
    const { apiVersion, kind } = obj;
    const name = obj.metadata?.name ?? "(no name)";
    const modelPath = join("kubernetes-models", String(apiVersion), `${kind}.js`);
    if (typeof apiVersion !== "string" || typeof kind !== "string" || !existsSync(join(modules, modelPath))) {
      console.log(`invalid ${kind} ${name}: no schema for apiVersion '${apiVersion}' kind '${kind}'`);
      failed++;
      continue;
    }
    const Model = (await load(modelPath))[kind];
    try {
      new Model(obj).validate();
      console.log(`ok ${apiVersion} ${kind} ${name}`);
    } catch (e) {
      console.log(`invalid ${apiVersion} ${kind} ${name}: ${e.message}`);
      failed++;
    }
  }
}
if (objects === 0) {
  console.log("invalid: no Kubernetes objects in the input");
  process.exit(1);
}
console.log(`${objects} object(s), ${failed} invalid`);
process.exit(failed === 0 ? 0 : 1);
