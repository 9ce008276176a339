/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner: every kind of change, the order of operations, ownership
 * (foreign and excluded virtual servers untouched), the NodePort record,
 * idempotency (checked by carrying plans out on a simulated kernel) and
 * cleanup.
 */
#include "internal.h"

#include <check.h>
#include <stdio.h>
#include <time.h>

#include <ipvs-svc/ipvs-svc.h>

static struct ipvssvc_ip ip(const char *s)
{
	struct ipvssvc_ip a;

	ck_assert_int_eq(ipvssvc_ip_parse(s, &a), 0);
	return a;
}

/* A virtual server "tcp 10.0.0.1 80 rr". */
static ipvssvc_service *svc_new(int proto, const char *addr, uint16_t port,
				const char *sched)
{
	ipvssvc_service *s;
	struct ipvssvc_ip a = ip(addr);

	ck_assert_int_eq(ipvssvc_service_new(&s), 0);
	ck_assert_int_eq(ipvssvc_service_set_addr(s, &a), 0);
	ck_assert_int_eq(ipvssvc_service_set_protocol(s, proto), 0);
	ck_assert_int_eq(ipvssvc_service_set_port(s, port), 0);
	ck_assert_int_eq(ipvssvc_service_set_scheduler(s, sched), 0);
	return s;
}

static void add_svc(ipvssvc_state *st, ipvssvc_service *s)
{
	ck_assert_int_eq(ipvssvc_state_add_service(st, s), 0);
}

static void add_dest(ipvssvc_state *st, const ipvssvc_service *s,
		     const char *addr, uint16_t port, uint32_t weight)
{
	ipvssvc_dest *d;
	struct ipvssvc_ip a = ip(addr);

	ck_assert_int_eq(ipvssvc_dest_new(&d), 0);
	ck_assert_int_eq(ipvssvc_dest_set_addr(d, &a), 0);
	ck_assert_int_eq(ipvssvc_dest_set_port(d, port), 0);
	ck_assert_int_eq(ipvssvc_dest_set_weight(d, weight), 0);
	ck_assert_int_eq(ipvssvc_state_add_dest(st, s, d), 0);
	ipvssvc_dest_free(d);
}

static void add_addr(ipvssvc_state *st, const char *addr)
{
	struct ipvssvc_ip a = ip(addr);

	ck_assert_int_eq(ipvssvc_state_add_addr(st, &a), 0);
}

static ipvssvc_state *state(void)
{
	ipvssvc_state *st;

	ck_assert_int_eq(ipvssvc_state_new(&st), 0);
	return st;
}

/* A copy of a state, as the kernel would hold it after a perfect sync. */
static ipvssvc_state *state_copy(const ipvssvc_state *src)
{
	ipvssvc_state *st = state();
	size_t i;

	for (i = 0; i < ipvssvc_state_service_count(src); i++) {
		const ipvssvc_service *s = ipvssvc_state_service(src, i);
		ipvssvc_service *c;

		ck_assert_int_eq(ipvssvc_service_dup(s, &c), 0);
		ipvssvc_service_set_origin(c, IPVSSVC_ORIGIN_NONE, NULL, NULL,
					   NULL);
		ck_assert_int_eq(ipvssvc_state_take_service(st, c), 0);
	}
	for (i = 0; i < ipvssvc_state_addr_count(src); i++)
		ck_assert_int_eq(
			ipvssvc_state_add_addr(st, ipvssvc_state_addr(src, i)),
			0);
	st->link = 1;
	return st;
}

static ipvssvc_config *config(const char *exclude)
{
	ipvssvc_config *cfg;

	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	if (exclude)
		ck_assert_int_eq(ipvssvc_config_set_exclude_cidrs(cfg, exclude),
				 0);
	return cfg;
}

static ipvssvc_plan *plan(const ipvssvc_state *desired,
			  const ipvssvc_state *current,
			  const ipvssvc_state *recorded,
			  const ipvssvc_config *cfg)
{
	ipvssvc_plan *p;

	ck_assert_int_eq(
		ipvssvc_plan_build(desired, current, recorded, cfg, &p), 0);
	return p;
}

/* The plan as "op rule" lines, for readable assertions. */
static char *dump(const ipvssvc_plan *p)
{
	static char out[8192];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < ipvssvc_plan_count(p); i++) {
		char line[256];

		ipvssvc_plan_format_op(p, i, line, sizeof(line));
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\n", line);
		ck_assert_uint_lt(n, sizeof(out));
	}
	return out;
}

static void assert_plan(const ipvssvc_plan *p, const char *want)
{
	ck_assert_str_eq(dump(p), want);
}

