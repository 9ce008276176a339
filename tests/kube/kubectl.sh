#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test API server speaks the real protocol: kubectl lists and watches
# Services and EndpointSlices from it over TLS, with a token and with a
# client certificate.
set -eu
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v kubectl >/dev/null || { echo "kubectl missing: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

tmp=$(mktemp -d /tmp/ipvssvc-kubectl-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
sh "$srcdir/tests/apiserver/mkcerts.sh" "$tmp"
python3 "$srcdir/tests/apiserver/apiserver.py" --port-file "$tmp/port" \
	--cert "$tmp/server.crt" --key "$tmp/server.key" \
	--client-ca "$tmp/ca.crt" --token kubectl-token --lifetime 60 \
	--parent-pid $$ &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "test apiserver did not start"; exit 99; }
	sleep 0.1
done
port=$(cat "$tmp/port")
url=https://127.0.0.1:$port
ctl() { curl -sf --cacert "$tmp/ca.crt" -X POST "$url/_test/$1" -d "$2" >/dev/null; }

ctl apply '{"resource":"services","objects":[
 {"metadata":{"name":"web","namespace":"default"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.10","ports":[{"port":80,"protocol":"TCP"}]}},
 {"metadata":{"name":"dns","namespace":"kube-system"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.53","ports":[{"port":53,"protocol":"UDP"}]}}]}'
ctl apply '{"resource":"endpointslices","objects":[
 {"metadata":{"name":"web-abc","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["10.244.0.5"]}],"ports":[{"port":8080,"protocol":"TCP"}]}]}'

cat > "$tmp/kc-token" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: t
  cluster:
    server: $url
    certificate-authority: $tmp/ca.crt
contexts:
- name: t
  context: {cluster: t, user: u}
current-context: t
users:
- name: u
  user:
    token: kubectl-token
EOT
sed -e "s|token: kubectl-token|client-certificate: $tmp/client.crt\n    client-key: $tmp/client.key|" \
	"$tmp/kc-token" > "$tmp/kc-cert"

fail=0
check() { # description expected-output command...
	desc=$1 want=$2
	shift 2
	if out=$(timeout 20 "$@" 2>&1) && [ "$out" = "$want" ]; then
		echo "ok: $desc"
	else
		echo "FAIL: $desc"
		echo "  want: $(echo "$want" | tr '\n' ' ')"
		echo "  got:  $(echo "$out" | tr '\n' ' ')"
		fail=1
	fi
}
export KUBECONFIG=/nonexistent
for kc in kc-token kc-cert; do
	k="kubectl --kubeconfig $tmp/$kc"
	check "$kc: services, all namespaces" "$(printf 'default/web\nkube-system/dns')" \
		$k get services -A -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'
	check "$kc: endpointslices" "endpointslice.discovery.k8s.io/web-abc" \
		$k get endpointslices -n default -o name
	check "$kc: one service" "10.96.0.53" \
		$k get service dns -n kube-system -o 'jsonpath={.spec.clusterIP}'
	check "$kc: paged list" "$(printf 'service/dns\nservice/web')" \
		sh -c "$k get services -A --chunk-size=1 -o name | sort"
done

# a watch: kubectl sees an object added while it watches
( sleep 1.5; ctl apply '{"resource":"services","object":{"metadata":{"name":"late","namespace":"default"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.99"}}}' ) &
adder=$!
timeout -s KILL 6 kubectl --kubeconfig "$tmp/kc-token" get services \
	-n default --watch-only -o name > "$tmp/watch.out" 2>&1 || :
wait $adder
out=$(cat "$tmp/watch.out")
if echo "$out" | grep -qx 'service/late'; then
	echo "ok: watch"
else
	echo "FAIL: watch: $out"
	fail=1
fi

# refused: a wrong token, an unknown CA
sed -e 's/token: kubectl-token/token: wrong/' "$tmp/kc-token" > "$tmp/kc-wrong"
if timeout 20 kubectl --kubeconfig "$tmp/kc-wrong" get services -A >/dev/null 2>&1; then
	echo "FAIL: a wrong token was accepted"; fail=1
else
	echo "ok: wrong token refused"
fi
sed -e "s|$tmp/ca.crt|$tmp/bad-ca.crt|" "$tmp/kc-token" > "$tmp/kc-badca"
if timeout 20 kubectl --kubeconfig "$tmp/kc-badca" get services -A >/dev/null 2>&1; then
	echo "FAIL: an unknown CA was accepted"; fail=1
else
	echo "ok: unknown CA refused"
fi
exit $fail
