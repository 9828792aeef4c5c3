// Static checks of the Dockerfile (there is no container engine here to
// build it): its build stage installs the packages scripts/deps.sh lists and
// runs the configure command scripts/test.sh runs; its runtime stage has no
// build tools, runs as the numeric non-root user the StatefulSet expects,
// and starts the command the StatefulSet runs; .dockerignore keeps
// credentials out of the build context.
//
//   node check_dockerfile.mjs --source REPO --rendered site-a.yaml
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadRendered, onlyOne } from "./rendered.mjs";

const { values: opt } = parseArgs({ options: { source: { type: "string" }, rendered: { type: "string" } } });
const failures = [];
let checks = 0;
const check = (ok, what) => { checks++; if (!ok) failures.push(what); return ok; };

// Instructions, with continuation lines joined and comments dropped.
const text = readFileSync(join(opt.source, "Dockerfile"), "utf8");
const instructions = text.replace(/\\\n/g, " ").split("\n")
  .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
  .map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op.toUpperCase(), arg: rest.join(" ") }; });
const stages = [];
for (const ins of instructions) {
  if (ins.op === "FROM") stages.push({ from: ins.arg, body: [] });
  else if (stages.length) stages[stages.length - 1].body.push(ins);
}
check(stages.length >= 2, "Dockerfile: must be multi-stage (build, then runtime)");
for (const s of stages) {
  check(/^debian:bookworm-slim(\s|$)/.test(s.from), `Dockerfile: stage '${s.from}' is not FROM debian:bookworm-slim`);
}
const runs = (stage) => stage.body.filter((i) => i.op === "RUN").map((i) => i.arg).join("\n");
const build = stages[0], runtime = stages[stages.length - 1];

// The build stage builds as the test suite does.
const testSh = readFileSync(join(opt.source, "scripts/test.sh"), "utf8");
const configure = /^cmake -S \. -B build [^\n>]*?(?=\s*(>|$))/m.exec(testSh)?.[0].trim();
check(configure, "scripts/test.sh: no 'cmake -S . -B build ...' line found to compare with");
const buildRuns = runs(build).replace(/\s+/g, " ");
check(configure && buildRuns.includes(configure), `Dockerfile: the build stage must configure exactly as scripts/test.sh: '${configure}'`);
check(/ninja -C build\b[^&|;]*\bqbox-node\b/.test(buildRuns) && /ninja -C build\b[^&|;]*\bqboxctl\b/.test(buildRuns),
  "Dockerfile: the build stage must build qbox-node and qboxctl with ninja -C build");
check(build.body.some((i) => i.op === "COPY" && i.arg.includes("scripts/deps.sh")) &&
  /source scripts\/deps\.sh && qbox_install_deps/.test(buildRuns),
  "Dockerfile: the build stage must install packages with scripts/deps.sh (qbox_install_deps)");

// The runtime stage: no build tools, binaries from the build stage only.
const runtimeRuns = runs(runtime);
for (const tool of ["build-essential", "cmake", "ninja-build", "g\\+\\+", "gcc", "clang", "make", "-dev\\b", "deps\\.sh", "git"]) {
  check(!new RegExp(`(^|[\\s/])${tool}`).test(runtimeRuns), `Dockerfile: the runtime stage installs or runs build tool '${tool}'`);
}
const copies = runtime.body.filter((i) => i.op === "COPY" || i.op === "ADD");
check(copies.every((i) => i.op === "COPY" && i.arg.startsWith("--from=")),
  "Dockerfile: the runtime stage must copy only from the build stage (no source tree)");
check(copies.some((i) => /qbox-node/.test(i.arg) && /\/usr\/local\/bin\/?$/.test(i.arg)) &&
  copies.some((i) => /qboxctl/.test(i.arg) && /\/usr\/local\/bin\/?$/.test(i.arg)),
  "Dockerfile: qbox-node and qboxctl must be in /usr/local/bin");

// The user and command match what the StatefulSet runs.
const users = runtime.body.filter((i) => i.op === "USER");
const user = users.length ? users[users.length - 1].arg : "";
const [uid, gid] = user.split(":").map(Number);
check(/^\d+(:\d+)?$/.test(user) && uid > 0, `Dockerfile: USER must be a numeric non-root uid, got '${user}'`);
const sts = onlyOne(loadRendered(opt.rendered), "StatefulSet", opt.rendered);
const psc = sts.spec.template.spec.securityContext ?? {};
const container = sts.spec.template.spec.containers[0];
check(uid === (container.securityContext?.runAsUser ?? psc.runAsUser) && (gid === undefined || gid === psc.runAsGroup),
  `Dockerfile: USER ${user} differs from the StatefulSet's runAsUser/runAsGroup`);
const entry = runtime.body.filter((i) => i.op === "ENTRYPOINT").pop()?.arg;
check(entry && JSON.parse(entry)[0] === container.command[0],
  `Dockerfile: ENTRYPOINT ${entry} differs from the StatefulSet's command ${container.command}`);

// The image says what it holds: OCI version and revision labels, the
// version defaulting to the project's.
const cmakeVersion = /project\(quorumbox VERSION (\S+)/.exec(readFileSync(join(opt.source, "CMakeLists.txt"), "utf8"))?.[1];
const versionArg = runtime.body.find((i) => i.op === "ARG" && i.arg.startsWith("QBOX_VERSION="))?.arg.split("=")[1];
check(cmakeVersion && versionArg === cmakeVersion,
  `Dockerfile: ARG QBOX_VERSION=${versionArg} differs from the project's version ${cmakeVersion} (CMakeLists.txt)`);
const labels = runtime.body.filter((i) => i.op === "LABEL").map((i) => i.arg).join(" ");
check(/org\.opencontainers\.image\.version="\$\{QBOX_VERSION\}"/.test(labels) &&
  /org\.opencontainers\.image\.revision="\$\{QBOX_GIT_COMMIT\}"/.test(labels),
  "Dockerfile: the runtime stage must label the image with its version and revision");

const ignore = readFileSync(join(opt.source, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
for (const must of ["k8s/overlays/*/credentials", "**/*.key", ".git"]) {
  check(ignore.includes(must), `.dockerignore: must exclude ${must}`);
}

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`Dockerfile checks: ${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
