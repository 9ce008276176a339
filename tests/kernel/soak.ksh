#!/bin/sh
# soak: the daemon under constant churn (endpoints flipping ready,
# Services added and deleted, compactions and dropped watches on the
# test API server; /metrics and /healthz scraped) while its open file
# descriptors (/proc/PID/fd) and resident memory (VmRSS) are sampled.
# After a warm-up neither may grow beyond a small bound, the daemon must
# stay up, and once the churn stops the kernel must match the API server
# (`ipvs-svc diff` against it). Short by default for `make check`;
# bench/soak runs it for an hour.
#   IPVSSVC_SOAK_SECONDS  churn time (default 60); the first 30% is warm-up
#   IPVSSVC_SOAK_RATE     churn steps per second (default 10)
#   IPVSSVC_SOAK_FD_SLACK descriptors allowed above the warm-up's maximum (2)
#   IPVSSVC_SOAK_RSS_KB   VmRSS allowed above the warm-up's maximum (1024)
#   IPVSSVC_SOAK_OUT      keep the samples (TSV) in this file
#   IPVSSVC_SOAK_WRAPPER  run the daemon under this, e.g. "valgrind
#                         --leak-check=full" (its report ends the output)
# Run as root in a kernel with IPVS (tests/harness/kernel-run); 0 pass,
# 1 fail, 77 skip, 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

DATA=$top_srcdir/tests/kernel/faults
API=$top_srcdir/tests/apiserver
BIN=${IPVSSVC_BIN:-$top_builddir/src/ipvs-svc}
SECONDS_=${IPVSSVC_SOAK_SECONDS:-60}
RATE=${IPVSSVC_SOAK_RATE:-10}
FD_SLACK=${IPVSSVC_SOAK_FD_SLACK:-2}
RSS_KB=${IPVSSVC_SOAK_RSS_KB:-1024}
# AddressSanitizer keeps freed memory in a quarantine (256 MB) that fills
# under churn: resident memory grows by design there, so the memory bound
# is the plain build's; descriptors are checked in both
[ "${IPVSSVC_SANITIZERS:-0}" = 1 ] && RSS_KB=${IPVSSVC_SOAK_RSS_KB:-1000000}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY

if ! "$BIN" run --help >/dev/null 2>&1; then
	echo "soak: ipvs-svc has no run command: skipped"
	exit 77
fi
for c in python3 openssl curl ipvsadm; do
	command -v $c >/dev/null || { echo "soak: $c missing"; exit 77; }
done
# the real binary, not libtool's wrapper: its PID is the one to sample
if head -c 2 "$BIN" | grep -q '^#!' && [ -x "$top_builddir/src/.libs/ipvs-svc" ]; then
	BIN=$top_builddir/src/.libs/ipvs-svc
	LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
fi

