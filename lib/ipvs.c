/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IPVS generic-netlink client. Messages are built with libnl; the
 * replies are read by our own loop over one receive buffer per context,
 * so that errors keep the kernel's own errno (libnl folds ESRCH and
 * ENOENT into one code) and a dump costs no allocation per message.
 */
#include "netlink.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define RECV_BUF_LEN 65536 /* above the kernel's 32 KiB dump skb */
#define RECV_BATCH 4 /* datagrams per recvmmsg() */

void ipvssvc_ctx_set_error(struct ipvssvc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	va_end(ap);
	ctx->has_errmsg = 1;
}

/* The extended-ack message (NLMSGERR_ATTR_MSG) after the error code. */
static void keep_ext_ack(struct ipvssvc_ctx *ctx, const struct nlmsghdr *h,
			 size_t off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len <= off)
		return;
	len = h->nlmsg_len - off;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)h + off),
		      (int)len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		nla_strlcpy(ctx->errmsg, tb[NLMSGERR_ATTR_MSG],
			    sizeof(ctx->errmsg));
		ctx->has_errmsg = ctx->errmsg[0] != '\0';
	}
}

static int handle_error(struct ipvssvc_ctx *ctx, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*e));
	if (!(h->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= NLMSG_HDRLEN)
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	keep_ext_ack(ctx, h, off);
	/* the kernel sends -errno; anything else is not an errno */
	return e->error < 0 ? e->error : -EPROTO;
}

static int handle_done(struct ipvssvc_ctx *ctx, const struct nlmsghdr *h)
{
	int err;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
		return 0;
	memcpy(&err, NLMSG_DATA(h), sizeof(err));
	if (err >= 0)
		return 0;
	keep_ext_ack(ctx, h, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)));
	return err;
}

/* One datagram of replies; sets *done at the end of the request. */
static int handle_datagram(struct ipvssvc_ctx *ctx, const void *buf,
			   size_t left, uint32_t seq, ipvssvc_nl_parse_fn fn,
			   void *arg, int result, int *done)
{
	const struct nlmsghdr *h;

	/*
	 * The kernel pads every message: a shorter tail is no message, and
	 * left must stay a multiple of the padding for NLMSG_NEXT.
	 */
	left -= left % NLMSG_ALIGNTO;
	for (h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		int r;

		/* left over from an earlier, aborted request */
		if (h->nlmsg_seq != seq)
			continue;
		switch (h->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_OVERRUN:
			r = -EOVERFLOW;
			break;
		case NLMSG_ERROR:
			r = handle_error(ctx, h);
			*done = 1;
			break;
		case NLMSG_DONE:
			r = handle_done(ctx, h);
			*done = 1;
			break;
		default:
			/* after a failure, drain the rest unparsed */
			r = result == 0 && fn ? fn(h, arg) : 0;
			break;
		}
		if (r < 0 && result == 0)
			result = r;
		if (*done)
			break;
	}
	return result;
}

