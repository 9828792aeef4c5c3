// Turns one pod of a rendered StatefulSet into what a kubelet would run:
// the container's files (ConfigMap, Secret, emptyDir and volume mounts,
// with the kubelet's modes and fsGroup ownership), its environment (field
// and ConfigMap references resolved), its command and arguments with
// $(VAR) expanded the way Kubernetes expands them, its user, and its probes.
//
//   node pod_plan.mjs --rendered site-a.yaml --pod qbox-0 --pod-dir DIR \
//        --volume data=DIR --netns NS --bin-dir DIR --hosts FILE --resolv FILE
//        [--cronjob NAME --set-env NAME=VALUE ...]
//
// With --cronjob, the pod is a run of that CronJob's job instead of a
// StatefulSet pod, and --set-env overrides one of its env values (as a
// patch in an overlay would); persistentVolumeClaim volumes are given with
// --volume like claim templates.
//
// Writes DIR/plan.json (ports, probes, mount targets) and DIR/launch.argv:
// NUL-separated argv that starts the container as a process in network
// namespace NS, in a private mount namespace where the mounts sit at the
// container's paths, the image's binaries (from --bin-dir) at
// /usr/local/bin, --hosts as /etc/hosts (the cluster DNS) and --resolv as
// /etc/resolv.conf (what the kubelet gives every pod), and the root
// file system read-only if the pod asks for it. Anything in the pod spec it
// cannot reproduce faithfully is an error, never silently ignored.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadRendered, named, onlyOne } from "./rendered.mjs";

const { values: opt } = parseArgs({
  options: {
    rendered: { type: "string" },
    pod: { type: "string" },
    "pod-dir": { type: "string" },
    volume: { type: "string", multiple: true, default: [] },
    netns: { type: "string" },
    "bin-dir": { type: "string" },
    hosts: { type: "string" },
    resolv: { type: "string" },
    cronjob: { type: "string" },
    "set-env": { type: "string", multiple: true, default: [] },
  },
});
for (const k of ["rendered", "pod", "pod-dir", "netns", "bin-dir", "hosts", "resolv"]) {
  if (!opt[k]) throw new Error(`pod_plan: --${k} is required`);
}

const src = opt.rendered;
const objects = loadRendered(src);
let workload, podSpec, claimNames;
if (opt.cronjob) {
  workload = objects.find((o) => o.kind === "CronJob" && o.metadata.name === opt.cronjob);
  if (!workload) throw new Error(`${src}: no CronJob ${opt.cronjob}`);
  podSpec = workload.spec.jobTemplate.spec.template.spec;
  claimNames = new Set((podSpec.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
} else {
  workload = onlyOne(objects, "StatefulSet", src);
  const ordinal = Number(opt.pod.slice(workload.metadata.name.length + 1));
  if (!opt.pod.startsWith(`${workload.metadata.name}-`) ||
      !(ordinal >= 0 && ordinal < (workload.spec.replicas ?? 1))) {
    throw new Error(`${src}: ${opt.pod} is not a pod of StatefulSet ${workload.metadata.name}`);
  }
  podSpec = workload.spec.template.spec;
  claimNames = new Set((workload.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name));
}
if (podSpec.initContainers?.length) throw new Error(`${src}: init containers are not reproduced`);
if (podSpec.containers.length !== 1) throw new Error(`${src}: expected one container`);
const c = podSpec.containers[0];
const podSec = podSpec.securityContext ?? {};
const sec = { ...podSec, ...(c.securityContext ?? {}) };
const fsGroup = podSec.fsGroup;
const pod = { name: opt.pod, namespace: workload.metadata.namespace ?? "default" };

// --- environment, in order: a value may use the variables defined before it.
const env = {};
const expand = (s) =>
  s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) =>
    m === "$$" ? "$" : name in env ? env[name] : m);
