/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The applier: carries a plan out through the kernel layer. Every
 * operation is tried, in order; one that fails does not stop the others.
 * The kernel is the truth and may have moved since it was read, so an add
 * that finds its object (-EEXIST) or a delete that finds it gone is
 * success; an add that finds the object there brings it to the planned
 * attributes with an edit.
 */
#include "internal.h"
#include "netlink.h"

static bool addr_gone(int r)
{
	return r == -EADDRNOTAVAIL || r == -ENOENT || r == -ENODEV ||
	       r == -ESRCH;
}

/* The link's index, looked up once per apply rather than per address. */
static int link_index(ipvssvc_ctx *ctx, const char *ifname, int *ifindex)
{
	return *ifindex > 0 ? 0 : ipvssvc_link_index(ctx, ifname, ifindex);
}

static int apply_op(ipvssvc_ctx *ctx, const ipvssvc_plan *plan, size_t i,
		    const char *ifname, bool *link_ready, int *ifindex)
{
	const ipvssvc_service *svc = ipvssvc_plan_op_service(plan, i);
	const ipvssvc_dest *dest = ipvssvc_plan_op_dest(plan, i);
	const struct ipvssvc_ip *addr = ipvssvc_plan_op_addr(plan, i);
	int r;

	switch (ipvssvc_plan_op(plan, i)) {
	case IPVSSVC_OP_LINK_ADD:
		r = ipvssvc_link_ensure_dummy(ctx, ifname, ifindex);
		if (r >= 0)
			*link_ready = true;
		return r;
	case IPVSSVC_OP_ADDR_ADD:
		r = link_index(ctx, ifname, ifindex);
		if (r == 0)
			r = ipvssvc_link_addr_add_index(ctx, *ifindex, addr);
		if (r == -ENODEV && !*link_ready) {
			/* the link went away since the kernel was read */
			r = ipvssvc_link_ensure_dummy(ctx, ifname, ifindex);
			if (r < 0)
				return r;
			*link_ready = true;
			r = ipvssvc_link_addr_add_index(ctx, *ifindex, addr);
		}
		return r == -EEXIST ? 0 : r;
	case IPVSSVC_OP_SVC_ADD:
		r = ipvssvc_service_add(ctx, svc);
		if (r == -EEXIST)
			r = ipvssvc_service_edit(ctx, svc);
		return r;
	case IPVSSVC_OP_SVC_EDIT:
		return ipvssvc_service_edit(ctx, svc);
	case IPVSSVC_OP_DEST_ADD:
		r = ipvssvc_dest_add(ctx, svc, dest);
		if (r == -EEXIST)
			r = ipvssvc_dest_edit(ctx, svc, dest);
		return r;
	case IPVSSVC_OP_DEST_EDIT:
		return ipvssvc_dest_edit(ctx, svc, dest);
	case IPVSSVC_OP_DEST_DEL:
		/* -ESRCH: its virtual server is gone too */
		r = ipvssvc_dest_del(ctx, svc, dest);
		return r == -ENOENT || r == -ESRCH ? 0 : r;
	case IPVSSVC_OP_SVC_DEL:
		r = ipvssvc_service_del(ctx, svc);
		return r == -ESRCH || r == -ENOENT ? 0 : r;
	case IPVSSVC_OP_ADDR_DEL:
		r = link_index(ctx, ifname, ifindex);
		if (r == 0)
			r = ipvssvc_link_addr_del_index(ctx, *ifindex, addr);
		return addr_gone(r) ? 0 : r;
	case IPVSSVC_OP_LINK_DEL:
		*ifindex = 0;
		r = ipvssvc_link_delete(ctx, ifname);
		return r == -ENODEV ? 0 : r;
	}
	return -EINVAL;
}

_public_ int ipvssvc_plan_apply(ipvssvc_ctx *ctx, const ipvssvc_plan *plan,
				const char *ifname, ipvssvc_apply_fn fn,
				void *userdata)
{
	bool link_ready = false;
	int ifindex = 0;
	size_t i, n;
	int failed = 0;

	if (!ctx || !plan)
		return -EINVAL;
	if (!ifname || !*ifname)
		ifname = ipvssvc_plan_ifname(plan);
	n = ipvssvc_plan_count(plan);
	for (i = 0; i < n; i++) {
		int r = apply_op(ctx, plan, i, ifname, &link_ready, &ifindex);

		if (r > 0)
			r = 0;
		if (r < 0)
			failed++;
		if (fn)
			fn(userdata, plan, i, r);
	}
	return failed;
}
