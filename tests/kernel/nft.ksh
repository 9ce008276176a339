#!/bin/sh
# kernel: qemu
# nft: the nftables data path around IPVS with real packets. The root
# namespace is the node (192.168.100.1 on ext0); an external client is the
# namespace nft-ext (192.168.100.2 and .3), Pods are namespaces behind
# veth pairs (tests/kernel/lib/pods.sh), each running k-nftpeer on 8080,
# which answers "NAME/SOURCE-IT-SAW". Services: tests/data/nft/kernel.
# Needs nftables' inet family: the harness boots qemu (the line above),
# or runs on the host as root. Exit 0 pass, 1 fail, 77 skip.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/kernel/lib/pods.sh"

IPVS_SVC=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
PEER=$top_builddir/tests/kernel/k-nftpeer
K_NFT=$top_builddir/tests/kernel/k-nft
DATA=$top_srcdir/tests/data/nft/kernel
TMP=$(mktemp -d /tmp/nft-ksh.XXXXXX)
EXT="ip netns exec nft-ext"
NODE=192.168.100.1
CLIENT=192.168.100.2
OUTSIDER=192.168.100.3
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

finish() {
	for p in $(cat "$TMP/pids" 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
	pods_cleanup
	ip netns del nft-ext 2>/dev/null
	nft delete table inet ipvs-svc 2>/dev/null
	nft delete table inet other-prog 2>/dev/null
	nft delete table ip other-ip 2>/dev/null
	rm -rf "$TMP"
}
trap finish EXIT

command -v nft >/dev/null || {
	echo "nft: no nft command (package nftables): skipped"
	exit 77
}
if ! nft add table inet nft-probe 2>/dev/null; then
	echo "nft: this kernel has no nftables inet family: skipped"
	exit 77
fi
nft delete table inet nft-probe
[ -x "$PEER" ] && [ -x "$K_NFT" ] ||
	make -s -C "$top_builddir" tests/kernel/k-nftpeer tests/kernel/k-nft \
		>/dev/null 2>&1
pods_init || exit 99

# sync FILE [ARGS]: sync --once, output in $TMP/sync.out
sync_to() {
	_f=$1
	shift
	timeout 300 "$IPVS_SVC" sync --once --manifests "$DATA/$_f" \
		--hostname-override node-1 --cluster-cidr 10.244.0.0/16 \
		--nodeport-addresses 192.168.100.0/24 \
		--state-dir "$TMP/state" "$@" >"$TMP/sync.out" 2>&1
	_rc=$?
	if [ "$_rc" != 0 ]; then
		fail "sync $_f exited $_rc"
		sed 's/^/  | /' "$TMP/sync.out"
	fi
	return "$_rc"
}

# peer_start POD NAME: k-nftpeer in the Pod's namespace, on 8080
peer_start() {
	ip netns exec "pod-$1" "$PEER" -s "$2" 8080 &
	echo $! >>"$TMP/pids"
}

# ask [-u] [-b SRC] ADDR PORT (from the external client): the answer
ask() {
	$EXT "$PEER" -t 3000 "$@" 2>/dev/null
}

# --- the topology ---------------------------------------------------------
for s in net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter; do
	pods_sysctl "$s" 0
done
ip netns add nft-ext &&
	ip link add ext0 type veth peer name eth0 netns nft-ext &&
	ip addr add "$NODE/24" dev ext0 &&
	ip link set ext0 up &&
	$EXT ip link set lo up &&
	$EXT ip addr add "$CLIENT/24" dev eth0 &&
	$EXT ip addr add "$OUTSIDER/24" dev eth0 &&
	$EXT ip link set eth0 up &&
	$EXT ip route add default via "$NODE" || {
	echo "cannot make the external client"
	exit 99
}
pod_add a 10.244.1.2 && pod_add b 10.244.1.3 && pod_add c 10.244.1.4 ||
	exit 99
peer_start a a
peer_start b b
peer_start c c
# the node's own service, as sshd: not to be reached on a ClusterIP
"$PEER" -s node 2222 &
echo $! >>"$TMP/pids"

# another program's rules, in its own tables
nft add table inet other-prog &&
	nft add chain inet other-prog c \
		'{ type filter hook input priority 10; policy accept; }' &&
	nft add rule inet other-prog c counter accept comment '"keep-me"' &&
	nft add table ip other-ip &&
	nft add chain ip other-ip c &&
	nft add rule ip other-ip c counter comment '"keep-me-too"' || {
	echo "cannot add the other program's tables"
	exit 99
}
sleep 1

# --- dry run and first sync -----------------------------------------------
if sync_to base.yaml --dry-run &&
	grep -q '+ table inet ipvs-svc' "$TMP/sync.out"; then
	pass "dry run shows the table to create"
else
	fail "dry run does not show the table"
	sed 's/^/  | /' "$TMP/sync.out"
fi
nft list table inet ipvs-svc >/dev/null 2>&1 &&
	fail "dry run created the table"

sync_to base.yaml || exit 1
if nft list table inet ipvs-svc >"$TMP/table" 2>&1; then
	pass "sync loaded table inet ipvs-svc ($(grep -c . "$TMP/table") lines)"
else
	fail "no table after sync"
	cat "$TMP/table"
fi
[ "$(cat /proc/sys/net/ipv4/vs/conntrack)" = 1 ] ||
	fail "sync did not set net.ipv4.vs.conntrack"
timeout 120 "$IPVS_SVC" diff --manifests "$DATA/base.yaml" \
	--hostname-override node-1 \
	--cluster-cidr 10.244.0.0/16 --nodeport-addresses 192.168.100.0/24 \
	--state-dir "$TMP/state" >"$TMP/diff.out" 2>&1
rc=$?
if [ $rc = 0 ]; then
	pass "diff after sync: in sync, nftables too"
else
	fail "diff after sync exited $rc"
	sed 's/^/  | /' "$TMP/diff.out"
fi

# --- NodePort and LB IP, externalTrafficPolicy ---------------------------
# is_node ADDR: an address of the node (root namespace)
is_node() {
	ip -o addr show | awk '{ sub("/.*", "", $4); print $4 }' | grep -qx "$1"
}

for target in "$NODE 30080" "203.0.113.10 80"; do
	# shellcheck disable=SC2086
	out=$(ask $target)
	src=${out#a/}
	if [ "${out%%/*}" = a ] && [ "$src" != "$CLIENT" ] && is_node "$src"; then
		pass "Cluster policy $target: Pod a saw the node's $src, reply came back"
	else
		fail "Cluster policy $target: answer '$out'"
	fi
done
for target in "$NODE 30081" "203.0.113.11 80"; do
	# shellcheck disable=SC2086
	out=$(ask $target)
	if [ "$out" = "b/$CLIENT" ]; then
		pass "Local policy $target: Pod b saw the client's address"
	else
		fail "Local policy $target: answer '$out' (want b/$CLIENT)"
	fi
done
# from outside the cluster CIDR, a ClusterIP is masqueraded too
out=$(ask 10.96.0.10 80)
if [ "${out%%/*}" = a ] && [ "${out#a/}" != "$CLIENT" ]; then
	pass "ClusterIP from outside the cluster CIDR masqueraded ($out)"
else
	fail "ClusterIP from outside: answer '$out'"
fi
# Pod to Pod through a ClusterIP keeps its address
out=$(ip netns exec pod-b "$PEER" -t 3000 10.96.0.10 80)
if [ "$out" = "a/10.244.1.3" ]; then
	pass "ClusterIP from a Pod keeps the Pod's address"
else
	fail "ClusterIP from Pod b: answer '$out' (want a/10.244.1.3)"
fi

# --- hairpin ------------------------------------------------------------
out=$(ip netns exec pod-a "$PEER" -t 3000 10.96.0.10 80)
if [ "${out%%/*}" = a ] && [ "${out#a/}" != 10.244.1.2 ]; then
	pass "hairpin: Pod a reached itself through its ClusterIP ($out)"
else
	fail "hairpin: answer '$out'"
fi

# --- filtering ------------------------------------------------------------
out=$(ask 10.96.0.10 2222)
if [ "$out" = "(no-answer)" ]; then
	pass "ClusterIP on a port that is no Service port: refused"
else
	fail "ClusterIP:2222 reached '$out'"
fi
out=$(ask "$NODE" 2222)
[ "${out%%/*}" = node ] || fail "the node's own address:2222 not reached ('$out')"
out=$("$PEER" -t 3000 10.96.0.10 2222 2>/dev/null)
[ "$out" = "(no-answer)" ] || fail "ClusterIP:2222 reached from the node ('$out')"
out=$(ask 10.96.0.10 80)
[ "${out%%/*}" = a ] || fail "the Service port stopped working ('$out')"

# --- loadBalancerSourceRanges --------------------------------------------
out=$(ask -b "$CLIENT" 203.0.113.12 80)
if [ "${out%%/*}" = a ]; then
	pass "source range: $CLIENT (listed) reaches the LB IP"
else
	fail "source range: $CLIENT got '$out'"
fi
out=$(ask -b "$OUTSIDER" 203.0.113.12 80)
if [ "$out" = "(no-answer)" ]; then
	pass "source range: $OUTSIDER (not listed) cannot reach the LB IP"
else
	fail "source range: $OUTSIDER got '$out'"
fi
out=$(ask -b "$OUTSIDER" 203.0.113.10 80)
[ "${out%%/*}" = a ] || fail "an LB IP without ranges refused $OUTSIDER ('$out')"

# --- UDP: from no endpoints to some while a client keeps sending ----------
# While dns has no endpoint IPVS drops the client's datagrams before
# conntrack confirms an entry, but an entry toward its address can still
# exist (made before the virtual server was, or by another path): one is
# made here with k-ct. The sync that brings the endpoint deletes it
# (issue 7), the entries of other Services stay, and the client's
# datagrams reach the Pod.
K_CT=$top_builddir/tests/kernel/k-ct
[ -x "$K_CT" ] || make -s -C "$top_builddir" tests/kernel/k-ct >/dev/null 2>&1
if sync_to udp-none.yaml; then
	echo "  (UDP client starts at $(date +%T), dns has no endpoints)"
	$EXT "$PEER" -S -i 100 -T 60 10.96.0.20 53 >"$TMP/udp0.out" 2>&1 &
	udp_pid=$!
	echo $udp_pid >>"$TMP/pids"
	"$K_CT" add "$CLIENT" 40053 10.96.0.20 53 &&
		"$K_CT" add "$CLIENT" 40054 10.96.0.30 53 ||
		fail "k-ct could not add conntrack entries"
	n0=$("$K_CT" count 10.96.0.20 53 40053)
	sleep 2
	: >"$TMP/udp0.out"
	sync_to base.yaml -v 1
	n1=$("$K_CT" count 10.96.0.20 53 40053)
	other=$("$K_CT" count 10.96.0.30 53 40054)
	sleep 3
	kill "$udp_pid" 2>/dev/null
	wait "$udp_pid" 2>/dev/null
	after=$(tail -n 10 "$TMP/udp0.out" | grep -c '^c/')
	if [ "${n0:-0}" -ge 1 ] && [ "${n1:-1}" = 0 ] && [ "${other:-0}" = 1 ] &&
		grep -q "conntrack: deleted [1-9][0-9]* stale UDP" "$TMP/sync.out" &&
		[ "$after" = 10 ]; then
		pass "UDP none to some: $n0 entry for dns deleted, an unrelated one kept, Pod c answers"
	else
		fail "UDP none to some: dns entries $n0 then $n1, other $other, $after of the last 10 answered by c"
		grep -i conntrack "$TMP/sync.out" | sed 's/^/  | /'
		sort "$TMP/udp0.out" | uniq -c | sed 's/^/  | /'
	fi
fi

# --- UDP: the only Pod replaced while a client keeps sending --------------
echo "  (UDP client starts at $(date +%T))"
$EXT "$PEER" -S -i 100 -T 120 10.96.0.20 53 >"$TMP/udp.out" 2>&1 &
udp_pid=$!
echo $udp_pid >>"$TMP/pids"
sleep 3
pod_del c
pod_add d 10.244.1.5 || exit 99
peer_start d d
sleep 1
echo "  (Pod c replaced by d at $(date +%T))"
timeout 120 "$IPVS_SVC" diff --manifests "$DATA/udp-replaced.yaml" \
	--hostname-override node-1 --cluster-cidr 10.244.0.0/16 \
	--nodeport-addresses 192.168.100.0/24 --state-dir "$TMP/state" \
	>"$TMP/diff.out" 2>&1
if grep -q '^  + set hairpin-v4 10.244.1.5 . 10.244.1.5' "$TMP/diff.out" &&
	grep -q '^  - set hairpin-v4 10.244.1.4 . 10.244.1.4' "$TMP/diff.out"; then
	pass "diff shows the nftables changes"
else
	fail "diff does not show the nftables changes"
	sed 's/^/  | /' "$TMP/diff.out"
fi
sync_to udp-replaced.yaml -v 1
echo "  (synced at $(date +%T))"
sleep 5
kill "$udp_pid" 2>/dev/null
wait "$udp_pid" 2>/dev/null
before=$(grep -c '^c/' "$TMP/udp.out")
after=$(tail -n 20 "$TMP/udp.out" | grep -c '^d/')
if [ "$before" -gt 0 ] && [ "$after" = 20 ]; then
	pass "UDP: $before answers from c, then the new Pod d answers"
else
	fail "UDP: $before answers from c, $after of the last 20 from d"
	sort "$TMP/udp.out" | uniq -c | sed 's/^/  | /'
	grep -i conntrack "$TMP/sync.out" | sed 's/^/  | /'
fi

# --- ownership: other tables survive sync and cleanup --------------------
sync_to base.yaml
nft list table inet other-prog 2>/dev/null | grep -q keep-me &&
	nft list table ip other-ip 2>/dev/null | grep -q keep-me-too ||
	fail "another program's table lost its rule after sync"
timeout 300 "$IPVS_SVC" cleanup --state-dir "$TMP/state" \
	>"$TMP/cleanup.out" 2>&1 ||
	fail "cleanup exited $?"
if nft list table inet ipvs-svc >/dev/null 2>&1; then
	fail "cleanup left table inet ipvs-svc"
else
	pass "cleanup deleted table inet ipvs-svc"
fi
if nft list table inet other-prog 2>/dev/null | grep -q keep-me &&
	nft list table ip other-ip 2>/dev/null | grep -q keep-me-too; then
	pass "another program's tables survive sync and cleanup"
else
	fail "another program's table lost after cleanup"
fi

# --- constant rules: 10 and 10,000 Services --------------------------------
# gen N: N LoadBalancer Services with source ranges, one endpoint each
gen() {
	awk -v n="$1" 'BEGIN {
		printf "{\"kind\":\"List\",\"items\":["
		for (i = 0; i < n; i++) {
			a = int(i / 250); b = i % 250 + 1
			printf "%s{\"apiVersion\":\"v1\",\"kind\":\"Service\",", i ? "," : ""
			printf "\"metadata\":{\"name\":\"s%d\",\"namespace\":\"n\"},", i
			printf "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.%d.%d\",", a, b
			printf "\"externalTrafficPolicy\":\"%s\",", i % 2 ? "Local" : "Cluster"
			printf "\"loadBalancerSourceRanges\":[\"192.0.2.0/24\"],"
			printf "\"ports\":[{\"port\":80,\"nodePort\":%d}]},", 20000 + i
			printf "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.18.%d.%d\"}]}}},", a, b
			printf "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
			printf "\"metadata\":{\"name\":\"s%d\",\"namespace\":\"n\",", i
			printf "\"labels\":{\"kubernetes.io/service-name\":\"s%d\"}},", i
			printf "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.244.%d.%d\"],", a, b
			printf "\"nodeName\":\"node-1\"}],\"ports\":[{\"port\":8080}]}"
		}
		printf "]}\n"
	}'
}
# Under qemu's emulation, loading a big concatenated interval set is slow
# (minutes for 10,000 Services): fewer there unless IPVSSVC_NFT_MANY says.
many=${IPVSSVC_NFT_MANY:-10000}
[ "${IPVSSVC_IN_QEMU:-0}" = 1 ] && many=${IPVSSVC_NFT_MANY:-1000}
for n in 10 "$many"; do
	gen "$n" >"$TMP/many-$n.json"
	t0=$(date +%s)
	if ! timeout 300 "$K_NFT" "$TMP/many-$n.json" 10.244.0.0/16 >"$TMP/k-nft.out" 2>&1; then
		fail "k-nft $n Services"
		cat "$TMP/k-nft.out"
		continue
	fi
	rules=$(nft list table inet ipvs-svc | awk '/^\tchain /{ c = 1; next }
		/^\t}/{ c = 0 } c && !/^\t\ttype /{ n++ } END { print n + 0 }')
	echo "$rules" >"$TMP/rules-$n"
	echo "  $n Services: $rules rules, $(cat "$TMP/k-nft.out")" \
		"($(($(date +%s) - t0)) s)"
done
if [ -s "$TMP/rules-10" ] &&
	[ "$(cat "$TMP/rules-10")" = "$(cat "$TMP/rules-$many" 2>/dev/null)" ]; then
	pass "the same $(cat "$TMP/rules-10") rules for 10 and $many Services"
else
	fail "rule counts differ for 10 and $many Services"
fi

if [ $failures -gt 0 ]; then
	echo "nft: $failures failures"
	exit 1
fi
echo "nft: all passed"
exit 0
