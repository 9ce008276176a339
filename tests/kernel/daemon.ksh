#!/bin/sh
# daemon: `ipvs-svc run` against the test API server (TLS on 127.0.0.1),
# configured by a kubeadm KubeProxyConfiguration file: the first full
# sync, watch events applied within a second (a Pod turning not ready, a
# new Service, a deleted Service and its address), `ipvsadm -D` of a
# managed virtual server repaired within a sync period while a foreign
# one is untouched, /healthz, /livez and /metrics (strictly parsed; the
# network programming latency, Local policies without local endpoints),
# graceful termination, one endpoint change among a thousand Services
# rebuilding that Service alone with exactly its operations, the API
# server hung and then gone for 30 s (rules kept, converged after),
# SIGHUP resync, SIGTERM leaving the rules in place, and a restart
# that resets weight-0 leftovers and changes nothing else. Run as root inside
# a kernel with IPVS (tests/harness/kernel-run); 0 pass, 1 fail, 77 skip,
# 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/daemon
SYNC=$top_srcdir/tests/kernel/sync
API=$top_srcdir/tests/apiserver
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

if ! "$BIN" run --help >/dev/null 2>&1; then
	echo "daemon: ipvs-svc has no run command: skipped"
	exit 77
fi
for c in python3 openssl curl ipvsadm; do
	command -v $c >/dev/null || { echo "daemon: $c missing"; exit 77; }
done

