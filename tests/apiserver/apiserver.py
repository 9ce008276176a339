#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small stand-in for kube-apiserver, for tests (Python standard library).

Serves Services, EndpointSlices and Nodes the way kube-apiserver does:
resourceVersions, paged lists with continue tokens, chunked watch streams
with bookmarks, compaction answering 410, bearer tokens and client
certificates over TLS, and the discovery documents kubectl needs.

Test control, without authentication, under /_test/ (JSON bodies):
  POST /_test/reset                      forget objects, faults, log
  POST /_test/apply    {"resource": R, "object": {...}} or "objects": [...]
                       "pad_mb": N adds an annotation of N MB to each
  POST /_test/load     a v1 List: its Services, EndpointSlices, Nodes
  POST /_test/delete   {"resource": R, "namespace": NS, "name": N}
  POST /_test/compact                    older resourceVersions answer 410
  POST /_test/expire                     compact; open watches get 410
  POST /_test/drop                       open watches end cleanly
  POST /_test/fault    {"op": ..., "match": "substring" or [all of these],
                        "count": 1, ...}
       ops: status (code, retry_after), delay (ms), compact (delete: a
       change made just before), cut (after; "exit": true: the server
       process dies right after the half event), garbage (after), split,
       gone, close (after), truncate (after: half an event and its
       newline, then the stream goes on), endless (after: an event that
       never ends, no newline, until the client goes or "mb" MB)
  POST /_test/config   {"tokens": [...], "bookmark_interval": s,
                        "gone_mode": "event"|"http", "anonymous": bool,
                        "frozen": bool}
  GET  /_test/state?resource=R&labelSelector=&fieldSelector=
                                         {"resourceVersion", "items"}
  GET  /_test/log                        requests served
  POST /_test/quit