int ipvssvc_nl_request(struct ipvssvc_ctx *ctx, struct nl_sock *sk,
		       struct nl_msg *msg, ipvssvc_nl_parse_fn fn, void *arg)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct sockaddr_nl from[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct mmsghdr mm[RECV_BATCH];
	struct nlmsghdr *req = nlmsg_hdr(msg);
	int fd = nl_socket_get_fd(sk);
	int result = 0, done = 0, i, got;
	uint32_t seq;
	ssize_t n;

	ctx->has_errmsg = 0;
	ctx->errmsg[0] = '\0';
	/*
	 * A dump ends with NLMSG_DONE; anything else with an ack. Both bits
	 * of NLM_F_DUMP: NLM_F_EXCL alone shares one of them.
	 */
	if ((req->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		req->nlmsg_flags |= NLM_F_ACK;
	nl_complete_msg(sk, msg);
	seq = req->nlmsg_seq;
	do {
		n = sendto(fd, req, req->nlmsg_len, 0,
			   (struct sockaddr *)&kernel, sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	nlmsg_free(msg);
	if (n < 0)
		return -errno;
	ctx->requests++;

	/*
	 * Several datagrams per system call: a reply and its ack, or a dump
	 * and its NLMSG_DONE (queued while the first is read), come in one.
	 */
	while (!done) {
		for (i = 0; i < RECV_BATCH; i++) {
			iov[i].iov_base = (char *)ctx->buf + i * RECV_BUF_LEN;
			iov[i].iov_len = RECV_BUF_LEN;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(fd, mm, RECV_BATCH, MSG_WAITFORONE, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -ECONNRESET;
		for (i = 0; i < got && !done; i++) {
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				return -EMSGSIZE;
			if (from[i].nl_pid != 0)
				continue; /* not from the kernel */
			result = handle_datagram(ctx, iov[i].iov_base,
						 mm[i].msg_len, seq, fn, arg,
						 result, &done);
		}
	}
	if (result == 0)
		ctx->has_errmsg = 0;
	return result;
}

static int open_socket(int protocol, struct nl_sock **ret)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	struct nl_sock *sk;
	int one = 1;
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* error messages in plain words, without echoing our request */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	sk = nl_socket_alloc();
	if (!sk) {
		close(fd);
		return -ENOMEM;
	}
	if (nl_socket_set_fd(sk, protocol, fd) < 0) {
		nl_socket_free(sk);
		close(fd);
		return -EINVAL;
	}
	nl_socket_disable_auto_ack(sk);
	*ret = sk;
	return 0;
}

static int parse_family(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	int *family = arg;

	if (genlmsg_parse((struct nlmsghdr *)h, 0, tb, CTRL_ATTR_MAX, NULL) < 0)
		return -EBADMSG;
	if (!tb[CTRL_ATTR_FAMILY_ID] ||
	    nla_len(tb[CTRL_ATTR_FAMILY_ID]) < (int)sizeof(uint16_t))
		return -EBADMSG;
	*family = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

static int resolve_family(struct ipvssvc_ctx *ctx, const char *name)
{
	struct nl_msg *msg;
	int family = 0;
	int r;

	msg = nlmsg_alloc_size(256);
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0,
			 CTRL_CMD_GETFAMILY, 1) ||
	    nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, parse_family, &family);
	if (r == -ENOENT || (r == 0 && family == 0)) {
		ipvssvc_ctx_set_error(ctx,
				      "the kernel has no %s (generic netlink "
				      "family)",
				      name);
		return -EPROTONOSUPPORT;
	}
	if (r < 0)
		return r;
	ctx->family = family;
	return 0;
}

int ipvssvc_ctx_new_family(const char *family_name, struct ipvssvc_ctx **ret)
{
	struct ipvssvc_ctx *ctx;
	int r;

	if (!ret || !family_name)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->buf_len = RECV_BUF_LEN * RECV_BATCH;
	ctx->buf = malloc(ctx->buf_len);
	if (!ctx->buf) {
		r = -ENOMEM;
		goto fail;
	}
	r = open_socket(NETLINK_GENERIC, &ctx->genl);
	if (r < 0)
		goto fail;
	r = open_socket(NETLINK_ROUTE, &ctx->rtnl);
	if (r < 0)
		goto fail;
	r = resolve_family(ctx, family_name);
	if (r < 0)
		goto fail;
	*ret = ctx;
	return 0;
fail:
	ipvssvc_ctx_free(ctx);
	return r;
}

_public_ int ipvssvc_ctx_new(ipvssvc_ctx **ret)
{
	return ipvssvc_ctx_new_family(IPVS_GENL_NAME, ret);
}

_public_ void ipvssvc_ctx_free(ipvssvc_ctx *ctx)
{
	if (!ctx)
		return;
	/* nl_socket_free closes the descriptor */
	if (ctx->genl)
		nl_socket_free(ctx->genl);
	if (ctx->rtnl)
		nl_socket_free(ctx->rtnl);
	free(ctx->buf);
	free(ctx);
}

_public_ const char *ipvssvc_ctx_last_error(const ipvssvc_ctx *ctx)
{
	return ctx && ctx->has_errmsg ? ctx->errmsg : NULL;
}

_public_ uint64_t ipvssvc_ctx_requests(const ipvssvc_ctx *ctx)
{
	return ctx ? ctx->requests : 0;
}

/* Messages. */

static struct nl_msg *ipvs_msg(struct ipvssvc_ctx *ctx, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(512);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ctx->family, 0, flags,
			 cmd, IPVS_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int put_addr(struct nl_msg *msg, int attr, const struct ipvssvc_ip *ip)
{
	/* a union nf_inet_addr: IPv4 in the first four bytes */
	uint8_t a[16];

	memset(a, 0, sizeof(a));
	memcpy(a, ip->u.bytes, ip->family == AF_INET ? 4 : 16);
	return nla_put(msg, attr, sizeof(a), a);
}

static int put_service(struct nl_msg *msg, const struct ipvssvc_service *svc,
		       int full)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
	if (!nest)
		return -ENOMEM;
	if (nla_put_u16(msg, IPVS_SVC_ATTR_AF, (uint16_t)svc->addr.family) < 0)
		return -ENOMEM;
	if (svc->fwmark) {
		if (nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, svc->fwmark) < 0)
			return -ENOMEM;
	} else if (nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, svc->protocol) <
			   0 ||
		   put_addr(msg, IPVS_SVC_ATTR_ADDR, &svc->addr) < 0 ||
		   nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(svc->port)) < 0) {
		return -ENOMEM;
	}
	if (full) {
		struct ip_vs_flags flags = {
			.flags = svc->flags & ~(uint32_t)IP_VS_SVC_F_HASHED,
			.mask = ~0u,
		};

		if (nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, svc->sched) <
			    0 ||
		    nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags) <
			    0 ||
		    nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, svc->timeout) < 0 ||
		    /* IPv4: the network-order mask, as the kernel keeps it */
		    nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, svc->netmask) < 0)
			return -ENOMEM;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_dest(struct nl_msg *msg, const struct ipvssvc_dest *dest,
		    int full)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
	if (!nest)
		return -ENOMEM;
	if (put_addr(msg, IPVS_DEST_ATTR_ADDR, &dest->addr) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(dest->port)) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY,
			(uint16_t)dest->addr.family) < 0)
		return -ENOMEM;
	if (full &&
	    (nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, (uint32_t)dest->fwd) <
		     0 ||
	     nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, dest->weight) < 0 ||
	     nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, dest->u_threshold) < 0 ||
	     nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, dest->l_threshold) < 0))
		return -ENOMEM;
	nla_nest_end(msg, nest);
	return 0;
}

