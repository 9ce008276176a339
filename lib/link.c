/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dummy interface and its addresses, over the context's rtnetlink
 * socket. Messages are built with libnl and read by the shared request
 * loop, so errors are the kernel's own errno.
 */
#include "netlink.h"

#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

struct link_info {
	int ifindex;
	unsigned flags;
};

static int valid_ifname(const char *ifname)
{
	return ifname && *ifname && strlen(ifname) < IFNAMSIZ;
}

static int parse_link(const struct nlmsghdr *h, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct link_info *li = arg;

	if (h->nlmsg_type != RTM_NEWLINK ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return 0;
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	return 0;
}

static struct nl_msg *link_msg(int type, int flags, int ifindex,
			       unsigned ifflags, unsigned change)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = ifflags,
		.ifi_change = change,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int get_link(struct ipvssvc_ctx *ctx, const char *ifname,
		    struct link_info *li)
{
	struct nl_msg *msg;
	int r;

	msg = link_msg(RTM_GETLINK, 0, 0, 0, 0);
	if (!msg)
		return -ENOMEM;
	/* no statistics: the reply stays small */
	if (nla_put_string(msg, IFLA_IFNAME, ifname) < 0 ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	li->ifindex = 0;
	r = ipvssvc_nl_request(ctx, ctx->rtnl, msg, parse_link, li);
	if (r < 0)
		return r;
	return li->ifindex > 0 ? 0 : -ENODEV;
}

int ipvssvc_link_index(struct ipvssvc_ctx *ctx, const char *ifname,
		       int *ret_ifindex)
{
	struct link_info li;
	int r;

	if (!ctx || !valid_ifname(ifname))
		return -EINVAL;
	r = get_link(ctx, ifname, &li);
	if (r < 0)
		return r;
	*ret_ifindex = li.ifindex;
	return 0;
}

static int create_dummy(struct ipvssvc_ctx *ctx, const char *ifname)
{
	struct nlattr *info;
	struct nl_msg *msg;

	msg = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP,
		       IFF_UP);
	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, IFLA_IFNAME, ifname) < 0 ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "dummy") < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, info);
	return ipvssvc_nl_request(ctx, ctx->rtnl, msg, NULL, NULL);
}

_public_ int ipvssvc_link_ensure_dummy(ipvssvc_ctx *ctx, const char *ifname,
				       int *ret_ifindex)
{
	struct link_info li;
	int r;

	if (!ctx || !valid_ifname(ifname))
		return -EINVAL;
	r = get_link(ctx, ifname, &li);
	if (r == -ENODEV) {
		r = create_dummy(ctx, ifname);
		/* someone else made it in between: fine */
		if (r < 0 && r != -EEXIST)
			return r;
		r = get_link(ctx, ifname, &li);
	}
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP)) {
		struct nl_msg *msg =
			link_msg(RTM_NEWLINK, 0, li.ifindex, IFF_UP, IFF_UP);

		if (!msg)
			return -ENOMEM;
		r = ipvssvc_nl_request(ctx, ctx->rtnl, msg, NULL, NULL);
		if (r < 0)
			return r;
	}
	if (ret_ifindex)
		*ret_ifindex = li.ifindex;
	return 0;
}

_public_ int ipvssvc_link_delete(ipvssvc_ctx *ctx, const char *ifname)
{
	struct nl_msg *msg;

	if (!ctx || !valid_ifname(ifname))
		return -EINVAL;
	msg = link_msg(RTM_DELLINK, 0, 0, 0, 0);
	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, IFLA_IFNAME, ifname) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return ipvssvc_nl_request(ctx, ctx->rtnl, msg, NULL, NULL);
}

/* Addresses. */

struct addr_walk {
	int ifindex;
	ipvssvc_addr_fn fn;
	void *arg;
};

static int parse_addr(const struct nlmsghdr *h, void *arg)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct nlattr *tb[IFA_MAX + 1];
	struct addr_walk *w = arg;
	struct nlattr *a;
	struct ipvssvc_ip ip;
	int len;

	if (h->nlmsg_type != RTM_NEWADDR ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return 0;
	if (w->ifindex && (int)ifa->ifa_index != w->ifindex)
		return 0;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	if (nlmsg_parse((struct nlmsghdr *)h, sizeof(*ifa), tb, IFA_MAX, NULL) <
	    0)
		return -EBADMSG;
	/* IFA_LOCAL is our end of a point-to-point link; else IFA_ADDRESS */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!a || nla_len(a) < len)
		return 0;
	memset(&ip, 0, sizeof(ip));
	ip.family = ifa->ifa_family;
	memcpy(ip.u.bytes, nla_data(a), (size_t)len);
	return w->fn((int)ifa->ifa_index, ifa->ifa_scope, &ip, w->arg);
}

int ipvssvc_link_addr_foreach(struct ipvssvc_ctx *ctx, int ifindex,
			      ipvssvc_addr_fn fn, void *arg)
{
	struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
	struct addr_walk w = {.ifindex = ifindex, .fn = fn, .arg = arg};
	struct nl_msg *msg;

	msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return ipvssvc_nl_request(ctx, ctx->rtnl, msg, parse_addr, &w);
}

struct ip_list {
	struct ipvssvc_ip *v;
	size_t n, cap;
	int exclude_ifindex;
	int node; /* apply the node-address filter */
};

static int is_loopback(const struct ipvssvc_ip *ip)
{
	static const uint8_t v6_lo[16] = {[15] = 1};

	if (ip->family == AF_INET)
		return ip->u.bytes[0] == 127;
	return memcmp(ip->u.bytes, v6_lo, sizeof(v6_lo)) == 0;
}

