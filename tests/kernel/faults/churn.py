#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""churn.py URL CAFILE SECONDS RATE: constant churn on the test API server.

Loads M Services (10.98.0.0/16, 3 endpoints each), then RATE times a
second for SECONDS: an endpoint of one of them flips ready; every fifth
step a Service and its EndpointSlice are added and, past a window of 20,
the oldest added one deleted; every 30 s the server compacts (watches
that resume from an older resourceVersion get 410 and relist) and every
45 s it ends the open watches (the client reconnects). Prints a line
per 1000 steps and the totals at the end.
"""
import http.client
import json
import ssl
import sys
import time
import urllib.parse

M = 40
WINDOW = 20


def service(name, ip):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "soak"},
            "spec": {"type": "ClusterIP", "clusterIP": ip,
                     "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                     "ports": [{"name": "p", "port": 80, "targetPort": 8080,
                                "protocol": "TCP"}]}}


def eslice(name, base, ready):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name + "-x", "namespace": "soak",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["%s.%d" % (base, k + 1)],
                           "conditions": {"ready": ready[k]}}
                          for k in range(3)],
            "ports": [{"name": "p", "port": 8080, "protocol": "TCP"}]}


def main():
    url, cafile = sys.argv[1], sys.argv[2]
    seconds, rate = float(sys.argv[3]), float(sys.argv[4])
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=cafile)
    conn = [None]

    def post(what, body):
        for _ in range(3):
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPSConnection(
                        u.hostname, u.port, context=ctx, timeout=30)
                conn[0].request("POST", "/_test/" + what, json.dumps(body),
                                {"Content-Type": "application/json"})
                r = conn[0].getresponse()
                r.read()
                if r.status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            conn[0] = None
            time.sleep(0.1)
        raise SystemExit("churn: /_test/%s failed" % what)

    ready = {}
    for i in range(M):
        name = "base-%d" % i
        ready[name] = [True, True, True]
        post("apply", {"resource": "endpointslices",
                       "object": eslice(name, "10.246.%d" % i,
                                        ready[name])})
        post("apply", {"resource": "services",
                       "object": service(name, "10.98.0.%d" % (i + 1))})
    added = []
    steps = adds = dels = flips = 0
    t0 = time.monotonic()
    last_compact = last_drop = t0
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        name = "base-%d" % (steps % M)
        k = (steps // M) % 3
        ready[name][k] = not ready[name][k]
        post("apply", {"resource": "endpointslices",
                       "object": eslice(name, "10.246.%d" % (steps % M),
                                        ready[name])})
        flips += 1
        if steps % 5 == 0:
            n = steps // 5
            name = "churn-%d" % n
            ip = "10.99.%d.%d" % (n // 250 % 250, n % 250 + 1)
            post("apply", {"resource": "endpointslices",
                           "object": eslice(name, "10.247.%d" % (n % 250),
                                            [True, True, False])})
            post("apply", {"resource": "services",
                           "object": service(name, ip)})
            added.append(name)
            adds += 1
            if len(added) > WINDOW:
                old = added.pop(0)
                post("delete", {"resource": "services",
                                "namespace": "soak", "name": old})
                post("delete", {"resource": "endpointslices",
                                "namespace": "soak", "name": old + "-x"})
                dels += 1
        if now - last_compact >= 30:
            post("compact", {})
            last_compact = now
        if now - last_drop >= 45:
            post("drop", {})
            last_drop = now
        steps += 1
        if steps % 1000 == 0:
            print("churn: %d steps in %.0f s" % (steps, now - t0),
                  flush=True)
        # paced: the steps keep RATE per second on average
        delay = t0 + steps / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print("churn: %d steps: %d endpoint flips, %d Services added, "
          "%d deleted, in %.0f s" % (steps, flips, adds, dels,
                                     time.monotonic() - t0), flush=True)


main()
