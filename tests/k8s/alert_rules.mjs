// The alerting rules of a rendered PrometheusRule, as a Prometheus rule
// file (what the operator hands to Prometheus: its spec.groups), for
// `promtool check rules` and `promtool test rules`.
//
//   node alert_rules.mjs --rendered site-a.yaml --out rules.yaml
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadRendered, onlyOne } from "./rendered.mjs";

const { values: opt } = parseArgs({ options: { rendered: { type: "string" }, out: { type: "string" } } });
if (!opt.rendered || !opt.out) throw new Error("alert_rules: --rendered and --out are required");
const rule = onlyOne(loadRendered(opt.rendered), "PrometheusRule", opt.rendered);
if (!rule.spec?.groups?.length) throw new Error(`${opt.rendered}: PrometheusRule ${rule.metadata.name} has no groups`);
writeFileSync(opt.out, stringify({ groups: rule.spec.groups }));
