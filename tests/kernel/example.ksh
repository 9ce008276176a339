#!/bin/sh
# The library as an outside user gets it: install into a scratch root,
# build examples/one-service through pkg-config, run it against the kernel
# and check the result with ipvsadm.
set -eu
tmp=$(mktemp -d /var/tmp/ipvssvc-example.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$top_builddir" install DESTDIR="$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name libipvs-svc.pc | head -n 1)
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=$(dirname "$(find "$tmp/root" -name 'libipvs-svc.so' | head -n 1)")
# shellcheck disable=SC2046
${CC:-cc} ${IPVSSVC_SAN_CFLAGS:-} -o "$tmp/one-service" \
	"$top_srcdir/examples/one-service/one-service.c" \
	$(pkg-config --cflags --libs libipvs-svc)
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/one-service" 10.10.10.10 80 10.20.0.1 8080 --keep)
want='-A -t 10.10.10.10:80 -s rr
-a -t 10.10.10.10:80 -r 10.20.0.1:8080 -m -w 1'
fail=0
if [ "$out" != "$want" ]; then
	echo "FAIL: example printed:"; echo "$out"; fail=1
fi
got=$(ipvsadm -Sn | LC_ALL=C sort)
if [ "$got" != "$want" ]; then
	echo "FAIL: kernel holds:"; echo "$got"; fail=1
fi
LD_LIBRARY_PATH="$libdir" "$tmp/one-service" 10.10.10.10 80 10.20.0.1 8080 >/dev/null
if [ -n "$(ipvsadm -Sn)" ]; then
	echo "FAIL: virtual server not removed"; fail=1
fi
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
