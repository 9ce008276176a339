# Shared by the api-faults suites (sourced): the test API server, the
# daemon at -v 10 on base.json, helpers; finish checks that the token
# is nowhere and stops the daemon. Needs top_srcdir, top_builddir.
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/api-faults
SYNC=$top_srcdir/tests/kernel/sync
API=$top_srcdir/tests/apiserver
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
OBJS="python3 $DATA/objs.py"
TOKEN=faults-token-5d1e9b7c0a
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

if ! "$BIN" run --help >/dev/null 2>&1; then
	echo "api-faults: ipvs-svc has no run command: skipped"
	exit 77
fi
for c in python3 openssl curl ipvsadm; do
	command -v $c >/dev/null || { echo "api-faults: $c missing"; exit 77; }
done

TMP=$(mktemp -d /tmp/api-faults.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
pid=
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; [ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

sh "$API/mkcerts.sh" "$TMP/pki" server-only || exit 99
PORT=
# start_server [apiserver.py options]: on $PORT once known
start_server() {
	rm -f "$TMP/port"
	python3 "$API/apiserver.py" --port-file "$TMP/port" \
		${PORT:+--port $PORT} \
		--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
		--token $TOKEN --lifetime 900 --parent-pid $$ \
		--bookmark-interval 1 "$@" 2>>"$TMP/apiserver.log" &
	pid=$!
	i=0
	while [ ! -s "$TMP/port" ]; do
		i=$((i + 1))
		if [ $i -ge 300 ] || ! kill -0 $pid 2>/dev/null; then
			echo "test apiserver did not start"
			return 1
		fi
		sleep 0.1
	done
	PORT=$(cat "$TMP/port")
}
# kill -9 the server
kill_server() {
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	pid=
}
start_server || exit 99
url=https://127.0.0.1:$PORT
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
    token: $TOKEN
EOT
chmod 600 "$TMP/kubeconfig"
HPORT=10456
MPORT=10449
sed -e "s|@KUBECONFIG@|$TMP/kubeconfig|" -e "s|@HEALTHZ@|$HPORT|" \
	-e "s|@METRICS@|$MPORT|" "$DATA/kube-proxy.yaml" > "$TMP/config.yaml"
ip link set lo up
ip link add node0 type dummy || exit 99
ip addr add 192.168.7.1/24 dev node0 || exit 99
ip link set node0 up

ctl() {
	curl -sf --cacert "$TMP/pki/ca.crt" -X POST "$url/_test/$1" \
		--data-binary "$2" >/dev/null || fail "control $1 $2"
}
ms() {
	echo $(($(date +%s%N) / 1000000))
}
# wait_for MAX_MS COMMAND...: poll until COMMAND succeeds; prints the ms
wait_for() {
	max=$1
	shift
	t0=$(ms)
	while :; do
		t1=$(ms)
		if "$@" >/dev/null 2>&1; then
			echo $((t1 - t0))
			return 0
		fi
		[ $(($(ms) - t0)) -lt "$max" ] || return 1
		sleep 0.1
	done
}
rules() {
	ipvsadm -Sn | LC_ALL=C sort
}
# the rules equal file $1 (sorted)
rules_are() {
	rules > "$TMP/now"
	LC_ALL=C sort "$1" | cmp -s - "$TMP/now"
}
# the daemon's peak and current memory, kB
mem() {
	awk '/^VmHWM|^VmRSS/ {printf "%s %s ", $1, $2}' /proc/$dpid/status
}
hwm() {
	awk '/^VmHWM/ {print $2}' /proc/$dpid/status
}
# the server is answering a request whose target contains all of $@
in_flight() {
	curl -sf --cacert "$TMP/pki/ca.crt" "$url/_test/log" |
		python3 -c '
import json, sys, urllib.parse
want = sys.argv[1:]
for r in json.load(sys.stdin)["requests"]:
    t = r["path"] + "?" + urllib.parse.urlencode(r["query"])
    if "status" not in r and all(w in t for w in want):
        sys.exit(0)
sys.exit(1)' "$@"
}
# the process $1 is gone (or a zombie)
gone() {
	! kill -0 "$1" 2>/dev/null || grep -q "^State:.*Z" "/proc/$1/status"
}
watching() {
	curl -sf --cacert "$TMP/pki/ca.crt" "$url/_test/log" | python3 -c '
import json, sys
reqs = json.load(sys.stdin)["requests"]
kinds = {r["path"].rsplit("/", 1)[-1] for r in reqs
         if r["query"].get("watch") in ("1", "true")}
sys.exit(0 if {"services", "endpointslices"} <= kinds else 1)'
}
# During a fault: for $1 seconds, the daemon is up and the rules are
# those of $TMP/expect, checked every half second.
hold() {
	n=$(($1 * 2))
	while [ $n -gt 0 ]; do
		if ! kill -0 $dpid 2>/dev/null; then
			fail "$case: the daemon died"
			return 1
		fi
		if ! rules_are "$TMP/expect"; then
			fail "$case: rules changed during the fault"
			diff "$TMP/expect" "$TMP/now" | sed 's/^/  | /'
			return 1
		fi
		sleep 0.5
		n=$((n - 1))
	done
}
# A change made on the server: a Service and its slice; its rules are
# added to $TMP/expect-next.
N=0
change() {
	N=$((N + 1))
	name=fault-$N
	$OBJS change $name $N "$TMP" > "$TMP/$name.rules"
	cat "$TMP/expect" "$TMP/$name.rules" | LC_ALL=C sort > "$TMP/expect-next"
}
apply_change() {
	ctl apply "@$TMP/$name-eps.json"
	ctl apply "@$TMP/$name-svc.json"
}
# After the fault: the rules converge to $TMP/expect-next within $1 ms.
converge() {
	if t=$(wait_for "$1" rules_are "$TMP/expect-next"); then
		echo "ok: $case: rules kept during the fault, converged ${t} ms after ($(mem))"
		cp "$TMP/expect-next" "$TMP/expect"
	else
		fail "$case: not converged within $1 ms after the fault"
		diff "$TMP/expect-next" "$TMP/now" | sed 's/^/  | /'
		tail -20 "$TMP/log" | sed 's/^/  log| /'
		rules > "$TMP/expect"
	fi
	kill -0 $dpid 2>/dev/null || fail "$case: the daemon died"
}
# the server's objects now, then a restart on the same port serving
# them (and the changes of apply bodies $@), resourceVersions above the
# old ones
dump() {
	$OBJS dump "$url" "$TMP/pki/ca.crt" $TOKEN > "$TMP/dump.json" ||
		fail "$case: cannot dump the server's objects"
}
RV=100000
restart() {
	opt=$1
	shift
	$OBJS merge "$TMP/dump.json" "$@" > "$TMP/load.json"
	RV=$((RV + 100000))
	start_server --initial-rv $RV --load "$TMP/load.json" $opt ||
		fail "$case: the server did not restart"
}

ipvsadm -C
# a foreign virtual server: never touched
ipvsadm -A -t 127.0.0.9:8080 -s wlc || exit 99
ipvsadm -a -t 127.0.0.9:8080 -r 127.0.0.10:8080 -m -w 3 || exit 99
ctl reset '{}'
ctl load "@$SYNC/base.json"
cat "$SYNC/base.ipvs" > "$TMP/expect"
rules | grep 127.0.0.9 >> "$TMP/expect"

"$BIN" run --config "$TMP/config.yaml" -v 10 2>"$TMP/log" &
dpid=$!
cp "$TMP/expect" "$TMP/expect-next"
case=start
if ! t=$(wait_for 30000 rules_are "$TMP/expect"); then
	fail "first sync: rules differ from the expected"
	diff "$TMP/expect" "$TMP/now" | sed 's/^/  | /'
	tail -30 "$TMP/log" | sed 's/^/  log| /'
	exit 1
fi
echo "ok: first full sync in ${t} ms"
wait_for 20000 watching >/dev/null || fail "the daemon does not watch"
grep -q "warning: .*readable" "$TMP/log" &&
	fail "a warning about a private kubeconfig"

# The token never in the log (-v 10), /metrics, /healthz; SIGTERM; the
# suite's status.
finish() {
	case=secrets
	curl -s "http://127.0.0.1:$MPORT/metrics" > "$TMP/metrics"
	curl -s "http://127.0.0.1:$HPORT/healthz" > "$TMP/healthz"
	[ -s "$TMP/metrics" ] || fail "no /metrics"
	[ -s "$TMP/healthz" ] || fail "no /healthz"
	if grep -q "$TOKEN" "$TMP/log" "$TMP/metrics" "$TMP/healthz"; then
		fail "the token is in the log, /metrics or /healthz"
	else
		echo "ok: the token is nowhere in $(wc -l < "$TMP/log") log lines (-v 10), /metrics, /healthz"
	fi
	# the foreign virtual server was never touched
	grep -q "127.0.0.9:8080" "$TMP/now" || fail "foreign virtual server lost"

	kill -TERM $dpid
	wait $dpid
	st=$?
	dpid=
	[ $st = 0 ] || fail "exit status $st after SIGTERM"
	if [ $failures != 0 ]; then
		echo "--- daemon log (tail)"
		tail -40 "$TMP/log"
		echo "--- apiserver log (tail)"
		tail -20 "$TMP/apiserver.log"
	fi
	ipvsadm -C
	ip link del kube-ipvs0 2>/dev/null
	[ $failures = 0 ]
}