TMP=$(mktemp -d /tmp/daemon.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
pid=
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; [ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$TMP"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

sh "$API/mkcerts.sh" "$TMP/pki" server-only || exit 99
python3 "$API/apiserver.py" --port-file "$TMP/port" \
	--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
	--token daemon-token --lifetime 1200 --parent-pid $$ &
pid=$!
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "test apiserver did not start"; exit 99; }
	sleep 0.1
done
url=https://127.0.0.1:$(cat "$TMP/port")
cat > "$TMP/kubeconfig" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: t
  cluster:
    server: $url
    certificate-authority: $TMP/pki/ca.crt
contexts:
- name: t
  context: {cluster: t, user: kube-proxy}
current-context: t
users:
- name: kube-proxy
  user:
    token: daemon-token
EOT
HPORT=10356
MPORT=10349
sed -e "s|@KUBECONFIG@|$TMP/kubeconfig|" -e "s|@HEALTHZ@|$HPORT|" \
	-e "s|@METRICS@|$MPORT|" "$DATA/kube-proxy.yaml" > "$TMP/config.yaml"
ip link set lo up
ip link add node0 type dummy || exit 99
ip addr add 192.168.7.1/24 dev node0 || exit 99
ip link set node0 up

ctl() {
	curl -sf --cacert "$TMP/pki/ca.crt" -X POST "$url/_test/$1" \
		--data-binary "$2" >/dev/null || fail "control $1"
}
ms() {
	echo $(($(date +%s%N) / 1000000))
}
# wait_for MAX_MS COMMAND...: poll until COMMAND succeeds; prints when
# the check that saw it began, in ms after the call (the check itself,
# ipvsadm in User-mode Linux, can take long on a loaded machine)
wait_for() {
	max=$1
	shift
	t0=$(ms)
	while :; do
		t1=$(ms)
		if "$@" >/dev/null 2>&1; then
			echo $((t1 - t0))
			[ $((t1 - t0)) -le "$max" ]
			return
		fi
		[ $(($(ms) - t0)) -lt "$max" ] || return 1
		sleep 0.05
	done
}
rules() {
	ipvsadm -Sn | LC_ALL=C sort
}
has_rule() {
	rules | grep -qx -- "$1"
}
no_rule() {
	! rules | grep -q -- "$1"
}
has_addr() {
	ip -o addr show dev kube-ipvs0 | grep -q " $1/"
}
no_addr() {
	! ip -o addr show dev kube-ipvs0 | grep -q " $1/"
}
same_as() {
	rules | grep -v 127.0.0.9 > "$TMP/now"
	LC_ALL=C sort "$1" | cmp -s - "$TMP/now"
}

ipvsadm -C
# a foreign virtual server: never touched
ipvsadm -A -t 127.0.0.9:8080 -s wlc || exit 99
ipvsadm -a -t 127.0.0.9:8080 -r 127.0.0.10:8080 -m -w 3 || exit 99
# left by a previous run: a real server at weight 0, to be reset
ipvsadm -A -t 10.96.250.206:9376 -s rr || exit 99
ipvsadm -a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 0 || exit 99
ctl reset '{}'
ctl load "@$SYNC/base.json"

# --- the daemon: first full sync ----------------------------------------
"$BIN" run --config "$TMP/config.yaml" --ipvs-graceful-period 20s -v 2 \
	--traffic-metrics real-servers 2>"$TMP/log" &
dpid=$!
if t=$(wait_for 30000 same_as "$SYNC/base.ipvs"); then
	echo "ok: first full sync in ${t} ms (weight-0 leftover reset)"
else
	fail "first sync: rules differ from the expected"
	diff "$SYNC/base.ipvs" "$TMP/now" | sed 's/^/  | /'
	sed 's/^/  log| /' "$TMP/log" | tail -30
fi
grep -q "daemon-token" "$TMP/log" && fail "the token is in the log"
has_rule "-A -t 127.0.0.9:8080 -s wlc" || fail "foreign virtual server lost"

# events are timed from when the daemon watches both kinds
watching() {
	curl -sf --cacert "$TMP/pki/ca.crt" "$url/_test/log" | python3 -c '
import json, sys
reqs = json.load(sys.stdin)["requests"]
kinds = {r["path"].rsplit("/", 1)[-1] for r in reqs
         if r["query"].get("watch") in ("1", "true")}
sys.exit(0 if {"services", "endpointslices"} <= kinds else 1)'
}
wait_for 20000 watching >/dev/null || fail "the daemon does not watch"
# the first nftables load (the kernel loads its modules on first use,
# slow in an emulated guest) is not what the timed checks below measure
wait_for 60000 grep -qE 'nftables: table inet ipvs-svc loaded|no nftables inet family' \
	"$TMP/log" >/dev/null || echo "note: no nftables outcome in the log yet"

# --- a Pod turns not ready: its real server leaves within a second -------
# with the EndpointSlice controller's trigger time: the programming latency
sed "s|\"namespace\": \"kube-system\",|&  \"annotations\": {\"endpoints.kubernetes.io/last-change-trigger-time\": \"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\"},|" \
	"$DATA/hostnames-73-not-ready.json" > "$TMP/73.json"
ctl apply "@$TMP/73.json"
if t=$(wait_for 1000 no_rule "-r 10.244.0.73:9376"); then
	echo "ok: not-ready Pod's real server gone in ${t} ms"
else
	fail "not-ready Pod's real server still there after 1 s ($t ms)"
fi
has_rule "-a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 1" ||
	fail "a ready Pod's real server went away"

# --- a new Service appears within a second -------------------------------
ctl apply "@$DATA/new-slice.json"
ctl apply "@$DATA/new-service.json"
if t=$(wait_for 1000 has_rule "-a -t 10.96.5.5:8080 -r 10.244.3.3:8080 -m -w 1"); then
	echo "ok: new Service programmed in ${t} ms"
else
	fail "new Service not programmed within 1 s ($t ms)"
fi
has_addr 10.96.5.5 || fail "new Service's address not on kube-ipvs0"

# --- nftables follows by set elements, not by reloading the table -------
# (kernels without the inet family, UML's, have no table to check)
if grep -q 'nftables: table inet ipvs-svc loaded' "$TMP/log"; then
	hp() { nft list set inet ipvs-svc hairpin-v4 2>/dev/null; }
	if wait_for 3000 sh -c "nft list set inet ipvs-svc hairpin-v4 | grep -q '10.244.3.3 . 10.244.3.3'" >/dev/null &&
		! hp | grep -q '10.244.0.73 . 10.244.0.73' &&
		hp | grep -q '10.244.0.72 . 10.244.0.72'; then
		echo "ok: nftables hairpin set follows the endpoints"
	else
		fail "nftables hairpin set: $(hp | tr -s ' \n' ' ')"
	fi
	grep -qE 'nftables: table inet ipvs-svc updated: [0-9]+ set elements changed' "$TMP/log" ||
		fail "endpoint changes did not update the nftables table by elements"
fi

# --- Local traffic policies without local endpoints (kube-proxy's gauge) --
ctl apply "@$DATA/local-policy-slices.json"
ctl apply "@$DATA/local-policy.json"
wait_for 3000 has_rule "-A -t 10.96.6.7:80 -s rr" >/dev/null ||
	fail "Local-policy Services not programmed"

# --- a deleted Service's virtual servers and address go within a second --
ctl delete '{"resource": "services", "namespace": "default", "name": "web"}'
if t=$(wait_for 1000 sh -c "! ipvsadm -Sn | grep -q 10.96.1.1: && ! ip -o addr show dev kube-ipvs0 | grep -q ' 10.96.1.1/' && ! ipvsadm -Sn | grep -q 192.168.7.1:30080"); then
	echo "ok: deleted Service's virtual servers and address gone in ${t} ms"
else
	fail "deleted Service still programmed after 1 s ($t ms)"
	rules | sed 's/^/  | /'
fi

# --- drift: ipvsadm -D of a managed virtual server is repaired ------------
ipvsadm -D -t 10.96.0.10:53
ipvsadm -d -t 10.96.250.206:9376 -r 10.244.0.74:9376
ip addr del 10.96.5.5/32 dev kube-ipvs0 2>/dev/null
# the sync period is 2 s (from the file): repaired within it, plus slack
if t=$(wait_for 3000 sh -c "ipvsadm -Sn | grep -q -- '-a -t 10.96.0.10:53 -r 10.244.0.2:53' && ipvsadm -Sn | grep -q -- '-r 10.244.0.74:9376' && ip -o addr show dev kube-ipvs0 | grep -q ' 10.96.5.5/'"); then
	echo "ok: drift repaired in ${t} ms"
else
	fail "drift not repaired within the sync period ($t ms)"
	rules | sed 's/^/  | /'
fi
has_rule "-a -t 127.0.0.9:8080 -r 127.0.0.10:8080 -m -w 3" ||
	fail "foreign real server touched"

# --- health and metrics --------------------------------------------------
code=$(curl -s -o "$TMP/healthz" -w '%{http_code}' "http://127.0.0.1:$HPORT/healthz")
[ "$code" = 200 ] || fail "/healthz answered $code"
grep -q '"lastUpdated"' "$TMP/healthz" && grep -q '"currentTime"' "$TMP/healthz" ||
	fail "/healthz body: $(cat "$TMP/healthz")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/healthz" ||
	fail "/healthz is not JSON"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/livez")
[ "$code" = 200 ] || fail "/livez answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/nothing")
[ "$code" = 404 ] || fail "/nothing answered $code"
if curl -sf -o "$TMP/metrics" "http://127.0.0.1:$MPORT/metrics" &&
	python3 "$DATA/promparse.py" < "$TMP/metrics" > "$TMP/samples"; then
	for m in kubeproxy_sync_proxy_rules_duration_seconds_bucket \
		kubeproxy_sync_proxy_rules_last_timestamp_seconds \
		kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds \
		kubeproxy_sync_proxy_rules_endpoint_changes_total \
		kubeproxy_sync_proxy_rules_service_changes_total \
		ipvs_svc_virtual_servers ipvs_svc_real_servers \
		ipvs_svc_virtual_server_connections_total \
		ipvs_svc_real_server_connections_total; do
		grep -q "^$m " "$TMP/samples" || fail "metrics: no $m"
	done
	grep -q '^kubeproxy_sync_proxy_rules_service_changes_total [1-9]' \
		"$TMP/samples" || fail "metrics: Service changes not counted"
	grep -q 'namespace="kube-system",service="hostnames",port_name="http"' \
		"$TMP/metrics" || fail "metrics: no labelled hostnames counters"
	# the not-ready Pod's slice carried a trigger time: one observation,
	# within a few seconds (the API server's own delay counts)
	grep -q '^kubeproxy_network_programming_duration_seconds_count [1-9]' \
		"$TMP/samples" ||
		fail "metrics: no network programming duration observed"
	grep -q '^kubeproxy_network_programming_duration_seconds_bucket{le="5"} [1-9]' \
		"$TMP/metrics" ||
		fail "metrics: network programming duration above 5 s"
	for p in internal external; do
		grep -qx "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"$p\"} 1" \
			"$TMP/metrics" ||
			fail "metrics: no_local_endpoints_total{$p} is not 1"
	done
	echo "ok: /healthz, /livez, /metrics ($(wc -l < "$TMP/samples") samples)"
