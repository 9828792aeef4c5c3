// Checks what `kubectl kustomize` rendered for every site, offline:
//  1. every object against the Kubernetes API schemas (kubernetes-models)
//     and the cert-manager and prometheus-operator ones
//     (@kubernetes-models/cert-manager, .../prometheus-operator), plus a
//     check for field names that no such type has (the schemas alone accept
//     unknown fields, which the API server would reject);
//  2. the properties the deployment relies on (probes on the health port,
//     PDB, anti-affinity, non-root, read-only root, identity from the pod
//     name, genesis shared by all sites, each pod published and certified
//     under the address cluster.json gives it, the NetworkPolicy, the
//     ServiceMonitor);
//  3. that no site's rendering holds or names another site's private files,
//     or names anything in another site's cluster: every cluster DNS name
//     it holds is one of its own Services, and cluster.json holds none.
//
//   node check_manifests.mjs --rendered DIR --creds DIR --sites site-a,site-b,site-c
// DIR holds SITE.yaml for each site and base.yaml; --creds holds each
// site's `qboxctl site init` output (to recognise their private keys).
// Prints one line per failed check and exits 1 if any failed.
import { X509Certificate } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { loadRendered, named, ofKind, onlyOne } from "./rendered.mjs";

const { values: opt } = parseArgs({
  options: {
    rendered: { type: "string" }, creds: { type: "string" }, sites: { type: "string" },
    overlays: { type: "string" },
  },
});
const sites = opt.sites.split(",");
const failures = [];
let checks = 0;
const check = (ok, what) => {
  checks++;
  if (!ok) failures.push(what);
  return ok;
};

// ---------- 1. API schemas
const here = dirname(fileURLToPath(import.meta.url));
// The npm package that holds the models of an API group.
const packageOf = (group) => ({
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
}[group] ?? "kubernetes-models");
const knownFields = new Set();
for (const pkg of ["kubernetes-models", packageOf("cert-manager.io"), packageOf("monitoring.coreos.com")]) {
  const schemaDir = join(here, "node_modules", pkg, "_schemas");
  const before = knownFields.size;
  for (const f of readdirSync(schemaDir)) {
    for (const m of readFileSync(join(schemaDir, f), "utf8").matchAll(/data\.([A-Za-z_$][A-Za-z0-9_$]*)/g)) {
      knownFields.add(m[1]);
    }
  }
  check(knownFields.size > before, `schema vocabulary not found in ${schemaDir}`);
}
check(knownFields.has("readinessProbe") && knownFields.has("issuerRef") && knownFields.has("scrapeTimeout"),
  "schema vocabulary incomplete");
// Maps whose keys are the user's (labels, ConfigMap data, resource names).
const freeForm = new Set(["labels", "annotations", "data", "binaryData", "stringData", "matchLabels",
  "nodeSelector", "requests", "limits"]);
// Alert rules' own labels and annotations are the user's too.
const freeFormPath = (path) => /^PrometheusRule\.spec\.groups\[\d+\]\.rules\[\d+\]\.(labels|annotations)$/.test(path);
function unknownFields(value, path, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, `${path}[${i}]`, out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (!knownFields.has(k) && !freeForm.has(k)) out.push(`${path}.${k}`);
      const isServiceSelector = k === "selector" && /^Service\.spec$/.test(path);
      if (!freeForm.has(k) && !isServiceSelector && !freeFormPath(`${path}.${k}`)) unknownFields(v, `${path}.${k}`, out);
    }
  }
}
async function validateSchema(obj, source) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
  const pkg = packageOf(group);
  const modulePath = pkg === "kubernetes-models"
    ? `kubernetes-models/${group ? `${group}/` : ""}${version}/${obj.kind}`
    : `${pkg}/${group}/${version}/${obj.kind}`;
  const id = `${source}: ${obj.kind}/${obj.metadata?.name}`;
  let Model;
  try {
    Model = (await import(modulePath))[obj.kind];
  } catch (e) {
    return check(false, `${id}: no API type ${obj.apiVersion} ${obj.kind} in ${pkg} (${e.message})`);
  }
  // kustomize wraps long base64 values over lines, which the API server's
  // decoder accepts and the schema's "byte" format does not.
  const forSchema = obj.kind === "Secret" && obj.data
    ? { ...obj, data: Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, v.replace(/\s+/g, "")])) }
    : obj;
  try {
    new Model(forSchema).validate();
    check(true, "");
  } catch (e) {
    check(false, `${id}: invalid against the ${obj.apiVersion} ${obj.kind} schema: ${e.message}`);
  }
  const unknown = [];
  unknownFields(obj, obj.kind, unknown);
  check(unknown.length === 0, `${id}: fields no Kubernetes type has: ${unknown.join(", ")}`);
}