Listens on 127.0.0.1 only and exits by itself after --lifetime seconds
or when --parent-pid goes away. A restart as after a crash: --port of
the old one, --initial-rv above the old one's, --load the objects, and
--compacted to answer 410 to anything older.
"""

import argparse
import base64
import copy
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

RESOURCES = {
    "services": ("Service", "v1", "ServiceList", True),
    "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1",
                       "EndpointSliceList", True),
    "nodes": ("Node", "v1", "NodeList", False),
}


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 100
        self.reset()
        self.tokens = set()
        self.bookmark_interval = 1.0
        self.gone_mode = "event"
        self.anonymous = False
        self.quit = False

    def reset(self):
        self.records = {r: [] for r in RESOURCES}  # every version kept
        self.current = {r: {} for r in RESOURCES}
        self.events = []  # (rv, resource, type, old, new)
        self.compacted = 0
        # per resource, the newest event compaction removed: a watch
        # still behind it has missed events and must get 410, as a real
        # API server ends a watcher it can no longer serve
        self.lost = {r: 0 for r in RESOURCES}
        self.faults = []
        self.log = []
        self.frozen = False  # watches deliver nothing while set
        self.expire_gen = 0  # bumped: open watches get ERROR 410
        self.drop_gen = 0  # bumped: open watches end cleanly

    def apply(self, resource, obj):
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            raise ValueError("metadata.name missing")
        if not RESOURCES[resource][3]:
            md.pop("namespace", None)
        elif not md.get("namespace"):
            md["namespace"] = "default"
        kind, api, _, _ = RESOURCES[resource]
        obj["kind"] = kind
        obj["apiVersion"] = api
        key = (md.get("namespace", ""), md["name"])
        self.rv += 1
        old = self.current[resource].get(key)
        if old:
            old["deleted"] = self.rv
            md["uid"] = old["obj"]["metadata"]["uid"]
            md["creationTimestamp"] = old["obj"]["metadata"][
                "creationTimestamp"]
        else:
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime())
        md["resourceVersion"] = str(self.rv)
        rec = {"key": key, "created": self.rv, "deleted": None, "obj": obj}
        self.records[resource].append(rec)
        self.current[resource][key] = rec
        self.events.append((self.rv, resource,
                            "MODIFIED" if old else "ADDED",
                            old["obj"] if old else None, obj))
        self.cond.notify_all()

    def delete(self, resource, ns, name):
        key = (ns or "", name)
        old = self.current[resource].pop(key, None)
        if not old:
            return False
        self.rv += 1
        old["deleted"] = self.rv
        gone = copy.deepcopy(old["obj"])
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, resource, "DELETED", old["obj"], gone))
        self.cond.notify_all()
        return True

    def compact(self):
        self.compacted = self.rv
        for r in RESOURCES:
            self.records[r] = [x for x in self.records[r]
                               if x["deleted"] is None
                               or x["deleted"] > self.compacted]
        for e in self.events:
            if e[0] <= self.compacted:
                self.lost[e[1]] = max(self.lost[e[1]], e[0])
        self.events = [e for e in self.events if e[0] > self.compacted]

    def snapshot(self, resource, at):
        return sorted((x for x in self.records[resource]
                       if x["created"] <= at
                       and (x["deleted"] is None or x["deleted"] > at)),
                      key=lambda x: x["key"])

    def take_fault(self, target, ops):
        for f in self.faults:
            if f.get("count", 1) <= 0 or f["op"] not in ops:
                continue
            m = f.get("match", "")
            if any(x not in target for x in
                   (m if isinstance(m, list) else [m])):
                continue
            f["count"] = f.get("count", 1) - 1
            return f
        return None


STATE = State()


def parse_label_selector(s):
    reqs = []
    for part in filter(None, (p.strip() for p in (s or "").split(","))):
        if part.startswith("!"):
            reqs.append(("absent", part[1:], None))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(("ne", k, v))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append(("eq", k, v))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append(("eq", k, v))
        else:
            reqs.append(("present", part, None))
    return reqs


def parse_field_selector(s):
    reqs = []
    for part in filter(None, (p.strip() for p in (s or "").split(","))):
        neg = "!=" in part
        k, v = part.split("!=" if neg else "=", 1)
        reqs.append((k.lstrip("="), v.lstrip("="), neg))
    return reqs


def matches(obj, labelsel, fieldsel, ns):
    md = obj.get("metadata", {})
    if ns and md.get("namespace") != ns:
        return False
    labels = md.get("labels") or {}
    for op, k, v in labelsel:
        if op == "absent" and k in labels:
            return False
        if op == "present" and k not in labels:
            return False
        if op == "eq" and labels.get(k) != v:
            return False
        if op == "ne" and labels.get(k) == v:
            return False
    for k, v, neg in fieldsel:
        if k == "metadata.name":
            have = md.get("name")
        elif k == "metadata.namespace":
            have = md.get("namespace", "")
        else:
            have = None
        if (have == v) == neg:
            return False
    return True


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "code": code}


REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
           404: "NotFound", 410: "Expired", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable"}


def discovery(port):
    def res(name, kind, namespaced, short):
        return {"name": name, "singularName": kind.lower(),
                "namespaced": namespaced, "kind": kind,
                "verbs": ["get", "list", "watch"], "shortNames": short}
    return {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                     "platform": "linux/amd64"},
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{
                     "clientCIDR": "0.0.0.0/0",
                     "serverAddress": "127.0.0.1:%d" % port}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
            "name": "discovery.k8s.io",
            "versions": [{"groupVersion": "discovery.k8s.io/v1",
                          "version": "v1"}],
            "preferredVersion": {"groupVersion": "discovery.k8s.io/v1",
                                 "version": "v1"}}]},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1",
                    "resources": [res("services", "Service", True, ["svc"]),
                                  res("nodes", "Node", False, ["no"])]},
        "/apis/discovery.k8s.io/v1": {
            "kind": "APIResourceList", "groupVersion": "discovery.k8s.io/v1",
            "resources": [res("endpointslices", "EndpointSlice", True, [])]},
    }


def route(path):
    """(resource, namespace, name) of an API path, or None."""
    p = [x for x in path.split("/") if x]
    if p[:2] == ["api", "v1"]:
        rest = p[2:]
    elif p[:3] == ["apis", "discovery.k8s.io", "v1"]:
        rest = p[3:]
    else:
        return None
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        ns = rest[1]
        rest = rest[2:]
    if not rest or rest[0] not in RESOURCES:
        return None
    if (p[0] == "api") != (rest[0] != "endpointslices"):
        return None
    if len(rest) > 2:
        return None
    return rest[0], ns, rest[1] if len(rest) == 2 else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-apiserver"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("apiserver: " + (fmt % args) + "\n")

    def setup(self):
        self.request.settimeout(30)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    # helpers

    def send_json(self, code, doc, headers=None):
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            # in slices: the socket timeout bounds each write, and a big
            # body to a slow client must not hit it
            for i in range(0, len(body), 1 << 20):
                self.wfile.write(body[i:i + (1 << 20)])

    def send_status(self, code, message, headers=None, reason=None):
        self.send_json(code, status(code, reason or REASONS.get(code, ""),
                                    message), headers)

    def chunk(self, data):
        if len(data) > 1 << 20:
            # a big event in several chunks, as for send_json
            for i in range(0, len(data), 1 << 20):
                self.chunk(data[i:i + (1 << 20)])
            return
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def user(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            with STATE.cond:
                ok = tok in STATE.tokens
            return ("token#%d" % sorted(STATE.tokens).index(tok)) \
                if ok else None
        if isinstance(self.request, ssl.SSLSocket):
            cert = self.request.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return "cert:" + v
        with STATE.cond:
            return "anonymous" if STATE.anonymous else None

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}") if n else {}

    # dispatch

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        if u.path.startswith("/_test/"):
            return self.control(u.path[7:], q)
        user = self.user()
        entry = {"method": self.command, "path": u.path, "query": q,
                 "user": user, "t": time.monotonic()}
        with STATE.cond:
            STATE.log.append(entry)
        if user is None:
            entry["status"] = 401
            return self.send_status(401, "Unauthorized")
        target = self.path
        with STATE.cond:
            f = STATE.take_fault(target, ("delay",))
        if f:
            time.sleep(f.get("ms", 1000) / 1000.0)
        with STATE.cond:
            f = STATE.take_fault(target, ("compact",))
            if f:
                # a change and a compaction between two requests
                d = f.get("delete")
                if d:
                    STATE.delete(d["resource"], d.get("namespace"),
                                 d["name"])
                STATE.compact()
        with STATE.cond:
            f = STATE.take_fault(target, ("status",))
        if f:
            code = f.get("code", 500)
            entry["status"] = code
            hdr = {}
            if code == 429:
                hdr["Retry-After"] = str(f.get("retry_after", 1))
            return self.send_status(code, f.get("message",
                                                "injected %d" % code), hdr)
        docs = discovery(self.server.server_address[1])
        if u.path in docs:
            entry["status"] = 200
            return self.send_json(200, docs[u.path])
        rt = route(u.path)
        if not rt or self.command != "GET":
            entry["status"] = 404
            return self.send_status(404, "the server could not find the "
                                    "requested resource")
        resource, ns, name = rt
        if name:
            return self.get_one(entry, resource, ns, name)
        if q.get("watch") in ("1", "true"):
            return self.watch(entry, resource, ns, q)
        return self.list(entry, resource, ns, q)

    def get_one(self, entry, resource, ns, name):
        with STATE.cond:
            rec = STATE.current[resource].get((ns or "", name))
            obj = copy.deepcopy(rec["obj"]) if rec else None
        if not obj:
            entry["status"] = 404
            return self.send_status(404, '%s "%s" not found'
                                    % (resource, name))
        entry["status"] = 200
        self.send_json(200, obj)

    def list(self, entry, resource, ns, q):
        kind, api, listkind, _ = RESOURCES[resource]
        ls = parse_label_selector(q.get("labelSelector"))
        fs = parse_field_selector(q.get("fieldSelector"))
        limit = int(q.get("limit") or 0)
        after = None
        with STATE.cond:
            if q.get("continue"):
                try:
                    tok = json.loads(base64.urlsafe_b64decode(
                        q["continue"].encode()))
                    at, after = tok["rv"], tuple(tok["after"])
                except Exception:
                    entry["status"] = 400
                    return self.send_status(400, "invalid continue token")
                if at < STATE.compacted:
                    entry["status"] = 410
                    return self.send_status(
                        410, "The provided continue parameter is too old "
                        "to display a consistent list result.",
                        reason="Expired")
            else:
                at = STATE.rv
            recs = [x for x in STATE.snapshot(resource, at)
                    if matches(x["obj"], ls, fs, ns)
                    and (after is None or x["key"] > after)]
            page = recs[:limit] if limit else recs
            items = []
            for x in page:
                o = copy.deepcopy(x["obj"])
                o.pop("kind", None)
                o.pop("apiVersion", None)
                items.append(o)
        md = {"resourceVersion": str(at)}
        if limit and len(recs) > limit:
            md["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"rv": at, "after": list(page[-1]["key"])}).encode()
            ).decode()
            md["remainingItemCount"] = len(recs) - limit
        entry["status"] = 200
        self.send_json(200, {"kind": listkind, "apiVersion": api,
                             "metadata": md, "items": items})

    def watch(self, entry, resource, ns, q):
        kind, api, _, _ = RESOURCES[resource]
        ls = parse_label_selector(q.get("labelSelector"))
        fs = parse_field_selector(q.get("fieldSelector"))
        bookmarks = q.get("allowWatchBookmarks") == "true"
        timeout = float(q.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        rv = q.get("resourceVersion") or "0"
        initial = []
        with STATE.cond:
            target = self.path
            fault = STATE.take_fault(target, ("cut", "garbage", "split",
                                              "gone", "close", "truncate",
                                              "endless"))
            expire_gen, drop_gen = STATE.expire_gen, STATE.drop_gen
            if rv != "0":
                try:
                    since = int(rv)
                except ValueError:
                    entry["status"] = 400
                    return self.send_status(400, "bad resourceVersion")
                too_old = since < STATE.compacted
                gone_mode = STATE.gone_mode
            else:
                too_old = False
                since = STATE.rv
                for x in STATE.snapshot(resource, since):
                    if matches(x["obj"], ls, fs, ns):
                        initial.append({"type": "ADDED", "object":
                                        copy.deepcopy(x["obj"])})
            if too_old and gone_mode == "http":
                entry["status"] = 410
                return self.send_status(
                    410, "too old resource version: %d (%d)"
                    % (since, STATE.compacted), reason="Expired")
        entry["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        if too_old or (fault and fault["op"] == "gone"):
            with STATE.cond:
                msg = "too old resource version: %d (%d)" % (
                    since, STATE.compacted)
            self.send_event({"type": "ERROR",
                             "object": status(410, "Expired", msg)}, None)
            self.chunk(b"")
            return
        sent = 0
        last = since
        next_bm = time.monotonic() + STATE.bookmark_interval
        pending = initial
        while True:
            for ev in pending:
                if fault and sent >= fault.get("after", 0):
                    if fault["op"] == "cut":
                        data = self.frame(ev)
                        self.chunk(data[:len(data) // 2])
                        if fault.get("exit"):
                            os._exit(1)
                        return self.abort()
                    if fault["op"] == "truncate":
                        data = self.frame(ev)
                        self.chunk(data[:len(data) // 2] + b"\n")
                        fault = None
                        continue
                    if fault["op"] == "endless":
                        return self.endless(kind, fault.get("mb", 1024))
                    if fault["op"] == "garbage":
                        self.chunk(b"}{ this is not json\n")
                        return self.abort()
                    if fault["op"] == "close":
                        self.chunk(b"")
                        return
                self.send_event(ev, fault)
                sent += 1
            pending = []
            now = time.monotonic()
            if now >= deadline or STATE.quit or STATE.drop_gen != drop_gen:
                self.chunk(b"")
                return
            with STATE.cond:
                behind = STATE.lost[resource] > last and not STATE.frozen
            if STATE.expire_gen != expire_gen or behind:
                with STATE.cond:
                    msg = "too old resource version: %d (%d)" % (
                        last, STATE.compacted)
                self.send_event({"type": "ERROR", "object": status(
                    410, "Expired", msg)}, None)
                self.chunk(b"")
                return
            if bookmarks and now >= next_bm and not STATE.frozen:
                brv = None
                with STATE.cond:
                    # everything up to STATE.rv was sent: say so
                    if not self.new_events(resource, last) and \
                            STATE.lost[resource] <= last:
                        last = brv = max(last, STATE.rv)
                if brv is not None:
                    self.send_event({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api,
                        "metadata": {"resourceVersion": str(brv)}}}, None)
                next_bm = now + STATE.bookmark_interval
            with STATE.cond:
                evs = [] if STATE.frozen else \
                    self.new_events(resource, last)
                if not evs:
                    wait = min(deadline, next_bm if bookmarks
                               else deadline) - time.monotonic()
                    STATE.cond.wait(max(0.01, min(wait, 0.2)))
                    evs = [] if STATE.frozen else \
                        self.new_events(resource, last)
                if STATE.lost[resource] > last:
                    evs = []  # the next round ends the watch with 410
                for erv, _, typ, old, new in evs:
                    last = erv
                    om = old is not None and matches(old, ls, fs, ns)
                    nm = matches(new, ls, fs, ns)
                    if typ == "DELETED":
                        t = "DELETED" if om else None
                    elif om and nm:
                        t = "MODIFIED"
                    elif nm:
                        t = "ADDED"
                    elif om:
                        t = "DELETED"
                    else:
                        t = None
                    if t:
                        pending.append({"type": t,
                                        "object": copy.deepcopy(new)})

    @staticmethod
    def new_events(resource, last):
        return [e for e in STATE.events if e[0] > last and e[1] == resource]

    @staticmethod
    def frame(ev):
        return (json.dumps(ev, separators=(",", ":")) + "\n").encode()

    def send_event(self, ev, fault):
        data = self.frame(ev)
        if fault and fault["op"] == "split":
            for i in range(len(data)):
                self.chunk(data[i:i + 1])
        else:
            self.chunk(data)

    def endless(self, kind, mb):
        # an object that never ends: no newline, no closing brace
        head = ('{"type":"ADDED","object":{"kind":"%s","metadata":'
                '{"name":"endless","namespace":"default","annotations":'
                '{"a":"' % kind).encode()
        block = b"x" * 65536
        try:
            self.chunk(head)
            for _ in range(mb * 16):
                self.chunk(block)
        except OSError:
            return
        self.abort()

    def abort(self):
        # no final chunk, no TLS close_notify: the stream is cut
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def control(self, op, q):
        try:
            body = self.read_body() if self.command == "POST" else {}
        except ValueError:
            return self.send_status(400, "bad JSON")
        with STATE.cond:
            if op == "reset":
                STATE.reset()
            elif op == "apply":
                objs = body.get("objects") or [body.get("object")]
                for o in objs:
                    if body.get("pad_mb"):
                        # a big object without uploading it
                        md = o.setdefault("metadata", {})
                        md.setdefault("annotations", {})["pad"] = \
                            "p" * (int(body["pad_mb"]) << 20)
                    STATE.apply(body["resource"], o)
            elif op == "load":
                # a v1 List (or a manifest's items): the kinds served
                kinds = {v[0]: k for k, v in RESOURCES.items()}
                for o in body.get("items") or []:
                    if o.get("kind") in kinds:
                        STATE.apply(kinds[o["kind"]], o)
            elif op == "delete":
                if not STATE.delete(body["resource"], body.get("namespace"),
                                    body["name"]):
                    return self.send_status(404, "not found")
            elif op == "compact":
                STATE.compact()
            elif op == "expire":
                STATE.compact()
                STATE.expire_gen += 1
                STATE.cond.notify_all()
            elif op == "drop":
                STATE.drop_gen += 1
                STATE.cond.notify_all()
            elif op == "fault":
                STATE.faults.append(body)
            elif op == "config":
                if "tokens" in body:
                    STATE.tokens = set(body["tokens"])
                for k in ("bookmark_interval", "gone_mode", "anonymous",
                          "frozen"):
                    if k in body:
                        setattr(STATE, k, body[k])
            elif op == "state":
                r = q.get("resource", "services")
                ls = parse_label_selector(q.get("labelSelector"))
                fs = parse_field_selector(q.get("fieldSelector"))
                items = [{"namespace": k[0], "name": k[1],
                          "resourceVersion":
                          v["obj"]["metadata"]["resourceVersion"]}
                         for k, v in sorted(STATE.current[r].items())
                         if matches(v["obj"], ls, fs, None)]
                return self.send_json(200, {
                    "resourceVersion": str(STATE.rv), "items": items})
            elif op == "log":
                return self.send_json(200, {"requests": STATE.log})
            elif op == "quit":
                STATE.quit = True
                STATE.cond.notify_all()
                threading.Thread(target=self.server.shutdown,
                                 daemon=True).start()
            else:
                return self.send_status(404, "no such control")
            rv = STATE.rv
        self.send_json(200, {"resourceVersion": str(rv)})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cert", help="server certificate (PEM); none: HTTP")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="CA for client certificates")
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--parent-pid", type=int, default=0,
                    help="exit when this process is gone")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--initial-rv", type=int, default=0,
                    help="resourceVersions start above this")
    ap.add_argument("--load", help="a v1 List (JSON) to serve from the start")
    ap.add_argument("--compacted", action="store_true",
                    help="after --load: older resourceVersions answer 410")
    a = ap.parse_args()

    STATE.tokens = set(a.token)
    STATE.bookmark_interval = a.bookmark_interval
    if a.initial_rv:
        STATE.rv = a.initial_rv
    with STATE.cond:
        if a.load:
            kinds = {v[0]: k for k, v in RESOURCES.items()}
            with open(a.load) as f:
                for o in json.load(f).get("items") or []:
                    if o.get("kind") in kinds:
                        STATE.apply(kinds[o["kind"]], o)
        if a.compacted:
            STATE.compact()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.verbose = a.verbose
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)

    start = time.monotonic()

    def parent_gone():
        if not a.parent_pid:
            return False
        try:
            os.kill(a.parent_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    def reaper():
        while True:
            time.sleep(0.5)
            if parent_gone() or time.monotonic() - start > a.lifetime:
                os._exit(0)
    threading.Thread(target=reaper, daemon=True).start()
    srv.serve_forever(poll_interval=0.2)
    os._exit(0)


if __name__ == "__main__":
    main()