else
	fail "/metrics does not answer or does not parse"
	head -20 "$TMP/metrics" 2>/dev/null | sed 's/^/  | /'
fi
# a deleted Service no longer counts as one without local endpoints
no_local_is() {
	curl -sf "http://127.0.0.1:$MPORT/metrics" |
		grep -qx "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"$1\"} $2"
}
ctl delete '{"resource": "services", "namespace": "default", "name": "itp-local"}'
if wait_for 3000 no_local_is internal 0 >/dev/null &&
	no_local_is external 1; then
	echo "ok: no_local_endpoints_total follows a deleted Service"
else
	fail "metrics: no_local_endpoints_total{internal} still counts a deleted Service"
fi

# --- graceful termination: a held TCP connection drains at weight 0 ------
. "$top_srcdir/tests/kernel/lib/pods.sh"
# active connections of real server $1 of the hostnames virtual server
active() {
	ipvsadm -Ln -t 10.96.250.206:9376 |
		awk -v rs="$1:9376" '$2 == rs {print $5 + 0}'
}
weight() {
	ipvsadm -Ln -t 10.96.250.206:9376 |
		awk -v rs="$1:9376" '$2 == rs {print $4}'
}
pods_init || exit 99
pod_add h72 10.244.0.72 9376 || exit 99
pod_add h74 10.244.0.74 9376 || exit 99
"$top_builddir/tests/kernel/k-client" -H "$TMP/stop" -i 100 -T 60 \
	10.96.250.206 9376 > "$TMP/held" 2>&1 &
