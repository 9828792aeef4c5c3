// Plays cert-manager's CA Issuer for a rendered site: for every Certificate
// issued by a CA Issuer, makes the key its spec asks for and signs a
// certificate with exactly its subject, URIs, DNS names, usages and
// duration with the site's CA (openssl), and writes the Secret cert-manager
// would write (type kubernetes.io/tls: tls.crt, tls.key, ca.crt). What the
// pods then load is what the Certificate objects say, so a wrong SPIFFE ID,
// DNS name or usage in the overlay fails the pods test.
//
//   node issue_certificates.mjs --rendered site-a.yaml --ca-cert ca.crt \
//        --ca-key ca.key --work DIR --out issued.yaml
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadRendered, ofKind } from "./rendered.mjs";

const { values: opt } = parseArgs({
  options: {
    rendered: { type: "string" }, "ca-cert": { type: "string" }, "ca-key": { type: "string" },
    work: { type: "string" }, out: { type: "string" },
  },
});
for (const k of ["rendered", "ca-cert", "ca-key", "work", "out"]) {
  if (!opt[k]) throw new Error(`issue_certificates: --${k} is required`);
}
const src = opt.rendered;
const objects = loadRendered(src);
const openssl = (...args) => {
  try {
    return execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim()}`);
  }
};
// cert-manager's names for key usages, as OpenSSL spells them.
const keyUsages = { "digital signature": "digitalSignature", "key encipherment": "keyEncipherment" };
const extUsages = { "server auth": "serverAuth", "client auth": "clientAuth" };
const hours = (d) => {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d ?? "2160h");
  if (!m) throw new Error(`duration '${d}' not understood`);
  return Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
};

const secrets = [];
mkdirSync(opt.work, { recursive: true });
for (const cert of ofKind(objects, "Certificate")) {
  const spec = cert.spec;
  const id = `${src}: Certificate ${cert.metadata.name}`;
  const issuer = objects.find((o) => o.kind === (spec.issuerRef.kind ?? "Issuer") && o.metadata.name === spec.issuerRef.name);
  if (!issuer?.spec?.ca) throw new Error(`${id}: issuerRef ${spec.issuerRef.name} is not a CA Issuer in this rendering`);
  const base = join(opt.work, cert.metadata.name);
  const algorithm = spec.privateKey?.algorithm ?? "RSA";
  if (algorithm === "ECDSA") {
    const curve = { 256: "prime256v1", 384: "secp384r1" }[spec.privateKey?.size ?? 256];
    if (!curve) throw new Error(`${id}: ECDSA size ${spec.privateKey.size} is not supported by cert-manager`);
    writeFileSync(`${base}.key`, openssl("ecparam", "-genkey", "-name", curve, "-noout"));
  } else if (algorithm === "RSA") {
    writeFileSync(`${base}.key`, openssl("genrsa", String(spec.privateKey?.size ?? 2048)));
  } else {
    throw new Error(`${id}: privateKey.algorithm ${algorithm} is not reproduced`);
  }
  const usages = spec.usages ?? ["digital signature", "key encipherment", "server auth"];
  for (const u of usages) {
    if (!(u in keyUsages) && !(u in extUsages)) throw new Error(`${id}: usage '${u}' is not reproduced`);
  }
  const san = [...(spec.uris ?? []).map((u) => `URI:${u}`), ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(spec.ipAddresses ?? []).map((a) => `IP:${a}`)];
  const ext = ["[v3]", "basicConstraints = critical, CA:FALSE",
    `keyUsage = critical, ${usages.filter((u) => u in keyUsages).map((u) => keyUsages[u]).join(", ")}`];
  const eku = usages.filter((u) => u in extUsages).map((u) => extUsages[u]);
  if (eku.length) ext.push(`extendedKeyUsage = ${eku.join(", ")}`);
  // Critical only with an empty subject, as cert-manager (RFC 5280) does.
  if (san.length) ext.push(`subjectAltName = ${spec.commonName ? "" : "critical, "}${san.join(", ")}`);
  writeFileSync(`${base}.ext`, ext.join("\n") + "\n");
  const subject = spec.commonName ? `/CN=${spec.commonName.replace(/[/\\]/g, "\\$&")}` : "/";
  openssl("req", "-new", "-key", `${base}.key`, "-subj", subject,
    "-out", `${base}.csr`);
  openssl("x509", "-req", "-in", `${base}.csr`, "-CA", opt["ca-cert"], "-CAkey", opt["ca-key"],
    "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", String(Math.max(1, Math.ceil(hours(spec.duration) / 24))),
    "-sha256", "-extfile", `${base}.ext`, "-extensions", "v3", "-out", `${base}.crt`);
  const b64 = (f) => readFileSync(f).toString("base64");
  secrets.push({
    apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls",
    metadata: { name: spec.secretName, namespace: cert.metadata.namespace,
      annotations: { "cert-manager.io/certificate-name": cert.metadata.name, "cert-manager.io/issuer-name": issuer.metadata.name } },
    data: { "tls.crt": b64(`${base}.crt`), "tls.key": b64(`${base}.key`), "ca.crt": b64(opt["ca-cert"]) },
  });
}
if (!secrets.length) throw new Error(`${src}: no Certificate to issue`);
writeFileSync(opt.out, secrets.map((s) => `---\n${stringify(s)}`).join(""));
