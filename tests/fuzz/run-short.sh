#!/bin/sh
# The fuzzers in make check: every regression input of every target, then
# a short run of each target on its corpus. 77 (skipped) only when clang
# cannot link a fuzzer; a build that failed with the runtime present, a
# crash, a leak or a sanitizer report fails.
#   run-short.sh [--args TARGET]   (the libFuzzer options of TARGET)
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
seconds=${FUZZ_SHORT_SECONDS:-10}
targets="fuzz-objects fuzz-framer fuzz-kubeconfig fuzz-netlink fuzz-kpconfig"

args() {
	case $1 in
	fuzz-objects) echo "-max_len=32768 -dict=$srcdir/tests/fuzz/objects.dict" ;;
	fuzz-framer) echo "-max_len=16384" ;;
	fuzz-kubeconfig) echo "-max_len=8192" ;;
	fuzz-netlink) echo "-max_len=4096" ;;
	fuzz-kpconfig) echo "-max_len=8192 -dict=$srcdir/tests/fuzz/kpconfig.dict" ;;
	esac
}
if [ "$1" = --args ]; then
	args "$2"
	exit 0
fi

stamp=$builddir/tests/fuzz/fuzzers.stamp
if [ ! -f "$stamp" ]; then
	echo "run-short: $stamp missing (make check builds it)"
	exit 99
fi
if [ "$(cat "$stamp")" != yes ]; then
	echo "run-short: no libFuzzer runtime (clang, libclang-rt-dev): skipped"
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
for t in $targets; do
	bin=$builddir/tests/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t: not built"
		fail=1
		continue
	fi
	# shellcheck disable=SC2046
	set -- $(args "$t") -rss_limit_mb=2048 -timeout=30 \
		-artifact_prefix="$tmp/$t-"
	reg=$srcdir/tests/fuzz/regressions/$t
	if [ -d "$reg" ] && [ -n "$(ls "$reg")" ]; then
		# whole files: no -max_len, which would cut them
		if ! "$bin" -rss_limit_mb=2048 -timeout=60 "$reg"/* \
			>"$tmp/$t.reg" 2>&1; then
			echo "FAIL: $t: a regression input crashes again"
			tail -n 40 "$tmp/$t.reg"
			fail=1
			continue
		fi
		echo "$t: $(ls "$reg" | wc -l) regression inputs pass"
	fi
	mkdir "$tmp/$t"
	if ! "$bin" "$@" -max_total_time="$seconds" "$tmp/$t" \
		"$srcdir/tests/fuzz/corpus/$t" >"$tmp/$t.log" 2>&1; then
		echo "FAIL: $t"
		tail -n 60 "$tmp/$t.log"
		for a in "$tmp/$t"-*; do
			[ -f "$a" ] && echo "  input: $(base64 -w0 <"$a")"
		done
		fail=1
		continue
	fi
	echo "$t: $(grep -E '^(#[0-9]+|Done)' "$tmp/$t.log" | tail -n 1)"
done
exit $fail
