#!/bin/sh
# ipvs: the kernel layer of libipvs-svc against a real kernel's IPVS,
# checked with ipvsadm (tests/kernel/k-ipvs.c). Run as root inside a
# kernel with IPVS (tests/harness/kernel-run); exit 0 pass, 1 fail.
# IPVSSVC_VALGRIND=1 runs the program under valgrind.
set -u
: "${top_builddir:?}"
prog=$top_builddir/tests/kernel/k-ipvs
if ! command -v ipvsadm >/dev/null; then
	echo "ipvs: ipvsadm is needed as the oracle"
	exit 99
fi
if [ -n "${IPVSSVC_VALGRIND:-}" ]; then
	# libtool wrapper: run the real binary
	[ -x "$top_builddir/tests/kernel/.libs/k-ipvs" ] &&
		prog=$top_builddir/tests/kernel/.libs/k-ipvs
	exec valgrind -q --error-exitcode=3 --leak-check=full \
		--errors-for-leak-kinds=definite --child-silent-after-fork=no \
		"$prog"
fi
exec "$prog"
