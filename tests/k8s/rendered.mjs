// Reading `kubectl kustomize` output: every object of a rendered stream, and
// lookups by kind and (generated, hash-suffixed) name.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export function loadRendered(path) {
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  if (objects.length === 0) throw new Error(`${path}: no objects rendered`);
  return objects;
}

export function ofKind(objects, kind) {
  return objects.filter((o) => o.kind === kind);
}

export function onlyOne(objects, kind, source) {
  const found = ofKind(objects, kind);
  if (found.length !== 1) {
    throw new Error(`${source}: expected exactly one ${kind}, found ${found.length}`);
  }
  return found[0];
}

export function named(objects, kind, name, source) {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`${source}: the pod refers to ${kind} '${name}', which is not rendered`);
  return found;
}
