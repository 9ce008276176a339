/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner: desired state + current state -> ordered operations.
 *
 * Both states are walked in canonical order (a merge-join), so a plan
 * costs O(n) comparisons plus O(log n) lookups for ownership. Operations
 * are produced in phases so that the kernel never sees a virtual server
 * without its address, or an address removed under a live virtual server:
 *
 *   link add, address adds, virtual server adds and edits with their new
 *   and changed real servers, real server removals, virtual server
 *   removals, address removals, link removal.
 *
 * Ownership: a current virtual server may be edited or removed only when
 * it is ours (see owned()); anything in the exclude CIDRs is left alone.
 */
#include "internal.h"

#include <stdio.h>

#define NO_INDEX ((size_t)-1)

enum phase {
	PHASE_LINK_ADD,
	PHASE_ADDR_ADD,
	PHASE_SVC,
	PHASE_DEST_DEL,
	PHASE_SVC_DEL,
	PHASE_ADDR_DEL,
	PHASE_LINK_DEL,
	_PHASE_MAX,
};

struct plan_op {
	enum ipvssvc_op op;
	size_t svc; /* index in plan->svcs */
	size_t old; /* SVC_EDIT: plan->svcs, DEST_EDIT: plan->old_dests */
	union {
		struct ipvssvc_dest dest; /* DEST_* */
		struct ipvssvc_ip addr; /* ADDR_* */
	};
};

/*
 * The operations, one array per phase: they are made in the order of the
 * states' merge and run in the order of the phases, and a cold plan at
 * scale is too big to copy into that order (it was the peak of a first
 * sync's memory). Operation i is found by the phases' counts.
 */
struct ipvssvc_plan {
	char ifname[IPVSSVC_IFNAME_MAX];
	struct plan_op *ops[_PHASE_MAX];
	size_t n_ops[_PHASE_MAX], cap_ops[_PHASE_MAX];
	size_t n_total;
	size_t last_svc; /* plan->svcs index named by the last operation */
	/* copies of the virtual servers the operations name, without dests */
	struct ipvssvc_service **svcs;
	size_t n_svcs, cap_svcs;
	struct ipvssvc_dest *old_dests;
	size_t n_old_dests, cap_old_dests;
};

static enum phase op_phase(enum ipvssvc_op op)
{
	switch (op) {
	case IPVSSVC_OP_LINK_ADD:
		return PHASE_LINK_ADD;
	case IPVSSVC_OP_ADDR_ADD:
		return PHASE_ADDR_ADD;
	case IPVSSVC_OP_DEST_DEL:
		return PHASE_DEST_DEL;
	case IPVSSVC_OP_SVC_DEL:
		return PHASE_SVC_DEL;
	case IPVSSVC_OP_ADDR_DEL:
		return PHASE_ADDR_DEL;
	case IPVSSVC_OP_LINK_DEL:
		return PHASE_LINK_DEL;
	default:
		return PHASE_SVC;
	}
}

static struct plan_op *push_op(struct ipvssvc_plan *p, enum ipvssvc_op op)
{
	enum phase ph = op_phase(op);
	struct plan_op *o;

	if (ipvssvc_grow((void **)&p->ops[ph], &p->cap_ops[ph], p->n_ops[ph],
			 sizeof(*p->ops[ph])) < 0)
		return NULL;
	o = &p->ops[ph][p->n_ops[ph]++];
	p->n_total++;
	memset(o, 0, sizeof(*o));
	o->op = op;
	o->svc = NO_INDEX;
	o->old = NO_INDEX;
	return o;
}

/* Copy a virtual server into the plan, without its real servers. */
static int keep_svc(struct ipvssvc_plan *p, const struct ipvssvc_service *svc,
		    size_t *ret)
{
	struct ipvssvc_service *c;

	if (ipvssvc_grow((void **)&p->svcs, &p->cap_svcs, p->n_svcs,
			 sizeof(*p->svcs)) < 0)
		return -ENOMEM;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *svc;
	c->origin_ns = c->origin_name = c->origin_port = NULL;
	c->dests = NULL;
	c->dest_stats = NULL;
	c->n_dests = c->cap_dests = 0;
	if (ipvssvc_service_set_origin(c, svc->origin, svc->origin_ns,
				       svc->origin_name,
				       svc->origin_port) < 0) {
		ipvssvc_service_clear(c);
		free(c);
		return -ENOMEM;
	}
	p->svcs[p->n_svcs] = c;
	*ret = p->n_svcs++;
	return 0;
}