/* Index of the first operation of a kind, or -1. */
static long find_op(const ipvssvc_plan *p, enum ipvssvc_op op)
{
	size_t i;

	for (i = 0; i < ipvssvc_plan_count(p); i++)
		if (ipvssvc_plan_op(p, i) == op)
			return (long)i;
	return -1;
}

/* --- a simulated kernel: carries a plan out on a state ---------------- */

static struct ipvssvc_service *sim_find(ipvssvc_state *st,
					const ipvssvc_service *key, size_t *at)
{
	struct ipvssvc_service *s =
		(struct ipvssvc_service *)ipvssvc_state_find(st, key);
	size_t i;

	for (i = 0; s && at && i < st->n_svcs; i++)
		if (st->svcs[i] == s)
			*at = i;
	return s;
}

static struct ipvssvc_dest *sim_find_dest(struct ipvssvc_service *s,
					  const ipvssvc_dest *key, size_t *at)
{
	size_t i;

	for (i = 0; i < s->n_dests; i++)
		if (ipvssvc_dest_key_cmp(&s->dests[i], key) == 0) {
			if (at)
				*at = i;
			return &s->dests[i];
		}
	return NULL;
}

static size_t sim_find_addr(ipvssvc_state *st, const struct ipvssvc_ip *a)
{
	size_t i;

	for (i = 0; i < st->n_addrs; i++)
		if (ipvssvc_ip_cmp(&st->addrs[i], a) == 0)
			return i;
	return (size_t)-1;
}

/* Fails the test on an operation the kernel would refuse. */
static void simulate(ipvssvc_state *st, const ipvssvc_plan *p)
{
	size_t i, at = 0;

	for (i = 0; i < ipvssvc_plan_count(p); i++) {
		const ipvssvc_service *svc = ipvssvc_plan_op_service(p, i);
		const ipvssvc_dest *d = ipvssvc_plan_op_dest(p, i);
		const struct ipvssvc_ip *a = ipvssvc_plan_op_addr(p, i);
		struct ipvssvc_service *s = svc ? sim_find(st, svc, &at) : NULL;
		struct ipvssvc_service *c;
		struct ipvssvc_dest *have;
		size_t k;

		switch (ipvssvc_plan_op(p, i)) {
		case IPVSSVC_OP_LINK_ADD:
			ck_assert_int_ne(st->link, 1);
			st->link = 1;
			break;
		case IPVSSVC_OP_LINK_DEL:
			st->link = -1;
			st->n_addrs = 0;
			break;
		case IPVSSVC_OP_ADDR_ADD:
			/* the link exists: created, or it has addresses */
			ck_assert(st->link == 1 ||
				  (st->link == 0 && st->n_addrs > 0));
			ck_assert(sim_find_addr(st, a) == (size_t)-1);
			ipvssvc_state_add_addr(st, a);
			break;
		case IPVSSVC_OP_ADDR_DEL:
			k = sim_find_addr(st, a);
			ck_assert(k != (size_t)-1);
			/* no service of ours may still use it */
			for (at = 0; at < st->n_svcs; at++)
				ck_assert_int_ne(
					ipvssvc_ip_cmp(&st->svcs[at]->addr, a),
					0);
			st->addrs[k] = st->addrs[--st->n_addrs];
			st->dirty = 1;
			break;
		case IPVSSVC_OP_SVC_ADD:
			ck_assert_ptr_null(s);
			/* its address is bound first (or is a node address) */
			ck_assert_int_eq(ipvssvc_service_dup(svc, &c), 0);
			ck_assert_int_eq(ipvssvc_state_take_service(st, c), 0);
			break;
		case IPVSSVC_OP_SVC_EDIT:
			ck_assert_ptr_nonnull(s);
			strcpy(s->sched, svc->sched);
			s->flags = svc->flags;
			s->timeout = svc->timeout;
			s->netmask = svc->netmask;
			break;
		case IPVSSVC_OP_SVC_DEL:
			ck_assert_ptr_nonnull(s);
			ipvssvc_service_free(s);
			st->svcs[at] = st->svcs[--st->n_svcs];
			st->dirty = 1;
			break;
		case IPVSSVC_OP_DEST_ADD:
			ck_assert_ptr_nonnull(s);
			ck_assert_ptr_null(sim_find_dest(s, d, NULL));
			ipvssvc_service_push_dest(s, d);
			break;
		case IPVSSVC_OP_DEST_EDIT:
			ck_assert_ptr_nonnull(s);
			have = sim_find_dest(s, d, NULL);
			ck_assert_ptr_nonnull(have);
			*have = *d;
			break;
		case IPVSSVC_OP_DEST_DEL:
			ck_assert_ptr_nonnull(s);
			ck_assert_ptr_nonnull(sim_find_dest(s, d, &k));
			s->dests[k] = s->dests[--s->n_dests];
			break;
		}
	}
	/* real servers were appended or moved: order everything again */
	st->dirty = 1;
	ipvssvc_state_sort(st);
}

