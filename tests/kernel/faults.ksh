#!/bin/sh
# faults: process and kernel faults, with ipvsadm and ip as the oracles.
#  - the instance lock: a second `run` or writing `sync --once` refuses,
#    naming the holder's PID; --dry-run, diff and status still work;
#    kill -9 releases it; the state directory is made 0755;
#  - `sync --once` killed -9 in the middle of thousands of writes, then
#    run again (with the same manifests, and with others): exactly the
#    desired rules and addresses, nothing left over;
#  - the daemon killed -9 in the middle of its first sync, then started
#    again: converged; restarted over real servers left at weight 0:
#    only those are edited (no deletes, no flapping);
#  - sd_notify: READY=1 once the first sync is in the kernel, STATUS=
#    with counts, WATCHDOG=1;
#  - kernel faults under the running daemon (sync period 2 s): a virtual
#    server's scheduler and persistence edited, a real server's weight
#    and forwarding edited, kube-ipvs0 deleted, foreign virtual servers
#    next to managed ones; repaired within a period, foreign ones kept.
# (daemon.ksh covers ipvsadm -D, a deleted real server, a removed
# address.) Run as root in a kernel with IPVS (tests/harness/kernel-run);
# 0 pass, 1 fail, 77 skip, 99 setup error. IPVSSVC_FAULTS_N: Services of the
# large sync (default 600; 3000 or more on a quick machine).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/faults
SYNC=$top_srcdir/tests/kernel/sync
API=$top_srcdir/tests/apiserver
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
N=${IPVSSVC_FAULTS_N:-600}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

if ! "$BIN" run --help >/dev/null 2>&1; then
	echo "faults: ipvs-svc has no run command: skipped"
	exit 77
fi
for c in python3 openssl curl ipvsadm; do
	command -v $c >/dev/null || { echo "faults: $c missing"; exit 77; }
done
# libtool's wrapper script would be the PID the lock names, and costs
# seconds per start in UML: the real binary when there is one
if head -c 2 "$BIN" | grep -q '^#!' && [ -x "$top_builddir/src/.libs/ipvs-svc" ]; then
	BIN=$top_builddir/src/.libs/ipvs-svc
	LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
fi

TMP=$(mktemp -d /tmp/faults.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
RECORD=$IPVS_SVC_STATE_DIR/kube-ipvs0.nodeports
pid=
dpid=
spid=
npid=
cleanup() {
	for p in $dpid $spid $npid $pid; do
		kill -9 "$p" 2>/dev/null
	done
	ipvsadm -C 2>/dev/null
	ip link del kube-ipvs0 2>/dev/null
	ip link del node0 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}
show() {
	sed 's/^/  | /' "$@"
}

sh "$API/mkcerts.sh" "$TMP/pki" server-only || exit 99
python3 "$API/apiserver.py" --port-file "$TMP/port" \
	--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
	--token faults-token --lifetime 1200 --parent-pid $$ &
pid=$!
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "test apiserver did not start"; exit 99; }
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
    token: faults-token
EOT
chmod 600 "$TMP/kubeconfig"
ip link set lo up
ip link add node0 type dummy || exit 99
ip addr add 10.0.7.1/24 dev node0 || exit 99
ip addr add 192.168.7.1/24 dev node0 || exit 99
ip link set node0 up

ctl() {
	curl -sf --cacert "$TMP/pki/ca.crt" -X POST "$url/_test/$1" \
		--data-binary "$2" >/dev/null || fail "control $1"
}
ms() {
	echo $(($(date +%s%N) / 1000000))
}
# wait_for MAX_MS COMMAND...: poll until COMMAND succeeds; prints the ms
# from the call to the start of the check that saw it
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
		[ $(($(ms) - t0)) -lt "$max" ] || { echo "$max+"; return 1; }
		sleep 0.05
	done
}
rules() {
	ipvsadm -Sn | LC_ALL=C sort
}
addrs() {
	ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{print $4}' |
		sed 's|/.*||' | grep -v '^fe80:' | LC_ALL=C sort
}
# exactly FILE.ipvs (plus FOREIGN) and FILE.addrs in the kernel
exact() {
	cat "$1.ipvs" "$FOREIGN" | LC_ALL=C sort > "$TMP/want"
	rules > "$TMP/got"
	addrs > "$TMP/got-addrs"
	cmp -s "$TMP/want" "$TMP/got" && cmp -s "$1.addrs" "$TMP/got-addrs"
}
explain() {
	diff -u "$TMP/want" "$TMP/got" | tail -n +3 | head -20 | show
	diff -u "$1.addrs" "$TMP/got-addrs" | tail -n +3 | head -10 | show
}
# lines of /proc/net/ip_vs: at least $1? (reads no further than that)
ipvs_lines_ge() {
	awk -v t="$1" 'NR >= t {f = 1; exit} END {exit !f}' /proc/net/ip_vs
}
ipvs_lines() {
	wc -l < /proc/net/ip_vs
}
clear_kernel() {
	ipvsadm -C
	ip link del kube-ipvs0 2>/dev/null
	rm -f "$RECORD"
}
# kill_at_lines PID LINES: SIGKILL PID once /proc/net/ip_vs has LINES
# lines; 0 if it was killed while running, 1 if it had ended before
kill_at_lines() {
	while kill -0 "$1" 2>/dev/null; do
		if ipvs_lines_ge "$2"; then
			kill -9 "$1" 2>/dev/null || return 1
			wait "$1" 2>/dev/null
			return 0
		fi
	done
	return 1
}