static int add_addr_op(struct ipvssvc_plan *p, enum ipvssvc_op op,
		       const struct ipvssvc_ip *addr)
{
	struct plan_op *o = push_op(p, op);

	if (!o)
		return -ENOMEM;
	o->addr = *addr;
	return 0;
}

static int add_svc_op(struct ipvssvc_plan *p, enum ipvssvc_op op, size_t svc,
		      size_t old)
{
	struct plan_op *o = push_op(p, op);

	if (!o)
		return -ENOMEM;
	o->svc = svc;
	o->old = old;
	p->last_svc = svc;
	return 0;
}

static int add_dest_op(struct ipvssvc_plan *p, enum ipvssvc_op op, size_t svc,
		       const struct ipvssvc_dest *dest,
		       const struct ipvssvc_dest *old)
{
	struct plan_op *o = push_op(p, op);

	if (!o)
		return -ENOMEM;
	o->svc = svc;
	p->last_svc = svc;
	o->dest = *dest;
	o->dest.stats = NULL; /* points into a state the plan may outlive */
	if (old) {
		if (ipvssvc_grow((void **)&p->old_dests, &p->cap_old_dests,
				 p->n_old_dests, sizeof(*p->old_dests)) < 0)
			return -ENOMEM;
		p->old_dests[p->n_old_dests] = *old;
		p->old_dests[p->n_old_dests].stats = NULL;
		o->old = p->n_old_dests++;
	}
	return 0;
}

static int ip_qcmp(const void *a, const void *b)
{
	return ipvssvc_ip_cmp(a, b);
}

static bool has_addr(const struct ipvssvc_state *st,
		     const struct ipvssvc_ip *ip)
{
	if (!st || st->n_addrs == 0)
		return false;
	return bsearch(ip, st->addrs, st->n_addrs, sizeof(*st->addrs),
		       ip_qcmp) != NULL;
}

/*
 * The kernel gives an interface that is up an IPv6 link-local address of
 * its own: never a Service address, never ours to remove.
 */
static bool link_local(const struct ipvssvc_ip *ip)
{
	return ip->family == AF_INET6 && ip->u.bytes[0] == 0xfe &&
	       (ip->u.bytes[1] & 0xc0) == 0x80;
}

static bool excluded(const ipvssvc_config *cfg, const struct ipvssvc_ip *ip)
{
	return cfg && ipvssvc_config_is_excluded(cfg, ip);
}

/*
 * Is a current virtual server ours? Its address is bound to the dummy
 * interface or is to be bound there, or it is a NodePort we recorded.
 * (One matching a desired key never reaches this: it is edited.)
 */
static bool owned(const struct ipvssvc_service *svc,
		  const struct ipvssvc_state *desired,
		  const struct ipvssvc_state *current,
		  const struct ipvssvc_state *recorded)
{
	if (!svc->fwmark &&
	    (has_addr(current, &svc->addr) || has_addr(desired, &svc->addr)))
		return true;
	return recorded && ipvssvc_state_find(recorded, svc) != NULL;
}

static bool dest_attrs_equal(const struct ipvssvc_dest *a,
			     const struct ipvssvc_dest *b)
{
	return a->fwd == b->fwd && a->weight == b->weight &&
	       a->u_threshold == b->u_threshold &&
	       a->l_threshold == b->l_threshold;
}

static int plan_new(const ipvssvc_config *cfg, struct ipvssvc_plan **ret)
{
	struct ipvssvc_plan *p = calloc(1, sizeof(*p));
	const char *ifname = cfg ? ipvssvc_config_get_interface(cfg) : NULL;

	if (!p)
		return -ENOMEM;
	snprintf(p->ifname, sizeof(p->ifname), "%s",
		 ifname && *ifname ? ifname : "kube-ipvs0");
	p->last_svc = NO_INDEX;
	*ret = p;
	return 0;
}

/* Give back what growth by doubling left unused: plans can be large. */
static void fit_ops(struct ipvssvc_plan *p)
{
	struct plan_op *v;
	int ph;

	for (ph = 0; ph < _PHASE_MAX; ph++) {
		if (p->n_ops[ph] == p->cap_ops[ph] || !p->n_ops[ph])
			continue;
		v = realloc(p->ops[ph], p->n_ops[ph] * sizeof(*v));
		if (v) {
			p->ops[ph] = v;
			p->cap_ops[ph] = p->n_ops[ph];
		}
	}
}

