#!/usr/bin/env python3
# Regenerates the seed corpora of fuzz-framer and fuzz-kubeconfig from the
# test fixtures (fuzz-objects takes the fixtures as they are; fuzz-netlink
# seeds come from gen-netlink-seeds.c). Run from the source tree's top.
import glob, hashlib, json, os

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = f"tests/fuzz/corpus/{target}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/{hashlib.sha1(data).hexdigest()[:16]}", "wb") as f:
        f.write(data)

def items(path):
    try:
        doc = json.load(open(path))
    except Exception:
        return []
    return doc.get("items", [doc]) if isinstance(doc, dict) else []

# Watch bodies: events as the API server streams them, one per line.
files = sorted(glob.glob("tests/data/model/*/objects.json")) + \
    sorted(glob.glob("tests/kernel/sync/*.json"))
for path in files[::3]:
    objs = [o for o in items(path) if isinstance(o, dict)]
    if not objs:
        continue
    lines = [json.dumps({"type": "ADDED", "object": o}) for o in objs]
    lines.append(json.dumps({"type": "MODIFIED", "object": objs[0]}))
    lines.append(json.dumps({"type": "DELETED", "object": objs[-1]}))
    lines.append(json.dumps({"type": "BOOKMARK", "object": {
        "kind": objs[0].get("kind", "Service"), "apiVersion": "v1",
        "metadata": {"resourceVersion": "12345"}}}))
    put("fuzz-framer", "\n".join(lines) + "\n")
put("fuzz-framer", json.dumps({"type": "ERROR", "object": {
    "kind": "Status", "apiVersion": "v1", "status": "Failure",
    "message": "too old resource version: 1 (2)", "reason": "Expired",
    "code": 410}}) + "\n")
put("fuzz-framer", '{"type":"ADDED","object":{"kind":"Service","metadata":'
    '{"name":"a\\"}{","namespace":"x[y"},"spec":{"ports":[{"port":80}]}}}'
    '\r\n\t {"type":"DELETED","object":{"kind":"Service","metadata":'
    '{"name":"a\\"}{","namespace":"x[y"}}}')
put("fuzz-framer", '{"type":"ADDED","object":{"kind":"Pod","metadata":'
    '{"name":"p"},"status":{"podIP":"10.0.0.1"}}} garbage')

# Kubeconfigs: the forms the unit and kernel tests use.
def kubeconfig(cluster, user, ctx_user="u"):
    return ("apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: other\n  cluster:\n"
            "    server: https://127.0.0.1:1\n"
            f"- name: test\n  cluster:\n{cluster}"
            "contexts:\n- name: test\n  context:\n    cluster: test\n"
            f"    user: {ctx_user}\n"
            "- name: wrong\n  context:\n    cluster: other\n    user: u\n"
            "current-context: test\n"
            f"users:\n- name: u\n  user:\n{user}")

srv = "    server: https://10.0.0.1:6443/\n"
put("fuzz-kubeconfig", kubeconfig(srv + "    certificate-authority: ca.crt\n",
                                  "    token: abc.def\n"))
put("fuzz-kubeconfig", kubeconfig(
    srv + "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJU\n",
    "    tokenFile: tokfile\n"))
put("fuzz-kubeconfig", kubeconfig(
    srv + "    tls-server-name: apiserver.test\n"
    "    insecure-skip-tls-verify: true\n",
    "    client-certificate: client.crt\n    client-key: client.key\n"))
put("fuzz-kubeconfig", kubeconfig(
    srv, "    client-certificate-data: QUJD\n    client-key-data: REVG\n"))
put("fuzz-kubeconfig", kubeconfig(srv, "    exec:\n      command: aws\n"))
put("fuzz-kubeconfig", kubeconfig(srv, "    auth-provider:\n      name: gcp\n"))
put("fuzz-kubeconfig", kubeconfig(srv, "    username: a\n    password: b\n"))
put("fuzz-kubeconfig", kubeconfig(srv, "    client-key: missing.key\n"))
put("fuzz-kubeconfig", """apiVersion: v1
kind: Config
clusters:
- name: t
  cluster:
    server: https://[fd00::1]:6443
    certificate-authority: /nonexistent/ca.crt
contexts:
- name: t
  context: {cluster: t, user: kube-proxy}
current-context: t
users:
- name: kube-proxy
  user:
    token: kube-sync-token
""")
put("fuzz-kubeconfig", """clusters:
- &c {name: test, cluster: {server: "http://127.0.0.1:8080"}}
contexts: [{name: test, context: {cluster: test}}]
current-context: test
""")
