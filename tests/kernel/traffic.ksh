#!/bin/sh
# traffic: real packets through the rules `ipvs-svc sync --once` programs.
# Three Pods (network namespaces behind veth pairs, each answering with its
# name on TCP and UDP port 9376), the hostnames Service on a ClusterIP and a
# UDP twin, a client in the root namespace. Run as root in a kernel with
# IPVS (tests/harness/kernel-run); exit 0 pass, 1 fail, 77 skip.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/kernel/lib/pods.sh"

# IPVSSVC_BIN names another binary (the harness passes IPVSSVC_* through).
IPVS_SVC=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
DATA=$top_srcdir/tests/data/traffic
VIP=10.96.250.206
UDP_VIP=10.96.250.207
PORT=9376
PODS="hostnames-a hostnames-b hostnames-c"
TMP=$(mktemp -d /tmp/traffic.XXXXXX)
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

finish() {
	pkill_pid=$(cat "$TMP/hold.pid" 2>/dev/null) &&
		kill "$pkill_pid" 2>/dev/null
	pods_cleanup
	rm -rf "$TMP"
}
trap finish EXIT

# sync FILE [ARGS...]: one `sync --once`; its output in $TMP/sync.out.
sync_to() {
	_f=$1
	shift
	"$IPVS_SVC" sync --once --manifests "$DATA/$_f" \
		--hostname-override node-1 "$@" >"$TMP/sync.out" 2>&1
	_rc=$?
	if [ "$_rc" != 0 ]; then
		fail "sync $_f $* exited $_rc"
		sed 's/^/  | /' "$TMP/sync.out"
		return 1
	fi
	return 0
}

# count NAME FILE: the count k-client -n printed for NAME (0 if none).
count() {
	awk -v n="$1" '$1 == n { c = $2 } END { print c + 0 }' "$2"
}

# A loaded machine makes User-mode Linux slow: be patient per answer.
client() {
	"$K_CLIENT" -t 5000 "$@"
}

# show [FILE]: indented, for the log.
show() {
	sed 's/^/  | /' "$@"
}

# The virtual server line of ADDR:PORT in `ipvsadm -Sn`.
vs_line() {
	ipvsadm -Sn | grep -E -- "^-A -[tu] $1:$PORT( |$)"
}

# Active connections on real server RS of virtual server VS (TCP).
active_conns() {
	ipvsadm -Ln -t "$1:$PORT" 2>/dev/null |
		awk -v rs="$2:$PORT" '$2 == rs { print $5 }'
}

# --- setup -----------------------------------------------------------------
if ! [ -x "$IPVS_SVC" ]; then
	echo "no ipvs-svc at $IPVS_SVC: run make" >&2
	exit 77
fi
pods_init || exit 99
i=72
for p in $PODS; do
	pod_add "$p" "10.244.0.$i" "$PORT" || exit 99
	i=$((i + 1))
done
for a in 10.0.0.11 10.0.0.12 10.0.0.13; do
	client_addr_add "$a" || exit 99
done
# Another program's virtual server, on an address ipvs-svc does not own:
# it must outlive every sync and the cleanup.
FOREIGN=10.123.0.1:80
ipvsadm -A -t "$FOREIGN" -s wrr &&
	ipvsadm -a -t "$FOREIGN" -r 10.244.0.72:9376 -m -w 3 || exit 99
ipvsadm -Sn | grep -F -- "$FOREIGN" >"$TMP/foreign"

foreign_intact() {
	ipvsadm -Sn | grep -F -- "$FOREIGN" >"$TMP/foreign-now"
	cmp -s "$TMP/foreign" "$TMP/foreign-now" ||
		fail "the foreign virtual server changed after $1"
}