cpid=$!
held=
for _ in $(seq 50); do
	for p in 10.244.0.72 10.244.0.74; do
		[ "$(active $p)" = 1 ] && held=$p
	done
	[ -n "$held" ] && break
	sleep 0.1
done
if [ -z "$held" ]; then
	fail "graceful: no held connection"
	ipvsadm -Ln | sed 's/^/  | /'
else
	sed -e "s|\"$held\"\], \"conditions\": {\"ready\": true}|\"$held\"], \"conditions\": {\"ready\": false}|" \
		"$DATA/hostnames-73-not-ready.json" > "$TMP/leave.json"
	grep -q "\"$held\"\], \"conditions\": {\"ready\": false}" "$TMP/leave.json" ||
		fail "graceful: test data"
	ctl apply "@$TMP/leave.json"
	if t=$(wait_for 1000 sh -c "ipvsadm -Ln -t 10.96.250.206:9376 | awk '\$2 == \"$held:9376\" && \$4 == 0 {f=1} END {exit !f}'"); then
		echo "ok: leaving $held drains at weight 0 (${t} ms)"
	else
		fail "graceful: $held not at weight 0 ($(weight $held))"
	fi
	sleep 1.5
	[ "$(weight $held)" = 0 ] || fail "graceful: $held deleted while held"
	kill -0 $cpid 2>/dev/null || fail "graceful: the held connection broke"
	touch "$TMP/stop"
	wait $cpid || fail "graceful: connection lost: $(cat "$TMP/held")"
	# TIME_WAIT keeps an inactive connection: the 20 s bound ends it
	# (long: on a loaded machine each ipvsadm here can take a second)
	if t=$(wait_for 30000 sh -c "! ipvsadm -Ln -t 10.96.250.206:9376 | grep -q '$held:9376'"); then
		echo "ok: drained real server deleted (${t} ms after close)"
	else
		fail "graceful: $held not deleted after draining"
	fi
fi
pods_cleanup

