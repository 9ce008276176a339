/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read the kernel's current state through the context's two sockets.
 *
 * ipvssvc_state_read() is the complete read: one dump of every virtual
 * server, one generic-netlink dump of the real servers of each (counters,
 * thresholds, persistent connections), and the dummy link's addresses.
 *
 * ipvssvc_state_read_rules() is the reconciler's read. The kernel has no
 * request that dumps the real servers of more than one virtual server, so
 * the complete read costs 1 + VS requests; /proc/net/ip_vs shows every
 * virtual server with its real servers in one file. The rules read takes
 * the virtual servers (flags, netmask, timeout, scheduler: what /proc
 * lacks or abbreviates) from one netlink dump and the real servers from
 * /proc: address (and so family), port, forwarding method, weight, active
 * and inactive connections. /proc lacks the thresholds, the persistent
 * connections, the counters and the tunnel settings; the last three are
 * not rules and are left 0. The thresholds are rules (the planner compares
 * them), so they are read over netlink, per virtual server, where the
 * desired state asks for a non-zero threshold; elsewhere they are taken
 * as 0, which is what the desired state wants there, so the comparison is
 * exact for every threshold ipvs-svc programs. The one thing not seen is
 * a threshold set by hand on a real server whose desired thresholds are
 * 0: the complete read sees it. Every virtual server that /proc does not
 * show unambiguously (a firewall mark used by both families, a protocol
 * /proc names but we do not know, one added between the two reads), and
 * all of them when /proc/net/ip_vs is missing or belongs to another
 * network namespace than the context's socket, has its real servers
 * dumped over netlink.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_addr(int ifindex _unused_, unsigned char scope _unused_,
		    const struct ipvssvc_ip *ip, void *arg)
{
	/* the kernel's own IPv6 link-local address is not ours to manage */
	if (ipvssvc_ip_is_link_local6(ip))
		return 0;
	return ipvssvc_state_add_addr(arg, ip);
}

/* The virtual servers alone, sorted. */
static int read_services(ipvssvc_ctx *ctx, ipvssvc_state *st)
{
	ipvssvc_service **list = NULL;
	size_t n = 0, i;
	int r;

	r = ipvssvc_service_dump(ctx, &list, &n);
	if (r < 0)
		return r;
	/* hand the services over one by one: no copies */
	for (i = 0; i < n; i++) {
		r = ipvssvc_state_take_service(st, list[i]);
		if (r < 0)
			break;
		list[i] = NULL;
	}
	for (; i < n; i++)
		ipvssvc_service_free(list[i]);
	free(list);
	if (r < 0)
		return r;
	ipvssvc_state_sort(st);
	return 0;
}

static int read_addrs(ipvssvc_ctx *ctx, const char *ifname, ipvssvc_state *st)
{
	int ifindex, r;

	if (!ifname || !*ifname)
		return 0;
	r = ipvssvc_link_index(ctx, ifname, &ifindex);
	if (r == -ENODEV) {
		st->link = -1;
		return 0;
	}
	if (r < 0)
		return r;
	st->link = 1;
	return ipvssvc_link_addr_foreach(ctx, ifindex, add_addr, st);
}

_public_ int ipvssvc_state_read(ipvssvc_ctx *ctx, const char *ifname,
				ipvssvc_state **ret)
{
	ipvssvc_state *st = NULL;
	size_t i;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = ipvssvc_state_new(&st);
	if (r < 0)
		return r;
	r = read_services(ctx, st);
	for (i = 0; r == 0 && i < st->n_svcs; i++)
		r = ipvssvc_dest_dump_into(ctx, st->svcs[i]);
	if (r == 0)
		r = read_addrs(ctx, ifname, st);
	if (r < 0) {
		ipvssvc_state_free(st);
		return r;
	}
	st->dirty = 1;
	ipvssvc_state_sort(st);
	*ret = st;
	return 0;
}

/* --- the rules read -------------------------------------------------------- */

/* What the /proc parser needs besides the state. */
struct proc_read {
	ipvssvc_state *st;
	/* per virtual server of st: shown by /proc (its dests are read) */
	bool *seen;
	/* the index of the virtual server of the real-server lines, or -1 */
	ssize_t cur;
};

/* The index of key in the sorted st, or -1. */
static ssize_t find_index(const ipvssvc_state *st,
			  const struct ipvssvc_service *key)
{
	size_t lo = 0, hi = st->n_svcs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ipvssvc_service_key_cmp(key, st->svcs[mid]);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly n hex digits at *p (n <= 8); advances *p. */
static int parse_hex(const char **p, int n, uint32_t *ret)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		int d = hexval((*p)[i]);

		if (d < 0)
			return -EBADMSG;
		v = v << 4 | (uint32_t)d;
	}
	*p += n;
	*ret = v;
	return 0;
}