/* Plan, carry out, plan again: the second plan must be empty. */
static void converge(const ipvssvc_state *desired, ipvssvc_state *current,
		     const ipvssvc_state *recorded, const ipvssvc_config *cfg)
{
	ipvssvc_plan *p = plan(desired, current, recorded, cfg);

	simulate(current, p);
	ipvssvc_plan_free(p);
	p = plan(desired, current, recorded, cfg);
	ck_assert_msg(ipvssvc_plan_count(p) == 0, "not idempotent:\n%s",
		      dump(p));
	ipvssvc_plan_free(p);
}

/* The hostnames Service: ClusterIP 10.96.250.206:9376, three Pods. */
static ipvssvc_state *hostnames(const char *sched, int npods)
{
	ipvssvc_state *st = state();
	ipvssvc_service *s = svc_new(IPPROTO_TCP, "10.96.250.206", 9376, sched);
	char pod[32];
	int k;

	ipvssvc_service_set_origin(s, IPVSSVC_ORIGIN_CLUSTER_IP, "kube-system",
				   "hostnames", "http");
	add_svc(st, s);
	for (k = 0; k < npods; k++) {
		snprintf(pod, sizeof(pod), "10.244.0.%d", 72 + k);
		add_dest(st, s, pod, 9376, 1);
	}
	add_addr(st, "10.96.250.206");
	ipvssvc_service_free(s);
	return st;
}

