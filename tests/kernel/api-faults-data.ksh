#!/bin/sh
# api-faults-data: `ipvs-svc run` against an API server sending bad
# data: garbage, a truncated event with the stream going on, a 50 MB
# object, an endless event without a newline. Each time: the daemon
# stays up, the rules (`ipvsadm -Sn`) stay exactly as they were, memory
# stays bounded, the bad object is named, and afterwards the kernel
# converges to the server's objects; the token is never in the -v 10
# log. Run as root inside a kernel with IPVS (tests/harness/kernel-run);
# 0 pass, 1 fail, 77 skip, 99 setup error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/kernel/api-faults/lib.sh"
# --- a 50 MB object: not taken, named; the rest goes on ----------------
case=50mb-object
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
$OBJS big huge 50 > "$TMP/huge.json"
before=$(hwm)
ctl apply "@$TMP/huge.json"
rm -f "$TMP/huge.json"
hold 2
# the watch stops reading it at the limit and relists
if t=$(wait_for 300000 grep -q "Service watch: an event of more than .* (the object size limit); relisting" "$TMP/log"); then
	echo "  the 50 MB event refused at the limit ${t} ms after it was made"
else
	fail "$case: the 50 MB event not refused"
fi
# the list names it; in User-mode Linux on a loaded machine the test
# server can take minutes to build a 50 MB list (the daemon drops a list
# silent for 60 s and retries): then only a note (test-kube's
# limit_object_50mb checks the naming on any machine)
if t=$(wait_for 120000 grep -q "Service faults/huge: .* bytes, more than the object size limit" "$TMP/log"); then
	echo "  the 50 MB object named by the list ${t} ms later"
else
	echo "  note: the list of 50 MB not served within 120 s here"
fi
hold 2
ctl delete '{"resource": "services", "namespace": "faults", "name": "huge"}'
apply_change
converge 120000
after=$(hwm)
echo "  peak memory: ${before} kB before, ${after} kB after the 50 MB object"
# AddressSanitizer's redzones and its quarantine of freed memory (256 MB)
# count in the peak too
grow=400000
[ "${IPVSSVC_SANITIZERS:-0}" = 1 ] && grow=900000
[ "$after" -lt $((before + grow)) ] ||
	fail "$case: memory grew by $((after - before)) kB"

# --- an endless event without a newline ---------------------------------
case=endless
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
before=$(hwm)
refused() {
	[ "$(grep -c "object size limit); relisting" "$TMP/log")" -gt "$1" ]
}
n=$(grep -c "object size limit); relisting" "$TMP/log")
ctl fault '{"op": "endless", "mb": 1024, "match": ["/api/v1/services?", "watch=1"]}'
ctl drop '{}'
hold 3
if t=$(wait_for 300000 refused "$n"); then
	echo "  the endless event refused at the size limit after ${t} ms"
else
	fail "$case: the endless event not refused"
fi
hold 1
apply_change
converge 120000
after=$(hwm)
echo "  peak memory: ${before} kB before, ${after} kB after the endless event"
grow=200000
[ "${IPVSSVC_SANITIZERS:-0}" = 1 ] && grow=500000
[ "$after" -lt $((before + grow)) ] ||
	fail "$case: memory grew by $((after - before)) kB"

# --- garbage in a watch ------------------------------------------------
case=garbage
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
ctl fault '{"op": "garbage", "match": ["/api/v1/services?", "watch=1"]}'
ctl drop '{}'
hold 2
apply_change
converge 40000
grep -q "malformed data in the stream" "$TMP/log" ||
	fail "$case: the garbage not logged"

# --- a truncated event, the stream going on ----------------------------
case=truncated
change
wait_for 20000 watching >/dev/null || fail "$case: not watching"
ctl fault '{"op": "truncate", "match": ["/api/v1/services?", "watch=1"]}'
ctl drop '{}'
sleep 1
hold 1
apply_change
converge 40000

finish
