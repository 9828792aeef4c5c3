// Checks that the alert rules ask for series a running node exports: every
// qbox_* metric the rules name is in a /metrics scrape of a real node, with
// each label value the rules select on (field="apply_lag", state="PENDING",
// ...). Labels Prometheus adds when it scrapes (job, namespace, pod,
// instance) are not in /metrics and are skipped. Catches a renamed metric or
// field that `promtool test rules` cannot see, since its series are written
// by hand.
//
// With --promtool-test FILE it also writes a `promtool test rules` file
// whose input is the scrape itself, held for 20 minutes under the labels
// the ServiceMonitor adds, and which expects no alert at all: a healthy
// node must not page anyone.
//
//   node check_rule_series.mjs --rules rules.yaml --metrics scrape.txt \
//        [--promtool-test captured_test.yaml --namespace NS --pod POD]
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";

const { values: opt } = parseArgs({
  options: {
    rules: { type: "string" }, metrics: { type: "string" }, "promtool-test": { type: "string" },
    namespace: { type: "string", default: "quorumbox" }, pod: { type: "string", default: "qbox-0" },
  },
});
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

const rules = parse(readFileSync(opt.rules, "utf8"));
if (opt["promtool-test"]) {
  const scraped = { job: "qbox-peers", namespace: opt.namespace, pod: opt.pod, instance: `${opt.pod}:9100` };
  const selector = (labels) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
  const input = [];
  for (const line of readFileSync(opt.metrics, "utf8").split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (!m || !m[1].startsWith("qbox_") || !Number.isFinite(Number(m[3]))) continue;
    const labels = { ...scraped };
    for (const x of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[x[1]] = x[2];
    input.push({ series: `${m[1]}${selector(labels)}`, values: `${m[3]}x20` });
  }
  input.push({ series: `up${selector(scraped)}`, values: "1x20" });
  const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter(Boolean));
  writeFileSync(opt["promtool-test"], stringify({
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: [{
      interval: "1m",
      input_series: input,
      alert_rule_test: alerts.map((alertname) => ({ eval_time: "20m", alertname, exp_alerts: [] })),
    }],
  }));
}

const failures = [];
let checks = 0;
for (const group of rules.groups) {
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