static int valid_service(const struct ipvssvc_service *svc)
{
	if (!svc)
		return 0;
	if (svc->addr.family != AF_INET && svc->addr.family != AF_INET6)
		return 0;
	return svc->fwmark || svc->protocol == IPPROTO_TCP ||
	       svc->protocol == IPPROTO_UDP || svc->protocol == IPPROTO_SCTP;
}

static int valid_dest(const struct ipvssvc_dest *dest)
{
	return dest &&
	       (dest->addr.family == AF_INET ||
		dest->addr.family == AF_INET6) &&
	       dest->weight <= INT32_MAX && (unsigned)dest->fwd <= 3;
}

/* Replies. */

static int attr_u16(const struct nlattr *a, uint16_t *v)
{
	if (!a || nla_len(a) < (int)sizeof(*v))
		return 0;
	*v = nla_get_u16((struct nlattr *)a);
	return 1;
}

static int attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) < (int)sizeof(*v))
		return 0;
	*v = nla_get_u32((struct nlattr *)a);
	return 1;
}

/* A counter: 64-bit in STATS64, 32- or 64-bit in the old STATS. */
static uint64_t attr_count(const struct nlattr *a)
{
	if (!a)
		return 0;
	if (nla_len(a) >= (int)sizeof(uint64_t))
		return nla_get_u64((struct nlattr *)a);
	if (nla_len(a) >= (int)sizeof(uint32_t))
		return nla_get_u32((struct nlattr *)a);
	return 0;
}

static int parse_stats(struct nlattr *s64, struct nlattr *s32,
		       struct ipvssvc_stats *st)
{
	struct nlattr *tb[IPVS_STATS_ATTR_MAX + 1];
	struct nlattr *nest = s64 ? s64 : s32;