/* "0A000001:0050" or "[fd00:0000:...:0001]:0050" */
static int parse_addr_port(const char **p, struct ipvssvc_ip *ip,
			   uint16_t *port)
{
	const char *s = *p;
	uint32_t v;

	memset(ip, 0, sizeof(*ip));
	if (*s == '[') {
		const char *end = strchr(s, ']');
		char buf[INET6_ADDRSTRLEN];
		size_t len;

		if (!end)
			return -EBADMSG;
		len = (size_t)(end - s - 1);
		if (len >= sizeof(buf))
			return -EBADMSG;
		memcpy(buf, s + 1, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, &ip->u.in6) != 1)
			return -EBADMSG;
		ip->family = AF_INET6;
		s = end + 1;
	} else {
		if (parse_hex(&s, 8, &v) < 0)
			return -EBADMSG;
		ip->family = AF_INET;
		ip->u.in.s_addr = htonl(v);
	}
	if (*s++ != ':' || parse_hex(&s, 4, &v) < 0)
		return -EBADMSG;
	*port = (uint16_t)v;
	*p = s;
	return 0;
}

static const char *skip_spaces(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* A real server line: "  -> ADDR:PORT      Masq    1      0          0" */
static int parse_dest_line(const char *p, struct ipvssvc_dest *d)
{
	static const struct {
		const char *name;
		enum ipvssvc_fwd fwd;
	} fwds[] = {
		{"Masq", IPVSSVC_FWD_MASQ},
		{"Local", IPVSSVC_FWD_LOCAL},
		{"Tunnel", IPVSSVC_FWD_TUNNEL},
		{"Route", IPVSSVC_FWD_ROUTE},
	};
	unsigned long weight, act, inact;
	char *end;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (parse_addr_port(&p, &d->addr, &d->port) < 0)
		return -EBADMSG;
	p = skip_spaces(p);
	for (i = 0; i < ARRAY_SIZE(fwds); i++) {
		size_t len = strlen(fwds[i].name);

		if (!strncmp(p, fwds[i].name, len) && p[len] == ' ')
			break;
	}
	if (i == ARRAY_SIZE(fwds))
		return -EBADMSG;
	d->fwd = fwds[i].fwd;
	p += strlen(fwds[i].name);
	/* the kernel prints these with %d */
	weight = strtoul(p, &end, 10);
	if (end == p)
		return -EBADMSG;
	p = end;
	act = strtoul(p, &end, 10);
	if (end == p)
		return -EBADMSG;
	p = end;
	inact = strtoul(p, &end, 10);
	if (end == p)
		return -EBADMSG;
	d->weight = (uint32_t)weight;
	d->active_conns = (uint32_t)act;
	d->inact_conns = (uint32_t)inact;
	return 0;
}

/*
 * A virtual server line: "TCP  0A600001:0050 rr ...", "UDP  [fd00::..]:..."
 * or "FWM  00000001 rr ...". Sets pr->cur to its virtual server in the
 * state when there is exactly one and /proc did not show it before.
 */
static void parse_service_line(struct proc_read *pr, const char *p)
{
	static const struct {
		const char *name;
		uint16_t protocol;
	} protos[] = {
		{"TCP  ", IPPROTO_TCP},
		{"UDP  ", IPPROTO_UDP},
		{"SCTP  ", IPPROTO_SCTP},
	};
	struct ipvssvc_service key;
	ssize_t i4, i6, i = -1;
	size_t k;

	pr->cur = -1;
	memset(&key, 0, sizeof(key));
	if (!strncmp(p, "FWM  ", 5)) {
		const char *s = p + 5;

		if (parse_hex(&s, 8, &key.fwmark) < 0 || !key.fwmark)
			return;
		/* /proc does not say the family: both must not exist */
		key.addr.family = AF_INET;
		i4 = find_index(pr->st, &key);
		key.addr.family = AF_INET6;
		i6 = find_index(pr->st, &key);
		if (i4 >= 0 && i6 >= 0)
			return;
		i = i4 >= 0 ? i4 : i6;
	} else {
		for (k = 0; k < ARRAY_SIZE(protos); k++)
			if (!strncmp(p, protos[k].name, strlen(protos[k].name)))
				break;
		if (k == ARRAY_SIZE(protos))
			return;
		p += strlen(protos[k].name);
		key.protocol = protos[k].protocol;
		if (parse_addr_port(&p, &key.addr, &key.port) < 0)
			return;
		i = find_index(pr->st, &key);
	}
	if (i < 0 || pr->seen[i])
		return;
	pr->seen[i] = true;
	pr->cur = i;
}

static int parse_line(struct proc_read *pr, const char *line)
{
	struct ipvssvc_service *svc;
	struct ipvssvc_dest d;

	if (!strncmp(line, "  -> ", 5)) {
		/* the header's "  -> RemoteAddress:Port" comes before any VS */
		if (pr->cur < 0)
			return 0;
		svc = pr->st->svcs[pr->cur];
		if (parse_dest_line(line + 5, &d) < 0) {
			/* a line we cannot read: netlink reads this one */
			svc->n_dests = 0;
			pr->seen[pr->cur] = false;
			pr->cur = -1;
			return 0;
		}
		return ipvssvc_service_push_dest(svc, &d);
	}
	parse_service_line(pr, line);
	return 0;
}

/*
 * Whether path belongs to the network namespace of the context's generic
 * netlink socket: a process may have changed namespaces since it opened
 * the context, and /proc shows its own.
 */
static bool same_netns(ipvssvc_ctx *ctx, int procfd)
{
	struct stat a, b;
	int nsfd;
	bool same;

	nsfd = ioctl(nl_socket_get_fd(ctx->genl), SIOCGSKNS);
	if (nsfd < 0)
		return false;
	same = fstat(nsfd, &a) == 0 && fstatat(procfd, "ns/net", &b, 0) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(nsfd);
	return same;
}

/*
 * Read /proc/net/ip_vs into the services of pr->st, marking them seen.
 * Returns 0, also when it cannot be used (then nothing is seen), or
 * -ENOMEM.
 */
static int read_proc(ipvssvc_ctx *ctx, struct proc_read *pr)
{
	/* lines are < 100 bytes; the kernel gives at most a page per read */
	char buf[65536];
	size_t have = 0;
	int dirfd, fd, r = 0;
	size_t i;

	dirfd = open("/proc/thread-self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return 0;
	if (!same_netns(ctx, dirfd)) {
		close(dirfd);
		return 0;
	}
	fd = openat(dirfd, "net/ip_vs", O_RDONLY | O_CLOEXEC);
	close(dirfd);
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -ENOENT;
			break;
		}
		if (n == 0) {
			/* the kernel ends every line; a rest is a cut line */
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while (r == 0 && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			r = parse_line(pr, line);
			line = nl + 1;
		}
		if (r < 0)
			break;
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1) {
			/* no line is that long: not the file we know */
			r = -ENOENT;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		/* forget what was read: netlink reads everything */
		for (i = 0; i < pr->st->n_svcs; i++) {
			pr->st->svcs[i]->n_dests = 0;
			pr->seen[i] = false;
		}
	}
	return r == -ENOMEM ? r : 0;
}

/* Whether the desired real servers of svc use thresholds. */
static bool wants_thresholds(const struct ipvssvc_service *svc)
{
	size_t i;

	for (i = 0; i < svc->n_dests; i++)
		if (svc->dests[i].u_threshold || svc->dests[i].l_threshold)
			return true;
	return false;
}

_public_ int ipvssvc_state_read_rules(ipvssvc_ctx *ctx, const char *ifname,
				      const ipvssvc_state *desired,
				      ipvssvc_state **ret)
{
	struct proc_read pr = {0};
	ipvssvc_state *st = NULL;
	size_t i;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = ipvssvc_state_new(&st);
	if (r < 0)
		return r;
	r = read_services(ctx, st);
	if (r < 0)
		goto out;
	pr.st = st;
	pr.cur = -1;
	pr.seen = calloc(st->n_svcs ? st->n_svcs : 1, sizeof(*pr.seen));
	if (!pr.seen) {
		r = -ENOMEM;
		goto out;
	}
	if (st->n_svcs > 0) {
		r = read_proc(ctx, &pr);
		if (r < 0)
			goto out;
	}
	if (desired) {
		for (i = 0; i < desired->n_svcs; i++) {
			ssize_t k;

			if (!wants_thresholds(desired->svcs[i]))
				continue;
			k = find_index(st, desired->svcs[i]);
			if (k >= 0 && pr.seen[k]) {
				st->svcs[k]->n_dests = 0;
				pr.seen[k] = false;
			}
		}
	}
	for (i = 0; r == 0 && i < st->n_svcs; i++)
		if (!pr.seen[i])
			r = ipvssvc_dest_dump_into(ctx, st->svcs[i]);
	if (r == 0)
		r = read_addrs(ctx, ifname, st);
out:
	free(pr.seen);
	if (r < 0) {
		ipvssvc_state_free(st);
		return r;
	}
	st->dirty = 1;
	ipvssvc_state_sort(st);
	*ret = st;
	return 0;
}
