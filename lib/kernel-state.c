/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read the kernel's current state: one dump of every virtual server, one
 * dump of the real servers of each, and the dummy link's addresses, all
 * through the context's two sockets.
 */
#include "netlink.h"

static int add_addr(int ifindex _unused_, unsigned char scope _unused_,
		    const struct ipvssvc_ip *ip, void *arg)
{
	/* the kernel's own IPv6 link-local address is not ours to manage */
	if (ipvssvc_ip_is_link_local6(ip))
		return 0;
	return ipvssvc_state_add_addr(arg, ip);
}

_public_ int ipvssvc_state_read(ipvssvc_ctx *ctx, const char *ifname,
				ipvssvc_state **ret)
{
	ipvssvc_service **list = NULL;
	ipvssvc_state *st = NULL;
	size_t n = 0, i = 0;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = ipvssvc_state_new(&st);
	if (r < 0)
		return r;
	r = ipvssvc_service_dump(ctx, &list, &n);
	if (r < 0)
		goto fail;
	/* hand the services over one by one: no copies */
	for (i = 0; i < n; i++) {
		r = ipvssvc_dest_dump_into(ctx, list[i]);
		if (r == 0)
			r = ipvssvc_state_take_service(st, list[i]);
		if (r < 0)
			goto fail;
		list[i] = NULL;
	}
	free(list);
	list = NULL;

	if (ifname && *ifname) {
		int ifindex;

		r = ipvssvc_link_index(ctx, ifname, &ifindex);
		if (r == 0) {
			st->link = 1;
			r = ipvssvc_link_addr_foreach(ctx, ifindex, add_addr,
						      st);
		} else if (r == -ENODEV) {
			st->link = -1;
			r = 0;
		}
		if (r < 0)
			goto fail;
	}
	ipvssvc_state_sort(st);
	*ret = st;
	return 0;
fail:
	if (list) {
		for (; i < n; i++)
			ipvssvc_service_free(list[i]);
		free(list);
	}
	ipvssvc_state_free(st);
	return r;
}