for (const e of c.env ?? []) {
  if (e.value !== undefined) {
    env[e.name] = expand(e.value);
  } else if (e.valueFrom?.fieldRef) {
    const path = e.valueFrom.fieldRef.fieldPath;
    const fields = { "metadata.name": pod.name, "metadata.namespace": pod.namespace };
    if (!(path in fields)) throw new Error(`${src}: env ${e.name}: fieldRef ${path} not reproduced`);
    env[e.name] = fields[path];
  } else if (e.valueFrom?.configMapKeyRef) {
    const ref = e.valueFrom.configMapKeyRef;
    const cm = named(objects, "ConfigMap", ref.name, src);
    if (!(ref.key in (cm.data ?? {}))) throw new Error(`${src}: env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
    env[e.name] = cm.data[ref.key];
  } else if (e.valueFrom?.secretKeyRef) {
    const ref = e.valueFrom.secretKeyRef;
    const s = named(objects, "Secret", ref.name, src);
    env[e.name] = Buffer.from(s.data[ref.key], "base64").toString();
  } else {
    throw new Error(`${src}: env ${e.name}: this kind of value is not reproduced`);
  }
}
for (const setting of opt["set-env"]) {
  const [name, ...value] = setting.split("=");
  if (!(name in env)) throw new Error(`pod_plan: --set-env ${name}: the container has no such variable`);
  env[name] = value.join("=");
}
if (c.envFrom?.length) throw new Error(`${src}: envFrom is not reproduced`);
if (!c.command?.length) throw new Error(`${src}: the container must name its command`);
const argv = [...c.command, ...(c.args ?? [])].map(expand);
// What Kubernetes leaves as it is: a reference to a variable it does not
// define ($(date ...) in a shell script is not a variable name).
const unresolved = argv.filter((a) => /\$\([A-Za-z_][A-Za-z0-9_.-]*\)/.test(a.replaceAll("$$", "")));
if (unresolved.length) throw new Error(`${src}: unresolved variables in ${unresolved.join(" ")}`);

// --- volumes, laid out as the kubelet lays them out.
const podDir = opt["pod-dir"];
const given = Object.fromEntries(opt.volume.map((v) => v.split("=", 2)));
const ownGroup = (p) => chownSync(p, 0, fsGroup ?? 0);
function writeKeys(dir, entries, mode) {
  mkdirSync(dir, { recursive: true });
  for (const [key, bytes] of entries) {
    const p = join(dir, key);
    writeFileSync(p, bytes);
    chmodSync(p, mode);
    ownGroup(p);
  }
}
function materialize(vol) {
  const dir = join(podDir, "volumes", vol.name);
  if (vol.configMap) {
    if (vol.configMap.items) throw new Error(`${src}: volume ${vol.name}: items are not reproduced`);
    const cm = named(objects, "ConfigMap", vol.configMap.name, src);
    writeKeys(dir, Object.entries(cm.data ?? {}).map(([k, v]) => [k, v]), vol.configMap.defaultMode ?? 0o644);
    return dir;
  }
  if (vol.secret) {
    if (vol.secret.items) throw new Error(`${src}: volume ${vol.name}: items are not reproduced`);
    const s = named(objects, "Secret", vol.secret.secretName, src);
    writeKeys(dir, Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]),
      vol.secret.defaultMode ?? 0o644);
    return dir;
  }
  if (vol.emptyDir) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, fsGroup !== undefined ? 0o2777 : 0o777);
    ownGroup(dir);
    return dir;
  }
  if (vol.projected) {
    // Each source's keys (or only its items, renamed), as the kubelet
    // projects them into one directory.
    mkdirSync(dir, { recursive: true });
    for (const source of vol.projected.sources ?? []) {
      const ref = source.secret ?? source.configMap;
      if (!ref) throw new Error(`${src}: volume ${vol.name}: only secret and configMap sources are reproduced`);
      const obj = named(objects, source.secret ? "Secret" : "ConfigMap", ref.name, src);
      const value = (key) => (source.secret ? Buffer.from(obj.data[key], "base64") : obj.data[key]);
      const items = ref.items ?? Object.keys(obj.data ?? {}).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (!(item.key in (obj.data ?? {}))) throw new Error(`${src}: volume ${vol.name}: ${obj.kind} ${ref.name} has no key ${item.key}`);
        writeKeys(dir, [[item.path, value(item.key)]], item.mode ?? vol.projected.defaultMode ?? 0o644);
      }
    }
    return dir;
  }
  throw new Error(`${src}: volume ${vol.name}: this kind of volume is not reproduced`);
}
const mounts = [];
for (const m of c.volumeMounts ?? []) {
  if (m.subPath) throw new Error(`${src}: volumeMount ${m.name}: subPath is not reproduced`);
  let hostDir;
  if (claimNames.has(m.name)) {
    hostDir = given[m.name];
    if (!hostDir) throw new Error(`pod_plan: the pod mounts claim '${m.name}'; pass --volume ${m.name}=DIR`);
    // A fresh volume with fsGroup: group-owned, group-writable, setgid.
    mkdirSync(hostDir, { recursive: true });
    ownGroup(hostDir);
    chmodSync(hostDir, fsGroup !== undefined ? 0o2775 : 0o755);
  } else {
    const vol = (podSpec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol) throw new Error(`${src}: volumeMount ${m.name} has no volume`);
    hostDir = materialize(vol);
  }
  mounts.push({ source: hostDir, target: m.mountPath, readOnly: !!m.readOnly });
}

// --- user and privileges.
if (sec.privileged) throw new Error(`${src}: privileged containers are not reproduced`);
const uid = sec.runAsUser, gid = sec.runAsGroup ?? 0;
if (uid === undefined) throw new Error(`${src}: runAsUser is not set; the image's user cannot be known here`);
const groups = [gid, ...(fsGroup !== undefined ? [fsGroup] : []), ...(podSec.supplementalGroups ?? [])];
const dropAll = (sec.capabilities?.drop ?? []).includes("ALL");
const setpriv = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, `--groups=${[...new Set(groups)].join(",")}`,
  "--inh-caps=-all", ...(dropAll ? ["--bounding-set=-all"] : []),
  ...(sec.allowPrivilegeEscalation === false ? ["--no-new-privs"] : [])];

// --- the mount namespace: the container's paths, then a read-only root.
const q = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
const setup = ["set -e", "mount -t tmpfs -o mode=0755 image-bin /usr/local/bin"];
for (const bin of ["qbox-node", "qboxctl"]) {
  setup.push(`touch /usr/local/bin/${bin}`, `mount --bind ${q(join(opt["bin-dir"], bin))} /usr/local/bin/${bin}`);
}
setup.push("mount -o remount,ro /usr/local/bin", `mount --bind ${q(opt.hosts)} /etc/hosts`,
  `mount --bind ${q(opt.resolv)} /etc/resolv.conf`);
for (const m of mounts) {
  setup.push(`mount --bind ${q(m.source)} ${q(m.target)}`);
  if (m.readOnly) setup.push(`mount -o remount,bind,ro ${q(m.target)}`);
}
if (sec.readOnlyRootFilesystem) setup.push("mount -o remount,bind,ro /");
setup.push(`cd ${q(c.workingDir ?? "/")}`, 'exec "$@"');

const containerEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: pod.name, ...env };
const launch = ["ip", "netns", "exec", opt.netns, "unshare", "--mount", "--propagation", "private", "--",
  "/bin/sh", "-c", setup.join("\n"), "pod-setup",
  "env", "-i", ...Object.entries(containerEnv).map(([k, v]) => `${k}=${v}`), ...setpriv, "--", ...argv];
writeFileSync(join(podDir, "launch.argv"), launch.join("\0") + "\0");

// --- probes and ports, for the test to check as the kubelet would.
const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
const probe = (p) => {
  if (!p) return null;
  if (!p.httpGet) throw new Error(`${src}: only httpGet probes are reproduced`);
  const port = typeof p.httpGet.port === "number" ? p.httpGet.port : ports[p.httpGet.port];
  if (!port) throw new Error(`${src}: probe port ${p.httpGet.port} is not a container port`);
  return { path: p.httpGet.path, port, scheme: (p.httpGet.scheme ?? "HTTP").toLowerCase() };
};
writeFileSync(join(podDir, "plan.json"), JSON.stringify({
  pod: pod.name, namespace: pod.namespace, argv, env, uid, gid, ports,
  mountTargets: mounts.map((m) => m.target),
  startup: probe(c.startupProbe), liveness: probe(c.livenessProbe), readiness: probe(c.readinessProbe),
  terminationGracePeriodSeconds: podSpec.terminationGracePeriodSeconds ?? 30,
}, null, 2));
