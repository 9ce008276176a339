#!/bin/sh
# kube-sync: `ipvs-svc sync --once --kubeconfig` against the test API
# server (tests/apiserver, TLS on 127.0.0.1) programs exactly the rules
# and addresses that `sync --once --manifests` programs from the same
# objects. Run as root inside a kernel with IPVS (tests/harness/kernel-run);
# exit 0 pass, 1 fail, 77 skip, 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/sync
API=$top_srcdir/tests/apiserver
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
NODE="--hostname-override node-1 --nodeport-addresses 192.168.7.0/24"
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

if ! "$BIN" sync --help 2>&1 | grep -q -- '--kubeconfig'; then
	echo "kube-sync: ipvs-svc sync has no --kubeconfig: skipped"
	exit 77
fi
for c in python3 openssl curl ipvsadm; do
	command -v $c >/dev/null || { echo "kube-sync: $c missing"; exit 77; }
done

TMP=$(mktemp -d /tmp/kube-sync.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$TMP"' EXIT
failures=0

sh "$API/mkcerts.sh" "$TMP/pki" server-only || exit 99
python3 "$API/apiserver.py" --port-file "$TMP/port" \
	--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
	--token kube-sync-token --lifetime 120 --parent-pid $$ &
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
    token: kube-sync-token
EOT
ip link add node0 type dummy || exit 99
ip addr add 192.168.7.1/24 dev node0 || exit 99
ip link set node0 up

ctl() {
	curl -sf --cacert "$TMP/pki/ca.crt" -X POST "$url/_test/$1" \
		--data-binary "$2" >/dev/null
}

clean() {
	ipvsadm -C
	ip link del kube-ipvs0 2>/dev/null
	rm -rf "$IPVS_SVC_STATE_DIR"
}

snapshot() {
	{
		ipvsadm -Sn | LC_ALL=C sort
		echo "--- addresses"
		ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{print $4}' |
			grep -v '^fe80:' | LC_ALL=C sort
	} > "$1"
}

# (these manifests hold only kinds the API server serves: Services and
# EndpointSlices)
for m in base changed no-web; do
	cp "$DATA/$m.json" "$TMP/$m.json"
	clean
	# shellcheck disable=SC2086
	if ! "$BIN" sync --once --manifests "$TMP/$m.json" $NODE \
		>"$TMP/out" 2>&1; then
		echo "FAIL: $m: sync --manifests"; sed 's/^/  | /' "$TMP/out"
		failures=$((failures + 1))
		continue
	fi
	snapshot "$TMP/$m.manifests"
	clean
	ctl reset '{}'
	ctl load "@$TMP/$m.json"
	# shellcheck disable=SC2086
	if ! "$BIN" sync --once --kubeconfig "$TMP/kubeconfig" $NODE \
		>"$TMP/out" 2>&1; then
		echo "FAIL: $m: sync --kubeconfig"; sed 's/^/  | /' "$TMP/out"
		failures=$((failures + 1))
		continue
	fi
	snapshot "$TMP/$m.kube"
	if grep -q kube-sync-token "$TMP/out"; then
		echo "FAIL: $m: the token appears in the output"
		failures=$((failures + 1))
	fi
	if ! grep -q '^-A' "$TMP/$m.kube"; then
		echo "FAIL: $m: no rules at all"
		failures=$((failures + 1))
	elif cmp -s "$TMP/$m.manifests" "$TMP/$m.kube"; then
		echo "ok: $m: same rules and addresses from the API server"
	else
		echo "FAIL: $m: rules differ (manifests, API server):"
		diff "$TMP/$m.manifests" "$TMP/$m.kube" | sed 's/^/  | /'
		failures=$((failures + 1))
	fi
done
clean
[ $failures = 0 ]
