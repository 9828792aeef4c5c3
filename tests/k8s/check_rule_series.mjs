// Checks that the alert rules ask for series a running node exports: every
// qbox_* metric the rules name is in a /metrics scrape of a real node, with
// each label value the rules select on (field="apply_lag", state="PENDING",
// ...). Labels Prometheus adds when it scrapes (job, namespace, pod,
// instance) are not in /metrics and are skipped. Catches a renamed metric or
// field that `promtool test rules` cannot see, since its series are written
// by hand.
//
//   node check_rule_series.mjs --rules rules.yaml --metrics scrape.txt
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse } from "yaml";

const { values: opt } = parseArgs({ options: { rules: { type: "string" }, metrics: { type: "string" } } });
if (!opt.rules || !opt.metrics) throw new Error("check_rule_series: --rules and --metrics are required");
const scrapeLabels = new Set(["job", "namespace", "pod", "instance", "service", "endpoint", "container"]);

// name -> list of label sets, from the text exposition format.
const series = new Map();
for (const line of readFileSync(opt.metrics, "utf8").split("\n")) {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
  if (!m || line.startsWith("#")) continue;
  const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
  if (!series.has(m[1])) series.set(m[1], []);
  series.get(m[1]).push(labels);
}
if (series.size === 0) throw new Error(`${opt.metrics}: no series`);

const failures = [];
let checks = 0;
for (const group of parse(readFileSync(opt.rules, "utf8")).groups) {
  for (const rule of group.rules) {
    for (const [, name, matchers] of String(rule.expr).matchAll(/\b(qbox_[a-z_]+)(?:\{([^}]*)\})?/g)) {
      checks++;
      const known = series.get(name) ?? series.get(name.replace(/_(bucket|sum|count)$/, ""));
      if (!known) {
        failures.push(`${rule.alert}: ${name} is not in a node's /metrics`);
        continue;
      }
      for (const [, label, op, value] of (matchers ?? "").matchAll(/([a-zA-Z_]+)\s*(=|!=|=~|!~)\s*"([^"]*)"/g)) {
        if (scrapeLabels.has(label) || op !== "=") continue;
        checks++;
        if (!known.some((l) => l[label] === value)) {
          failures.push(`${rule.alert}: no ${name} series with ${label}="${value}" in a node's /metrics`);
        }
      }
    }
  }
}
for (const f of failures) console.error(`FAIL ${f}`);
console.log(`alert series checks: ${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length || checks === 0 ? 1 : 0);
