#!/bin/sh
# demo.sh: the hostnames Service, end to end, in a kernel with IPVS.
#
# Run as root from a built tree (./configure && make):
#     examples/hostnames/demo.sh
# It boots User-mode Linux through tests/harness/kernel-run (or, on a host
# that has IPVS itself, uses a fresh network namespace), and inside starts
# three Pods as network namespaces, syncs manifests/ with ipvs-svc, and
# sends requests to the ClusterIP. Nothing leaves the guest.
set -u
self=$(readlink -f "$0")
here=$(dirname "$self")
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
IPVS_SVC=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}

if [ "${1:-}" != --inside ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "demo.sh: run as root: it makes network namespaces and IPVS rules (inside a User-mode Linux kernel)" >&2
		exit 2
	fi
	if ! [ -x "$IPVS_SVC" ]; then
		echo "demo.sh: no $IPVS_SVC: build first (./configure && make)" >&2
		exit 2
	fi
	make -s -C "$top_builddir" tests/kernel/k-podserver \
		tests/kernel/k-client >/dev/null || {
		echo "demo.sh: cannot build the Pod server and client (make tests/kernel/k-podserver tests/kernel/k-client)" >&2
		exit 2
	}
	echo "Booting a kernel with IPVS (a few seconds)..."
	exec "$top_srcdir/tests/harness/kernel-run" "$self" --inside
fi

# --- inside the kernel -------------------------------------------------------
. "$top_srcdir/tests/kernel/lib/pods.sh"
VIP=10.96.250.206
PORT=9376
NODE=node-1
work=$(mktemp -d /tmp/hostnames-demo.XXXXXX)
cp -r "$here/manifests" "$work/manifests"
M=$work/manifests

cleanup() {
	pods_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

heading() {
	printf '\n== %s\n' "$*"
}

indent() {
	sed 's/^/   /'
}

# ipvs-svc ARGS...: run it, showing the command as a person would type it.
ipvs_svc() {
	echo "\$ ipvs-svc $*" | sed "s|$work/||g"
	"$IPVS_SVC" "$@" 2>&1 | indent
}

# What would change (Service by Service), then the change itself.
sync_manifests() {
	ipvs_svc diff --manifests "$M" --hostname-override "$NODE"
	ipvs_svc sync --once --manifests "$M" --hostname-override "$NODE"
}

# requests N [SRC]: N requests to the ClusterIP, a bar per Pod.
requests() {
	_src=${2:+-s $2}
	# shellcheck disable=SC2086
	"$K_CLIENT" $_src -n "$1" "$VIP" "$PORT" | awk '{
		bar = ""
		for (i = 0; i < $2; i++)
			bar = bar "#"
		printf "   %-28s %3d %s\n", $1, $2, bar
	}'
}

pods_init || exit 1
heading "Three Pods, each a network namespace serving its own name on port $PORT"
for f in "$M"/pod-*.yaml; do
	name=$(awk '$1 == "name:" { print $2; exit }' "$f")
	ip=$(awk '$1 == "podIP:" { print $2; exit }' "$f")
	pod_add "$name" "$ip" "$PORT" || exit 1
	printf '   %-28s %s\n' "$name" "$ip"
	last=$name
	last_file=$f
done
echo "   (they run, but nothing routes the Service's ClusterIP $VIP to them yet)"

heading "Sync the manifests (a Service and three Pods) into IPVS"
sync_manifests

heading "30 requests to the ClusterIP $VIP:$PORT (round-robin)"
requests 30

heading "$last stops being ready (its Ready condition is now False)"
sed -i 's/status: "True"/status: "False"/' "$last_file"
sync_manifests
echo "30 requests: $last gets none, although it still runs"
requests 30

heading "The Service gets sessionAffinity: ClientIP"
sed -i 's/sessionAffinity: None/sessionAffinity: ClientIP/' "$M/service.yaml"
sync_manifests
for a in 10.0.0.11 10.0.0.12 10.0.0.13; do
	client_addr_add "$a" || exit 1
	echo "10 requests from client $a: all to one Pod"
	requests 10 "$a"
done

heading "What ipvs-svc owns in the kernel now"
ipvs_svc status --manifests "$M" --hostname-override "$NODE"

heading "Clean up"
ipvs_svc cleanup
echo "\$ ipvsadm -Ln"
ipvsadm -Ln | indent
