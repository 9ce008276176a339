/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * k-ct: UDP conntrack entries for the kernel tests, over ctnetlink.
 *
 *   k-ct add SRC SPORT DST DPORT   an IPv4 UDP entry SRC:SPORT -> DST:DPORT
 *                                  with the reply from DST (no NAT), as the
 *                                  kernel makes for a datagram the node
 *                                  itself answered
 *   k-ct count DST DPORT [SPORT]   prints how many UDP entries have the
 *                                  original destination DST:DPORT (and
 *                                  source port SPORT)
 *
 * A stale entry made on purpose: the sync that gives the Service its first
 * endpoints must delete it whatever made it. Exit 0, 1 on error, 2 usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

struct query {
	uint32_t dst; /* network order */
	uint16_t dport;
	uint16_t sport; /* 0: any */
	unsigned n;
};

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct query *q = data;

	if (nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET &&
	    nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) == IPPROTO_UDP &&
	    nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST) == q->dst &&
	    nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST) == q->dport &&
	    (!q->sport ||
	     nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC) == q->sport))
		q->n++;
	return NFCT_CB_CONTINUE;
}

static int parse(const char *ip, const char *port, uint32_t *ret_ip,
		 uint16_t *ret_port)
{
	struct in_addr a;
	char *end;
	long p = strtol(port, &end, 10);

	if (inet_pton(AF_INET, ip, &a) != 1 || *end || p < 1 || p > 65535)
		return -1;
	*ret_ip = a.s_addr;
	*ret_port = htons((uint16_t)p);
	return 0;
}

static int add(struct nfct_handle *h, char **argv)
{
	struct nf_conntrack *ct;
	uint32_t src, dst;
	uint16_t sport, dport;
	int r;

	if (parse(argv[0], argv[1], &src, &sport) < 0 ||
	    parse(argv[2], argv[3], &dst, &dport) < 0)
		return 2;
	ct = nfct_new();
	if (!ct)
		return 1;
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, dst);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, sport);
	nfct_set_attr_u16(ct, ATTR_PORT_DST, dport);
	/* the reply tuple, protocols included: the original reversed */
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 300);
	r = nfct_query(h, NFCT_Q_CREATE, ct);
	if (r < 0)
		fprintf(stderr, "k-ct: add: %s\n", strerror(errno));
	nfct_destroy(ct);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nfct_handle *h;
	struct query q = {0, 0, 0, 0};
	uint32_t unused;
	uint32_t family = AF_INET;
	int r = 2;

	if (!((argc == 6 && strcmp(argv[1], "add") == 0) ||
	      ((argc == 4 || argc == 5) && strcmp(argv[1], "count") == 0))) {
		fprintf(stderr, "usage: k-ct add SRC SPORT DST DPORT | "
				"k-ct count DST DPORT [SPORT]\n");
		return 2;
	}
	h = nfct_open(CONNTRACK, 0);
	if (!h) {
		fprintf(stderr, "k-ct: ctnetlink: %s\n", strerror(errno));
		return 1;
	}
	if (argc == 6) {
		r = add(h, argv + 2);
	} else if (parse(argv[2], argv[3], &q.dst, &q.dport) == 0 &&
		   (argc == 4 ||
		    parse(argv[2], argv[4], &unused, &q.sport) == 0)) {
		nfct_callback_register(h, NFCT_T_ALL, on_entry, &q);
		r = nfct_query(h, NFCT_Q_DUMP, &family) < 0 ? 1 : 0;
		if (r)
			fprintf(stderr, "k-ct: dump: %s\n", strerror(errno));
		else
			printf("%u\n", q.n);
	}
	nfct_close(h);
	return r;
}
