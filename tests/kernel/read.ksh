#!/bin/sh
# read: the rules read (real servers from /proc/net/ip_vs) against the
# complete read (a netlink dump per virtual server) and ipvsadm -Sn
# (tests/kernel/k-read.c). Run as root inside a kernel with IPVS
# (tests/harness/kernel-run); exit 0 pass, 1 fail.
set -u
: "${top_builddir:?}"
if ! command -v ipvsadm >/dev/null; then
	echo "read: ipvsadm is needed as the oracle"
	exit 99
fi
exec "$top_builddir/tests/kernel/k-read"