# Other programs' virtual servers, which nothing here may touch: one on
# the address next to a managed ClusterIP, one on a node address.
FOREIGN=$TMP/foreign.ipvs
cat > "$FOREIGN" <<EOT
-A -t 10.96.0.11:53 -s wlc
-a -t 10.96.0.11:53 -r 10.1.0.1:53 -m -w 2
-A -t 10.0.7.1:8443 -s sh
-a -t 10.0.7.1:8443 -r 10.1.0.2:443 -m -w 1
EOT
add_foreign() {
	ipvsadm -R < "$FOREIGN" 2>/dev/null || true
}

python3 "$DATA/gen.py" "$N" a 10.0.7.1 "$TMP/a" || exit 99
python3 "$DATA/gen.py" "$N" b 10.0.7.1 "$TMP/b" || exit 99
a_lines=$(($(grep -c . "$TMP/a.ipvs") + 3))
b_lines=$(($(grep -c . "$TMP/b.ipvs") + 3))
NODE_A="--hostname-override node-1 --nodeport-addresses 10.0.7.0/24"

# --- sync --once killed -9 mid-sync; a second one refused meanwhile ------
clear_kernel
add_foreign
fl=$(grep -c '^-' "$FOREIGN")
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$TMP/a.json" $NODE_A 2>"$TMP/sync1.err" &
spid=$!
# a second writing sync while the first holds the lock: the first is
# stopped (SIGSTOP) once it writes, so that it holds the lock for sure
while kill -0 $spid 2>/dev/null && ! ipvs_lines_ge $((fl + 3 + 10)); do
	:
done
kill -STOP $spid 2>/dev/null
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$TMP/a.json" $NODE_A \
	>"$TMP/second.out" 2>"$TMP/second.err"
rc=$?
if [ $rc != 0 ] && grep -q "PID $spid, ipvs-svc sync" "$TMP/second.err"; then
	pass "a second sync --once refused (exit $rc): $(head -1 "$TMP/second.err")"
else
	fail "a second sync --once: exit $rc, not refused by the lock"
	show "$TMP/second.err"
fi
kill -CONT $spid 2>/dev/null
if kill_at_lines $spid $((fl + 3 + a_lines / 3)); then
	got=$(ipvs_lines)
	pass "sync --once killed -9 after $((got - 3 - fl)) of $((a_lines - 3)) rules and $(addrs | wc -l) of $(grep -c . "$TMP/a.addrs") addresses"
else
	echo "note: the sync ended before the kill: nothing interrupted"
fi
spid=
# the lock died with it: the rerun is not refused
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$TMP/a.json" $NODE_A >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc = 0 ] && exact "$TMP/a"; then
	pass "rerun after kill -9: exactly the desired rules and addresses"
else
	fail "rerun after kill -9: exit $rc, not exactly the desired state"
	explain "$TMP/a"
	show "$TMP/err" | tail -5
fi
"$BIN" sync --once --dry-run --output json --manifests "$TMP/a.json" \
	$NODE_A > "$TMP/out" 2>"$TMP/err"
grep -q '"count":0' "$TMP/out" || fail "a third sync would still change something"

# killed again from empty, then a sync of other manifests: what the
# killed run made and the new manifests lack goes, NodePorts included
clear_kernel
add_foreign
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$TMP/a.json" $NODE_A 2>"$TMP/sync2.err" &
spid=$!
kill_at_lines $spid $((fl + 3 + a_lines / 2)) ||
	echo "note: the sync ended before the kill: nothing interrupted"