/* Real servers of a virtual server present on both sides. */
static int plan_dests(struct ipvssvc_plan *p, size_t svc,
		      const struct ipvssvc_service *want,
		      const struct ipvssvc_service *have)
{
	size_t i = 0, j = 0;
	int r = 0;

	while (r == 0 && (i < want->n_dests || j < have->n_dests)) {
		int c;

		if (i == want->n_dests)
			c = 1;
		else if (j == have->n_dests)
			c = -1;
		else
			c = ipvssvc_dest_key_cmp(&want->dests[i],
						 &have->dests[j]);
		if (c < 0) {
			r = add_dest_op(p, IPVSSVC_OP_DEST_ADD, svc,
					&want->dests[i++], NULL);
		} else if (c > 0) {
			r = add_dest_op(p, IPVSSVC_OP_DEST_DEL, svc,
					&have->dests[j++], NULL);
		} else {
			if (!dest_attrs_equal(&want->dests[i], &have->dests[j]))
				r = add_dest_op(p, IPVSSVC_OP_DEST_EDIT, svc,
						&want->dests[i],
						&have->dests[j]);
			i++;
			j++;
		}
	}
	return r;
}

static int plan_add(struct ipvssvc_plan *p, const struct ipvssvc_service *want)
{
	size_t svc, k;
	int r;

	r = keep_svc(p, want, &svc);
	if (r < 0)
		return r;
	r = add_svc_op(p, IPVSSVC_OP_SVC_ADD, svc, NO_INDEX);
	for (k = 0; r == 0 && k < want->n_dests; k++)
		r = add_dest_op(p, IPVSSVC_OP_DEST_ADD, svc, &want->dests[k],
				NULL);
	return r;
}

static int plan_update(struct ipvssvc_plan *p,
		       const struct ipvssvc_service *want,
		       const struct ipvssvc_service *have)
{
	size_t svc, old = NO_INDEX;
	int r;

	r = keep_svc(p, want, &svc);
	if (r < 0)
		return r;
	if (!ipvssvc_service_attrs_equal(want, have)) {
		/* in place: its connections and real servers live on */
		r = keep_svc(p, have, &old);
		if (r == 0)
			r = add_svc_op(p, IPVSSVC_OP_SVC_EDIT, svc, old);
		if (r < 0)
			return r;
	}
	r = plan_dests(p, svc, want, have);
	/* drop the copy again when nothing names it */
	if (r == 0 && old == NO_INDEX && p->n_svcs == svc + 1 &&
	    p->last_svc != svc) {
		ipvssvc_service_clear(p->svcs[svc]);
		free(p->svcs[svc]);
		p->n_svcs--;
	}
	return r;
}

static int plan_del(struct ipvssvc_plan *p, const struct ipvssvc_service *have)
{
	size_t svc;
	int r;

	r = keep_svc(p, have, &svc);
	if (r < 0)
		return r;
	return add_svc_op(p, IPVSSVC_OP_SVC_DEL, svc, NO_INDEX);
}

static struct ipvssvc_state *sorted(const struct ipvssvc_state *st)
{
	struct ipvssvc_state *s = (struct ipvssvc_state *)st;

	if (s)
		ipvssvc_state_sort(s);
	return s;
}

static int plan_addrs(struct ipvssvc_plan *p,
		      const struct ipvssvc_state *desired,
		      const struct ipvssvc_state *current,
		      const ipvssvc_config *cfg)
{
	size_t i = 0, j = 0, adds = 0;
	int r = 0;

	while (r == 0 && (i < desired->n_addrs || j < current->n_addrs)) {
		int c;

		if (i == desired->n_addrs)
			c = 1;
		else if (j == current->n_addrs)
			c = -1;
		else
			c = ipvssvc_ip_cmp(&desired->addrs[i],
					   &current->addrs[j]);
		if (c < 0) {
			r = add_addr_op(p, IPVSSVC_OP_ADDR_ADD,
					&desired->addrs[i++]);
			adds++;
		} else if (c > 0) {
			/* an excluded address may carry another's service */
			if (!excluded(cfg, &current->addrs[j]) &&
			    !link_local(&current->addrs[j]))
				r = add_addr_op(p, IPVSSVC_OP_ADDR_DEL,
						&current->addrs[j]);
			j++;
		} else {
			i++;
			j++;
		}
	}
	/* an interface with addresses exists, whatever state_read said */
	if (r == 0 && current->link != 1 && current->n_addrs == 0 &&
	    (adds || current->link == -1)) {
		if (!push_op(p, IPVSSVC_OP_LINK_ADD))
			r = -ENOMEM;
	}
	return r;
}