int ipvssvc_ip_is_link_local6(const struct ipvssvc_ip *ip)
{
	return ip->family == AF_INET6 && ip->u.bytes[0] == 0xfe &&
	       (ip->u.bytes[1] & 0xc0) == 0x80;
}

static int collect_addr(int ifindex, unsigned char scope _unused_,
			const struct ipvssvc_ip *ip, void *arg)
{
	struct ip_list *l = arg;

	/* the kernel's own IPv6 link-local address is not ours to manage */
	if (ipvssvc_ip_is_link_local6(ip))
		return 0;
	if (l->node && (ifindex == l->exclude_ifindex || is_loopback(ip)))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct ipvssvc_ip *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *ip;
	return 0;
}

static int ip_qcmp(const void *a, const void *b)
{
	return ipvssvc_ip_cmp(a, b);
}

/* Sorted and unique, so that callers compare lists directly. */
static void finish_list(struct ip_list *l)
{
	size_t i, j;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), ip_qcmp);
	for (i = 1, j = 0; i < l->n; i++)
		if (ipvssvc_ip_cmp(&l->v[j], &l->v[i]))
			l->v[++j] = l->v[i];
	l->n = j + 1;
}

_public_ int ipvssvc_link_addrs(ipvssvc_ctx *ctx, const char *ifname,
				struct ipvssvc_ip **ret_addrs, size_t *ret_n)
{
	struct ip_list l = {0};
	int ifindex, r;

	if (!ctx || !valid_ifname(ifname) || !ret_addrs || !ret_n)
		return -EINVAL;
	r = ipvssvc_link_index(ctx, ifname, &ifindex);
	if (r < 0)
		return r;
	r = ipvssvc_link_addr_foreach(ctx, ifindex, collect_addr, &l);
	if (r < 0) {
		free(l.v);
		return r;
	}
	finish_list(&l);
	*ret_addrs = l.v;
	*ret_n = l.n;
	return 0;
}

static int addr_cmd_index(struct ipvssvc_ctx *ctx, int type, int flags,
			  int ifindex, const struct ipvssvc_ip *addr)
{
	struct ifaddrmsg ifa = {0};
	struct nl_msg *msg;
	int len;

	if (!ctx || ifindex <= 0 || !addr ||
	    (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	len = addr->family == AF_INET ? 4 : 16;
	ifa.ifa_family = (unsigned char)addr->family;
	ifa.ifa_prefixlen = (unsigned char)(len * 8);
	ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	ifa.ifa_index = (unsigned)ifindex;
	/* a dummy link has nobody to detect a duplicate with */
	if (addr->family == AF_INET6)
		ifa.ifa_flags = IFA_F_NODAD;
	msg = nlmsg_alloc_simple(type, flags);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, IFA_LOCAL, len, addr->u.bytes) < 0 ||
	    nla_put(msg, IFA_ADDRESS, len, addr->u.bytes) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return ipvssvc_nl_request(ctx, ctx->rtnl, msg, NULL, NULL);
}

int ipvssvc_link_addr_add_index(ipvssvc_ctx *ctx, int ifindex,
				const struct ipvssvc_ip *addr)
{
	int r = addr_cmd_index(ctx, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
			       ifindex, addr);

	/* already there is what we wanted */
	return r == -EEXIST ? 0 : r;
}

int ipvssvc_link_addr_del_index(ipvssvc_ctx *ctx, int ifindex,
				const struct ipvssvc_ip *addr)
{
	int r = addr_cmd_index(ctx, RTM_DELADDR, 0, ifindex, addr);

	/* already gone is what we wanted */
	return r == -EADDRNOTAVAIL ? 0 : r;
}

static int resolve(ipvssvc_ctx *ctx, const char *ifname, int *ret_ifindex)
{
	if (!ctx || !valid_ifname(ifname))
		return -EINVAL;
	return ipvssvc_link_index(ctx, ifname, ret_ifindex);
}

_public_ int ipvssvc_link_addr_add(ipvssvc_ctx *ctx, const char *ifname,
				   const struct ipvssvc_ip *addr)
{
	int ifindex, r = resolve(ctx, ifname, &ifindex);

	return r < 0 ? r : ipvssvc_link_addr_add_index(ctx, ifindex, addr);
}

_public_ int ipvssvc_link_addr_del(ipvssvc_ctx *ctx, const char *ifname,
				   const struct ipvssvc_ip *addr)
{
	int ifindex, r = resolve(ctx, ifname, &ifindex);

	return r < 0 ? r : ipvssvc_link_addr_del_index(ctx, ifindex, addr);
}

_public_ int ipvssvc_node_addrs(ipvssvc_ctx *ctx, const char *exclude_ifname,
				struct ipvssvc_ip **ret_addrs, size_t *ret_n)
{
	struct ip_list l = {.node = 1, .exclude_ifindex = -1};
	int r;

	if (!ctx || !ret_addrs || !ret_n)
		return -EINVAL;
	if (exclude_ifname && *exclude_ifname) {
		int ifindex;

		r = ipvssvc_link_index(ctx, exclude_ifname, &ifindex);
		if (r == 0)
			l.exclude_ifindex = ifindex;
		else if (r != -ENODEV)
			return r;
	}
	r = ipvssvc_link_addr_foreach(ctx, 0, collect_addr, &l);
	if (r < 0) {
		free(l.v);
		return r;
	}
	finish_list(&l);
	*ret_addrs = l.v;
	*ret_n = l.n;
	return 0;
}