TMP=$(mktemp -d /tmp/soak.XXXXXX)
IPVS_SVC_STATE_DIR=$TMP/state
export IPVS_SVC_STATE_DIR
pid=
dpid=
cpid=
spid=
cleanup() {
	for p in $cpid $spid $dpid $pid; do
		kill -9 "$p" 2>/dev/null
	done
	ipvsadm -C 2>/dev/null
	ip link del kube-ipvs0 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

sh "$API/mkcerts.sh" "$TMP/pki" server-only || exit 99
python3 "$API/apiserver.py" --port-file "$TMP/port" \
	--cert "$TMP/pki/server.crt" --key "$TMP/pki/server.key" \
	--token soak-token --lifetime $((SECONDS_ + 600)) --parent-pid $$ &
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
    token: soak-token
EOT
chmod 600 "$TMP/kubeconfig"
ip link set lo up
ipvsadm -C
HPORT=10366
MPORT=10359
NODE="--hostname-override node-1 --nodeport-addresses 192.168.8.0/24"

# shellcheck disable=SC2086
${IPVSSVC_SOAK_WRAPPER:-} "$BIN" run --kubeconfig "$TMP/kubeconfig" $NODE \
	--healthz-bind-address 127.0.0.1:$HPORT \
	--metrics-bind-address 127.0.0.1:$MPORT \
	--ipvs-sync-period 5s --ipvs-graceful-period 2s 2>"$TMP/log" &
dpid=$!
i=0
until grep -q "ready:" "$TMP/log"; do
	i=$((i + 1))
	kill -0 $dpid 2>/dev/null && [ $i -lt 1800 ] ||
		{ echo "soak: the daemon did not start"; cat "$TMP/log"; exit 99; }
	sleep 0.1
done
python3 "$DATA/churn.py" "$url" "$TMP/pki/ca.crt" "$SECONDS_" "$RATE" \
	> "$TMP/churn" 2>&1 &
cpid=$!
# samples every 2 s from the start of the churn: t_s, fds, rss_kb,
# anon_kb, file_kb
python3 "$DATA/sample.py" $dpid 2 "$TMP/samples" "$TMP/stop" \
	"http://127.0.0.1:$MPORT/metrics" "http://127.0.0.1:$HPORT/healthz" &
spid=$!
wait $cpid
crc=$?
cpid=
touch "$TMP/stop"
wait $spid
cat "$TMP/churn"
[ $crc = 0 ] || fail "churn exited $crc"
kill -0 $dpid 2>/dev/null || fail "the daemon died under churn"
[ -n "${IPVSSVC_SOAK_OUT:-}" ] && cp "$TMP/samples" "$IPVSSVC_SOAK_OUT"

# the bound: after the warm-up, no more than the warm-up's maximum plus
# a little slack; the trend (least squares) over the rest, for the record
awk -v w="$((SECONDS_ * 3 / 10))" -v fs="$FD_SLACK" -v rs="$RSS_KB" '
NR == 1 { next }
$1 <= w { if ($2 > wf) wf = $2; if ($3 > wr) wr = $3; next }
{
	n++; if ($2 > mf) mf = $2; if ($3 > mr) mr = $3
	sx += $1; sy += $3; sxx += $1 * $1; sxy += $1 * $3
	sa += $4; sxa += $1 * $4; sf += $5; sxf += $1 * $5
}
END {
	if (n < 3) { print "soak: too few samples after the warm-up"; exit 2 }
	d = (n * sxx - sx * sx) / 60
	slope = (n * sxy - sx * sy) / d
	printf "soak: %d samples after the warm-up: fds max %d (warm-up %d), VmRSS max %d kB (warm-up %d kB), trend %+.1f kB/min (anonymous %+.1f, file-backed %+.1f)\n", n, mf, wf, mr, wr, slope, (n * sxa - sx * sa) / d, (n * sxf - sx * sf) / d
	exit !(mf <= wf + fs && mr <= wr + rs)
}' "$TMP/samples" || fail "descriptors or memory grew beyond the bound"
[ -s "$TMP/samples.notes" ] &&
	{ fail "scrapes failed"; cat "$TMP/samples.notes"; }

# once the churn stops, the kernel matches the API server: a sync from
# it would change nothing in IPVS
converged() {
	# shellcheck disable=SC2086
	"$BIN" sync --once --dry-run --output json \
		--kubeconfig "$TMP/kubeconfig" $NODE > "$TMP/diff" 2>"$TMP/diff.err" &&
		grep -q '"count":0' "$TMP/diff"
}
i=0
until converged; do
	i=$((i + 1))
	if [ $i -ge 20 ]; then
		fail "the kernel does not match the API server after the churn"
		head -c 2000 "$TMP/diff" | sed 's/^/  | /'
		break
	fi
	sleep 1
done
[ $i -lt 20 ] && echo "ok: converged with the API server after the churn"
kill -0 $dpid 2>/dev/null || fail "the daemon is not running at the end"
kill -TERM $dpid
wait $dpid
st=$?
dpid=
[ $st = 0 ] || fail "exit status $st at SIGTERM"
if [ -n "${IPVSSVC_SOAK_WRAPPER:-}" ]; then
	echo "--- the daemon's log under $IPVSSVC_SOAK_WRAPPER"
	grep -v nftables "$TMP/log" | grep '^==' | tail -60
fi
if [ $failures != 0 ]; then
	echo "--- samples"
	cat "$TMP/samples"
	echo "--- daemon log (tail)"
	tail -20 "$TMP/log"
fi
[ $failures = 0 ]