# --- round-robin reaches every ready Pod -------------------------------------
echo "# round-robin over three ready Pods"
if sync_to hostnames.json; then
	client -n 30 "$VIP" "$PORT" >"$TMP/rr" 2>&1
	show "$TMP/rr"
	bad=0
	for p in $PODS; do
		[ "$(count "$p" "$TMP/rr")" = 10 ] || bad=1
	done
	[ "$(count "(no-answer)" "$TMP/rr")" = 0 ] || bad=1
	if [ $bad = 0 ]; then
		pass "30 TCP requests: 10 to each Pod"
	else
		fail "round-robin did not give 10 to each Pod"
		ipvsadm -Sn | show
	fi
fi

# --- a UDP Service answers ----------------------------------------------------
echo "# UDP Service"
client -u -n 9 "$UDP_VIP" "$PORT" >"$TMP/udp" 2>&1
show "$TMP/udp"
bad=0
for p in $PODS; do
	[ "$(count "$p" "$TMP/udp")" -gt 0 ] || bad=1
done
[ "$(count "(no-answer)" "$TMP/udp")" = 0 ] || bad=1
if [ $bad = 0 ]; then
	pass "9 UDP datagrams answered, every Pod answered"
else
	fail "UDP Service: not every datagram answered by the three Pods"
fi

# --- a second sync makes zero changes ----------------------------------------
echo "# a second sync changes nothing"
ipvsadm -Sn >"$TMP/before"
ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{ print $4 }' |
	sort >"$TMP/addrs-before"
if sync_to hostnames.json -o json; then
	ipvsadm -Sn >"$TMP/after"
	ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{ print $4 }' |
		sort >"$TMP/addrs-after"
	if cmp -s "$TMP/before" "$TMP/after" &&
		cmp -s "$TMP/addrs-before" "$TMP/addrs-after"; then
		pass "IPVS table and kube-ipvs0 addresses unchanged"
	else
		fail "the second sync changed the kernel"
		diff "$TMP/before" "$TMP/after" | show
	fi
	if grep -q '"count": *0[,}]' "$TMP/sync.out"; then
		pass "the second sync performed zero operations"
	else
		fail "the second sync performed operations"
		show "$TMP/sync.out"
	fi
	# The command's own account: a plan for the same input is empty.
	"$IPVS_SVC" diff --manifests "$DATA/hostnames.json" \
		--hostname-override node-1 >"$TMP/diff" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		pass "diff after the sync: in sync (exit 0)"
	else
		fail "diff after a sync exited $rc"
		show "$TMP/diff"
	fi
fi

# --- a not-ready Pod gets no traffic -----------------------------------------
echo "# hostnames-c not ready"
"$IPVS_SVC" diff --manifests "$DATA/hostnames-one-not-ready.json" \
	--hostname-override node-1 >"$TMP/diff" 2>&1
rc=$?
if [ $rc = 1 ]; then
	pass "diff before syncing a change: out of sync (exit 1)"
else
	fail "diff with a changed manifest exited $rc, not 1"
	show "$TMP/diff"
fi
if sync_to hostnames-one-not-ready.json; then
	client -n 20 "$VIP" "$PORT" >"$TMP/nr" 2>&1
	show "$TMP/nr"
	if [ "$(count hostnames-a "$TMP/nr")" = 10 ] &&
		[ "$(count hostnames-b "$TMP/nr")" = 10 ] &&
		[ "$(count hostnames-c "$TMP/nr")" = 0 ] &&
		[ "$(count "(no-answer)" "$TMP/nr")" = 0 ]; then
		pass "20 requests: 10 to each ready Pod, none to hostnames-c"
	else
		fail "not-ready Pod: wrong spread"
		ipvsadm -Sn | show
	fi
fi