spid=
np=$(ipvsadm -Sn | grep -c -- '-A -t 10.0.7.1:3')
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$TMP/b.json" $NODE_A >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc = 0 ] && exact "$TMP/b"; then
	pass "killed sync, then other manifests: exactly those ($np NodePorts were in the kernel at the kill)"
else
	fail "killed sync, then other manifests: exit $rc, not exactly the desired state ($np NodePorts at the kill)"
	explain "$TMP/b"
fi

# --- the daemon killed -9 in its first sync, then restarted -------------
ctl reset '{}'
ctl load "@$TMP/a.json"
start_daemon() {
	# shellcheck disable=SC2086
	"$BIN" run --kubeconfig "$TMP/kubeconfig" $NODE_A \
		--healthz-bind-address '' --metrics-bind-address '' \
		--ipvs-sync-period 60s -v 1 "$@" 2>>"$TMP/dlog" &
	dpid=$!
}
: > "$TMP/dlog"
start_daemon
wait_for 120000 grep -q "listed" "$TMP/dlog" >/dev/null
# from b to a: a's Services come back (the rules grow), b's go last
if kill_at_lines $dpid $((b_lines + fl + (a_lines - b_lines) / 2)); then
	pass "daemon killed -9 in its first sync at $(($(ipvs_lines) - 3 - fl)) rules (from $((b_lines - 3)) to $((a_lines - 3)))"
else
	fail "daemon: not killed in its first sync (exited or synced first)"
	tail -5 "$TMP/dlog" | show
fi
dpid=
# meanwhile svc-0, a NodePort the killed daemon made first, is deleted:
# the restarted one must remove what it made, though it never finished
ipvsadm -Sn | grep -q -- '-A -t 10.0.7.1:30000 ' ||
	echo "note: the killed daemon had not made NodePort 30000 yet"
ctl delete '{"resource": "services", "namespace": "faults", "name": "svc-0"}'
ctl delete '{"resource": "endpointslices", "namespace": "faults", "name": "svc-0-x"}'
grep -v -e ' 10.100.0.1:' -e ' 10.0.7.1:30000 ' "$TMP/a.ipvs" > "$TMP/a0.ipvs"
grep -vx 10.100.0.1 "$TMP/a.addrs" > "$TMP/a0.addrs"
: > "$TMP/dlog"
start_daemon
if t=$(wait_for 180000 exact "$TMP/a0"); then
	pass "restarted daemon converged in $t ms: exactly the desired rules and addresses (a Service deleted meanwhile gone, its NodePort too)"
else
	fail "restarted daemon: not exactly the desired state"
	explain "$TMP/a0"
	tail -5 "$TMP/dlog" | show
fi

# --- restart over real servers left at weight 0 -------------------------
wait_for 30000 grep -q "ready:" "$TMP/dlog" >/dev/null
kill -TERM $dpid
wait $dpid
dpid=
# 25 real servers at weight 0, as a daemon killed while draining leaves
grep '^-a -t 10.100.1' "$TMP/a0.ipvs" | head -25 > "$TMP/w0"
sed 's/-w 1$/-w 0/; s/^-a/-e/' "$TMP/w0" | ipvsadm -R ||
	fail "cannot set weights to 0"
[ "$(ipvsadm -Sn | grep -c -- '-w 0$')" = 25 ] || fail "weight-0 setup"
# every 0.2 s during the restart: a real server must never go away
sed 's/ -m -w 1$//' "$TMP/w0" > "$TMP/w0-keys"
(
	while :; do
		ipvsadm -Sn | grep -c -F -f "$TMP/w0-keys"
		sleep 0.2
	done
) > "$TMP/samples" 2>/dev/null &
smp=$!
: > "$TMP/dlog"
start_daemon
if t=$(wait_for 180000 exact "$TMP/a0"); then
	grep -q "ready:" "$TMP/dlog" || sleep 1
	kill $smp
	ops=$(grep -c '^[^ ]*: -[aAdDeE] ' "$TMP/dlog")
	edits=$(grep -c '^[^ ]*: -e -t 10.100.1.* -w 1$' "$TMP/dlog")
	if [ "$ops" = 25 ] && [ "$edits" = 25 ] &&
		! grep -q 'ip addr\|ip link' "$TMP/dlog" &&
		! sort -u "$TMP/samples" | grep -vqx 25; then
		pass "restart over 25 weight-0 real servers: weights back in $t ms, 25 edits and no other operation, none went away"
	else
		fail "restart over weight-0 leftovers: $ops operations, $edits weight edits"
		grep '^[^ ]*: -[aAdDeE] \|ip addr\|ip link' "$TMP/dlog" | head | show
		sort -u "$TMP/samples" | show
	fi