# --- one change among a thousand Services: only its netlink requests ----
python3 - "$TMP" <<'PY'
import json, sys
svcs, slices = [], []
for i in range(1000):
    name = "many-%d" % i
    ip = "10.97.%d.%d" % (i // 250, i % 250 + 1)
    svcs.append({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": name, "namespace": "many"},
                 "spec": {"type": "ClusterIP", "clusterIP": ip,
                          "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                          "ports": [{"name": "http", "port": 80,
                                     "targetPort": 8080,
                                     "protocol": "TCP"}]}})
    slices.append({"apiVersion": "discovery.k8s.io/v1",
                   "kind": "EndpointSlice",
                   "metadata": {"name": name + "-x", "namespace": "many",
                                "labels": {"kubernetes.io/service-name":
                                           name}},
                   "addressType": "IPv4",
                   "endpoints": [{"addresses": ["10.245.%d.%d" %
                                                (i // 250, i % 250 + 1)],
                                  "conditions": {"ready": True}}],
                   "ports": [{"name": "http", "port": 8080,
                              "protocol": "TCP"}]})
json.dump({"resource": "services", "objects": svcs},
          open(sys.argv[1] + "/many-svc.json", "w"))
json.dump({"resource": "endpointslices", "objects": slices},
          open(sys.argv[1] + "/many-eps.json", "w"))
one = slices[500]
one["endpoints"][0]["addresses"] = ["10.245.9.9"]
json.dump({"resource": "endpointslices", "object": one},
          open(sys.argv[1] + "/one.json", "w"))
PY
metric() {
	curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
ctl apply "@$TMP/many-eps.json"
ctl apply "@$TMP/many-svc.json"
if t=$(wait_for 120000 has_rule "-a -t 10.97.3.250:80 -r 10.245.3.250:8080 -m -w 1"); then
	echo "ok: 1000 Services programmed in ${t} ms"
	ctl apply "@$TMP/one.json"
	if t=$(wait_for 5000 has_rule "-a -t 10.97.2.1:80 -r 10.245.9.9:8080 -m -w 1"); then
		sleep 0.5
		req=$(metric 'ipvs_svc_last_sync_netlink_requests{kind="incremental"}')
		full=$(metric 'ipvs_svc_last_sync_netlink_requests{kind="full"}')
		built=$(metric 'ipvs_svc_last_sync_services{kind="incremental"}')
		ops=$(grep 'incremental sync of' "$TMP/log" | tail -1 |
			sed -n 's/.*Services: \([0-9]*\) operations.*/\1/p')
		# add, delete, and the dump that looks for connections to drain
		if [ "$req" = 3 ] && [ "$built" = 1 ] && [ "$ops" = 2 ]; then
			echo "ok: one endpoint change: 1 Service built, $ops operations, $req netlink requests (a full sync: $full)"
		else
			fail "one endpoint change: ${built:-?} Services built, ${ops:-?} operations, ${req:-?} netlink requests"
			grep 'incremental sync of' "$TMP/log" | tail -3
		fi
		no_rule "-r 10.245.2.1:8080" || fail "old endpoint of many-500 left"
	else
		fail "the change to many-500 was not applied"
	fi
else
	fail "1000 Services not programmed"
fi

# --- the API server hangs: rules stay; converged once it answers --------
rules > "$TMP/before-hang"
kill -STOP $pid
sleep 5
rules > "$TMP/during-hang"
cmp -s "$TMP/before-hang" "$TMP/during-hang" ||
	fail "rules changed while the API server hung"
kill -0 $dpid 2>/dev/null || fail "the daemon died while the API server hung"
kill -CONT $pid
ctl delete '{"resource": "services", "namespace": "many", "name": "many-7"}'
if t=$(wait_for 20000 no_rule "10.97.0.8:80"); then
	echo "ok: API server hung 5 s: rules kept, converged ${t} ms after"
else
	fail "not converged after the API server came back"
fi

# --- the API server dies for 30 s: rules unchanged; converged after ------
# it comes back as after a crash: the objects (but many-8, deleted
# meanwhile), newer resourceVersions, the old ones compacted (410)
port=$(cat "$TMP/port")
for r in api/v1/services apis/discovery.k8s.io/v1/endpointslices; do
	curl -sf --cacert "$TMP/pki/ca.crt" -H "Authorization: Bearer daemon-token" \
		"$url/$r" > "$TMP/state-${r##*/}.json" ||
		fail "cannot list the API server's ${r##*/}"
done
python3 - "$TMP" > "$TMP/rv" <<'PY'
import json, sys
items, rv = [], 0
for r, kind, api in (("services", "Service", "v1"),
                     ("endpointslices", "EndpointSlice",
                      "discovery.k8s.io/v1")):
    st = json.load(open("%s/state-%s.json" % (sys.argv[1], r)))
    rv = max(rv, int(st["metadata"]["resourceVersion"]))
    for o in st["items"]:
        o.setdefault("kind", kind)
        o.setdefault("apiVersion", api)
        if o["metadata"]["name"] in ("many-8", "many-8-x"):
            continue
        items.append(o)
json.dump({"apiVersion": "v1", "kind": "List", "items": items},
          open(sys.argv[1] + "/restart.json", "w"))
print(rv)
PY
rules > "$TMP/before-kill"
kill $pid
wait $pid 2>/dev/null
pid=
sleep 30
rules > "$TMP/during-kill"
cmp -s "$TMP/before-kill" "$TMP/during-kill" ||
	fail "rules changed while the API server was gone"
kill -0 $dpid 2>/dev/null || fail "the daemon died while the API server was gone"
rm -f "$TMP/port"
python3 "$API/apiserver.py" --port "$port" --port-file "$TMP/port" \
	--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
	--token daemon-token --lifetime 1200 --parent-pid $$ \
	--initial-rv $(($(cat "$TMP/rv") + 1000)) --load "$TMP/restart.json" \
	--compacted &
pid=$!
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || { fail "the API server did not come back"; break; }
	sleep 0.1
done
if t=$(wait_for 60000 no_rule "10.97.0.9:80"); then
	echo "ok: API server gone 30 s: rules kept, converged ${t} ms after it came back"
else
	fail "not converged after the API server came back"
fi
has_rule "-A -t 10.97.0.10:80 -s rr" || fail "a Service lost after the API server came back"

# --- SIGHUP resyncs; SIGTERM stops and leaves the rules ------------------
kill -HUP $dpid
# the signal is read between syncs: a slow guest may be in one
wait_for 10000 grep -q "SIGHUP" "$TMP/log" >/dev/null ||
	fail "SIGHUP not logged within 10 s"
kill -0 $dpid 2>/dev/null || fail "SIGHUP killed the daemon"
rules > "$TMP/before"
kill -TERM $dpid
wait $dpid
st=$?
dpid=
[ $st = 0 ] || fail "exit status $st after SIGTERM"
rules > "$TMP/after"
if cmp -s "$TMP/before" "$TMP/after" && grep -q 10.96.5.5 "$TMP/after"; then
	echo "ok: SIGTERM left the rules in place"
else
	fail "rules changed at SIGTERM"
fi

# --- restart with weight-0 leftovers: reset, nothing else touched --------
ipvsadm -e -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 0
ipvsadm -e -t 10.97.0.100:80 -r 10.245.0.100:8080 -m -w 0
"$BIN" run --config "$TMP/config.yaml" -v 2 \
	--traffic-metrics virtual-servers 2>"$TMP/log2" &
dpid=$!
if wait_for 60000 sh -c "grep -q '^ipvs-svc: ready:' '$TMP/log2'" >/dev/null; then
	sleep 3 # a sync period more: nothing may flap
	# virtual servers' counters (one dump), not the real servers'
	curl -sf "http://127.0.0.1:$MPORT/metrics" > "$TMP/metrics2"
	if grep -q '^ipvs_svc_virtual_server_connections_total{namespace="kube-system",service="hostnames",port_name="http"' "$TMP/metrics2" &&
		! grep -q '^ipvs_svc_real_server_' "$TMP/metrics2"; then
		echo "ok: --traffic-metrics virtual-servers"
	else
		fail "--traffic-metrics virtual-servers: $(grep -c '^ipvs_svc_' "$TMP/metrics2") ipvs_svc_ samples"
	fi
	changes=$(grep -c '^ipvs-svc: -[aAdDeE] ' "$TMP/log2")
	if ! has_rule "-a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 1" ||
		! has_rule "-a -t 10.97.0.100:80 -r 10.245.0.100:8080 -m -w 1"; then
		fail "restart: weight-0 leftovers not reset"
	elif [ "$changes" != 2 ]; then
		fail "restart: $changes changes, not just the 2 weight resets"
		grep '^ipvs-svc: -[aAdDeE] ' "$TMP/log2" | head
	else
		echo "ok: restart reset 2 weight-0 leftovers and changed nothing else"
	fi
else
	fail "restart: the daemon is not ready"
fi
kill -TERM $dpid
wait $dpid
dpid=
if [ $failures != 0 ]; then
	echo "--- daemon log (tail, without nftables' own messages)"
	grep -v ': nftables: ' "$TMP/log" | tail -60
fi
# IPVSSVC_DAEMON_LOG=FILE keeps the whole log for a look afterwards
[ -n "${IPVSSVC_DAEMON_LOG:-}" ] && cp "$TMP/log" "$IPVSSVC_DAEMON_LOG"
ipvsadm -C
ip link del kube-ipvs0 2>/dev/null
[ $failures = 0 ]