	memset(st, 0, sizeof(*st));
	if (!nest)
		return 0;
	if (nla_parse_nested(tb, IPVS_STATS_ATTR_MAX, nest, NULL) < 0)
		return -EBADMSG;
	st->conns = attr_count(tb[IPVS_STATS_ATTR_CONNS]);
	st->inpkts = attr_count(tb[IPVS_STATS_ATTR_INPKTS]);
	st->outpkts = attr_count(tb[IPVS_STATS_ATTR_OUTPKTS]);
	st->inbytes = attr_count(tb[IPVS_STATS_ATTR_INBYTES]);
	st->outbytes = attr_count(tb[IPVS_STATS_ATTR_OUTBYTES]);
	st->cps = attr_count(tb[IPVS_STATS_ATTR_CPS]);
	st->inpps = attr_count(tb[IPVS_STATS_ATTR_INPPS]);
	st->outpps = attr_count(tb[IPVS_STATS_ATTR_OUTPPS]);
	st->inbps = attr_count(tb[IPVS_STATS_ATTR_INBPS]);
	st->outbps = attr_count(tb[IPVS_STATS_ATTR_OUTBPS]);
	return 0;
}

static int attr_ip(const struct nlattr *a, int family, struct ipvssvc_ip *ip)
{
	int need = family == AF_INET ? 4 : 16;

	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	if (!a || nla_len(a) < need)
		return -EBADMSG;
	memcpy(ip->u.bytes, nla_data(a), (size_t)need);
	return 0;
}

static int parse_service(struct nlattr *nest, struct ipvssvc_service *svc)
{
	struct nlattr *tb[IPVS_SVC_ATTR_MAX + 1];
	uint16_t af, proto = 0, port = 0;
	struct ip_vs_flags flags;

	ipvssvc_service_init(svc);
	if (!nest || nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, nest, NULL) < 0)
		return -EBADMSG;
	if (!attr_u16(tb[IPVS_SVC_ATTR_AF], &af) ||
	    (af != AF_INET && af != AF_INET6))
		return -EBADMSG;
	svc->addr.family = af;
	if (attr_u32(tb[IPVS_SVC_ATTR_FWMARK], &svc->fwmark) && svc->fwmark) {
		svc->protocol = 0;
		memset(&svc->addr.u, 0, sizeof(svc->addr.u));
	} else {
		svc->fwmark = 0;
		if (!attr_u16(tb[IPVS_SVC_ATTR_PROTOCOL], &proto) ||
		    !attr_u16(tb[IPVS_SVC_ATTR_PORT], &port) ||
		    attr_ip(tb[IPVS_SVC_ATTR_ADDR], af, &svc->addr) < 0)
			return -EBADMSG;
		svc->protocol = proto;
		svc->port = ntohs(port);
	}
	if (tb[IPVS_SVC_ATTR_SCHED_NAME])
		nla_strlcpy(svc->sched, tb[IPVS_SVC_ATTR_SCHED_NAME],
			    sizeof(svc->sched));
	if (tb[IPVS_SVC_ATTR_FLAGS] &&
	    nla_len(tb[IPVS_SVC_ATTR_FLAGS]) >= (int)sizeof(flags)) {
		memcpy(&flags, nla_data(tb[IPVS_SVC_ATTR_FLAGS]),
		       sizeof(flags));
		svc->flags = flags.flags & ~(uint32_t)IP_VS_SVC_F_HASHED;
	}
	attr_u32(tb[IPVS_SVC_ATTR_TIMEOUT], &svc->timeout);
	attr_u32(tb[IPVS_SVC_ATTR_NETMASK], &svc->netmask);
	return parse_stats(tb[IPVS_SVC_ATTR_STATS64], tb[IPVS_SVC_ATTR_STATS],
			   &svc->stats);
}

static int parse_dest(struct nlattr *nest, int svc_family,
		      struct ipvssvc_dest *dest, struct ipvssvc_stats *stats)
{
	struct nlattr *tb[IPVS_DEST_ATTR_MAX + 1];
	uint16_t af = (uint16_t)svc_family, port;
	uint32_t fwd = 0;