// ---------- 2. properties
const argValue = (args, flag) => {
  const a = args.find((x) => x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
};
const portOf = (hostPort) => Number(hostPort?.split(":").pop());
const selects = (selector, labels) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function checkSite(site, objects) {
  const src = `${site}.yaml`;
  const ns = objects.find((o) => o.kind === "Namespace");
  check(!!ns, `${src}: no Namespace object`);
  const namespace = ns?.metadata.name;
  for (const o of objects) {
    if (o.kind !== "Namespace") {
      check(o.metadata.namespace === namespace, `${src}: ${o.kind}/${o.metadata.name} is not in namespace ${namespace}`);
    }
  }
  const sts = onlyOne(objects, "StatefulSet", src);
  const pod = sts.spec.template;
  const labels = pod.metadata.labels;
  const spec = pod.spec;
  check(spec.containers.length === 1, `${src}: expected one container`);
  const c = spec.containers[0];
  const args = c.args ?? [];
  const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  const metricsPort = ports.metrics, grpcPort = ports.grpc;
  check(metricsPort && metricsPort === portOf(argValue(args, "--metrics-listen")),
    `${src}: container port 'metrics' (${metricsPort}) is not the --metrics-listen port`);
  check(grpcPort && grpcPort === portOf(argValue(args, "--listen")),
    `${src}: container port 'grpc' (${grpcPort}) is not the --listen port`);

  // Probes: plaintext HTTP on the health (metrics) port.
  const probePort = (p) => (typeof p?.httpGet?.port === "string" ? ports[p.httpGet.port] : p?.httpGet?.port);
  check(c.livenessProbe?.httpGet?.path === "/healthz" && probePort(c.livenessProbe) === metricsPort,
    `${src}: liveness must be httpGet /healthz on the metrics port`);
  check(c.readinessProbe?.httpGet?.path === "/readyz" && probePort(c.readinessProbe) === metricsPort,
    `${src}: readiness must be httpGet /readyz on the metrics port`);
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) {
    check((p.httpGet?.scheme ?? "HTTP") === "HTTP", `${src}: probes are plaintext HTTP (gRPC needs client certs)`);
  }
  const ann = pod.metadata.annotations ?? {};
  check(ann["prometheus.io/scrape"] === "true" && Number(ann["prometheus.io/port"]) === metricsPort &&
    ann["prometheus.io/path"] === "/metrics", `${src}: Prometheus scrape annotations must name the metrics port`);

  // Disruption budget, spread, resources, shutdown.
  const pdbs = ofKind(objects, "PodDisruptionBudget");
  check(pdbs.length === 1 && pdbs[0].apiVersion === "policy/v1" && pdbs[0].spec.maxUnavailable === 1 &&
    selects(pdbs[0].spec.selector?.matchLabels, labels), `${src}: one policy/v1 PDB with maxUnavailable 1 selecting the pods`);
  const anti = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const spread = (spec.topologySpreadConstraints ?? []).filter((t) => t.whenUnsatisfiable === "DoNotSchedule");
  check([...anti, ...spread].some((t) => t.topologyKey === "kubernetes.io/hostname" &&
    selects(t.labelSelector?.matchLabels, labels)),
    `${src}: a site's pods must be kept on different hosts (required anti-affinity on kubernetes.io/hostname)`);
  // Requests for both; a memory limit (a runaway node is killed, not the
  // host); no CPU limit (throttling delays heartbeats and costs elections).
  check(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${src}: resources.requests needs cpu and memory`);
  check(c.resources?.limits?.memory && !c.resources?.limits?.cpu,
    `${src}: resources.limits needs memory and no cpu (CPU throttling stalls heartbeats)`);
  check((spec.terminationGracePeriodSeconds ?? 30) >= 30,
    `${src}: terminationGracePeriodSeconds must leave time to transfer leadership`);
  check(sts.spec.podManagementPolicy === "Parallel",
    `${src}: podManagementPolicy must be Parallel (no node is ready before a cross-site quorum)`);

  // Security.
  const psc = spec.securityContext ?? {}, csc = c.securityContext ?? {};
  const uid = csc.runAsUser ?? psc.runAsUser;
  check((csc.runAsNonRoot ?? psc.runAsNonRoot) === true && Number.isInteger(uid) && uid > 0,
    `${src}: must run as a numeric non-root user`);
  check(csc.readOnlyRootFilesystem === true, `${src}: root file system must be read-only`);
  check(csc.allowPrivilegeEscalation === false, `${src}: allowPrivilegeEscalation must be false`);
  check((csc.capabilities?.drop ?? []).includes("ALL") && !(csc.capabilities?.add ?? []).length,
    `${src}: must drop ALL capabilities and add none`);
  check(!csc.privileged && !spec.hostNetwork && !spec.hostPID && !spec.hostIPC,
    `${src}: no privileged mode or host namespaces`);
  check((spec.volumes ?? []).every((v) => !v.hostPath), `${src}: no hostPath volumes`);

  // Volumes: data on the claim, /tmp an emptyDir, TLS read-only from a Secret.
  const mounts = c.volumeMounts ?? [];
  const vol = (name) => (spec.volumes ?? []).find((v) => v.name === name);
  const mountOf = (path) => mounts
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const dataMount = mountOf(argValue(args, "--data-dir") ?? "");
  check(dataMount && (sts.spec.volumeClaimTemplates ?? []).some((t) => t.metadata.name === dataMount.name),
    `${src}: --data-dir must be on the volumeClaimTemplate`);
  const tmp = mounts.find((m) => m.mountPath === "/tmp");
  check(tmp && vol(tmp.name)?.emptyDir, `${src}: /tmp must be an emptyDir`);
  const expandPod = (s, podName) => s.replaceAll("$(POD_NAME)", podName);
  const certMount = mountOf(argValue(args, "--cert") ?? ""), keyMount = mountOf(argValue(args, "--key") ?? "");
  const tlsVol = certMount && vol(certMount.name);
  check(tlsVol?.projected && keyMount?.name === certMount.name && certMount.readOnly === true,
    `${src}: --cert and --key must come from a projected volume of the pods' certificate Secrets, read-only`);
  const clusterMount = mountOf(argValue(args, "--cluster") ?? "");
  const clusterVol = clusterMount && vol(clusterMount.name);
  check(clusterVol?.configMap && clusterMount.readOnly === true, `${src}: --cluster must come from a ConfigMap`);

  // Identity from the pod name: --node=$(SITE_VAR)/$(POD_NAME).
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
  check(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath === "metadata.name", `${src}: POD_NAME must be the pod's name`);
  const nodeArg = argValue(args, "--node") ?? "";
  const m = /^\$\(([A-Z_]+)\)\/\$\(POD_NAME\)$/.exec(nodeArg);
  let siteValue;
  if (check(m, `${src}: --node must be $(SITE)/$(POD_NAME), got '${nodeArg}'`)) {
    const ref = env[m[1]]?.valueFrom?.configMapKeyRef;
    siteValue = env[m[1]]?.value ?? (ref && named(objects, "ConfigMap", ref.name, src).data?.[ref.key]);
    check(siteValue === site, `${src}: --node's site resolves to '${siteValue}', not '${site}'`);
  }

  // Services.
  const services = ofKind(objects, "Service");
  const headless = services.find((s) => s.metadata.name === sts.spec.serviceName);
  check(headless?.spec.clusterIP === "None" && headless.spec.publishNotReadyAddresses === true &&
    selects(headless.spec.selector, labels), `${src}: serviceName must be a headless Service publishing not-ready pods`);
  const client = services.find((s) => s !== headless && (s.spec.type ?? "ClusterIP") === "ClusterIP");
  check(client && client.spec.clusterIP !== "None" && !client.spec.publishNotReadyAddresses &&
    selects(client.spec.selector, labels) && client.spec.ports.some((p) => p.targetPort === "grpc" || p.targetPort === grpcPort),
  `${src}: a client Service must send gRPC to ready pods only`);

  // The genesis configuration and the CA certificates it names.
  const cm = clusterVol?.configMap && named(objects, "ConfigMap", clusterVol.configMap.name, src);
  const clusterFile = posix.relative(clusterMount.mountPath, argValue(args, "--cluster"));
  const config = JSON.parse(cm.data[clusterFile]);
  for (const [key, text] of Object.entries(cm.data)) {
    check(!text.includes("PRIVATE KEY"), `${src}: ConfigMap ${cm.metadata.name} key ${key} holds a private key`);
  }
  const caOf = {};
  for (const s of config.sites) {
    const pem = s.ca_cert_pem ?? cm.data[s.ca_cert_file];
    if (!check(pem, `${src}: cluster.json site ${s.name}: CA certificate ${s.ca_cert_file} is not in the ConfigMap`)) continue;
    const cert = new X509Certificate(pem);
    check(cert.ca && cert.subjectAltName?.includes(`URI:spiffe://${s.name}`),
      `${src}: ${s.ca_cert_file} is not site ${s.name}'s CA certificate`);
    caOf[s.name] = cert;
  }
  check(sites.every((s) => caOf[s]), `${src}: cluster.json must list every site's CA`);
  const replicas = sts.spec.replicas ?? 1;
  const ownNodes = config.nodes.filter((n) => n.site === site);
  check(ownNodes.length === replicas, `${src}: cluster.json lists ${ownNodes.length} nodes of ${site}, StatefulSet runs ${replicas}`);
  for (let i = 0; i < replicas; i++) {
    const name = `${sts.metadata.name}-${i}`;
    const n = ownNodes.find((x) => x.name === name);
    // Its published address: a LoadBalancer Service for this pod alone,
    // with the public DNS name the other sites dial.
    const podLabels = { ...labels, "statefulset.kubernetes.io/pod-name": name };
    const published = services.find((x) => x.spec.type === "LoadBalancer" && selects(x.spec.selector, podLabels) &&
      x.spec.selector["statefulset.kubernetes.io/pod-name"] === name);
    const publishedPort = published?.spec.ports.find((p) => p.targetPort === "grpc" || p.targetPort === grpcPort)?.port;
    check(published && publishedPort && published.spec.publishNotReadyAddresses === true,
      `${src}: ${name} needs a LoadBalancer Service of its own publishing gRPC, not-ready included`);
    const host = published?.metadata.annotations?.["external-dns.alpha.kubernetes.io/hostname"];
    check(host && !isClusterDns(host), `${src}: ${published?.metadata.name} must name its public DNS name (external-dns annotation), got '${host}'`);
    check(n?.address === `${host}:${publishedPort}`, `${src}: cluster.json must list ${site}/${name} at its published ${host}:${publishedPort}`);
    // Its certificate: cert-manager's Secret, renamed to --cert / --key.
    const crtFile = posix.basename(expandPod(argValue(args, "--cert"), name));
    const keyFile = posix.basename(expandPod(argValue(args, "--key"), name));
    const itemPath = (source, key) => source.secret?.items?.find((i) => i.key === key)?.path;
    const source = (tlsVol?.projected?.sources ?? []).find((x) => itemPath(x, "tls.crt") === crtFile);
    if (!check(source && itemPath(source, "tls.key") === keyFile,
      `${src}: the tls volume must map a Secret's tls.crt/tls.key to ${crtFile}/${keyFile}`)) continue;
    const cert = ofKind(objects, "Certificate").find((x) => x.spec.secretName === source.secret.name);
    if (!check(cert, `${src}: no Certificate writes Secret ${source.secret.name} (${name}'s certificate)`)) continue;
    const id = `${src}: Certificate ${cert.metadata.name}`;
    check(JSON.stringify(cert.spec.uris) === JSON.stringify([`spiffe://${site}/node/${name}`]),
      `${id}: uris must be exactly [spiffe://${site}/node/${name}], got ${JSON.stringify(cert.spec.uris)}`);
    check((cert.spec.dnsNames ?? []).includes(host), `${id}: dnsNames must include ${host}, the address peers dial`);
    check((cert.spec.dnsNames ?? []).every((d) => !isClusterDns(d) || d.split(".")[1] === namespace),
      `${id}: dnsNames name another cluster's services`);
    const usages = cert.spec.usages ?? [];
    check(usages.includes("server auth") && usages.includes("client auth"),
      `${id}: usages must include server auth and client auth (nodes dial each other)`);
    check(cert.spec.privateKey?.rotationPolicy === "Always", `${id}: privateKey.rotationPolicy must be Always`);
    const issuer = (cert.spec.issuerRef?.kind ?? "Issuer") === "Issuer" &&
      objects.find((x) => x.kind === "Issuer" && x.metadata.name === cert.spec.issuerRef.name);
    check(issuer?.spec?.ca?.secretName, `${id}: must be issued by this site's own CA Issuer (a namespaced Issuer with spec.ca)`);
  }
  for (const n of config.nodes) {
    check(/^[a-z0-9.-]+:\d+$/.test(n.address), `${src}: cluster.json lists ${n.site}/${n.name} without an address`);
    check(!isClusterDns(n.address.split(":")[0]),
      `${src}: cluster.json lists ${n.site}/${n.name} at ${n.address}, a cluster DNS name other sites cannot resolve`);
  }
  checkNetworkPolicy(src, objects, labels, ports);
  checkMonitoring(src, objects, headless);
  checkBackup(src, site, objects, client);
  return { cluster: cm.data[clusterFile], cas: Object.fromEntries(Object.entries(caOf).map(([k, v]) => [k, v.fingerprint256])) };
}

// A Kubernetes cluster DNS name (SERVICE.NAMESPACE.svc[.cluster.local],
// possibly under a pod name), which resolves only inside one cluster.
const isClusterDns = (host) => /\.svc(\.cluster\.local)?\.?$/.test(host) || /(^|\.)cluster\.local\.?$/.test(host);

// Ingress: gRPC only from named peers, metrics only from "monitoring".
function checkNetworkPolicy(src, objects, labels, ports) {
  const policies = ofKind(objects, "NetworkPolicy").filter((p) => selects(p.spec.podSelector?.matchLabels, labels));
  if (!check(policies.length === 1, `${src}: exactly one NetworkPolicy must select the node pods`)) return;
  const policy = policies[0];
  check((policy.spec.policyTypes ?? []).includes("Ingress"), `${src}: the NetworkPolicy must restrict Ingress`);
  const portNumber = (p) => (typeof p.port === "string" ? ports[p.port] : p.port);
  for (const [i, rule] of (policy.spec.ingress ?? []).entries()) {
    const where = `${src}: NetworkPolicy ingress[${i}]`;
    check(rule.ports?.length && rule.from?.length, `${where}: must name its ports and its sources (none means everyone)`);
    const numbers = (rule.ports ?? []).map(portNumber);
    check(numbers.every((n) => n === ports.grpc || n === ports.metrics), `${where}: opens a port the node does not serve`);
    if (numbers.includes(ports.metrics)) {
      check((rule.from ?? []).every((f) => f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "monitoring" &&
        !f.ipBlock), `${where}: the metrics port is open only to namespace monitoring`);
    }
    for (const f of rule.from ?? []) {
      check(f.ipBlock || Object.keys(f.podSelector?.matchLabels ?? {}).length ||
        Object.keys(f.namespaceSelector?.matchLabels ?? {}).length, `${where}: a source that selects everyone`);
      check(!f.ipBlock || !/\/0$/.test(f.ipBlock.cidr), `${where}: ipBlock ${f.ipBlock?.cidr} is everyone`);
    }
  }
  const opened = (policy.spec.ingress ?? []).flatMap((r) => (r.ports ?? []).map(portNumber));
  check(opened.includes(ports.grpc) && opened.includes(ports.metrics), `${src}: the NetworkPolicy must admit gRPC and metrics`);
}

// The site's Prometheus scrapes every node (through the headless Service)
// and has the alert rules.
function checkMonitoring(src, objects, headless) {
  const monitors = ofKind(objects, "ServiceMonitor");
  const scrapes = monitors.some((m) => selects(m.spec.selector?.matchLabels, headless?.metadata.labels ?? {}) &&
    m.spec.endpoints?.some((e) => e.port === "metrics" && (e.path ?? "/metrics") === "/metrics") &&
    headless.spec.ports.some((p) => p.name === "metrics"));
  check(scrapes, `${src}: a ServiceMonitor must scrape port metrics of Service ${headless?.metadata.name}`);
  check(ofKind(objects, "PrometheusRule").length === 1, `${src}: one PrometheusRule with the alerts`);
}

// The backup CronJob: save and verify from this site's own nodes into this
// site's own volume, one run at a time, as this site's backup admin,
// reachable through the NetworkPolicy.
function checkBackup(src, site, objects, client) {
  const jobs = ofKind(objects, "CronJob");
  if (!check(jobs.length === 1, `${src}: one backup CronJob`)) return;
  const job = jobs[0];
  const pod = job.spec.jobTemplate.spec.template;
  const c = pod.spec.containers[0];
  const script = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
  check(job.spec.concurrencyPolicy === "Forbid", `${src}: CronJob ${job.metadata.name}: concurrencyPolicy must be Forbid`);
  check(/qboxctl snapshot save/.test(script) && /qboxctl snapshot verify/.test(script),
    `${src}: CronJob ${job.metadata.name} must run qboxctl snapshot save and snapshot verify`);
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
  check(Number(env.QBOX_BACKUP_KEEP) >= 1, `${src}: QBOX_BACKUP_KEEP must be a number of copies`);
  const host = (env.QBOX_ENDPOINTS ?? "").split(":")[0];
  check(client && host.startsWith(`${client.metadata.name}.${client.metadata.namespace}.svc`),
    `${src}: the backup must ask this site's own nodes (the client Service), not ${env.QBOX_ENDPOINTS}`);
  const volumes = pod.spec.volumes ?? [];
  const backups = c.volumeMounts?.find((m) => m.mountPath === "/backups");
  const claim = volumes.find((v) => v.name === backups?.name)?.persistentVolumeClaim?.claimName;
  check(claim && objects.some((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name === claim),
    `${src}: backups must go to a PersistentVolumeClaim of this site`);
  const sec = { ...(pod.spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
  check(sec.runAsNonRoot === true && c.securityContext?.readOnlyRootFilesystem === true &&
    (c.securityContext?.capabilities?.drop ?? []).includes("ALL"), `${src}: the backup runs non-root, read-only, no capabilities`);
  const policy = ofKind(objects, "NetworkPolicy")[0];
  check((policy?.spec.ingress ?? []).some((r) => (r.from ?? []).some((f) => !f.namespaceSelector &&
    selects(f.podSelector?.matchLabels, pod.metadata.labels ?? {}))),
  `${src}: the NetworkPolicy must let the backup pods reach the nodes`);
  const secretNames = volumes.flatMap((v) => (v.projected?.sources ?? []).map((x) => x.secret?.name).filter(Boolean));
  const cert = ofKind(objects, "Certificate").find((x) => secretNames.includes(x.spec.secretName));
  check(cert && JSON.stringify(cert.spec.uris) === JSON.stringify([`spiffe://${site}/admin/backup`]) &&
    (cert.spec.usages ?? []).includes("client auth"),
  `${src}: the backup's Certificate must be ${site}'s admin "backup" with client auth`);
}

// ---------- 3. no other site's private material
function checkIsolation(site, objects, text) {
  const src = `${site}.yaml`;
  // Everything the rendering holds, as text: base64 values unwrapped, and
  // every Secret and ConfigMap value decoded, without white space.
  const flat = text.replace(/\s+/g, "");
  const decoded = objects.flatMap((o) => Object.values(o.data ?? {})
    .map((v) => (o.kind === "Secret" ? Buffer.from(v, "base64").toString() : String(v))))
    .join("").replace(/\s+/g, "");
  for (const s of ofKind(objects, "Secret")) {
    for (const [key, b64] of Object.entries(s.data ?? {})) {
      check(!/^ca\.key$|^admins|^frontends/.test(key), `${src}: Secret ${s.metadata.name} holds ${key}`);
      const bytes = Buffer.from(b64, "base64").toString();
      if (bytes.includes("CERTIFICATE")) {
        const cert = new X509Certificate(bytes);
        check(cert.subjectAltName?.includes(`URI:spiffe://${site}/`),
          `${src}: Secret ${s.metadata.name} key ${key} is a certificate of another site (${cert.subjectAltName})`);
      }
    }
  }
  // Nothing in another site's cluster: every cluster DNS name is one of
  // this rendering's own Services in its own namespace.
  const namespace = objects.find((o) => o.kind === "Namespace")?.metadata.name;
  const ownServices = new Set(ofKind(objects, "Service").map((o) => o.metadata.name));
  for (const [name] of text.matchAll(/[a-z0-9.-]+\.svc(\.cluster\.local)?(?![a-z0-9-])/g)) {
    const labels = name.replace(/\.svc(\.cluster\.local)?$/, "").split(".");
    const [service, ns] = labels.slice(-2);
    check(ns === namespace && ownServices.has(service), `${src}: names ${name}, which is not a Service of this site's cluster`);
  }
  for (const other of sites) {
    const dir = join(opt.creds, other);
    const keyFiles = [join(dir, "ca.key")];
    for (const sub of ["nodes", "admins", "frontends"]) {
      try {
        for (const f of readdirSync(join(dir, sub))) if (f.endsWith(".key")) keyFiles.push(join(dir, sub, f));
      } catch { /* a site without that role */ }
    }
    for (const f of keyFiles) {
      const pem = readFileSync(f, "utf8");
      const body = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
      const mine = other === site && f.includes("/nodes/");
      const leaked = flat.includes(Buffer.from(pem).toString("base64")) || decoded.includes(body);
      if (!mine) check(!leaked, `${src}: holds the private key ${f}`);
    }
    if (other !== site) {
      check(!text.includes(other + "/node") && !new RegExp(`${other}[-/](credentials|nodes)`).test(text),
        `${src}: names ${other}'s private files`);
    }
  }
}

// The overlay's own source: it builds on the base and reads files from its
// own directory only, never from another site's.
function checkOverlaySource(site) {
  const file = join(opt.overlays, site, "kustomization.yaml");
  const k = parseYaml(readFileSync(file, "utf8"));
  const src = `k8s/overlays/${site}/kustomization.yaml`;
  check((k.resources ?? []).every((r) => r === "../../base" || !r.includes("..")),
    `${src}: resources outside the overlay other than ../../base: ${k.resources}`);
  const files = [...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])]
    .flatMap((g) => [...(g.files ?? []), ...(g.envs ?? [])]).map((f) => f.split("=").pop());
  for (const f of files) {
    check(!f.startsWith("/") && !f.split("/").includes(".."), `${src}: ${f} is outside the overlay`);
    check(sites.every((s) => s === site || !f.includes(`${s}/`)), `${src}: ${f} names another site's directory`);
    check(!/(^|\/)ca\.key$|admins\/|frontends\//.test(f), `${src}: ${f} is not node material`);
  }
  // An image the overlay sets is pinned by digest, never by a movable tag.
  for (const image of k.images ?? []) {
    check(/^sha256:[0-9a-f]{64}$/.test(image.digest ?? "") && !image.newTag,
      `${src}: image ${image.name} must be pinned by digest (digest: sha256:...), not by tag`);
  }
  for (const g of k.secretGenerator ?? []) {
    for (const f of g.files ?? []) {
      check(f.startsWith("credentials/nodes/"), `${src}: Secret ${g.name} reads ${f}, not this site's node credentials`);
    }
  }
}

const results = {};
for (const site of sites) checkOverlaySource(site);
for (const site of sites) {
  const file = join(opt.rendered, `${site}.yaml`);
  const objects = loadRendered(file);
  for (const o of objects) await validateSchema(o, `${site}.yaml`);
  try {
    results[site] = checkSite(site, objects);
  } catch (e) {
    check(false, `${site}.yaml: ${e.message}`);
  }
  checkIsolation(site, objects, readFileSync(file, "utf8"));
}
for (const o of loadRendered(join(opt.rendered, "base.yaml"))) await validateSchema(o, "base.yaml");

// One cluster: every site starts from the same genesis and the same CAs.
const first = results[sites[0]];
for (const site of sites.slice(1)) {
  check(results[site]?.cluster === first?.cluster, `${site}.yaml: cluster.json differs from ${sites[0]}'s; the genesis must be identical`);
  check(JSON.stringify(results[site]?.cas) === JSON.stringify(first?.cas), `${site}.yaml: CA certificates differ from ${sites[0]}'s`);
}

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`manifest checks: ${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