START_TEST(test_fresh)
{
	ipvssvc_state *d = hostnames("rr", 3), *c = state();
	ipvssvc_plan *p;

	c->link = -1;
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip link add kube-ipvs0 type dummy\n"
		       "ip addr add 10.96.250.206/32 dev kube-ipvs0\n"
		       "-A -t 10.96.250.206:9376 -s rr\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 1\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.73:9376 -m -w 1\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.74:9376 -m -w "
		       "1\n");
	ck_assert_int_eq(ipvssvc_plan_op(p, 0), IPVSSVC_OP_LINK_ADD);
	ck_assert_int_eq(ipvssvc_plan_op(p, 2), IPVSSVC_OP_SVC_ADD);
	ck_assert_ptr_null(ipvssvc_plan_op_service(p, 1));
	ck_assert_ptr_nonnull(ipvssvc_plan_op_addr(p, 1));
	ck_assert_ptr_null(ipvssvc_plan_op_addr(p, 2));
	ck_assert_ptr_null(ipvssvc_plan_op_dest(p, 2));
	ck_assert_ptr_nonnull(ipvssvc_plan_op_dest(p, 3));
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_origin_kept)
{
	ipvssvc_state *d = hostnames("rr", 1), *c = state();
	ipvssvc_plan *p = plan(d, c, NULL, NULL);
	const char *ns, *name, *port;
	const ipvssvc_service *s =
		ipvssvc_plan_op_service(p, find_op(p, IPVSSVC_OP_SVC_ADD));

	ck_assert_int_eq(ipvssvc_service_get_origin(s, &ns, &name, &port),
			 IPVSSVC_ORIGIN_CLUSTER_IP);
	ck_assert_str_eq(ns, "kube-system");
	ck_assert_str_eq(name, "hostnames");
	ck_assert_str_eq(port, "http");
	ipvssvc_plan_free(p);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_link)
{
	ipvssvc_state *d = state(), *c = state();
	ipvssvc_plan *p;

	/* link known: nothing to do */
	c->link = 1;
	p = plan(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	/* link unknown and no address to bind: nothing to do */
	c->link = 0;
	p = plan(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	/* link absent: created, like kube-proxy does */
	c->link = -1;
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip link add kube-ipvs0 type dummy\n");
	ipvssvc_plan_free(p);
	/* unknown but an address to bind: ensured before */
	c->link = 0;
	add_addr(d, "10.0.0.1");
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip link add kube-ipvs0 type dummy\n"
		       "ip addr add 10.0.0.1/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	/* unknown, but it has an address: it exists */
	add_addr(c, "10.0.0.9");
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip addr add 10.0.0.1/32 dev kube-ipvs0\n"
		       "ip addr del 10.0.0.9/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_interface_name)
{
	ipvssvc_state *d = hostnames("rr", 0), *c = state();
	ipvssvc_config *cfg = config(NULL);
	ipvssvc_plan *p;

	ck_assert_int_eq(ipvssvc_config_set_interface(cfg, "ipvs-test0"), 0);
	c->link = -1;
	p = plan(d, c, NULL, cfg);
	ck_assert_str_eq(ipvssvc_plan_ifname(p), "ipvs-test0");
	assert_plan(p, "ip link add ipvs-test0 type dummy\n"
		       "ip addr add 10.96.250.206/32 dev ipvs-test0\n"
		       "-A -t 10.96.250.206:9376 -s rr\n");
	ipvssvc_plan_free(p);
	ipvssvc_config_free(cfg);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_idempotent)
{
	ipvssvc_state *d = hostnames("rr", 3);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_plan *p = plan(d, c, NULL, NULL);

	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_edit_scheduler_in_place)
{
	ipvssvc_state *d = hostnames("lc", 3);
	ipvssvc_state *old = hostnames("rr", 3);
	ipvssvc_state *c = state_copy(old);
	ipvssvc_plan *p = plan(d, c, NULL, NULL);

	/* edited, never deleted and re-created; real servers untouched */
	assert_plan(p, "-E -t 10.96.250.206:9376 -s lc\n");
	ck_assert_int_eq(ipvssvc_plan_op(p, 0), IPVSSVC_OP_SVC_EDIT);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(
				 ipvssvc_plan_op_old_service(p, 0)),
			 "rr");
	ck_assert_ptr_null(ipvssvc_plan_op_old_dest(p, 0));
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	ipvssvc_state_free(old);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_edit_persistence)
{
	ipvssvc_state *d = hostnames("rr", 2);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_service *s = (ipvssvc_service *)ipvssvc_state_service(d, 0);
	ipvssvc_plan *p;

	ipvssvc_service_set_flags(s, IPVSSVC_SVC_F_PERSISTENT);
	ipvssvc_service_set_timeout(s, 10800);
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-E -t 10.96.250.206:9376 -s rr -p 10800\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	/* timeout alone */
	ipvssvc_service_set_timeout(s, 600);
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-E -t 10.96.250.206:9376 -s rr -p 600\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	/* back to no affinity */
	ipvssvc_service_set_flags(s, 0);
	ipvssvc_service_set_timeout(s, 0);
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-E -t 10.96.250.206:9376 -s rr\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_edit_weight)
{
	ipvssvc_state *d = hostnames("rr", 2);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_service *s = (ipvssvc_service *)ipvssvc_state_service(d, 0);
	ipvssvc_plan *p;

	s->dests[1].weight = 0;
	s->dests[0].fwd = IPVSSVC_FWD_ROUTE;
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-e -t 10.96.250.206:9376 -r 10.244.0.72:9376 -g -w 1\n"
		       "-e -t 10.96.250.206:9376 -r 10.244.0.73:9376 -m -w "
		       "0\n");
	ck_assert_int_eq(ipvssvc_plan_op(p, 1), IPVSSVC_OP_DEST_EDIT);
	ck_assert_uint_eq(
		ipvssvc_dest_get_weight(ipvssvc_plan_op_old_dest(p, 1)), 1);
	ck_assert_uint_eq(ipvssvc_dest_get_weight(ipvssvc_plan_op_dest(p, 1)),
			  0);
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	/* thresholds */
	s->dests[0].u_threshold = 100;
	p = plan(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 1);
	ck_assert_int_eq(ipvssvc_plan_op(p, 0), IPVSSVC_OP_DEST_EDIT);
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_dests_added_before_removed)
{
	ipvssvc_state *old = hostnames("rr", 2); /* .72 .73 */
	ipvssvc_state *c = state_copy(old);
	ipvssvc_state *d = state();
	ipvssvc_service *s = svc_new(IPPROTO_TCP, "10.96.250.206", 9376, "rr");
	ipvssvc_plan *p;

	add_svc(d, s);
	add_dest(d, s, "10.244.0.1", 9376, 1);
	add_dest(d, s, "10.244.0.99", 9376, 1);
	add_dest(d, s, "10.244.0.73", 9376, 1);
	add_addr(d, "10.96.250.206");
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-a -t 10.96.250.206:9376 -r 10.244.0.1:9376 -m -w 1\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.99:9376 -m -w 1\n"
		       "-d -t 10.96.250.206:9376 -r 10.244.0.72:9376\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_service_free(s);
	ipvssvc_state_free(d);
	ipvssvc_state_free(old);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_remove_service_and_address)
{
	ipvssvc_state *d = hostnames("rr", 1);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_service *s = svc_new(IPPROTO_UDP, "10.96.0.10", 53, "rr");
	ipvssvc_service *s2 = svc_new(IPPROTO_TCP, "10.96.0.10", 53, "rr");
	ipvssvc_plan *p;

	/* kube-dns was deleted: its services and address go, in order */
	add_svc(c, s);
	add_dest(c, s, "10.244.0.2", 53, 1);
	add_svc(c, s2);
	add_addr(c, "10.96.0.10");
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-D -t 10.96.0.10:53\n"
		       "-D -u 10.96.0.10:53\n"
		       "ip addr del 10.96.0.10/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_service_free(s);
	ipvssvc_service_free(s2);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_order_of_phases)
{
	/* one plan with every kind of change: check the phases' order */
	ipvssvc_state *d = state(), *c = state();
	ipvssvc_service *keep = svc_new(IPPROTO_TCP, "10.0.0.1", 80, "rr");
	ipvssvc_service *keep2 = svc_new(IPPROTO_TCP, "10.0.0.1", 80, "wrr");
	ipvssvc_service *add = svc_new(IPPROTO_TCP, "10.0.0.2", 80, "rr");
	ipvssvc_service *del = svc_new(IPPROTO_TCP, "10.0.0.3", 80, "rr");
	ipvssvc_plan *p;
	size_t i;
	int last = 0;

	c->link = 0;
	add_svc(d, keep2);
	add_dest(d, keep2, "10.244.0.1", 80, 1);
	add_dest(d, keep2, "10.244.0.2", 80, 5);
	add_svc(d, add);
	add_dest(d, add, "10.244.0.9", 80, 1);
	add_addr(d, "10.0.0.1");
	add_addr(d, "10.0.0.2");
	add_svc(c, keep);
	add_dest(c, keep, "10.244.0.2", 80, 1);
	add_dest(c, keep, "10.244.0.3", 80, 1);
	add_svc(c, del);
	add_dest(c, del, "10.244.0.3", 80, 1);
	add_addr(c, "10.0.0.1");
	add_addr(c, "10.0.0.3");
	p = plan(d, c, NULL, NULL);
	/* the link has addresses, so it exists: no link operation */
	assert_plan(p, "ip addr add 10.0.0.2/32 dev kube-ipvs0\n"
		       "-E -t 10.0.0.1:80 -s wrr\n"
		       "-a -t 10.0.0.1:80 -r 10.244.0.1:80 -m -w 1\n"
		       "-e -t 10.0.0.1:80 -r 10.244.0.2:80 -m -w 5\n"
		       "-A -t 10.0.0.2:80 -s rr\n"
		       "-a -t 10.0.0.2:80 -r 10.244.0.9:80 -m -w 1\n"
		       "-d -t 10.0.0.1:80 -r 10.244.0.3:80\n"
		       "-D -t 10.0.0.3:80\n"
		       "ip addr del 10.0.0.3/32 dev kube-ipvs0\n");
	/* no operation before one of an earlier phase */
	for (i = 0; i < ipvssvc_plan_count(p); i++) {
		static const int rank[] = {
			[IPVSSVC_OP_LINK_ADD] = 1, [IPVSSVC_OP_ADDR_ADD] = 2,
			[IPVSSVC_OP_SVC_ADD] = 3,  [IPVSSVC_OP_SVC_EDIT] = 3,
			[IPVSSVC_OP_DEST_ADD] = 3, [IPVSSVC_OP_DEST_EDIT] = 3,
			[IPVSSVC_OP_DEST_DEL] = 4, [IPVSSVC_OP_SVC_DEL] = 5,
			[IPVSSVC_OP_ADDR_DEL] = 6, [IPVSSVC_OP_LINK_DEL] = 7,
		};
		int r = rank[ipvssvc_plan_op(p, i)];

		ck_assert_int_ge(r, last);
		last = r;
	}
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_service_free(keep);
	ipvssvc_service_free(keep2);
	ipvssvc_service_free(add);
	ipvssvc_service_free(del);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_foreign_untouched)
{
	ipvssvc_state *d = hostnames("rr", 1);
	ipvssvc_state *c = state_copy(d);
	/* keepalived's VIP on eth0, and a firewall-mark service */
	ipvssvc_service *ka = svc_new(IPPROTO_TCP, "192.168.1.100", 443, "wlc");
	ipvssvc_service *fwm;
	ipvssvc_plan *p;

	ck_assert_int_eq(ipvssvc_service_new(&fwm), 0);
	ck_assert_int_eq(ipvssvc_service_set_fwmark(fwm, AF_INET, 7), 0);
	add_svc(c, ka);
	add_dest(c, ka, "192.168.1.11", 443, 3);
	add_svc(c, fwm);
	p = plan(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	/* also when ours change all around them */
	ipvssvc_state_free(d);
	d = hostnames("sh", 3);
	converge(d, c, NULL, NULL);
	ck_assert_ptr_nonnull(ipvssvc_state_find(c, ka));
	ck_assert_uint_eq(ipvssvc_state_find(c, ka)->n_dests, 1);
	ck_assert_ptr_nonnull(ipvssvc_state_find(c, fwm));
	/* and when there is nothing desired at all */
	ipvssvc_state_free(d);
	d = state();
	converge(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_state_service_count(c), 2);
	ck_assert_uint_eq(ipvssvc_state_addr_count(c), 0);
	ipvssvc_service_free(ka);
	ipvssvc_service_free(fwm);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_foreign_on_desired_address)
{
	/* a service someone made on an address we are about to bind: ours */
	ipvssvc_state *d = hostnames("rr", 1), *c = state();
	ipvssvc_service *s = svc_new(IPPROTO_TCP, "10.96.250.206", 8080, "rr");
	ipvssvc_plan *p;

	c->link = 1;
	add_svc(c, s);
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip addr add 10.96.250.206/32 dev kube-ipvs0\n"
		       "-A -t 10.96.250.206:9376 -s rr\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.72:9376 -m -w 1\n"
		       "-D -t 10.96.250.206:8080\n");
	ipvssvc_plan_free(p);
	ipvssvc_service_free(s);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_excluded_untouched)
{
	ipvssvc_state *d = hostnames("rr", 1);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_config *cfg = config("10.100.0.0/16, fd00:100::/64");
	ipvssvc_service *x = svc_new(IPPROTO_TCP, "10.100.0.5", 80, "rr");
	ipvssvc_service *x6 = svc_new(IPPROTO_UDP, "fd00:100::5", 53, "rr");
	ipvssvc_service *y = svc_new(IPPROTO_TCP, "10.101.0.5", 80, "rr");
	ipvssvc_plan *p;

	/* excluded services even on the dummy interface's addresses */
	add_svc(c, x);
	add_dest(c, x, "10.1.1.1", 80, 1);
	add_svc(c, x6);
	add_svc(c, y);
	add_addr(c, "10.100.0.5");
	add_addr(c, "fd00:100::5");
	add_addr(c, "10.101.0.5");
	p = plan(d, c, NULL, cfg);
	assert_plan(p, "-D -t 10.101.0.5:80\n"
		       "ip addr del 10.101.0.5/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	/* a desired one there: created when absent, never edited */
	ipvssvc_state_free(d);
	d = hostnames("rr", 1);
	strcpy(x->sched, "wrr");
	add_svc(d, x);
	add_dest(d, x, "10.2.2.2", 80, 1);
	p = plan(d, c, NULL, cfg);
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_SVC_EDIT), -1);
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_DEST_ADD), -1);
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_DEST_DEL), -1);
	ipvssvc_plan_free(p);
	/* cleanup leaves them, their addresses and so the link */
	ck_assert_int_eq(ipvssvc_plan_cleanup(c, NULL, cfg, &p), 0);
	assert_plan(p, "-D -t 10.96.250.206:9376\n"
		       "-D -t 10.101.0.5:80\n"
		       "ip addr del 10.96.250.206/32 dev kube-ipvs0\n"
		       "ip addr del 10.101.0.5/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	ipvssvc_service_free(x);
	ipvssvc_service_free(x6);
	ipvssvc_service_free(y);
	ipvssvc_config_free(cfg);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_nodeport_ownership)
{
	ipvssvc_state *d = hostnames("rr", 1);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_state *rec = state();
	/* NodePorts on the node's address: one desired, one stale */
	ipvssvc_service *np = svc_new(IPPROTO_TCP, "192.168.1.10", 30080, "rr");
	ipvssvc_service *old =
		svc_new(IPPROTO_TCP, "192.168.1.10", 30081, "rr");
	ipvssvc_service *other =
		svc_new(IPPROTO_TCP, "192.168.1.10", 30082, "rr");
	ipvssvc_plan *p;

	add_svc(d, np);
	add_dest(d, np, "10.244.0.72", 9376, 1);
	/* someone else's NodePort-like rule with stale real servers */
	add_svc(c, np);
	add_dest(c, np, "10.244.0.50", 9376, 1);
	add_svc(c, old);
	add_svc(c, other);
	/* without a record only the desired key is ours */
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-a -t 192.168.1.10:30080 -r 10.244.0.72:9376 -m -w 1\n"
		       "-d -t 192.168.1.10:30080 -r 10.244.0.50:9376\n");
	ipvssvc_plan_free(p);
	/* recorded: the stale one is ours and goes */
	add_svc(rec, old);
	p = plan(d, c, rec, NULL);
	assert_plan(p, "-a -t 192.168.1.10:30080 -r 10.244.0.72:9376 -m -w 1\n"
		       "-d -t 192.168.1.10:30080 -r 10.244.0.50:9376\n"
		       "-D -t 192.168.1.10:30081\n");
	ipvssvc_plan_free(p);
	converge(d, c, rec, NULL);
	ck_assert_ptr_nonnull(ipvssvc_state_find(c, other));
	ck_assert_ptr_null(ipvssvc_state_find(c, old));
	/* no node address is bound to the dummy interface */
	ck_assert_uint_eq(ipvssvc_state_addr_count(c), 1);
	ipvssvc_service_free(np);
	ipvssvc_service_free(old);
	ipvssvc_service_free(other);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
	ipvssvc_state_free(rec);
}
END_TEST