	memset(dest, 0, sizeof(*dest));
	if (!nest || nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, nest, NULL) < 0)
		return -EBADMSG;
	/* the real server's family may differ from the service's */
	attr_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY], &af);
	if (af != AF_INET && af != AF_INET6)
		return -EBADMSG;
	if (attr_ip(tb[IPVS_DEST_ATTR_ADDR], af, &dest->addr) < 0 ||
	    !attr_u16(tb[IPVS_DEST_ATTR_PORT], &port))
		return -EBADMSG;
	dest->port = ntohs(port);
	attr_u32(tb[IPVS_DEST_ATTR_FWD_METHOD], &fwd);
	dest->fwd = (enum ipvssvc_fwd)(fwd & IP_VS_CONN_F_FWD_MASK);
	attr_u32(tb[IPVS_DEST_ATTR_WEIGHT], &dest->weight);
	attr_u32(tb[IPVS_DEST_ATTR_U_THRESH], &dest->u_threshold);
	attr_u32(tb[IPVS_DEST_ATTR_L_THRESH], &dest->l_threshold);
	attr_u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS], &dest->active_conns);
	attr_u32(tb[IPVS_DEST_ATTR_INACT_CONNS], &dest->inact_conns);
	attr_u32(tb[IPVS_DEST_ATTR_PERSIST_CONNS], &dest->persist_conns);
	return parse_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS],
			   stats);
}

static int ipvs_parse(const struct nlmsghdr *h, struct nlattr **tb)
{
	if (genlmsg_parse((struct nlmsghdr *)h, 0, tb, IPVS_CMD_ATTR_MAX,
			  NULL) < 0)
		return -EBADMSG;
	return 0;
}

/* Info and configuration. */

struct info {
	uint32_t version, conn_tab_size;
	int seen;
};

static int parse_info(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[IPVS_INFO_ATTR_MAX + 1];
	struct info *info = arg;

	if (genlmsg_parse((struct nlmsghdr *)h, 0, tb, IPVS_INFO_ATTR_MAX,
			  NULL) < 0)
		return -EBADMSG;
	attr_u32(tb[IPVS_INFO_ATTR_VERSION], &info->version);
	attr_u32(tb[IPVS_INFO_ATTR_CONN_TAB_SIZE], &info->conn_tab_size);
	info->seen = 1;
	return 0;
}

_public_ int ipvssvc_get_info(ipvssvc_ctx *ctx, uint32_t *ret_version,
			      uint32_t *ret_conn_tab_size)
{
	struct info info = {0};
	struct nl_msg *msg;
	int r;

	if (!ctx)
		return -EINVAL;
	msg = ipvs_msg(ctx, IPVS_CMD_GET_INFO, 0);
	if (!msg)
		return -ENOMEM;
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, parse_info, &info);
	if (r < 0)
		return r;
	if (!info.seen)
		return -EBADMSG;
	if (ret_version)
		*ret_version = info.version;
	if (ret_conn_tab_size)
		*ret_conn_tab_size = info.conn_tab_size;
	return 0;
}

struct timeouts {
	uint32_t tcp, tcp_fin, udp;
	int seen;
};

static int parse_timeouts(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct timeouts *t = arg;

	if (ipvs_parse(h, tb) < 0)
		return -EBADMSG;
	attr_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP], &t->tcp);
	attr_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN], &t->tcp_fin);
	attr_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP], &t->udp);
	t->seen = 1;
	return 0;
}

_public_ int ipvssvc_get_timeouts(ipvssvc_ctx *ctx, uint32_t *ret_tcp,
				  uint32_t *ret_tcp_fin, uint32_t *ret_udp)
{
	struct timeouts t = {0};
	struct nl_msg *msg;
	int r;

	if (!ctx)
		return -EINVAL;
	msg = ipvs_msg(ctx, IPVS_CMD_GET_CONFIG, 0);
	if (!msg)
		return -ENOMEM;
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, parse_timeouts, &t);
	if (r < 0)
		return r;
	if (!t.seen)
		return -EBADMSG;
	if (ret_tcp)
		*ret_tcp = t.tcp;
	if (ret_tcp_fin)
		*ret_tcp_fin = t.tcp_fin;
	if (ret_udp)
		*ret_udp = t.udp;
	return 0;
}

