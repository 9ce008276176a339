#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gen.py N VARIANT NODE_IP OUT: N Services for the fault tests.

Writes OUT.json (a v1 List of Services and EndpointSlices, for
--manifests and the test API server's /_test/load), OUT.ipvs (the rules
`ipvsadm -Sn` shows once they are programmed, sorted) and OUT.addrs (the
addresses on kube-ipvs0, sorted).

Service i: ClusterIP 10.100.0.0/16 + i (from .1), port 80 TCP (every
fourth: 53 UDP), endpoints 10.244.0.0/16 + 2i and + 2i+1, port 8080;
every tenth is a NodePort (30000 + i / 10 on NODE_IP).
VARIANT a: Services 0..N-1.  VARIANT b: the change a node sees next:
every third of those gone, every fifth of the rest with other endpoints
(10.245.0.0/16), and N/4 new Services after them.
"""
import json
import sys


def ip(base, i):
    return "%s.%d.%d" % (base, i // 250, i % 250 + 1)


def main():
    n, variant, node_ip, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
        sys.argv[4]
    if variant == "a":
        ids = list(range(n))
    else:
        ids = [i for i in range(n) if i % 3 != 0] + \
            list(range(n, n + n // 4))
    items, rules, addrs = [], [], []
    for i in ids:
        name = "svc-%d" % i
        udp = i % 4 == 3
        proto, port, flag = ("UDP", 53, "-u") if udp else ("TCP", 80, "-t")
        cip = ip("10.100", i)
        moved = variant == "b" and i % 5 == 0
        eps = [ip("10.245" if moved else "10.244", 2 * i + k)
               for k in range(2)]
        sp = {"name": "p", "port": port, "targetPort": 8080,
              "protocol": proto}
        spec = {"type": "ClusterIP", "clusterIP": cip, "clusterIPs": [cip],
                "ipFamilies": ["IPv4"], "ports": [sp],
                "selector": {"app": name}}
        vss = ["%s:%d" % (cip, port)]
        if i % 10 == 0:
            spec["type"] = "NodePort"
            sp["nodePort"] = 30000 + i // 10
            vss.append("%s:%d" % (node_ip, sp["nodePort"]))
        items.append({"apiVersion": "v1", "kind": "Service",
                      "metadata": {"name": name, "namespace": "faults"},
                      "spec": spec})
        items.append({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name + "-x", "namespace": "faults",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [e], "conditions": {"ready": True}}
                          for e in eps],
            "ports": [{"name": "p", "port": 8080, "protocol": proto}]})
        addrs.append(cip)
        for vs in vss:
            rules.append("-A %s %s -s rr" % (flag, vs))
            for e in eps:
                rules.append("-a %s %s -r %s:8080 -m -w 1" % (flag, vs, e))
    with open(out + ".json", "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    with open(out + ".ipvs", "w") as f:
        f.write("".join(r + "\n" for r in sorted(rules)))
    with open(out + ".addrs", "w") as f:
        f.write("".join(a + "\n" for a in sorted(addrs)))


main()