else
	kill $smp
	fail "restart over weight-0 leftovers: not converged"
	explain "$TMP/a0"
	grep -v nftables "$TMP/dlog" | tail -15 | show
fi
if kill -0 $dpid 2>/dev/null; then
	kill -TERM $dpid
	wait $dpid
else
	wait $dpid
	fail "the daemon restarted over weight-0 leftovers exited ($?)"
fi
dpid=

# --- a small table: the lock, sd_notify, kernel faults -------------------
clear_kernel
add_foreign
ctl reset '{}'
ctl load "@$SYNC/base.json"
cp "$SYNC/base.addrs" "$TMP/base.addrs"
cp "$SYNC/base.ipvs" "$TMP/base.ipvs"
NODE_B="--hostname-override node-1 --nodeport-addresses 192.168.7.0/24"
SD=$TMP/state/new/dir
NSOCK=@ipvs-svc-faults-$$
python3 "$DATA/notify.py" "$NSOCK" "$TMP/notify.log" "$TMP/ready.ipvs" &
npid=$!
wait_for 10000 test -e "$TMP/notify.log" >/dev/null || exit 99
: > "$TMP/dlog"
t_start=$(($(python3 -c 'import time; print(int(time.monotonic() * 1000))')))
# shellcheck disable=SC2086
NOTIFY_SOCKET=$NSOCK WATCHDOG_USEC=3000000 \
	"$BIN" run --kubeconfig "$TMP/kubeconfig" $NODE_B \
	--healthz-bind-address '' --metrics-bind-address '' \
	--state-dir "$SD" --ipvs-sync-period 2s -v 1 2>>"$TMP/dlog" &
dpid=$!
if t=$(wait_for 30000 test -s "$TMP/ready.ipvs"); then
	LC_ALL=C sort "$TMP/ready.ipvs" > "$TMP/ready.sorted"
	cat "$TMP/base.ipvs" "$FOREIGN" | LC_ALL=C sort > "$TMP/want"
	if cmp -s "$TMP/want" "$TMP/ready.sorted"; then
		pass "sd_notify: READY=1 after $t ms, with the whole first sync in the kernel"
	else
		fail "sd_notify: READY=1 before the first sync was in the kernel"
		diff -u "$TMP/want" "$TMP/ready.sorted" | show
	fi
else
	fail "sd_notify: no READY=1"
	tail "$TMP/dlog" | show
fi
# the lock: state directory made 0755 with the lock file in it
mode=$(stat -c %a "$SD" 2>/dev/null)
[ "$mode" = 755 ] && [ -f "$SD/kube-ipvs0.lock" ] ||
	fail "state directory $SD: mode ${mode:-missing}, lock file $(ls "$SD" 2>&1)"
# a second daemon and a writing sync refuse, naming the holder
# shellcheck disable=SC2086
"$BIN" run --kubeconfig "$TMP/kubeconfig" $NODE_B --state-dir "$SD" \
	--healthz-bind-address '' --metrics-bind-address '' \
	>"$TMP/out" 2>"$TMP/err" &
p2=$!
wait_for 20000 sh -c "! kill -0 $p2 2>/dev/null" >/dev/null
if kill -0 $p2 2>/dev/null; then
	kill -9 $p2
	fail "a second daemon did not refuse to start"
	show "$TMP/err"
else
	wait $p2
	rc=$?
	if [ $rc != 0 ] && grep -q "PID $dpid" "$TMP/err"; then
		pass "a second daemon refused (exit $rc): $(head -1 "$TMP/err")"
	else
		fail "a second daemon: exit $rc, message: $(cat "$TMP/err")"
	fi
fi
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$SYNC/base.json" $NODE_B --state-dir "$SD" \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc != 0 ] && grep -q "PID $dpid, ipvs-svc run" "$TMP/err"; then
	pass "sync --once refused while the daemon runs (exit $rc)"
else
	fail "sync --once with the daemon running: exit $rc: $(cat "$TMP/err")"
fi
for c in "sync --once --dry-run" diff status; do
	# shellcheck disable=SC2086
	"$BIN" $c --manifests "$SYNC/base.json" $NODE_B --state-dir "$SD" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
	if grep -q "holds" "$TMP/err" || [ $rc -gt 1 ]; then
		fail "$c with the daemon running: exit $rc: $(cat "$TMP/err")"
	fi
done
pass "sync --dry-run, diff and status run beside the daemon"

