#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Objects for the api-faults suite.

  objs.py dump URL CA TOKEN            the server's objects as a v1 List
  objs.py merge LIST APPLY...          LIST with the objects of apply bodies
  objs.py change NAME N DIR            DIR/NAME-svc.json, DIR/NAME-eps.json
                                       (apply bodies); prints its rules
  objs.py big NAME MB                  an apply body: a Service the server
                                       pads to MB MB
"""
import json
import ssl
import sys
import urllib.request

PATHS = [("/api/v1/services", "Service", "v1"),
         ("/apis/discovery.k8s.io/v1/endpointslices", "EndpointSlice",
          "discovery.k8s.io/v1"),
         ("/api/v1/nodes", "Node", "v1")]


def dump(url, ca, token):
    ctx = ssl.create_default_context(cafile=ca)
    items = []
    for path, kind, api in PATHS:
        req = urllib.request.Request(url + path, headers={
            "Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
            for o in json.load(r)["items"]:
                o["kind"], o["apiVersion"] = kind, api
                items.append(o)
    json.dump({"kind": "List", "apiVersion": "v1", "items": items},
              sys.stdout)


def merge(lst, bodies):
    doc = json.load(open(lst))
    items = doc["items"]
    kinds = {"services": ("Service", "v1"),
             "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1")}
    for b in bodies:
        body = json.load(open(b))
        kind, api = kinds[body["resource"]]
        for o in body.get("objects") or [body["object"]]:
            o["kind"], o["apiVersion"] = kind, api
            md = o["metadata"]
            key = (kind, md.get("namespace", "default"), md["name"])
            items = [x for x in items if (x["kind"],
                     x["metadata"].get("namespace", "default"),
                     x["metadata"]["name"]) != key]
            items.append(o)
    doc["items"] = items
    json.dump(doc, sys.stdout)


def change(name, n, d):
    ip, ep = "10.96.50.%d" % n, "10.244.50.%d" % n
    svc = {"metadata": {"name": name, "namespace": "faults"},
           "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                    "ipFamilies": ["IPv4"],
                    "ports": [{"name": "http", "port": 80,
                               "targetPort": 8080, "protocol": "TCP"}]}}
    eps = {"metadata": {"name": name + "-1", "namespace": "faults",
                        "labels": {"kubernetes.io/service-name": name}},
           "addressType": "IPv4",
           "endpoints": [{"addresses": [ep], "conditions": {"ready": True},
                          "nodeName": "node-1"}],
           "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
    json.dump({"resource": "services", "object": svc},
              open("%s/%s-svc.json" % (d, name), "w"))
    json.dump({"resource": "endpointslices", "object": eps},
              open("%s/%s-eps.json" % (d, name), "w"))
    print("-A -t %s:80 -s rr" % ip)
    print("-a -t %s:80 -r %s:8080 -m -w 1" % (ip, ep))


def big(name, mb):
    # the server pads it: 50 MB through User-mode Linux's loopback is slow
    svc = {"metadata": {"name": name, "namespace": "faults"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.51.1",
                    "clusterIPs": ["10.96.51.1"], "ipFamilies": ["IPv4"],
                    "ports": [{"name": "http", "port": 80,
                               "targetPort": 8080, "protocol": "TCP"}]}}
    json.dump({"resource": "services", "object": svc, "pad_mb": mb},
              sys.stdout)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dump":
        dump(*args)
    elif cmd == "merge":
        merge(args[0], args[1:])
    elif cmd == "change":
        change(args[0], int(args[1]), args[2])
    elif cmd == "big":
        big(args[0], int(args[1]))
    else:
        sys.exit("objs.py: unknown command " + cmd)