START_TEST(test_takeover_kube_proxy)
{
	/* kube-proxy left kube-ipvs0 with addresses and services */
	ipvssvc_state *d = hostnames("rr", 3), *c = state();
	ipvssvc_service *a = svc_new(IPPROTO_TCP, "10.96.250.206", 9376, "rr");
	ipvssvc_service *b = svc_new(IPPROTO_TCP, "10.96.0.1", 443, "rr");
	ipvssvc_plan *p;

	c->link = 1;
	add_svc(c, a);
	add_dest(c, a, "10.244.0.72", 9376, 1);
	add_dest(c, a, "10.244.0.70", 9376, 1);
	add_svc(c, b);
	add_dest(c, b, "172.18.0.2", 6443, 1);
	add_addr(c, "10.96.250.206");
	add_addr(c, "10.96.0.1");
	p = plan(d, c, NULL, NULL);
	/* adopted, not re-created; stale ones removed */
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_SVC_ADD), -1);
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_ADDR_ADD), -1);
	ck_assert_int_eq(find_op(p, IPVSSVC_OP_LINK_ADD), -1);
	assert_plan(p, "-a -t 10.96.250.206:9376 -r 10.244.0.73:9376 -m -w 1\n"
		       "-a -t 10.96.250.206:9376 -r 10.244.0.74:9376 -m -w 1\n"
		       "-d -t 10.96.250.206:9376 -r 10.244.0.70:9376\n"
		       "-D -t 10.96.0.1:443\n"
		       "ip addr del 10.96.0.1/32 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_service_free(a);
	ipvssvc_service_free(b);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_ipv6)
{
	ipvssvc_state *d = state(), *c = state();
	ipvssvc_service *s = svc_new(IPPROTO_UDP, "fd00:10:96::a", 53, "rr");
	ipvssvc_plan *p;

	c->link = 1;
	add_svc(d, s);
	add_dest(d, s, "fd00:10:244::2", 53, 1);
	add_addr(d, "fd00:10:96::a");
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "ip addr add fd00:10:96::a/128 dev kube-ipvs0\n"
		       "-A -u [fd00:10:96::a]:53 -s rr\n"
		       "-a -u [fd00:10:96::a]:53 -r [fd00:10:244::2]:53 -m -w "
		       "1\n");
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	d = state();
	p = plan(d, c, NULL, NULL);
	assert_plan(p, "-D -u [fd00:10:96::a]:53\n"
		       "ip addr del fd00:10:96::a/128 dev kube-ipvs0\n");
	ipvssvc_plan_free(p);
	ipvssvc_service_free(s);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_link_local_kept)
{
	/* the kernel's own fe80:: address of an interface that is up */
	ipvssvc_state *d = hostnames("rr", 1);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_plan *p;

	add_addr(c, "fe80::1c2b:3aff:fe4d:5e6f");
	p = plan(d, c, NULL, NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	ck_assert_int_eq(ipvssvc_plan_cleanup(c, NULL, NULL, &p), 0);
	assert_plan(p, "-D -t 10.96.250.206:9376\n"
		       "ip addr del 10.96.250.206/32 dev kube-ipvs0\n"
		       "ip link del kube-ipvs0\n");
	ipvssvc_plan_free(p);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

START_TEST(test_cleanup)
{
	ipvssvc_state *d = hostnames("rr", 2);
	ipvssvc_state *c = state_copy(d);
	ipvssvc_state *rec = state();
	ipvssvc_service *np = svc_new(IPPROTO_TCP, "192.168.1.10", 30080, "rr");
	ipvssvc_service *ka = svc_new(IPPROTO_TCP, "192.168.1.100", 443, "rr");
	ipvssvc_plan *p;

	add_svc(c, np);
	add_svc(c, ka);
	add_svc(rec, np);
	ck_assert_int_eq(ipvssvc_plan_cleanup(c, rec, NULL, &p), 0);
	assert_plan(p, "-D -t 10.96.250.206:9376\n"
		       "-D -t 192.168.1.10:30080\n"
		       "ip addr del 10.96.250.206/32 dev kube-ipvs0\n"
		       "ip link del kube-ipvs0\n");
	ck_assert_int_eq(ipvssvc_plan_op(p, 3), IPVSSVC_OP_LINK_DEL);
	simulate(c, p);
	ipvssvc_plan_free(p);
	ck_assert_uint_eq(ipvssvc_state_service_count(c), 1);
	ck_assert_ptr_nonnull(ipvssvc_state_find(c, ka));
	/* again: nothing left to do */
	ck_assert_int_eq(ipvssvc_plan_cleanup(c, rec, NULL, &p), 0);
	ck_assert_uint_eq(ipvssvc_plan_count(p), 0);
	ipvssvc_plan_free(p);
	/* an unknown link is removed (gone counts as success) */
	c->link = 0;
	ck_assert_int_eq(ipvssvc_plan_cleanup(c, NULL, NULL, &p), 0);
	assert_plan(p, "ip link del kube-ipvs0\n");
	ipvssvc_plan_free(p);
	ipvssvc_service_free(np);
	ipvssvc_service_free(ka);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
	ipvssvc_state_free(rec);
}
END_TEST

START_TEST(test_bad_arguments)
{
	ipvssvc_state *st = state();
	ipvssvc_plan *p = NULL;
	char buf[16];

	ck_assert_int_eq(ipvssvc_plan_build(NULL, st, NULL, NULL, &p), -EINVAL);
	ck_assert_int_eq(ipvssvc_plan_build(st, NULL, NULL, NULL, &p), -EINVAL);
	ck_assert_int_eq(ipvssvc_plan_build(st, st, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(ipvssvc_plan_cleanup(NULL, NULL, NULL, &p), -EINVAL);
	ck_assert_ptr_null(p);
	ipvssvc_plan_free(NULL);
	ck_assert_uint_eq(ipvssvc_plan_count(NULL), 0);
	ck_assert_int_eq(ipvssvc_plan_op(NULL, 0), 0);
	ck_assert_ptr_null(ipvssvc_plan_op_service(NULL, 0));
	ck_assert_str_eq(ipvssvc_plan_format_op(NULL, 3, buf, sizeof(buf)), "");
	ck_assert_str_eq(ipvssvc_op_name(IPVSSVC_OP_SVC_EDIT), "edit-service");
	ipvssvc_state_free(st);
}
END_TEST

/* n services with m real servers each, in a canonical order build. */
static ipvssvc_state *big(size_t n, size_t m, unsigned seed)
{
	ipvssvc_state *st = state();
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct ipvssvc_service *s = malloc(sizeof(*s));
		struct ipvssvc_ip a;

		ipvssvc_service_init(s);
		memset(&a, 0, sizeof(a));
		a.family = AF_INET;
		a.u.in.s_addr = htonl(0x0a600000u + (uint32_t)i);
		s->addr = a;
		s->port = 80;
		for (k = 0; k < m; k++) {
			struct ipvssvc_dest d;

			memset(&d, 0, sizeof(d));
			d.addr.family = AF_INET;
			d.addr.u.in.s_addr = htonl(
				0x0af40000u +
				(uint32_t)((i * 7 + k + 100 * seed * (k & 1)) &
					   0xffff));
			d.port = 8080;
			d.weight = 1;
			ipvssvc_service_push_dest(s, &d);
		}
		ipvssvc_state_take_service(st, s);
		ipvssvc_state_add_addr(st, &a);
	}
	ipvssvc_state_sort(st);
	return st;
}

START_TEST(test_large)
{
	/* correctness at size; speed is measured in bench/, not here */
	ipvssvc_state *d = big(2000, 10, 1), *c = big(2000, 10, 2);
	ipvssvc_plan *p;

	c->link = 1;
	p = plan(d, c, NULL, NULL);
	/* half the real servers move: 5 adds and 5 removals each */
	ck_assert_uint_eq(ipvssvc_plan_count(p), 2000 * 10);
	ipvssvc_plan_free(p);
	converge(d, c, NULL, NULL);
	ipvssvc_state_free(d);
	ipvssvc_state_free(c);
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("plan");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fresh);
	tcase_add_test(tc, test_origin_kept);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_interface_name);
	tcase_add_test(tc, test_idempotent);
	tcase_add_test(tc, test_edit_scheduler_in_place);
	tcase_add_test(tc, test_edit_persistence);
	tcase_add_test(tc, test_edit_weight);
	tcase_add_test(tc, test_dests_added_before_removed);
	tcase_add_test(tc, test_remove_service_and_address);
	tcase_add_test(tc, test_order_of_phases);
	tcase_add_test(tc, test_foreign_untouched);
	tcase_add_test(tc, test_foreign_on_desired_address);
	tcase_add_test(tc, test_excluded_untouched);
	tcase_add_test(tc, test_nodeport_ownership);
	tcase_add_test(tc, test_takeover_kube_proxy);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_link_local_kept);
	tcase_add_test(tc, test_cleanup);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(plan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
