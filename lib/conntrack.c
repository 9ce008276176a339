/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UDP conntrack cleanup. UDP has no end of connection: a client keeps
 * its conntrack entry (and with it the real server IPVS chose) as long
 * as it sends, so entries toward a removed real server, or entries made
 * while a Service had no real server at all, must be deleted.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

/* Entries with original destination vip:vport and, unless any, reply
 * source rs:rport. Ports in host byte order. */
struct ct_match {
	struct ipvssvc_ip vip;
	uint16_t vport;
	bool any;
	struct ipvssvc_ip rs;
	uint16_t rport;
};

struct ct_job {
	struct ct_match *m;
	size_t n, cap;
	struct nf_conntrack **found;
	size_t n_found, cap_found;
	int err;
};

static int push_match(struct ct_job *j, const struct ct_match *m)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 8;
		struct ct_match *v = realloc(j->m, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		j->m = v;
		j->cap = cap;
	}
	j->m[j->n++] = *m;
	return 0;
}

static void ct_ip(const struct nf_conntrack *ct, int family,
		  enum nf_conntrack_attr a4, enum nf_conntrack_attr a6,
		  struct ipvssvc_ip *ret)
{
	const void *p;

	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	p = nfct_get_attr(ct, family == AF_INET ? a4 : a6);
	if (p)
		memcpy(&ret->u, p, family == AF_INET ? 4 : 16);
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct ct_job *j = data;
	struct ipvssvc_ip odst, rsrc;
	uint16_t oport, rport;
	int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	size_t i;

	if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_UDP ||
	    (family != AF_INET && family != AF_INET6))
		return NFCT_CB_CONTINUE;
	ct_ip(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, &odst);
	ct_ip(ct, family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &rsrc);
	oport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	rport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	for (i = 0; i < j->n; i++) {
		const struct ct_match *m = &j->m[i];

		if (m->vport != oport || ipvssvc_ip_cmp(&m->vip, &odst) ||
		    (!m->any &&
		     (m->rport != rport || ipvssvc_ip_cmp(&m->rs, &rsrc))))
			continue;
		if (j->n_found == j->cap_found) {
			size_t cap = j->cap_found ? j->cap_found * 2 : 16;
			struct nf_conntrack **v =
				realloc(j->found, cap * sizeof(*v));

			if (!v) {
				j->err = -ENOMEM;
				return NFCT_CB_STOP;
			}
			j->found = v;
			j->cap_found = cap;
		}
		j->found[j->n_found] = nfct_clone(ct);
		if (!j->found[j->n_found]) {
			j->err = -ENOMEM;
			return NFCT_CB_STOP;
		}
		j->n_found++;
		break;
	}
	return NFCT_CB_CONTINUE;
}

static struct nfct_handle *open_ct(void)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);

	/* libnfnetlink opens its socket without SOCK_CLOEXEC */
	if (h)
		(void)fcntl(nfct_fd(h), F_SETFD, FD_CLOEXEC);
	return h;
}

static bool had_no_dests(const ipvssvc_state *current, const ipvssvc_plan *plan,
			 const struct ipvssvc_service *svc)
{
	const ipvssvc_service *cur;
	size_t i;

	if (current) {
		cur = ipvssvc_state_find(current, svc);
		return !cur || cur->n_dests == 0;
	}
	/* without the current state, only a new virtual server is known */
	for (i = 0; i < ipvssvc_plan_count(plan); i++)
		if (ipvssvc_plan_op(plan, i) == IPVSSVC_OP_SVC_ADD &&
		    ipvssvc_service_key_cmp(ipvssvc_plan_op_service(plan, i),
					    svc) == 0)
			return true;
	return false;
}

static int collect(struct ct_job *j, const ipvssvc_plan *plan,
		   const ipvssvc_state *current)
{
	size_t i, n = ipvssvc_plan_count(plan);
	int r;

	for (i = 0; i < n; i++) {
		enum ipvssvc_op op = ipvssvc_plan_op(plan, i);
		const ipvssvc_service *svc = ipvssvc_plan_op_service(plan, i);
		const ipvssvc_dest *d = ipvssvc_plan_op_dest(plan, i);
		struct ct_match m;

		if (!svc || !d || svc->fwmark || svc->protocol != IPPROTO_UDP)
			continue;
		memset(&m, 0, sizeof(m));
		m.vip = svc->addr;
		m.vport = svc->port;
		if (op == IPVSSVC_OP_DEST_DEL) {
			m.rs = d->addr;
			m.rport = d->port;
		} else if (op == IPVSSVC_OP_DEST_ADD &&
			   had_no_dests(current, plan, svc)) {
			m.any = true;
		} else {
			continue;
		}
		r = push_match(j, &m);
		if (r < 0)
			return r;
	}
	return 0;
}

_public_ int ipvssvc_conntrack_cleanup(const ipvssvc_plan *plan,
				       const ipvssvc_state *current,
				       ipvssvc_diag_fn fn, void *userdata)
{
	struct ct_job j;
	struct nfct_handle *h = NULL;
	int r, deleted = 0;
	size_t i;

	if (!plan)
		return -EINVAL;
	memset(&j, 0, sizeof(j));
	r = collect(&j, plan, current);
	if (r < 0 || j.n == 0)
		goto out;
	h = open_ct();
	if (!h) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	nfct_callback_register(h, NFCT_T_ALL, on_entry, &j);
	{
		static const int families[] = {AF_INET, AF_INET6};

		for (i = 0; i < ARRAY_SIZE(families); i++) {
			uint32_t family = (uint32_t)families[i];

			if (nfct_query(h, NFCT_Q_DUMP, &family) < 0 &&
			    errno != ENOENT) {
				r = -errno;
				goto out;
			}
			if (j.err) {
				r = j.err;
				goto out;
			}
		}
	}
	/* the dump's handle is busy until it ends: delete with a fresh one */
	nfct_close(h);
	h = open_ct();
	if (!h) {
		r = -EIO;
		goto out;
	}
	for (i = 0; i < j.n_found; i++) {
		if (nfct_query(h, NFCT_Q_DESTROY, j.found[i]) == 0) {
			deleted++;
		} else if (errno != ENOENT && fn) {
			char msg[128];

			snprintf(msg, sizeof(msg),
				 "conntrack: cannot delete a UDP entry: %s",
				 strerror(errno));
			fn(userdata, IPVSSVC_LOG_WARNING, msg);
		}
	}
	r = deleted;
out:
	if (h)
		nfct_close(h);
	for (i = 0; i < j.n_found; i++)
		nfct_destroy(j.found[i]);
	free(j.found);
	free(j.m);
	return r;
}