# --- sd_notify: STATUS= with counts, WATCHDOG=1 -------------------------
sleep 3
if grep -q 'STATUS=3 Services, 3 EndpointSlices; 5 virtual servers, 7 real servers programmed' "$TMP/notify.log"; then
	pass "sd_notify: $(grep -m1 'STATUS=[0-9]' "$TMP/notify.log" | cut -d' ' -f2-)"
else
	fail "sd_notify: no STATUS= with the counts"
	show "$TMP/notify.log" | head
fi
wd=$(awk -v t="$t_start" '$2 == "WATCHDOG=1" && $1 > t' "$TMP/notify.log" | wc -l)
if [ "$wd" -ge 2 ]; then
	pass "sd_notify: WATCHDOG=1 ($wd times)"
else
	fail "sd_notify: WATCHDOG=1 $wd times with WATCHDOG_USEC=3000000"
fi
awk '$2 == "READY=1"' "$TMP/notify.log" | wc -l | grep -qx 1 ||
	fail "sd_notify: READY=1 not exactly once"

# --- kernel faults under the daemon: each repaired within a period --------
# fault NAME COMMAND...: make the fault, expect the exact state back
# within the sync period (2 s) plus the time of a full sync and of the
# checks themselves in a loaded UML (5 s by default); the times are shown
LIMIT=${IPVSSVC_FAULTS_REPAIR_MS:-5000}
fault() {
	name=$1
	shift
	exact "$TMP/base" || { fail "$name: not converged before"; explain "$TMP/base"; }
	"$@" || fail "$name: cannot make the fault"
	if t=$(wait_for "$LIMIT" exact "$TMP/base"); then
		pass "$name: repaired in $t ms"
	else
		fail "$name: not repaired within $LIMIT ms"
		explain "$TMP/base"
		grep -v nftables "$TMP/dlog" | tail -8 | show
	fi
}
fault "scheduler edited (ipvsadm -E -s wlc)" \
	ipvsadm -E -t 10.96.0.10:53 -s wlc
fault "persistence added (ipvsadm -E -p 60)" \
	ipvsadm -E -t 10.96.1.1:80 -s rr -p 60
fault "real server weight edited (ipvsadm -e -w 7)" \
	ipvsadm -e -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 7
fault "real server forwarding edited (ipvsadm -e -g)" \
	ipvsadm -e -u 10.96.0.10:53 -r 10.244.0.2:53 -g -w 1
fault "kube-ipvs0 deleted" ip link del kube-ipvs0
fault "NodePort virtual server deleted" ipvsadm -D -t 192.168.7.1:30080
several() {
	ipvsadm -E -t 10.96.0.10:53 -s lc &&
		ipvsadm -e -t 10.96.1.1:80 -r 10.244.1.5:8080 -m -w 0 &&
		ip addr del 10.96.250.206/32 dev kube-ipvs0 &&
		ipvsadm -D -u 10.96.0.10:53
}
fault "four faults at once" several
# a virtual server on another port of a managed ClusterIP is on an
# address of kube-ipvs0: ipvs-svc's by its ownership rule (README), so
# removed like any stale one, as kube-proxy does
fault "a virtual server added on another port of a managed ClusterIP (removed: kube-ipvs0's addresses are owned)" \
	ipvsadm -A -t 10.96.0.10:5353 -s rr
# kube-ipvs0 set down: not drift the rules or addresses show (its local
# routes stay; kube-proxy leaves it down); reported, not required
ip link set kube-ipvs0 down
sleep 3
if ip -o link show kube-ipvs0 | grep -q ',UP'; then
	echo "note: kube-ipvs0 set down: brought up again"
else
	echo "note: kube-ipvs0 set down: left down (rules and addresses intact)"
fi
kill -0 $dpid 2>/dev/null || fail "the daemon died"
grep -q "repaired" "$TMP/dlog" || fail "repairs not logged"

# --- kill -9 releases the lock -----------------------------------------
kill -9 $dpid
wait $dpid 2>/dev/null
dpid=
# shellcheck disable=SC2086
"$BIN" sync --once --manifests "$SYNC/base.json" $NODE_B --state-dir "$SD" \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc = 0 ] && exact "$TMP/base"; then
	pass "kill -9 released the lock: sync --once runs"
else
	fail "after kill -9 of the daemon: sync --once exit $rc: $(cat "$TMP/err")"
fi

if [ $failures != 0 ]; then
	echo "--- daemon log (tail)"
	tail -30 "$TMP/dlog"
	echo "$failures failures"
fi
[ $failures = 0 ]
