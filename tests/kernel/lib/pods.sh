# Pods as network namespaces, for traffic through IPVS (sourced by kernel
# suites and by examples/hostnames/demo.sh; POSIX sh, run as root inside a
# kernel with IPVS).
#
# A Pod NAME is the namespace pod-NAME: its eth0 (one end of a veth pair)
# holds the Pod IP as /32 and routes everything to 169.254.1.1, which the
# host end (vpN in the root namespace) holds; the root namespace routes the
# Pod IP to vpN. So with IPVS masquerading (-m), a client in the root
# namespace reaches the ClusterIP, IPVS rewrites the destination to a Pod,
# and the Pod's reply comes back through the root namespace, where IPVS
# rewrites it back: no bridge, no iptables, no proxy ARP.
#
#   pods_init                  sysctls, state directory, the programs
#   pod_add NAME IP [PORT]     namespace, veth, routes, server on PORT
#   pod_stop NAME              stop its server (the Pod stays reachable)
#   pod_start NAME [PORT]      start its server again
#   pod_del NAME               stop it and remove the namespace
#   pods_cleanup               every Pod made here
#   client_addr_add IP         a client source address in the root namespace
#
# Needs top_builddir (k-podserver and k-client are in tests/kernel there).

: "${top_builddir:?top_builddir must be set}"
POD_BIN=${POD_BIN:-$top_builddir/tests/kernel}
POD_STATE=${POD_STATE:-/run/ipvssvc-pods.$$}
POD_GATEWAY=169.254.1.1
K_CLIENT=$POD_BIN/k-client
K_PODSERVER=$POD_BIN/k-podserver

pods_log() {
	echo "pods: $*" >&2
}

# The programs are check_PROGRAMS: build them when only `make` ran.
pods_build() {
	[ -x "$K_CLIENT" ] && [ -x "$K_PODSERVER" ] && return 0
	make -s -C "$top_builddir" tests/kernel/k-podserver \
		tests/kernel/k-client >/dev/null 2>&1
	[ -x "$K_CLIENT" ] && [ -x "$K_PODSERVER" ] || {
		pods_log "k-podserver/k-client missing: run make check"
		return 1
	}
}

pods_sysctl() {
	[ -e "/proc/sys/$(echo "$1" | tr . /)" ] || return 0
	sysctl -q -w "$1=$2" >/dev/null 2>&1 ||
		echo "$2" >"/proc/sys/$(echo "$1" | tr . /)"
}

pods_init() {
	pods_build || return 1
	mkdir -p "$POD_STATE" /run/netns || return 1
	: >"$POD_STATE/list"
	ip link set lo up
	# What kube-proxy's IPVS mode sets; forwarding also lets one Pod
	# reach another through a ClusterIP.
	pods_sysctl net.ipv4.ip_forward 1
	pods_sysctl net.ipv4.vs.conntrack 1
	pods_sysctl net.ipv4.vs.expire_nodest_conn 1
	pods_sysctl net.ipv4.vs.expire_quiescent_template 1
	return 0
}

pod_ns() {
	echo "pod-$1"
}

pod_start() {
	_name=$1
	_port=${2:-$(cat "$POD_STATE/$_name.port" 2>/dev/null)}
	ip netns exec "$(pod_ns "$_name")" "$K_PODSERVER" -d \
		-P "$POD_STATE/$_name.pid" -p "${_port:-9376}" "$_name" || {
		pods_log "cannot start the server of Pod $_name"
		return 1
	}
	echo "${_port:-9376}" >"$POD_STATE/$_name.port"
}

pod_add() {
	_name=$1 _ip=$2 _port=${3:-9376}
	_ns=$(pod_ns "$_name")
	_n=$(($(wc -l <"$POD_STATE/list") + 1))
	_veth=vp$_n
	ip netns add "$_ns" &&
		ip link add "$_veth" type veth peer name eth0 netns "$_ns" &&
		ip link set "$_veth" up &&
		ip addr add "$POD_GATEWAY/32" dev "$_veth" scope link &&
		ip route add "$_ip/32" dev "$_veth" scope link &&
		ip -n "$_ns" link set lo up &&
		ip -n "$_ns" link set eth0 up &&
		ip -n "$_ns" addr add "$_ip/32" dev eth0 &&
		ip -n "$_ns" route add "$POD_GATEWAY" dev eth0 scope link &&
		ip -n "$_ns" route add default via "$POD_GATEWAY" dev eth0 || {
		pods_log "cannot make Pod $_name ($_ip)"
		return 1
	}
	echo "$_name $_ip $_veth" >>"$POD_STATE/list"
	pod_start "$_name" "$_port"
}

pod_stop() {
	_pid=$(cat "$POD_STATE/$1.pid" 2>/dev/null) || return 0
	# The server leads its own process group: its held connections too.
	kill -- "-$_pid" 2>/dev/null || kill "$_pid" 2>/dev/null
	rm -f "$POD_STATE/$1.pid"
}

pod_del() {
	pod_stop "$1"
	ip netns del "$(pod_ns "$1")" 2>/dev/null
	return 0
}

pods_cleanup() {
	[ -f "$POD_STATE/list" ] || return 0
	while read -r _name _ip _veth; do
		pod_del "$_name"
		ip link del "$_veth" 2>/dev/null
	done <"$POD_STATE/list"
	rm -rf "$POD_STATE"
}

client_addr_add() {
	ip addr add "$1/32" dev lo 2>/dev/null
	ip addr show dev lo | grep -q "inet $1/" || {
		pods_log "cannot add client address $1"
		return 1
	}
}
