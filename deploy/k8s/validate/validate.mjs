// Validates Kubernetes objects (the YAML that `kubectl kustomize` renders)
// against the Kubernetes OpenAPI schemas, offline.
//
//   node deploy/k8s/validate/validate.mjs RENDERED.yaml...   (or - for stdin)
//
// Exit status 0 when every object is valid, 1 otherwise (each problem on
// stderr as FILE: KIND/NAME: message), 2 on a usage error.
//
// Schemas: the npm packages kubernetes-models (every built-in API group) and
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule,
// ...), pinned in package.json / package-lock.json; `npm ci` installs them
// (scripts/setup.sh does, at install time). Each object's class is looked up
// by apiVersion and kind: an unknown apiVersion/kind is an error, not a skip.
//
// The upstream schemas allow unknown fields (no additionalProperties: false),
// so a misspelt field (`readinesProbe:`) would pass them. This script also
// reports unknown fields, the way `kubectl apply --validate=strict` would:
// the object is validated through a Proxy that records which properties the
// schema validator reads; a validator reads every property its schema
// defines, so an object whose properties the validator inspected one by one
// but did not read entirely has unknown fields. Objects whose keys the
// validator enumerates (maps: labels, ConfigMap data, ...) or never touches
// (free-form fields) are not checked that way.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion group -> package whose "<package>/<group>/<version>" module
// exports one class per kind. The core group ("v1") is "kubernetes-models/v1".
const CRD_PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    throw new Error("apiVersion and kind must be strings");
  }
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const pkg = CRD_PACKAGES[group] ?? "kubernetes-models";
  let mod;
  try {
    mod = await import(`${pkg}/${apiVersion}`);
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion} (no schemas in ${pkg})`);
  }
  const cls = mod[kind];
  if (
    typeof cls !== "function" ||
    cls.apiVersion !== apiVersion ||
    cls.kind !== kind ||
    typeof cls.prototype.validate !== "function"
  ) {
    throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  }
  return cls;
}

// Wraps `root` so that every object in it records the property names read
// (get/has) and whether its keys were enumerated (ownKeys).
function track(root) {
  const info = new Map(); // target object -> {read: Set, enumerated: bool}
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    let p = proxies.get(value);
    if (p) return p;
    const rec = { read: new Set(), enumerated: false };
    info.set(value, rec);
    p = new Proxy(value, {
      get(target, prop, receiver) {
        if (typeof prop === "string") rec.read.add(prop);
        return wrap(Reflect.get(target, prop, receiver));
      },
      has(target, prop) {
        if (typeof prop === "string") rec.read.add(prop);
        return Reflect.has(target, prop);
      },
      ownKeys(target) {
        rec.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, p);
    return p;
  };
  return { proxy: wrap(root), info };
}

function unknownFields(root, info) {
  const found = [];
  const walk = (value, path) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    const rec = info.get(value);
    const inspected = rec && !rec.enumerated && rec.read.size > 0;
    for (const key of Object.keys(value)) {
      const child = path ? `${path}.${key}` : key;
      if (inspected && !rec.read.has(key)) found.push(child);
      walk(value[key], child);
    }
  };
  walk(root, "");
  return found;
}

async function validateObject(obj) {
  const problems = [];
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return ["not a mapping"];
  }
  let cls;
  try {
    cls = await modelClass(obj.apiVersion, obj.kind);
  } catch (e) {
    return [e.message];
  }
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
    problems.push("metadata.name missing");
  }
  const { proxy, info } = track(obj);
  try {
    cls.prototype.validate.call(proxy);
  } catch (e) {
    problems.push(`schema: ${e.message}`);
  }
  for (const f of unknownFields(obj, info)) {
    problems.push(`unknown field ${f}`);
  }
  return problems;
}

async function main(args) {
  if (args.length === 0) {
    console.error("usage: validate.mjs FILE.yaml... (- = stdin)");
    return 2;
  }
  let objects = 0;
  let failures = 0;
  for (const file of args) {
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    const docs = parseAllDocuments(text);
    for (const [i, doc] of docs.entries()) {
      const where = `${file}: document ${i + 1}`;
      if (doc.errors.length > 0) {
        console.error(`${where}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
        objects++;
        failures++;
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue; // empty document
      objects++;
      const name = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
      const problems = await validateObject(obj);
      for (const p of problems) console.error(`${where} (${name}): ${p}`);
      if (problems.length > 0) failures++;
    }
  }
  if (objects === 0) {
    console.error("validate.mjs: no objects found");
    return 1;
  }
  console.log(
    `validate.mjs: ${objects} objects, ${objects - failures} valid, ${failures} invalid`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
