#!/bin/sh
# sync: `ipvs-svc sync --once`, diff, status and cleanup end to end in a
# kernel with IPVS, with ipvsadm and ip as the independent oracles:
# exact rules and addresses, zero operations on a second sync, edits in
# place, other programs' and excluded virtual servers left alone, the
# NodePort record, cleanup, and taking a node over from kube-proxy.
# Run as root inside a kernel with IPVS (tests/harness/kernel-run);
# exit 0 pass, 1 fail, 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/sync
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
TMP=$(mktemp -d /tmp/sync-test.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
RECORD=$IPVS_SVC_STATE_DIR/kube-ipvs0.nodeports
NODE="--hostname-override node-1 --nodeport-addresses 192.168.7.0/24"
EXCL="--ipvs-exclude-cidrs 10.200.0.0/16"
failures=0

trap 'rm -rf "$TMP"' EXIT

if ! command -v ipvsadm >/dev/null; then
	echo "sync: ipvsadm is needed as the oracle"
	exit 99
fi

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

# run ARGS...: ipvs-svc ARGS; stdout in $TMP/out, stderr in $TMP/err,
# exit status in $rc.
run() {
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# do_sync MANIFEST [ARGS...]: a sync that must succeed.
do_sync() {
	_m=$1
	shift
	# shellcheck disable=SC2086
	run sync --once --manifests "$DATA/$_m" $NODE "$@"
	if [ "$rc" != 0 ]; then
		fail "sync $_m $* exited $rc"
		show "$TMP/out" "$TMP/err"
		return 1
	fi
	return 0
}

rules() {
	ipvsadm -Sn | LC_ALL=C sort
}

addrs() {
	ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{print $4}' |
		sed 's|/.*||' | grep -v '^fe80:' | LC_ALL=C sort
}

# expect_rules WHAT FILE...: the kernel holds exactly the rules in FILEs.
expect_rules() {
	_what=$1
	shift
	cat "$@" | LC_ALL=C sort >"$TMP/want"
	rules >"$TMP/got"
	if cmp -s "$TMP/want" "$TMP/got"; then
		pass "$_what: rules"
	else
		fail "$_what: rules differ (- expected, + kernel)"
		diff -u "$TMP/want" "$TMP/got" | tail -n +3 | show
	fi
}

# expect_addrs WHAT ADDR...: kube-ipvs0 holds exactly these addresses.
expect_addrs() {
	_what=$1
	shift
	printf '%s\n' "$@" | grep -v '^$' | LC_ALL=C sort >"$TMP/want"
	addrs >"$TMP/got"
	if cmp -s "$TMP/want" "$TMP/got"; then
		pass "$_what: addresses"
	else
		fail "$_what: addresses differ (- expected, + kube-ipvs0)"
		diff -u "$TMP/want" "$TMP/got" | tail -n +3 | show
	fi
}

# expect_out WHAT PATTERN: the last output has a line matching PATTERN.
expect_out() {
	if grep -q -e "$2" "$TMP/out"; then
		pass "$1"
	else
		fail "$1: no line matching '$2' in the output"
		show "$TMP/out" "$TMP/err"
	fi
}

expect_rc() {
	if [ "$rc" = "$2" ]; then
		pass "$1: exit status $2"
	else
		fail "$1: exit status $rc, expected $2"
		show "$TMP/out" "$TMP/err"
	fi
}

# Another program's virtual server on a node address (keepalived-like).
FOREIGN="$TMP/foreign.ipvs"
cat >"$FOREIGN" <<EOF
-A -t 192.168.7.1:443 -s wlc
-a -t 192.168.7.1:443 -r 10.1.1.1:443 -m -w 3
EOF

ipvsadm -C
ip link add node0 type dummy || exit 99
ip addr add 192.168.7.1/24 dev node0 || exit 99
ip link set node0 up || exit 99
ipvsadm -A -t 192.168.7.1:443 -s wlc || exit 99
ipvsadm -a -t 192.168.7.1:443 -r 10.1.1.1:443 -m -w 3 || exit 99

echo "--- a first sync creates exactly the rules and addresses"
if do_sync base.json; then
	expect_out "first sync reports its operations" \
		'^sync: 1[0-9] operations, 0 failed$'
fi
expect_rules "first sync" "$DATA/base.ipvs" "$FOREIGN"
expect_addrs "first sync" $(cat "$DATA/base.addrs")
if grep -q '^tcp 192.168.7.1 30080$' "$RECORD" 2>/dev/null; then
	pass "the NodePort is recorded"
else
	fail "the NodePort is not in $RECORD"
	show "$RECORD"
fi

echo "--- a second sync changes nothing"
if do_sync base.json; then
	expect_out "second sync: zero operations" '^sync: 0 operations, 0 failed$'
fi
if do_sync base.json --output json; then
	expect_out "second sync (json): zero operations" '"count":0,'
fi
expect_rules "second sync" "$DATA/base.ipvs" "$FOREIGN"

echo "--- diff when in sync"
# shellcheck disable=SC2086
run diff --manifests "$DATA/base.json" $NODE
expect_rc "diff in sync" 0
expect_out "diff in sync says so" '^in sync'

echo "--- dry run changes nothing"
# shellcheck disable=SC2086
run sync --once --dry-run --manifests "$DATA/changed.json" $NODE
expect_rc "dry run" 0
expect_out "dry run prints the plan" \
	'^-a -t 10.96.250.206:9376 -r 10.244.0.75:9376 -m -w 1'
expect_rules "after the dry run" "$DATA/base.ipvs" "$FOREIGN"

echo "--- diff after the manifests changed"
# shellcheck disable=SC2086
run diff --manifests "$DATA/changed.json" $NODE
expect_rc "diff out of sync" 1
expect_out "diff names the Service" '^Service kube-system/hostnames$'
expect_out "diff shows the new real server" \
	'^  + TCP 10.96.250.206:9376 -> 10.244.0.75:9376'
expect_out "diff shows the old real server" \
	'^  - TCP 10.96.250.206:9376 -> 10.244.0.74:9376$'
if grep -q '192.168.7.1:443' "$TMP/out"; then
	fail "diff mentions the foreign virtual server"
	show "$TMP/out"
else
	pass "diff leaves the foreign virtual server out"
fi

echo "--- sync the change: new real servers before old ones go"
if do_sync changed.json --output json; then
	add=$(grep -n '"op":"add-server"' "$TMP/out" | head -n 1 | cut -d: -f1)
	del=$(grep -n '"op":"delete-server"' "$TMP/out" | head -n 1 | cut -d: -f1)
	if [ -n "$add" ] && [ -n "$del" ] && [ "$add" -lt "$del" ]; then
		pass "add-server before delete-server"
	else
		fail "add-server (line ${add:-none}) not before delete-server (line ${del:-none})"
		show "$TMP/out"
	fi
	expect_out "two operations" '"count":2,'
fi
expect_rules "changed" "$DATA/changed.ipvs" "$FOREIGN"
# shellcheck disable=SC2086
run diff --manifests "$DATA/changed.json" $NODE
expect_rc "diff after the sync" 0

echo "--- a scheduler change edits the virtual servers in place"
if do_sync changed.json --ipvs-scheduler lc --output json; then
	n=$(grep -c '"op":"edit-service"' "$TMP/out")
	others=$(grep '"op":' "$TMP/out" | grep -c -v '"op":"edit-service"')
	if [ "$n" = 5 ] && [ "$others" = 0 ]; then
		pass "only 5 edit-service operations"
	else
		fail "expected 5 edit-service and nothing else: $n edits, $others others"
		show "$TMP/out"
	fi
fi
sed 's/ -s rr$/ -s lc/' "$DATA/changed.ipvs" >"$TMP/changed-lc.ipvs"
expect_rules "scheduler lc (real servers kept)" "$TMP/changed-lc.ipvs" \
	"$FOREIGN"
do_sync changed.json && expect_rules "scheduler back to rr" \
	"$DATA/changed.ipvs" "$FOREIGN"

echo "--- virtual servers in --ipvs-exclude-cidrs are never touched"
ip addr add 10.200.0.1/32 dev kube-ipvs0
ipvsadm -A -t 10.200.0.1:80 -s sh
ipvsadm -a -t 10.200.0.1:80 -r 10.1.1.2:80 -m -w 2
EXCLUDED="$TMP/excluded.ipvs"
cat >"$EXCLUDED" <<EOF
-A -t 10.200.0.1:80 -s sh
-a -t 10.200.0.1:80 -r 10.1.1.2:80 -m -w 2
EOF
if do_sync changed.json $EXCL; then
	expect_out "excluded: zero operations" '^sync: 0 operations, 0 failed$'
fi
expect_rules "excluded kept" "$DATA/changed.ipvs" "$FOREIGN" "$EXCLUDED"
expect_addrs "excluded address kept" $(cat "$DATA/base.addrs") 10.200.0.1
# shellcheck disable=SC2086
run diff --manifests "$DATA/changed.json" $NODE $EXCL
expect_rc "diff with the exclusion" 0
# without the exclusion it is on our interface, so ours: only the
# exclusion protects it
# shellcheck disable=SC2086
run diff --manifests "$DATA/changed.json" $NODE
expect_rc "diff without the exclusion" 1
expect_out "diff without the exclusion would remove it" \
	'^  - TCP 10.200.0.1:80$'

echo "--- a removed NodePort Service: recorded NodePort removed"
if do_sync no-web.json $EXCL; then
	expect_out "no-web: 3 operations" '^sync: 3 operations, 0 failed$'
fi
expect_rules "no-web" "$DATA/no-web.ipvs" "$FOREIGN" "$EXCLUDED"
expect_addrs "no-web" 10.96.0.10 10.96.250.206 10.200.0.1
if [ -e "$RECORD" ]; then
	fail "the NodePort record still exists"
	show "$RECORD"
else
	pass "the NodePort record is gone"
fi

echo "--- status"
do_sync changed.json $EXCL
# shellcheck disable=SC2086
run status --manifests "$DATA/changed.json" $NODE $EXCL
expect_rc "status" 0
expect_out "status names the Service" '^Service kube-system/hostnames$'
expect_out "status shows the port and kind" \
	'TCP 10.96.250.206:9376  (port http, ClusterIP)'
expect_out "status shows the NodePort" \
	'TCP 192.168.7.1:30080  (port http, NodePort)'
expect_out "status shows real servers" \
	'-> 10.244.0.75:9376  masq  weight 1  active 0  inactive 0'
if grep -q -e '192.168.7.1:443' -e '10.200.0.1' "$TMP/out"; then
	fail "status shows rules that are not ours"
	show "$TMP/out"
else
	pass "status shows only ours"
fi
run status --output json
expect_rc "status json" 0
expect_out "status json has real servers" '"real_servers":\[{"address":'

echo "--- cleanup removes only ours"
run cleanup $EXCL
expect_rc "cleanup" 0
expect_rules "cleanup (exclusion)" "$FOREIGN" "$EXCLUDED"
if ip link show kube-ipvs0 >/dev/null 2>&1; then
	pass "kube-ipvs0 kept for the excluded address"
else
	fail "kube-ipvs0 removed under an excluded virtual server"
fi
run cleanup
expect_rc "cleanup without exclusion" 0
expect_rules "cleanup" "$FOREIGN"
if ip link show kube-ipvs0 >/dev/null 2>&1; then
	fail "kube-ipvs0 still exists after cleanup"
else
	pass "cleanup removed kube-ipvs0"
fi
if [ -e "$RECORD" ]; then
	fail "the NodePort record still exists after cleanup"
else
	pass "no NodePort record after cleanup"
fi

echo "--- taking over from kube-proxy: adopt, remove stale"
ip link add kube-ipvs0 type dummy
for a in 10.96.250.206 10.96.0.10 10.96.9.9; do
	ip addr add $a/32 dev kube-ipvs0
done
ipvsadm -A -t 10.96.250.206:9376 -s rr
ipvsadm -a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 1
ipvsadm -a -t 10.96.250.206:9376 -r 10.244.0.70:9376 -m -w 1
ipvsadm -A -u 10.96.0.10:53 -s rr
ipvsadm -a -u 10.96.0.10:53 -r 10.244.0.2:53 -m -w 1
ipvsadm -A -t 10.96.9.9:80 -s rr
ipvsadm -a -t 10.96.9.9:80 -r 10.244.3.3:80 -m -w 1
ifindex=$(cat /sys/class/net/kube-ipvs0/ifindex)
if do_sync base.json --output json; then
	if grep -q '"op":"add-service","rule":"-A -t 10.96.250.206' "$TMP/out" ||
		[ "$(cat /sys/class/net/kube-ipvs0/ifindex)" != "$ifindex" ]; then
		fail "takeover re-created what it should adopt"
		show "$TMP/out"
	else
		pass "takeover adopts kube-ipvs0 and the virtual servers"
	fi
fi
expect_rules "takeover" "$DATA/base.ipvs" "$FOREIGN"
expect_addrs "takeover" $(cat "$DATA/base.addrs")
if do_sync base.json; then
	expect_out "after takeover: zero operations" \
		'^sync: 0 operations, 0 failed$'
fi

echo "--- bad input"
run sync --once --manifests "$TMP/nonexistent.json"
expect_rc "missing manifests" 2
run sync --once --manifests "$DATA/base.json" --ipvs-scheduler nope
expect_rc "unknown scheduler" 2
run sync --manifests "$DATA/base.json"
expect_rc "sync without --once" 2

echo "--- the applier when the kernel moved since it was read"
APPLY=$top_builddir/tests/kernel/k-apply
[ -x "$top_builddir/tests/kernel/.libs/k-apply" ] &&
	APPLY=$top_builddir/tests/kernel/.libs/k-apply
if ip netns add ipvssvc-apply; then
	ip netns exec ipvssvc-apply "$APPLY" >"$TMP/out" 2>&1
	rc=$?
	ip netns del ipvssvc-apply
	expect_rc "k-apply" 0
else
	fail "cannot create a network namespace for k-apply"
fi

run cleanup
expect_rules "final cleanup" "$FOREIGN"
ipvsadm -C
ip link del node0

if [ "$failures" -ne 0 ]; then
	echo "sync: $failures failures"
	exit 1
fi
echo "sync: all passed"
exit 0