_public_ int ipvssvc_set_timeouts(ipvssvc_ctx *ctx, uint32_t tcp,
				  uint32_t tcp_fin, uint32_t udp)
{
	struct nl_msg *msg;

	if (!ctx)
		return -EINVAL;
	msg = ipvs_msg(ctx, IPVS_CMD_SET_CONFIG, 0);
	if (!msg)
		return -ENOMEM;
	if ((tcp && nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP, tcp) < 0) ||
	    (tcp_fin &&
	     nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, tcp_fin) < 0) ||
	    (udp && nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_UDP, udp) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return ipvssvc_nl_request(ctx, ctx->genl, msg, NULL, NULL);
}

_public_ int ipvssvc_flush(ipvssvc_ctx *ctx)
{
	struct nl_msg *msg;

	if (!ctx)
		return -EINVAL;
	msg = ipvs_msg(ctx, IPVS_CMD_FLUSH, 0);
	if (!msg)
		return -ENOMEM;
	return ipvssvc_nl_request(ctx, ctx->genl, msg, NULL, NULL);
}

/* Virtual servers. */

static int service_cmd(struct ipvssvc_ctx *ctx, uint8_t cmd,
		       const struct ipvssvc_service *svc, int full)
{
	struct nl_msg *msg;
	int r;

	if (!ctx || !valid_service(svc))
		return -EINVAL;
	msg = ipvs_msg(ctx, cmd, 0);
	if (!msg)
		return -ENOMEM;
	r = put_service(msg, svc, full);
	if (r < 0) {
		nlmsg_free(msg);
		return r;
	}
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, NULL, NULL);
	/* a missing scheduler module: the kernel says ENOENT, no words */
	if (r == -ENOENT && full && !ctx->has_errmsg)
		ipvssvc_ctx_set_error(ctx,
				      "scheduler '%s' not available in the "
				      "kernel",
				      svc->sched);
	return r;
}

_public_ int ipvssvc_service_add(ipvssvc_ctx *ctx, const ipvssvc_service *svc)
{
	return service_cmd(ctx, IPVS_CMD_NEW_SERVICE, svc, 1);
}

_public_ int ipvssvc_service_edit(ipvssvc_ctx *ctx, const ipvssvc_service *svc)
{
	return service_cmd(ctx, IPVS_CMD_SET_SERVICE, svc, 1);
}

_public_ int ipvssvc_service_del(ipvssvc_ctx *ctx, const ipvssvc_service *svc)
{
	return service_cmd(ctx, IPVS_CMD_DEL_SERVICE, svc, 0);
}

struct svc_one {
	struct ipvssvc_service *svc;
	int seen;
};

static int parse_one_service(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct svc_one *one = arg;
	int r;

	if (ipvs_parse(h, tb) < 0)
		return -EBADMSG;
	if (one->seen)
		return 0;
	r = parse_service(tb[IPVS_CMD_ATTR_SERVICE], one->svc);
	if (r < 0)
		return r;
	one->seen = 1;
	return 0;
}

_public_ int ipvssvc_service_get(ipvssvc_ctx *ctx, const ipvssvc_service *key,
				 ipvssvc_service **ret)
{
	struct svc_one one = {0};
	struct nl_msg *msg;
	int r;

	if (!ctx || !valid_service(key) || !ret)
		return -EINVAL;
	r = ipvssvc_service_new(&one.svc);
	if (r < 0)
		return r;
	msg = ipvs_msg(ctx, IPVS_CMD_GET_SERVICE, 0);
	if (!msg) {
		ipvssvc_service_free(one.svc);
		return -ENOMEM;
	}
	r = put_service(msg, key, 0);
	if (r < 0) {
		nlmsg_free(msg);
		ipvssvc_service_free(one.svc);
		return r;
	}
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, parse_one_service, &one);
	if (r == 0 && !one.seen)
		r = -ESRCH;
	if (r < 0) {
		ipvssvc_service_free(one.svc);
		return r;
	}
	*ret = one.svc;
	return 0;
}

