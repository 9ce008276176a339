/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of fuzz-netlink: datagrams as the kernel sends
 * them in reply to IPVS requests (services, real servers, info, config,
 * errors with extended acks, NLMSG_DONE), each prefixed by the byte that
 * names the request (see fuzz-netlink.c). Not built by make; by hand:
 *   cc -I/usr/include/libnl3 tests/fuzz/gen-netlink-seeds.c \
 *      -lnl-genl-3 -lnl-3 -o gen && ./gen tests/fuzz/corpus/fuzz-netlink
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#define FAMILY 0x1c /* any generic netlink id */
#define SEQ 7

static unsigned char dgram[16384];
static size_t dlen;

static void add(struct nl_msg *m)
{
	struct nlmsghdr *h = nlmsg_hdr(m);

	h->nlmsg_seq = SEQ;
	memcpy(dgram + dlen, h, h->nlmsg_len);
	dlen += NLMSG_ALIGN(h->nlmsg_len);
	nlmsg_free(m);
}

static struct nl_msg *msg(uint8_t cmd, int type, int flags)
{
	struct nl_msg *m = nlmsg_alloc();

	genlmsg_put(m, 0, SEQ, type, 0, flags, cmd, IPVS_GENL_VERSION);
	return m;
}

static void stats(struct nl_msg *m, int attr, int wide)
{
	struct nlattr *s = nla_nest_start(m, attr);
	int i;

	for (i = IPVS_STATS_ATTR_CONNS; i <= IPVS_STATS_ATTR_OUTBPS; i++) {
		if (wide)
			nla_put_u64(m, i, 1000 + i);
		else
			nla_put_u32(m, i, 100 + i);
	}
	nla_nest_end(m, s);
}

static void service(struct nl_msg *m, int v6, int fwmark)
{
	struct ip_vs_flags fl = {.flags = 0x8 | 0x1, .mask = ~0u};
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	unsigned char a[16] = {10, 96, 0, 10};

	if (v6) {
		inet_pton(AF_INET6, "fd00::10", a);
	}
	nla_put_u16(m, IPVS_SVC_ATTR_AF, v6 ? AF_INET6 : AF_INET);
	if (fwmark) {
		nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, 42);
	} else {
		nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, 6);
		nla_put(m, IPVS_SVC_ATTR_ADDR, 16, a);
		nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(80));
	}
	nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, "rr");
	nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, "sip");
	nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl);
	nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, 10800);
	nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, v6 ? 128 : 0xffffffff);
	stats(m, IPVS_SVC_ATTR_STATS, 0);
	stats(m, IPVS_SVC_ATTR_STATS64, 1);
	nla_nest_end(m, n);
}

static void dest(struct nl_msg *m, int v6)
{
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
	unsigned char a[16] = {10, 244, 1, 5};

	if (v6)
		inet_pton(AF_INET6, "fd00:1::5", a);
	nla_put(m, IPVS_DEST_ATTR_ADDR, 16, a);
	nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(8080));
	nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
	nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, 1);
	nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, 0);
	nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, 0);
	nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
	nla_put_u32(m, IPVS_DEST_ATTR_INACT_CONNS, 4);
	nla_put_u32(m, IPVS_DEST_ATTR_PERSIST_CONNS, 5);
	nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, v6 ? AF_INET6 : AF_INET);
	nla_put_u16(m, IPVS_DEST_ATTR_TUN_TYPE, 0);
	stats(m, IPVS_DEST_ATTR_STATS, 0);
	stats(m, IPVS_DEST_ATTR_STATS64, 1);
	nla_nest_end(m, n);
}

static void done(void)
{
	struct nl_msg *m = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI);
	int zero = 0;

	nlmsg_append(m, &zero, sizeof(zero), NLMSG_ALIGNTO);
	add(m);
}

static void error(int err, const char *text)
{
	struct nl_msg *m = nlmsg_alloc_simple(
		NLMSG_ERROR, text ? NLM_F_CAPPED | NLM_F_ACK_TLVS : 0);
	struct nlmsgerr e = {.error = err};

	e.msg.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	e.msg.nlmsg_seq = SEQ;
	nlmsg_append(m, &e, sizeof(e), NLMSG_ALIGNTO);
	if (text)
		nla_put_string(m, NLMSGERR_ATTR_MSG, text);
	add(m);
}

static void out(const char *dir, int n, unsigned char what)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(what, f);
	fwrite(dgram, 1, dlen, f);
	fclose(f);
	dlen = 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct nl_msg *m;
	int n = 0, v6;

	for (v6 = 0; v6 < 2; v6++) {
		/* a service dump: three services and NLMSG_DONE */
		m = msg(IPVS_CMD_NEW_SERVICE, FAMILY, NLM_F_MULTI);
		service(m, v6, 0);
		add(m);
		m = msg(IPVS_CMD_NEW_SERVICE, FAMILY, NLM_F_MULTI);
		service(m, v6, 1);
		add(m);
		done();
		out(dir, n++, (unsigned char)(0 | (v6 ? 0x80 : 0)));
		/* a get: one service and the ack */
		m = msg(IPVS_CMD_NEW_SERVICE, FAMILY, 0);
		service(m, v6, 0);
		add(m);
		error(0, NULL);
		out(dir, n++, (unsigned char)(1 | (v6 ? 0x80 : 0)));
		/* real servers, to a list and into a service */
		m = msg(IPVS_CMD_NEW_DEST, FAMILY, NLM_F_MULTI);
		dest(m, v6);
		add(m);
		m = msg(IPVS_CMD_NEW_DEST, FAMILY, NLM_F_MULTI);
		dest(m, !v6);
		add(m);
		done();
		out(dir, n++, (unsigned char)(2 | (v6 ? 0x80 : 0)));
		m = msg(IPVS_CMD_NEW_DEST, FAMILY, NLM_F_MULTI);
		dest(m, v6);
		add(m);
		done();
		out(dir, n++, (unsigned char)(3 | (v6 ? 0x80 : 0)));
	}
	m = msg(IPVS_CMD_SET_INFO, FAMILY, 0);
	nla_put_u32(m, IPVS_INFO_ATTR_VERSION, 0x010201);
	nla_put_u32(m, IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
	add(m);
	error(0, NULL);
	out(dir, n++, 4);
	m = msg(IPVS_CMD_SET_CONFIG, FAMILY, 0);
	nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP, 900);
	nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, 120);
	nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_UDP, 300);
	add(m);
	error(0, NULL);
	out(dir, n++, 5);
	/* errors: plain, and with an extended-ack message */
	error(-ESRCH, NULL);
	out(dir, n++, 1);
	error(-EEXIST, "Service already exists");
	out(dir, n++, 0);
	m = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS);
	{
		int err = -ENOENT;

		nlmsg_append(m, &err, sizeof(err), NLMSG_ALIGNTO);
		nla_put_string(m, NLMSGERR_ATTR_MSG, "no such service");
	}
	add(m);
	out(dir, n++, 2);
	return 0;
}
