#!/bin/sh
# api-faults: `ipvs-svc run` against a failing API server (the test
# server, TLS on 127.0.0.1): killed during a list, during a watch and in
# the middle of an event; restarted with its history compacted (410,
# relist); answering 500, 429 with Retry-After and 401. Each time: the
# daemon stays up, the rules (`ipvsadm -Sn`) stay exactly as they were
# during the fault, and once the fault ends the kernel converges to the
# server's objects. The daemon runs at -v 10: the token never appears in
# its log, /metrics or /healthz. The bad-data faults are in
# api-faults-data.ksh. Run as root inside a kernel with IPVS
# (tests/harness/kernel-run); 0 pass, 1 fail, 77 skip, 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/kernel/api-faults/lib.sh"
# --- the server killed during a list ----------------------------------
case=kill-during-list
change
ctl fault '{"op": "delay", "ms": 60000, "match": ["/api/v1/services?", "limit="]}'
ctl expire '{}' # open watches get 410: the daemon relists
if wait_for 30000 in_flight /api/v1/services limit= >/dev/null; then
	dump
	sleep 0.3
	kill_server
	hold 3
	restart "" "$TMP/$name-svc.json" "$TMP/$name-eps.json"
	converge 40000
else
	fail "$case: no list request"
fi

# --- the server killed during a watch --------------------------------
case=kill-during-watch
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
dump
kill_server
hold 3
restart ""
apply_change
converge 40000

# --- the server killed in the middle of an event ---------------------
case=kill-mid-event
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
dump
ctl fault '{"op": "cut", "exit": true, "match": ["/api/v1/services?", "watch=1"]}'
ctl drop '{}'
sleep 1
ctl apply "@$TMP/$name-eps.json"
curl -s --cacert "$TMP/pki/ca.crt" -X POST "$url/_test/apply" \
	--data-binary "@$TMP/$name-svc.json" >/dev/null 2>&1
# the server dies writing the event: half of it went out
if wait_for 5000 gone $pid >/dev/null; then
	wait $pid 2>/dev/null
	pid=
	# the slice alone makes no rule: the Service's event was cut
	hold 3
	restart "" "$TMP/$name-svc.json" "$TMP/$name-eps.json"
	converge 40000
else
	fail "$case: the server did not die mid-event"
	kill_server
	restart "" "$TMP/$name-svc.json" "$TMP/$name-eps.json"
	converge 40000
fi
grep -q "stream cut mid-event\|stream ended mid-event\|malformed" "$TMP/log" ||
	fail "$case: no message about the cut event"

# --- restarted with its history compacted: 410, relist ---------------
case=restart-compacted
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
dump
kill_server
hold 2
# a change made while it was down, older versions compacted away
restart --compacted "$TMP/$name-svc.json" "$TMP/$name-eps.json"
converge 40000
grep -q "relisting" "$TMP/log" || fail "$case: no relist after 410"

# --- 500 on watches and lists -----------------------------------------
case=http-500
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
ctl fault '{"op": "status", "code": 500, "count": 3, "match": "watch=1"}'
ctl fault '{"op": "status", "code": 500, "count": 2, "match": "limit="}'
ctl drop '{}'
hold 3
apply_change
converge 40000
grep -q "HTTP 500" "$TMP/log" || fail "$case: the 500 not logged"

# --- 429 with Retry-After on a list -----------------------------------
case=http-429
change
ctl fault '{"op": "status", "code": 429, "retry_after": 2, "count": 2, "match": ["/api/v1/services?", "limit="]}'
ctl expire '{}'
hold 3
apply_change
converge 40000
grep -q "HTTP 429" "$TMP/log" || fail "$case: the 429 not logged"

# --- 401 on a watch: retried slowly (a minute), rules kept -------------
case=http-401
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
ctl fault '{"op": "status", "code": 401, "count": 1, "match": ["/api/v1/services?", "watch=1"]}'
ctl drop '{}'
hold 3
apply_change
converge 90000
grep -q "401 Unauthorized as user \"kube-proxy\": token" "$TMP/log" ||
	fail "$case: the 401 not logged with the user"

finish