struct svc_list {
	struct ipvssvc_service **v;
	size_t n, cap;
};

static int parse_service_list(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct svc_list *l = arg;
	struct ipvssvc_service *svc;
	int r;

	if (ipvs_parse(h, tb) < 0)
		return -EBADMSG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ipvssvc_service **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	svc = malloc(sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	r = parse_service(tb[IPVS_CMD_ATTR_SERVICE], svc);
	if (r < 0) {
		free(svc);
		return r;
	}
	l->v[l->n++] = svc;
	return 0;
}

_public_ int ipvssvc_service_dump(ipvssvc_ctx *ctx, ipvssvc_service ***ret_list,
				  size_t *ret_n)
{
	struct svc_list l = {0};
	struct nl_msg *msg;
	int r;

	if (!ctx || !ret_list || !ret_n)
		return -EINVAL;
	msg = ipvs_msg(ctx, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	r = ipvssvc_nl_request(ctx, ctx->genl, msg, parse_service_list, &l);
	if (r < 0) {
		ipvssvc_service_list_free(l.v, l.n);
		return r;
	}
	*ret_list = l.v;
	*ret_n = l.n;
	return 0;
}

_public_ void ipvssvc_service_list_free(ipvssvc_service **list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		ipvssvc_service_free(list[i]);
	free(list);
}

/* Real servers. */

static int dest_cmd(struct ipvssvc_ctx *ctx, uint8_t cmd,
		    const struct ipvssvc_service *svc,
		    const struct ipvssvc_dest *dest, int full)
{
	struct nl_msg *msg;
	int r;

	if (!ctx || !valid_service(svc) || !valid_dest(dest))
		return -EINVAL;
	msg = ipvs_msg(ctx, cmd, 0);
	if (!msg)
		return -ENOMEM;
	r = put_service(msg, svc, 0);
	if (r == 0)
		r = put_dest(msg, dest, full);
	if (r < 0) {
		nlmsg_free(msg);
		return r;
	}
	return ipvssvc_nl_request(ctx, ctx->genl, msg, NULL, NULL);
}

_public_ int ipvssvc_dest_add(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
			      const ipvssvc_dest *dest)
{
	return dest_cmd(ctx, IPVS_CMD_NEW_DEST, svc, dest, 1);
}

_public_ int ipvssvc_dest_edit(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
			       const ipvssvc_dest *dest)
{
	return dest_cmd(ctx, IPVS_CMD_SET_DEST, svc, dest, 1);
}

_public_ int ipvssvc_dest_del(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
			      const ipvssvc_dest *dest)
{
	return dest_cmd(ctx, IPVS_CMD_DEL_DEST, svc, dest, 0);
}

struct dest_sink {
	int family;
	/* either into a service's array, or into a list of objects */
	struct ipvssvc_service *svc;
	struct ipvssvc_stats *stats; /* svc: one per dest pushed */
	struct ipvssvc_dest **v;
	size_t n, cap;
};

/* An element of ipvssvc_dest_dump()'s list: the dest and its stats. */
struct dumped_dest {
	struct ipvssvc_dest d;
	struct ipvssvc_stats stats;
};

static int parse_dest_msg(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct dest_sink *s = arg;
	struct ipvssvc_dest d;
	struct ipvssvc_stats st;
	struct dumped_dest *p;
	int r;

	if (ipvs_parse(h, tb) < 0)
		return -EBADMSG;
	r = parse_dest(tb[IPVS_CMD_ATTR_DEST], s->family, &d, &st);
	if (r < 0)
		return r;
	if (s->svc) {
		/* the dest into the service's array, its stats beside it */
		if (ipvssvc_grow((void **)&s->stats, &s->cap, s->n,
				 sizeof(*s->stats)) < 0)
			return -ENOMEM;
		r = ipvssvc_service_push_dest(s->svc, &d);
		if (r == 0)
			s->stats[s->n++] = st;
		return r;
	}
	if (ipvssvc_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)) < 0)
		return -ENOMEM;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->d = d;
	p->stats = st;
	p->d.stats = &p->stats;
	/* d comes first: freeing the dest frees its stats */
	s->v[s->n++] = &p->d;
	return 0;
}