_public_ int ipvssvc_plan_build(const ipvssvc_state *desired_,
				const ipvssvc_state *current_,
				const ipvssvc_state *recorded_,
				const ipvssvc_config *cfg, ipvssvc_plan **ret)
{
	const struct ipvssvc_state *desired = sorted(desired_);
	const struct ipvssvc_state *current = sorted(current_);
	const struct ipvssvc_state *recorded = sorted(recorded_);
	struct ipvssvc_plan *p;
	size_t i = 0, j = 0;
	int r;

	if (!desired || !current || !ret)
		return -EINVAL;
	r = plan_new(cfg, &p);
	if (r < 0)
		return r;
	r = plan_addrs(p, desired, current, cfg);

	while (r == 0 && (i < desired->n_svcs || j < current->n_svcs)) {
		const struct ipvssvc_service *want = NULL, *have = NULL;
		int c;

		if (i == desired->n_svcs)
			c = 1;
		else if (j == current->n_svcs)
			c = -1;
		else
			c = ipvssvc_service_key_cmp(desired->svcs[i],
						    current->svcs[j]);
		if (c <= 0)
			want = desired->svcs[i++];
		if (c >= 0)
			have = current->svcs[j++];

		if (want && !have) {
			r = plan_add(p, want);
		} else if (excluded(cfg, &have->addr)) {
			/* never edited or removed, whoever made it */
			continue;
		} else if (want) {
			r = plan_update(p, want, have);
		} else if (owned(have, desired, current, recorded)) {
			r = plan_del(p, have);
		}
	}
	if (r == 0)
		fit_ops(p);
	if (r < 0) {
		ipvssvc_plan_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

_public_ int ipvssvc_plan_cleanup(const ipvssvc_state *current_,
				  const ipvssvc_state *recorded_,
				  const ipvssvc_config *cfg, ipvssvc_plan **ret)
{
	const struct ipvssvc_state *current = sorted(current_);
	const struct ipvssvc_state *recorded = sorted(recorded_);
	struct ipvssvc_plan *p;
	bool keep_link = false;
	size_t i;
	int r;

	if (!current || !ret)
		return -EINVAL;
	r = plan_new(cfg, &p);
	if (r < 0)
		return r;
	for (i = 0; r == 0 && i < current->n_svcs; i++) {
		const struct ipvssvc_service *have = current->svcs[i];

		if (excluded(cfg, &have->addr))
			continue;
		if (owned(have, NULL, current, recorded))
			r = plan_del(p, have);
	}
	for (i = 0; r == 0 && i < current->n_addrs; i++) {
		if (excluded(cfg, &current->addrs[i]))
			keep_link = true;
		else if (!link_local(&current->addrs[i]))
			r = add_addr_op(p, IPVSSVC_OP_ADDR_DEL,
					&current->addrs[i]);
	}
	/* the link goes unless it is known to be gone or still needed */
	if (r == 0 && !keep_link && current->link != -1 &&
	    !push_op(p, IPVSSVC_OP_LINK_DEL))
		r = -ENOMEM;
	if (r == 0)
		fit_ops(p);
	if (r < 0) {
		ipvssvc_plan_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

_public_ void ipvssvc_plan_free(ipvssvc_plan *plan)
{
	size_t i;
	int ph;

	if (!plan)
		return;
	for (i = 0; i < plan->n_svcs; i++) {
		ipvssvc_service_clear(plan->svcs[i]);
		free(plan->svcs[i]);
	}
	free(plan->svcs);
	for (ph = 0; ph < _PHASE_MAX; ph++)
		free(plan->ops[ph]);
	free(plan->old_dests);
	free(plan);
}

_public_ size_t ipvssvc_plan_count(const ipvssvc_plan *plan)
{
	return plan ? plan->n_total : 0;
}

static const struct plan_op *get_op(const ipvssvc_plan *plan, size_t i)
{
	int ph;

	if (!plan)
		return NULL;
	for (ph = 0; ph < _PHASE_MAX; ph++) {
		if (i < plan->n_ops[ph])
			return &plan->ops[ph][i];
		i -= plan->n_ops[ph];
	}
	return NULL;
}

_public_ enum ipvssvc_op ipvssvc_plan_op(const ipvssvc_plan *plan, size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	return o ? o->op : 0;
}

_public_ const ipvssvc_service *
ipvssvc_plan_op_service(const ipvssvc_plan *plan, size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	return o && o->svc != NO_INDEX ? plan->svcs[o->svc] : NULL;
}

_public_ const ipvssvc_dest *ipvssvc_plan_op_dest(const ipvssvc_plan *plan,
						  size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	if (!o ||
	    (o->op != IPVSSVC_OP_DEST_ADD && o->op != IPVSSVC_OP_DEST_EDIT &&
	     o->op != IPVSSVC_OP_DEST_DEL))
		return NULL;
	return &o->dest;
}

_public_ const struct ipvssvc_ip *ipvssvc_plan_op_addr(const ipvssvc_plan *plan,
						       size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	if (!o ||
	    (o->op != IPVSSVC_OP_ADDR_ADD && o->op != IPVSSVC_OP_ADDR_DEL))
		return NULL;
	return &o->addr;
}

_public_ const ipvssvc_service *
ipvssvc_plan_op_old_service(const ipvssvc_plan *plan, size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	if (!o || o->op != IPVSSVC_OP_SVC_EDIT || o->old == NO_INDEX)
		return NULL;
	return plan->svcs[o->old];
}

_public_ const ipvssvc_dest *ipvssvc_plan_op_old_dest(const ipvssvc_plan *plan,
						      size_t i)
{
	const struct plan_op *o = get_op(plan, i);

	if (!o || o->op != IPVSSVC_OP_DEST_EDIT || o->old == NO_INDEX)
		return NULL;
	return &plan->old_dests[o->old];
}

_public_ const char *ipvssvc_plan_ifname(const ipvssvc_plan *plan)
{
	return plan ? plan->ifname : NULL;
}

_public_ const char *ipvssvc_op_name(enum ipvssvc_op op)
{
	switch (op) {
	case IPVSSVC_OP_LINK_ADD:
		return "add-link";
	case IPVSSVC_OP_ADDR_ADD:
		return "add-address";
	case IPVSSVC_OP_SVC_ADD:
		return "add-service";
	case IPVSSVC_OP_SVC_EDIT:
		return "edit-service";
	case IPVSSVC_OP_DEST_ADD:
		return "add-server";
	case IPVSSVC_OP_DEST_EDIT:
		return "edit-server";
	case IPVSSVC_OP_DEST_DEL:
		return "delete-server";
	case IPVSSVC_OP_SVC_DEL:
		return "delete-service";
	case IPVSSVC_OP_ADDR_DEL:
		return "delete-address";
	case IPVSSVC_OP_LINK_DEL:
		return "delete-link";
	}
	return "unknown";
}

/*
 * Rewrite an ipvsadm rule in place: its command letter becomes cmd and,
 * when key_only, everything after the key is cut (the service key ends
 * before "-s", a real server's key with the token after "-r").
 */
static void rewrite_rule(char *buf, char cmd, bool key_only)
{
	char *s, *cut = NULL;

	if (buf[0] == '-' && buf[1])
		buf[1] = cmd;
	if (!key_only)
		return;
	s = strstr(buf, " -r ");
	if (s) {
		cut = strchr(s + 4, ' ');
	} else {
		/* "-D -t ADDR:PORT" or "-D -f MARK [-6]" */
		s = strstr(buf, " -s ");
		cut = s;
	}
	if (cut)
		*cut = '\0';
}

_public_ const char *ipvssvc_plan_format_op(const ipvssvc_plan *plan, size_t i,
					    char *buf, size_t len)
{
	const struct plan_op *o = get_op(plan, i);
	char ip[IPVSSVC_IP_STRLEN];
	const struct ipvssvc_service *svc;
	int r = 0;

	if (!buf || len == 0)
		return buf;
	buf[0] = '\0';
	if (!o)
		return buf;
	svc = o->svc != NO_INDEX ? plan->svcs[o->svc] : NULL;
	switch (o->op) {
	case IPVSSVC_OP_LINK_ADD:
		snprintf(buf, len, "ip link add %s type dummy", plan->ifname);
		break;
	case IPVSSVC_OP_LINK_DEL:
		snprintf(buf, len, "ip link del %s", plan->ifname);
		break;
	case IPVSSVC_OP_ADDR_ADD:
	case IPVSSVC_OP_ADDR_DEL:
		snprintf(buf, len, "ip addr %s %s/%u dev %s",
			 o->op == IPVSSVC_OP_ADDR_ADD ? "add" : "del",
			 ipvssvc_ip_format(&o->addr, ip, sizeof(ip)),
			 o->addr.family == AF_INET6 ? 128 : 32, plan->ifname);
		break;
	case IPVSSVC_OP_SVC_ADD:
	case IPVSSVC_OP_SVC_EDIT:
	case IPVSSVC_OP_SVC_DEL:
		r = ipvssvc_service_format_rule(svc, buf, len);
		if (r >= 0 && o->op == IPVSSVC_OP_SVC_EDIT)
			rewrite_rule(buf, 'E', false);
		else if (r >= 0 && o->op == IPVSSVC_OP_SVC_DEL)
			rewrite_rule(buf, 'D', true);
		break;
	case IPVSSVC_OP_DEST_ADD:
	case IPVSSVC_OP_DEST_EDIT:
	case IPVSSVC_OP_DEST_DEL:
		r = ipvssvc_dest_format_rule(svc, &o->dest, buf, len);
		if (r >= 0 && o->op == IPVSSVC_OP_DEST_EDIT)
			rewrite_rule(buf, 'e', false);
		else if (r >= 0 && o->op == IPVSSVC_OP_DEST_DEL)
			rewrite_rule(buf, 'd', true);
		break;
	}
	if (r < 0)
		buf[0] = '\0';
	return buf;
}

/* ---- incremental planning, for a daemon -------------------------------
 *
 * A daemon keeps what it programmed as one state. For a change to a few
 * Services it takes their virtual servers out of that state, plans the
 * way from them to the Services' new desired part, and puts the part
 * back: the cost is that of the Services changed, plus a scan of pointers.
 */

struct name_set {
	uint64_t *hashes; /* open addressing; 0 is empty */
	size_t mask;
};

static int name_set_init(struct name_set *s, const char *const *namespaces,
			 const char *const *names, size_t n)
{
	size_t size = 16, i;

	while (size < 2 * n)
		size *= 2;
	s->hashes = calloc(size, sizeof(*s->hashes));
	if (!s->hashes)
		return -ENOMEM;
	s->mask = size - 1;
	for (i = 0; i < n; i++) {
		uint64_t h = ipvssvc_origin_hash(namespaces[i], names[i]);
		size_t j = h & s->mask;

		while (s->hashes[j] && s->hashes[j] != h)
			j = (j + 1) & s->mask;
		s->hashes[j] = h;
	}
	return 0;
}

static bool name_set_has(const struct name_set *s, uint64_t h)
{
	size_t j = h & s->mask;

	while (s->hashes[j]) {
		if (s->hashes[j] == h)
			return true;
		j = (j + 1) & s->mask;
	}
	return false;
}

/* A hash match is checked against the names themselves. */
static bool named(const struct ipvssvc_service *svc, const struct name_set *set,
		  const char *const *namespaces, const char *const *names,
		  size_t n)
{
	size_t i;

	if (!svc->origin_name ||
	    !name_set_has(set, svc->origin_hash
				       ? svc->origin_hash
				       : ipvssvc_origin_hash(svc->origin_ns,
							     svc->origin_name)))
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(svc->origin_name, names[i] ? names[i] : "") == 0 &&
		    strcmp(svc->origin_ns ? svc->origin_ns : "",
			   namespaces[i] ? namespaces[i] : "") == 0)
			return true;
	return false;
}

/* Does a virtual server of st (sorted) have the address ip? */
static bool addr_used(const struct ipvssvc_state *st,
		      const struct ipvssvc_ip *ip)
{
	static const uint16_t protos[] = {IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_SCTP};
	struct ipvssvc_service key;
	size_t k;

	memset(&key, 0, sizeof(key));
	key.addr = *ip;
	for (k = 0; k < ARRAY_SIZE(protos); k++) {
		size_t lo = 0, hi = st->n_svcs;

		key.protocol = protos[k];
		/* the first virtual server not before (proto, ip, port 0) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (ipvssvc_service_key_cmp(st->svcs[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < st->n_svcs && !st->svcs[lo]->fwmark &&
		    st->svcs[lo]->protocol == key.protocol &&
		    ipvssvc_ip_cmp(&st->svcs[lo]->addr, ip) == 0)
			return true;
	}
	return false;
}

/* The index of the virtual server of st with key's key, or NO_INDEX. */
static size_t find_index(const struct ipvssvc_state *st,
			 const struct ipvssvc_service *key)
{
	size_t lo = 0, hi = st->n_svcs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ipvssvc_service_key_cmp(st->svcs[mid], key);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_INDEX;
}

_public_ int ipvssvc_state_take_services(ipvssvc_state *st,
					 const char *const *namespaces,
					 const char *const *names, size_t n,
					 const ipvssvc_state *hint_,
					 ipvssvc_state **ret)
{
	const struct ipvssvc_state *hint = sorted(hint_);
	struct ipvssvc_state *part;
	struct name_set set;
	size_t *idx = NULL, i, j = 0, t, w;
	int r;

	if (!st || !ret || (n && (!namespaces || !names)))
		return -EINVAL;
	ipvssvc_state_sort(st);
	r = ipvssvc_state_new(&part);
	if (r < 0)
		return r;
	r = name_set_init(&set, namespaces, names, n);
	if (r < 0)
		goto fail;
	/* the indices to take, increasing; nothing moves before all is known */
	r = -ENOMEM;
	idx = malloc(((hint ? hint->n_svcs : st->n_svcs) + 1) * sizeof(*idx));
	if (!idx)
		goto fail;
	if (hint) {
		/* by key: st's virtual servers are not read one by one */
		for (i = 0; i < hint->n_svcs; i++) {
			size_t k = find_index(st, hint->svcs[i]);

			if (k != NO_INDEX &&
			    named(st->svcs[k], &set, namespaces, names, n))
				idx[j++] = k;
		}
	} else {
		for (i = 0; i < st->n_svcs; i++)
			if (named(st->svcs[i], &set, namespaces, names, n))
				idx[j++] = i;
	}
	if (j) {
		part->svcs = malloc(j * sizeof(*part->svcs));
		part->addrs = malloc(j * sizeof(*part->addrs));
		if (!part->svcs || !part->addrs)
			goto fail;
		part->cap_svcs = part->cap_addrs = j;
	}
	for (t = 0; t < j; t++) {
		struct ipvssvc_service *svc = st->svcs[idx[t]];

		part->svcs[part->n_svcs++] = svc;
		/* room reserved: cannot fail */
		if (!svc->fwmark && has_addr(st, &svc->addr))
			ipvssvc_state_add_addr(part, &svc->addr);
	}
	for (i = 0, t = 0, w = 0; i < st->n_svcs; i++) {
		if (t < j && idx[t] == i) {
			t++;
			continue;
		}
		st->svcs[w++] = st->svcs[i];
	}
	st->n_svcs = w;
	free(idx);
	free(set.hashes);
	ipvssvc_state_sort(part);
	*ret = part;
	return 0;
fail:
	free(idx);
	free(set.hashes);
	ipvssvc_state_free(part);
	return r;
}

_public_ int ipvssvc_plan_build_part(const ipvssvc_state *desired_part_,
				     const ipvssvc_state *current_part_,
				     const ipvssvc_state *rest_,
				     const ipvssvc_config *cfg,
				     ipvssvc_plan **ret)
{
	const struct ipvssvc_state *want = sorted(desired_part_);
	const struct ipvssvc_state *have = sorted(current_part_);
	const struct ipvssvc_state *rest = sorted(rest_);
	struct ipvssvc_plan *p;
	size_t i = 0, j = 0, adds = 0;
	int r;

	if (!want || !have || !rest || !ret)
		return -EINVAL;
	for (i = 0; i < want->n_svcs; i++)
		if (ipvssvc_state_find(rest, want->svcs[i]))
			return -EEXIST;
	r = plan_new(cfg, &p);
	if (r < 0)
		return r;
	/* addresses: bound when nothing has them yet, unbound when unused */
	for (i = 0; r == 0 && i < want->n_addrs; i++)
		if (!has_addr(rest, &want->addrs[i])) {
			r = add_addr_op(p, IPVSSVC_OP_ADDR_ADD,
					&want->addrs[i]);
			adds++;
		}
	for (i = 0; r == 0 && i < have->n_addrs; i++)
		if (!has_addr(want, &have->addrs[i]) &&
		    !addr_used(rest, &have->addrs[i]) &&
		    !excluded(cfg, &have->addrs[i]) &&
		    !link_local(&have->addrs[i]))
			r = add_addr_op(p, IPVSSVC_OP_ADDR_DEL,
					&have->addrs[i]);
	if (r == 0 && adds && rest->link != 1 && rest->n_addrs == 0 &&
	    !push_op(p, IPVSSVC_OP_LINK_ADD))
		r = -ENOMEM;
	/* virtual servers: every one of current_part is ours */
	i = j = 0;
	while (r == 0 && (i < want->n_svcs || j < have->n_svcs)) {
		int c;

		if (i == want->n_svcs)
			c = 1;
		else if (j == have->n_svcs)
			c = -1;
		else
			c = ipvssvc_service_key_cmp(want->svcs[i],
						    have->svcs[j]);
		if (c < 0)
			r = plan_add(p, want->svcs[i++]);
		else if (c > 0)
			r = excluded(cfg, &have->svcs[j]->addr)
				    ? 0
				    : plan_del(p, have->svcs[j]);
		else
			r = plan_update(p, want->svcs[i++], have->svcs[j]);
		if (c >= 0)
			j++;
	}
	if (r == 0)
		fit_ops(p);
	if (r < 0) {
		ipvssvc_plan_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* Insert ip into st's sorted, unique addresses. */
static int insert_addr(struct ipvssvc_state *st, const struct ipvssvc_ip *ip)
{
	size_t lo = 0, hi = st->n_addrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ipvssvc_ip_cmp(&st->addrs[mid], ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->n_addrs && ipvssvc_ip_cmp(&st->addrs[lo], ip) == 0)
		return 0;
	if (ipvssvc_grow((void **)&st->addrs, &st->cap_addrs, st->n_addrs,
			 sizeof(*st->addrs)) < 0)
		return -ENOMEM;
	memmove(&st->addrs[lo + 1], &st->addrs[lo],
		(st->n_addrs - lo) * sizeof(*st->addrs));
	st->addrs[lo] = *ip;
	st->n_addrs++;
	return 0;
}

static void remove_addr(struct ipvssvc_state *st, const struct ipvssvc_ip *ip)
{
	struct ipvssvc_ip *p;

	if (!st->n_addrs)
		return;
	p = bsearch(ip, st->addrs, st->n_addrs, sizeof(*st->addrs), ip_qcmp);
	if (!p)
		return;
	memmove(p, p + 1,
		(size_t)(st->addrs + st->n_addrs - (p + 1)) * sizeof(*p));
	st->n_addrs--;
}

_public_ int ipvssvc_state_put_services(ipvssvc_state *st, ipvssvc_state *part,
					const ipvssvc_state *old_part)
{
	size_t i, j, n;

	if (!st || !part)
		return -EINVAL;
	ipvssvc_state_sort(st);
	ipvssvc_state_sort(part);
	for (i = 0; i < part->n_svcs; i++)
		if (ipvssvc_state_find(st, part->svcs[i]))
			return -EEXIST;
	n = st->n_svcs + part->n_svcs;
	if (n > st->cap_svcs) {
		struct ipvssvc_service **v = realloc(st->svcs, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->svcs = v;
		st->cap_svcs = n;
	}
	/*
	 * From the back: each of part's virtual servers finds its place by
	 * binary search and only the pointers after it move, so that the
	 * virtual servers of st are not read one by one.
	 */
	i = st->n_svcs;
	for (j = part->n_svcs; j > 0; j--) {
		size_t lo = 0, hi = i;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (ipvssvc_service_key_cmp(st->svcs[mid],
						    part->svcs[j - 1]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&st->svcs[lo + j], &st->svcs[lo],
			(i - lo) * sizeof(*st->svcs));
		st->svcs[lo + j - 1] = part->svcs[j - 1];
		i = lo;
	}
	st->n_svcs = n;
	part->n_svcs = 0;
	for (i = 0; i < part->n_addrs; i++)
		if (insert_addr(st, &part->addrs[i]) < 0)
			return -ENOMEM;
	if (old_part) {
		const struct ipvssvc_state *old = sorted(old_part);

		for (i = 0; i < old->n_addrs; i++)
			if (!has_addr(part, &old->addrs[i]) &&
			    !addr_used(st, &old->addrs[i]))
				remove_addr(st, &old->addrs[i]);
	}
	return 0;
}