# --- ClientIP affinity: one client, one Pod ------------------------------------
echo "# sessionAffinity: ClientIP"
if sync_to hostnames-client-ip.json; then
	vs_line "$VIP" | grep -q -- " -p 10800" ||
		fail "no persistence on $VIP: $(vs_line "$VIP")"
	seen=""
	for a in 10.0.0.11 10.0.0.12 10.0.0.13; do
		client -s "$a" -n 10 "$VIP" "$PORT" >"$TMP/aff" 2>&1
		echo "  client $a:"
		show "$TMP/aff"
		if [ "$(wc -l <"$TMP/aff")" = 1 ] &&
			[ "$(awk '{ print $2 }' "$TMP/aff")" = 10 ] &&
			! grep -q no-answer "$TMP/aff"; then
			pass "client $a: 10 requests, all to $(awk '{ print $1 }' "$TMP/aff")"
			seen="$seen $(awk '{ print $1 }' "$TMP/aff")"
		else
			fail "client $a was not kept on one Pod"
		fi
	done
	# Affinity pins a client, it does not pin everyone to one Pod.
	n=$(echo "$seen" | tr ' ' '\n' | grep -c . | tr -d ' ')
	u=$(echo "$seen" | tr ' ' '\n' | grep . | sort -u | wc -l | tr -d ' ')
	[ "$n" = 3 ] && [ "$u" -lt 2 ] &&
		fail "three clients all on one Pod under round-robin"
fi

# --- editing the scheduler keeps an established connection -------------------
echo "# scheduler edits keep an established TCP connection"
if sync_to hostnames.json; then
	rm -f "$TMP/stop"
	"$K_CLIENT" -t 5000 -H "$TMP/stop" -i 100 -T 900 "$VIP" "$PORT" \
		>"$TMP/hold" 2>&1 &
	echo $! >"$TMP/hold.pid"
	n=0
	while ! [ -s "$TMP/hold" ] && [ $n -lt 150 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	held=$(head -n 1 "$TMP/hold")
	ip=$(for p in $PODS; do echo "$p"; done | awk -v h="$held" \
		'$1 == h { print "10.244.0." 72 + NR - 1 }')
	echo "  held connection to ${held:-nothing} (${ip:-?})"
	step() {
		_what=$1
		shift
		sync_to "$@" || return 1
		sleep 0.5
		_s=$(vs_line "$VIP")
		_a=$(active_conns "$VIP" "$ip")
		echo "  after $_what: $_s; ActiveConn $_a on $ip"
		[ "$_a" = 1 ] ||
			fail "after $_what the connection is gone from IPVS"
	}
	step "--ipvs-scheduler lc" hostnames.json --ipvs-scheduler lc
	vs_line "$VIP" | grep -q -- "-s lc" || fail "scheduler flag not applied"
	step "back to rr" hostnames.json
	vs_line "$VIP" | grep -q -- "-s rr" || fail "scheduler not back to rr"
	step "annotation ipvs-svc.io/scheduler: lc" hostnames-scheduler-lc.json
	vs_line "$VIP" | grep -q -- "-s lc" ||
		fail "scheduler annotation not applied"
	touch "$TMP/stop"
	wait "$(cat "$TMP/hold.pid")"
	rc=$?
	rm -f "$TMP/hold.pid"
	show "$TMP/hold"
	if [ $rc = 0 ] && grep -q "^held $held " "$TMP/hold"; then
		pass "connection to $held alive through three scheduler edits"
	else
		fail "the established connection did not survive (exit $rc)"
	fi
fi

foreign_intact "the syncs and diffs"

# --- cleanup --------------------------------------------------------------------
echo "# cleanup"
"$IPVS_SVC" cleanup >"$TMP/cleanup" 2>&1 || {
	fail "cleanup exited $?"
	show "$TMP/cleanup"
}
if ipvsadm -Sn | grep -q -E -- "($VIP|$UDP_VIP):"; then
	fail "cleanup left virtual servers"
	ipvsadm -Sn | show
else
	pass "cleanup removed the Services"
fi
foreign_intact cleanup
ipvsadm -D -t "$FOREIGN"

echo "# $failures failure(s)"
[ $failures = 0 ]
