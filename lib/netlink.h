/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the kernel layer: the context and the request loop shared
 * by the IPVS (generic netlink) and link (rtnetlink) code.
 */
#ifndef IPVSSVC_NETLINK_H
#define IPVSSVC_NETLINK_H

#include "internal.h"

#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#define IPVSSVC_ERRMSG_MAX 256

struct ipvssvc_ctx {
	struct nl_sock *genl; /* generic netlink, for IPVS */
	struct nl_sock *rtnl; /* rtnetlink, for links and addresses */
	int family; /* the "IPVS" family id */
	uint64_t requests;
	/* one receive buffer for the life of the context */
	void *buf;
	size_t buf_len;
	int has_errmsg;
	char errmsg[IPVSSVC_ERRMSG_MAX];
};

/*
 * Called for every reply message of a request that is not an error, an
 * acknowledgement or the end of a dump. A negative return aborts the
 * request with that value (the rest of the reply is drained).
 */
typedef int (*ipvssvc_nl_parse_fn)(const struct nlmsghdr *h, void *arg);

/*
 * Send msg (consumed) on sk and read every reply up to the final ack or
 * NLMSG_DONE. Returns 0 or the kernel's own -errno, and keeps the
 * extended-ack message of a failure for ipvssvc_ctx_last_error().
 */
int ipvssvc_nl_request(struct ipvssvc_ctx *ctx, struct nl_sock *sk,
		       struct nl_msg *msg, ipvssvc_nl_parse_fn fn, void *arg);
/* Set the last error message when the kernel gave none. */
void ipvssvc_ctx_set_error(struct ipvssvc_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Open a context on a generic netlink family other than "IPVS" (tests). */
int ipvssvc_ctx_new_family(const char *family_name, struct ipvssvc_ctx **ret);

/* ipvs.c */
/* Read the real servers of svc from the kernel, appending to svc->dests. */
int ipvssvc_dest_dump_into(struct ipvssvc_ctx *ctx,
			   struct ipvssvc_service *svc);

/* Fuzzing and tests: the kinds of reply ipvssvc_ipvs_parse_reply() reads. */
enum ipvssvc_reply_kind {
	IPVSSVC_REPLY_SERVICE_DUMP = 0,
	IPVSSVC_REPLY_SERVICE_GET,
	IPVSSVC_REPLY_DEST_DUMP,
	IPVSSVC_REPLY_DEST_INTO,
	IPVSSVC_REPLY_INFO,
	IPVSSVC_REPLY_TIMEOUTS,
	IPVSSVC_REPLY_KIND_MAX,
};
/*
 * Parse buf (len bytes, one datagram as received) as the replies to
 * request seq of the given kind, without a socket; what was parsed is
 * thrown away. family: the service's, for real-server replies. Returns
 * what the request would (0, -errno of the kernel, -EBADMSG).
 */
int ipvssvc_ipvs_parse_reply(const void *buf, size_t len, uint32_t seq,
			     enum ipvssvc_reply_kind kind, int family);

/* link.c */
/* The index of the link ifname; -ENODEV when there is none. */
int ipvssvc_link_index(struct ipvssvc_ctx *ctx, const char *ifname,
		       int *ret_ifindex);
/* Address commands on a known link (the applier resolves it once). */
int ipvssvc_link_addr_add_index(struct ipvssvc_ctx *ctx, int ifindex,
				const struct ipvssvc_ip *addr);
int ipvssvc_link_addr_del_index(struct ipvssvc_ctx *ctx, int ifindex,
				const struct ipvssvc_ip *addr);
/* Call fn for every address of the link ifindex (0: of every link). */
typedef int (*ipvssvc_addr_fn)(int ifindex, unsigned char scope,
			       const struct ipvssvc_ip *addr, void *arg);
/* fe80::/10 */
int ipvssvc_ip_is_link_local6(const struct ipvssvc_ip *ip);
int ipvssvc_link_addr_foreach(struct ipvssvc_ctx *ctx, int ifindex,
			      ipvssvc_addr_fn fn, void *arg);

#endif