static int dest_dump(struct ipvssvc_ctx *ctx, const struct ipvssvc_service *svc,
		     struct dest_sink *sink)
{
	struct nl_msg *msg;
	int r;

	msg = ipvs_msg(ctx, IPVS_CMD_GET_DEST, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	/* the kernel finds the service by the key in IPVS_CMD_ATTR_SERVICE */
	r = put_service(msg, svc, 0);
	if (r < 0) {
		nlmsg_free(msg);
		return r;
	}
	sink->family = svc->addr.family;
	return ipvssvc_nl_request(ctx, ctx->genl, msg, parse_dest_msg, sink);
}

/* Replace svc's real servers with the kernel's, stats included. */
int ipvssvc_dest_dump_into(struct ipvssvc_ctx *ctx, struct ipvssvc_service *svc)
{
	struct dest_sink sink = {.svc = svc};
	size_t i;
	int r;

	ipvssvc_service_reset_dests(svc);
	r = dest_dump(ctx, svc, &sink);
	if (r < 0 || sink.n != svc->n_dests) {
		free(sink.stats);
		ipvssvc_service_reset_dests(svc);
		return r < 0 ? r : -EBADMSG;
	}
	/* the dests move when sorted; the stats stay where they are */
	svc->dest_stats = sink.stats;
	for (i = 0; i < sink.n; i++)
		svc->dests[i].stats = &sink.stats[i];
	return 0;
}

_public_ int ipvssvc_dest_dump(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
			       ipvssvc_dest ***ret_list, size_t *ret_n)
{
	struct dest_sink sink = {0};
	int r;

	if (!ctx || !valid_service(svc) || !ret_list || !ret_n)
		return -EINVAL;
	r = dest_dump(ctx, svc, &sink);
	if (r < 0) {
		ipvssvc_dest_list_free(sink.v, sink.n);
		return r;
	}
	*ret_list = sink.v;
	*ret_n = sink.n;
	return 0;
}

_public_ void ipvssvc_dest_list_free(ipvssvc_dest **list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Fuzzing and tests: one datagram parsed as a request's reply. */
int ipvssvc_ipvs_parse_reply(const void *buf, size_t len, uint32_t seq,
			     enum ipvssvc_reply_kind kind, int family)
{
	struct ipvssvc_ctx ctx = {0};
	struct ipvssvc_service *svc = NULL;
	struct svc_list l = {0};
	struct svc_one one = {0};
	struct dest_sink sink = {.family = family};
	struct timeouts t = {0};
	struct info info = {0};
	ipvssvc_nl_parse_fn fn;
	void *arg;
	int done = 0, r;

	switch (kind) {
	case IPVSSVC_REPLY_SERVICE_GET:
	case IPVSSVC_REPLY_DEST_INTO:
		r = ipvssvc_service_new(&svc);
		if (r < 0)
			return r;
		one.svc = svc;
		sink.svc = svc;
		fn = kind == IPVSSVC_REPLY_SERVICE_GET ? parse_one_service
						       : parse_dest_msg;
		arg = kind == IPVSSVC_REPLY_SERVICE_GET ? (void *)&one
							: (void *)&sink;
		break;
	case IPVSSVC_REPLY_SERVICE_DUMP:
		fn = parse_service_list;
		arg = &l;
		break;
	case IPVSSVC_REPLY_DEST_DUMP:
		fn = parse_dest_msg;
		arg = &sink;
		break;
	case IPVSSVC_REPLY_INFO:
		fn = parse_info;
		arg = &info;
		break;
	case IPVSSVC_REPLY_TIMEOUTS:
		fn = parse_timeouts;
		arg = &t;
		break;
	default:
		return -EINVAL;
	}
	r = handle_datagram(&ctx, buf, len, seq, fn, arg, 0, &done);
	ipvssvc_service_free(svc);
	ipvssvc_service_list_free(l.v, l.n);
	ipvssvc_dest_list_free(sink.v, sink.n);
	free(sink.stats);
	return r;
}
