#!/bin/sh
# Smoke suite for the kernel-test harness itself (not part of make check):
# IPVS with the mh scheduler, nftables' inet family, and an
# AddressSanitizer binary, inside whatever kernel-run booted.
#
#   tests/harness/kernel-run tests/harness/smoke.ksh
#   IPVSSVC_KERNEL=qemu tests/harness/kernel-run tests/harness/smoke.ksh
#
# The ASan programs are compiled here unless IPVSSVC_SMOKE_ASAN_DIR names
# a directory that already holds ok and overflow, built on the host with
#   gcc -fsanitize=address (compiling under TCG takes a few seconds).
set -u
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); echo "PASS: $1"; }
ko() { fail=$((fail + 1)); echo "FAIL: $1"; }
sk() { skip=$((skip + 1)); echo "SKIP: $1"; }

where=host
[ -n "${IPVSSVC_IN_UML:-}" ] && where=uml
[ -n "${IPVSSVC_IN_QEMU:-}" ] && where=qemu
echo "smoke: kernel $(uname -r) ($where)"

tmp=$(mktemp -d /tmp/ipvssvc-smoke.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT

# IPVS: a service with the Maglev (mh) scheduler, read back by ipvsadm.
if ipvsadm -A -t 10.1.1.1:80 -s mh >"$tmp/out" 2>&1 &&
	ipvsadm -Sn >"$tmp/out" 2>&1 &&
	grep -q -- '-A -t 10.1.1.1:80 -s mh' "$tmp/out"; then
	ok "ipvsadm: service with the mh scheduler"
else
	ko "ipvsadm: service with the mh scheduler"; cat "$tmp/out"
fi
ipvsadm -D -t 10.1.1.1:80 >/dev/null 2>&1

# nftables, inet family, with a NAT base chain and a conntrack rule.
if ! command -v nft >/dev/null 2>&1; then
	sk "nft: not installed (apt-get install nftables)"
elif nft add table inet ipvssvc_smoke >"$tmp/out" 2>&1 &&
	nft list tables >"$tmp/out" 2>&1 &&
	grep -q 'table inet ipvssvc_smoke' "$tmp/out"; then
	ok "nft: inet table"
	if nft add chain inet ipvssvc_smoke pre \
		'{ type nat hook prerouting priority -100; }' >"$tmp/out" 2>&1 &&
		nft add rule inet ipvssvc_smoke pre \
			'ct state established,related accept' >>"$tmp/out" 2>&1 &&
		nft list table inet ipvssvc_smoke >>"$tmp/out" 2>&1 &&
		grep -q 'ct state established,related accept' "$tmp/out"; then
		ok "nft: inet nat chain with a conntrack rule"
	else
		ko "nft: inet nat chain with a conntrack rule"; cat "$tmp/out"
	fi
	nft delete table inet ipvssvc_smoke >/dev/null 2>&1
elif [ "$where" = uml ]; then
	sk "nft: no inet family in the User-mode Linux kernel"
else
	ko "nft: inet table"; cat "$tmp/out"
fi

# AddressSanitizer: a clean program runs (with leak checking), and a
# heap overflow is caught and reported.
asan_dir=${IPVSSVC_SMOKE_ASAN_DIR:-}
if [ -z "$asan_dir" ] && [ "$where" != uml ] && command -v gcc >/dev/null 2>&1; then
	asan_dir=$tmp
	printf '#include <stdlib.h>\nint main(void)\n{\n\tfree(malloc(16));\n\treturn 0;\n}\n' |
		gcc -fsanitize=address -x c - -o "$tmp/ok" &&
	printf '#include <stdlib.h>\nint main(int c, char **v)\n{\n\tchar *p = malloc(16);\n\n\t(void)v;\n\tp[16 + c - 1] = 1;\n\tfree(p);\n\treturn 0;\n}\n' |
		gcc -fsanitize=address -x c - -o "$tmp/overflow" ||
		asan_dir=
fi
if [ "$where" = uml ]; then
	sk "asan: cannot run in User-mode Linux"
elif [ -z "$asan_dir" ] || [ ! -x "$asan_dir/ok" ]; then
	sk "asan: no gcc to build the test programs"
else
	if ASAN_OPTIONS=detect_leaks=1 "$asan_dir/ok" >"$tmp/out" 2>&1; then
		ok "asan: instrumented program runs"
	else
		ko "asan: instrumented program runs"; cat "$tmp/out"
	fi
	if ASAN_OPTIONS='' "$asan_dir/overflow" >"$tmp/out" 2>&1; then
		ko "asan: heap overflow caught (the program exited 0)"
	elif grep -q 'AddressSanitizer: heap-buffer-overflow' "$tmp/out"; then
		ok "asan: heap overflow caught"
	else
		ko "asan: heap overflow caught"; cat "$tmp/out"
	fi
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
