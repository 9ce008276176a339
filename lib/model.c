/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model: Services and their endpoints in, the desired IPVS state out,
 * with kube-proxy IPVS mode's semantics (1.28 to 1.35). A pure function:
 * no I/O, no dependence on the order of the input. Each IP family is
 * handled as kube-proxy's per-family proxier does: a Service without a
 * ClusterIP of a family gets nothing of that family.
 */
#include "objects.h"

#include <stdio.h>

#define LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"
#define LABEL_HEADLESS "service.kubernetes.io/headless"

/* An endpoint of one Service port, before traffic policies. */
struct ep {
	struct ipvssvc_ip addr;
	uint16_t port;
	bool ready;
	bool serving;
	bool terminating;
	bool local;
	const struct str_list *zone_hints;
	const struct str_list *node_hints;
	size_t order; /* position in the input, for ties */
};

struct epvec {
	struct ep *v;
	size_t n;
	size_t cap;
};

/* A virtual server already produced, to find conflicts. */
struct vskey {
	struct hnode node;
	int family;
	uint16_t protocol;
	uint16_t port;
	struct ipvssvc_ip addr;
	const struct k8s_obj *owner;
};

/* Pods by (namespace, label key, label value), for selectors. */
struct podgroup {
	struct hnode node;
	const char *ns;
	const char *key;
	const char *value;
	const struct k8s_obj **pods;
	size_t n;
	size_t cap;
};

struct mctx {
	const struct ipvssvc_objects *objs;
	const struct ipvssvc_config *cfg;
	struct ipvssvc_state *st;
	const char *node_name;
	const char *zone;
	struct htable keys;
	struct htable podidx;
	bool podidx_built;
	const struct k8s_obj **slices; /* scratch */
	size_t cap_slices;
	bool *sel; /* scratch: selected endpoints */
	size_t cap_sel;
	/* Service ports with a Local policy and no local endpoints */
	unsigned no_local_int, no_local_ext;
};

static void mdiag(const struct mctx *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mdiag(const struct mctx *m, int level, const char *fmt, ...)
{
	ipvssvc_diag_fn fn = m->objs->diag;
	void *ud = m->objs->diag_userdata;
	char buf[768];
	va_list ap;

	if (!fn) {
		fn = m->cfg->diag;
		ud = m->cfg->diag_userdata;
	}
	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(ud, level, buf);
}

static int epvec_push(struct epvec *v, const struct ep *e)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct ep *n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->n] = *e;
	v->v[v->n].order = v->n;
	v->n++;
	return 0;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	int r = ipvssvc_ip_cmp(&x->addr, &y->addr);

	if (r)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	/* the same endpoint twice: a local one wins, then the first */
	if (x->local != y->local)
		return x->local ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sort and drop duplicates (the same address and port in two slices). */
static void epvec_unique(struct epvec *v)
{
	size_t i, j;

	if (v->n < 2)
		return;
	qsort(v->v, v->n, sizeof(*v->v), ep_cmp);
	for (i = 1, j = 0; i < v->n; i++)
		if (ipvssvc_ip_cmp(&v->v[j].addr, &v->v[i].addr) ||
		    v->v[j].port != v->v[i].port)
			v->v[++j] = v->v[i];
	v->n = j + 1;
}

static bool is_local(const struct mctx *m, const char *node)
{
	return m->node_name && node && strcmp(m->node_name, node) == 0;
}

static bool proxy_name_ok(const struct mctx *m, const struct k8s_obj *o)
{
	const char *label = kv_get(&o->labels, LABEL_PROXY_NAME);

	if (!label)
		return true;
	return m->cfg->proxy_name && strcmp(label, m->cfg->proxy_name) == 0;
}

static int slice_name_cmp(const void *a, const void *b)
{
	const struct k8s_obj *x = *(const struct k8s_obj *const *)a;
	const struct k8s_obj *y = *(const struct k8s_obj *const *)b;

	return strcmp(x->name, y->name);
}

/* The usable EndpointSlices of a Service, by name; -ENOMEM. */
static int service_slices(struct mctx *m, const struct k8s_obj *svc,
			  size_t *ret_n, bool *ret_any)
{
	const struct slice_group *g = objs_slices(m->objs, svc->ns, svc->name);
	const struct k8s_obj *o;
	size_t n = 0;

	*ret_n = 0;
	*ret_any = g && g->n > 0;
	if (!g)
		return 0;
	if (g->n > m->cap_slices) {
		const struct k8s_obj **v =
			realloc(m->slices, g->n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->slices = v;
		m->cap_slices = g->n;
	}
	for (o = g->head; o; o = o->gnext) {
		if (o->u.slice.headless || kv_get(&o->labels, LABEL_HEADLESS) ||
		    !proxy_name_ok(m, o))
			continue;
		m->slices[n++] = o;
	}
	if (n > 1)
		qsort(m->slices, n, sizeof(*m->slices), slice_name_cmp);
	*ret_n = n;
	return 0;
}

static int eps_from_slices(struct mctx *m, size_t n_slices, int family,
			   const struct svc_port *sp, struct epvec *out)
{
	size_t i, j, k;

	for (i = 0; i < n_slices; i++) {
		const struct k8s_slice *s = &m->slices[i]->u.slice;
		const struct slice_port *port = NULL;

		if (s->family != family)
			continue;
		for (j = 0; j < s->n_ports; j++)
			if (s->ports[j].protocol == sp->protocol &&
			    strcmp(s->ports[j].name, sp->name) == 0) {
				port = &s->ports[j];
				break;
			}
		if (!port || !port->port)
			continue;
		for (k = 0; k < s->n_endpoints; k++) {
			const struct slice_endpoint *se = &s->endpoints[k];
			struct ep e = {
				.addr = se->addr,
				.port = port->port,
				.ready = se->ready,
				.serving = se->serving,
				.terminating = se->terminating,
				.local = is_local(m, se->node_name),
				.zone_hints = &se->zone_hints,
				.node_hints = &se->node_hints,
			};

			if (epvec_push(out, &e) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int eps_from_endpoints(struct mctx *m, const struct k8s_obj *eo,
			      int family, const struct svc_port *sp,
			      struct epvec *out)
{
	const struct k8s_endpoints *eps = &eo->u.eps;
	size_t i, j, k;

	for (i = 0; i < eps->n_subsets; i++) {
		const struct ep_subset *s = &eps->subsets[i];
		const struct slice_port *port = NULL;

		for (j = 0; j < s->n_ports; j++)
			if (s->ports[j].protocol == sp->protocol &&
			    strcmp(s->ports[j].name, sp->name) == 0) {
				port = &s->ports[j];
				break;
			}
		if (!port || !port->port)
			continue;
		for (k = 0; k < s->n_addrs; k++) {
			struct ep e = {
				.addr = s->addrs[k].addr,
				.port = port->port,
				.ready = true,
				.serving = true,
				.local = is_local(m, s->addrs[k].node_name),
			};

			if (s->addrs[k].addr.family != family)
				continue;
			if (epvec_push(out, &e) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- Pods (offline mode) ---- */

static uint64_t podgroup_hash(const char *ns, const char *key,
			      const char *value)
{
	uint64_t h = k8s_hash_str(K8S_HASH_SEED, ns);

	h = k8s_hash_str(h, key);
	return k8s_hash_str(h, value);
}

static struct podgroup *podgroup_find(const struct mctx *m, const char *ns,
				      const char *key, const char *value)
{
	uint64_t h = podgroup_hash(ns, key, value);
	struct hnode *e;

	if (!m->podidx.n_buckets)
		return NULL;
	for (e = m->podidx.buckets[h & (m->podidx.n_buckets - 1)]; e;
	     e = e->next) {
		struct podgroup *g = (struct podgroup *)e;

		if (e->hash == h && strcmp(g->ns, ns) == 0 &&
		    strcmp(g->key, key) == 0 && strcmp(g->value, value) == 0)
			return g;
	}
	return NULL;
}

static int htable_add(struct htable *t, struct hnode *e)
{
	if (t->n >= t->n_buckets) {
		size_t n = t->n_buckets ? t->n_buckets * 2 : 64, i;
		struct hnode **b = calloc(n, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (i = 0; i < t->n_buckets; i++) {
			struct hnode *x = t->buckets[i], *next;

			for (; x; x = next) {
				next = x->next;
				x->next = b[x->hash & (n - 1)];
				b[x->hash & (n - 1)] = x;
			}
		}
		free(t->buckets);
		t->buckets = b;
		t->n_buckets = n;
	}
	e->next = t->buckets[e->hash & (t->n_buckets - 1)];
	t->buckets[e->hash & (t->n_buckets - 1)] = e;
	t->n++;
	return 0;
}

static void htable_free_all(struct htable *t, void (*fn)(struct hnode *))
{
	size_t i;

	for (i = 0; i < t->n_buckets; i++) {
		struct hnode *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			fn(e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = t->n = 0;
}

static void podgroup_free(struct hnode *e)
{
	free(((struct podgroup *)e)->pods);
	free(e);
}

static void vskey_free(struct hnode *e)
{
	free(e);
}

static int build_pod_index(struct mctx *m)
{
	const struct k8s_obj *o;
	size_t i;

	m->podidx_built = true;
	for (o = objs_first(m->objs, K8S_POD); o; o = o->knext) {
		for (i = 0; i < o->labels.n; i++) {
			const struct kv *l = &o->labels.v[i];
			struct podgroup *g =
				podgroup_find(m, o->ns, l->key, l->value);

			if (!g) {
				g = calloc(1, sizeof(*g));
				if (!g)
					return -ENOMEM;
				g->ns = o->ns;
				g->key = l->key;
				g->value = l->value;
				g->node.hash =
					podgroup_hash(o->ns, l->key, l->value);
				if (htable_add(&m->podidx, &g->node) < 0) {
					free(g);
					return -ENOMEM;
				}
			}
			if (g->n == g->cap) {
				size_t cap = g->cap ? g->cap * 2 : 8;
				const struct k8s_obj **v =
					realloc(g->pods, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				g->pods = v;
				g->cap = cap;
			}
			g->pods[g->n++] = o;
		}
	}
	return 0;
}

static bool selector_matches(const struct k8s_service *s,
			     const struct k8s_obj *pod)
{
	size_t i;

	for (i = 0; i < s->selector.n; i++) {
		const char *v = kv_get(&pod->labels, s->selector.v[i].key);

		if (!v || strcmp(v, s->selector.v[i].value) != 0)
			return false;
	}
	return true;
}

static int eps_from_pods(struct mctx *m, const struct k8s_obj *so, int family,
			 const struct svc_port *sp, struct epvec *out)
{
	const struct k8s_service *s = &so->u.svc;
	const struct podgroup *g;
	size_t i, j;
	int r;

	if (!m->podidx_built) {
		r = build_pod_index(m);
		if (r < 0)
			return r;
	}
	g = podgroup_find(m, so->ns, s->selector.v[0].key,
			  s->selector.v[0].value);
	if (!g)
		return 0;
	for (i = 0; i < g->n; i++) {
		const struct k8s_obj *po = g->pods[i];
		const struct k8s_pod *pod = &po->u.pod;
		const struct ipvssvc_ip *ip = NULL;
		struct ep e = {0};

		if (!pod->running || !selector_matches(s, po))
			continue;
		for (j = 0; j < pod->n_ips; j++)
			if (pod->ips[j].family == family) {
				ip = &pod->ips[j];
				break;
			}
		if (!ip)
			continue;
		/* as the EndpointSlice controller marks a Pod */
		e.serving = pod->ready;
		e.terminating = pod->terminating;
		e.ready = s->publish_not_ready ||
			  (pod->ready && !pod->terminating);
		if (!e.ready && !e.serving)
			continue;
		if (sp->target_name) {
			for (j = 0; j < pod->n_cports; j++)
				if (pod->cports[j].name &&
				    pod->cports[j].protocol == sp->protocol &&
				    strcmp(pod->cports[j].name,
					   sp->target_name) == 0)
					break;
			if (j == pod->n_cports)
				continue;
			e.port = pod->cports[j].port;
		} else {
			e.port = sp->target_port ? sp->target_port : sp->port;
		}
		e.addr = *ip;
		e.local = is_local(m, pod->node_name);
		if (epvec_push(out, &e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- traffic policies and topology ---- */

/*
 * kube-proxy's topology mode: same node when every ready endpoint has a
 * node hint and one is for this node, else same zone likewise, else none.
 */
enum topo { TOPO_NONE, TOPO_NODE, TOPO_ZONE };

static enum topo topology_mode(const struct mctx *m, const struct epvec *eps)
{
	bool any_ready = false, all_node = true, for_node = false;
	bool all_zone = true, for_zone = false;
	size_t i;

	for (i = 0; i < eps->n; i++) {
		const struct ep *e = &eps->v[i];

		if (!e->ready)
			continue;
		any_ready = true;
		if (!e->node_hints || e->node_hints->n == 0)
			all_node = false;
		else if (str_list_has(e->node_hints, m->node_name))
			for_node = true;
		if (!e->zone_hints || e->zone_hints->n == 0)
			all_zone = false;
		else if (str_list_has(e->zone_hints, m->zone))
			for_zone = true;
	}
	if (!any_ready)
		return TOPO_NONE;
	if (all_node && for_node)
		return TOPO_NODE;
	if (all_zone && for_zone)
		return TOPO_ZONE;
	return TOPO_NONE;
}

static bool topo_ok(const struct mctx *m, enum topo t, const struct ep *e)
{
	switch (t) {
	case TOPO_NODE:
		return str_list_has(e->node_hints, m->node_name);
	case TOPO_ZONE:
		return str_list_has(e->zone_hints, m->zone);
	default:
		return true;
	}
}

/*
 * CategorizeEndpoints: which endpoints Cluster policy uses (ready ones,
 * within the topology; else serving-and-terminating ones) and which Local
 * policy uses (local ready ones; else local serving-and-terminating).
 */
static void categorize(const struct mctx *m, const struct epvec *eps,
		       bool uses_cluster, bool uses_local, bool *in_cluster,
		       bool *in_local, size_t *ret_nc, size_t *ret_nl)
{
	size_t i, nc = 0, nl = 0;
	bool local_ready = false, local_st = false;

	if (!eps->n) {
		*ret_nc = *ret_nl = 0;
		return;
	}
	memset(in_cluster, 0, eps->n * sizeof(*in_cluster));
	memset(in_local, 0, eps->n * sizeof(*in_local));
	if (uses_cluster) {
		enum topo t = topology_mode(m, eps);

		for (i = 0; i < eps->n; i++)
			if (eps->v[i].ready && topo_ok(m, t, &eps->v[i])) {
				in_cluster[i] = true;
				nc++;
			}
		if (nc == 0)
			for (i = 0; i < eps->n; i++)
				if (eps->v[i].serving &&
				    eps->v[i].terminating) {
					in_cluster[i] = true;
					nc++;
				}
	}
	if (uses_local) {
		for (i = 0; i < eps->n; i++) {
			if (!eps->v[i].local)
				continue;
			if (eps->v[i].ready)
				local_ready = true;
			else if (eps->v[i].serving && eps->v[i].terminating)
				local_st = true;
		}
		for (i = 0; i < eps->n; i++) {
			const struct ep *e = &eps->v[i];

			if (!e->local)
				continue;
			if ((local_ready && e->ready) ||
			    (!local_ready && local_st && e->serving &&
			     e->terminating)) {
				in_local[i] = true;
				nl++;
			}
		}
	}
	*ret_nc = nc;
	*ret_nl = nl;
}

/* ---- virtual servers ---- */

static uint64_t vskey_hash(int family, uint16_t proto,
			   const struct ipvssvc_ip *addr, uint16_t port)
{
	uint64_t h = k8s_hash_bytes(K8S_HASH_SEED, &family, sizeof(family));

	h = k8s_hash_bytes(h, &proto, sizeof(proto));
	h = k8s_hash_bytes(h, addr->u.bytes, family == AF_INET6 ? 16 : 4);
	return k8s_hash_bytes(h, &port, sizeof(port));
}

static struct vskey *vskey_find(const struct mctx *m, uint16_t proto,
				const struct ipvssvc_ip *addr, uint16_t port,
				uint64_t h)
{
	struct hnode *e;

	if (!m->keys.n_buckets)
		return NULL;
	for (e = m->keys.buckets[h & (m->keys.n_buckets - 1)]; e; e = e->next) {
		struct vskey *k = (struct vskey *)e;

		if (e->hash == h && k->protocol == proto && k->port == port &&
		    ipvssvc_ip_cmp(&k->addr, addr) == 0)
			return k;
	}
	return NULL;
}

static const char *proto_name(uint16_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

struct vs_req {
	const struct k8s_obj *so;
	const struct svc_port *sp;
	enum ipvssvc_origin origin;
	const struct ipvssvc_ip *addr;
	uint16_t port;
	const struct epvec *eps;
	const bool *sel;
	bool bind;
};

static int emit(struct mctx *m, const struct vs_req *q)
{
	const struct k8s_service *s = &q->so->u.svc;
	struct ipvssvc_service *svc;
	struct vskey *k;
	uint64_t h;
	size_t i, n;
	int r;

	if (ipvssvc_config_is_excluded(m->cfg, q->addr))
		return 0;
	h = vskey_hash(q->addr->family, q->sp->protocol, q->addr, q->port);
	k = vskey_find(m, q->sp->protocol, q->addr, q->port, h);
	if (k) {
		if (k->owner != q->so) {
			char a[IPVSSVC_IP_STRLEN];

			mdiag(m, IPVSSVC_LOG_WARNING,
			      "Service %s/%s: %s %s port %u is already used "
			      "by Service %s/%s; skipped",
			      q->so->ns, q->so->name,
			      proto_name(q->sp->protocol),
			      ipvssvc_ip_format(q->addr, a, sizeof(a)), q->port,
			      k->owner->ns, k->owner->name);
		}
		return 0;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->node.hash = h;
	k->family = q->addr->family;
	k->protocol = q->sp->protocol;
	k->port = q->port;
	k->addr = *q->addr;
	k->owner = q->so;
	if (htable_add(&m->keys, &k->node) < 0) {
		free(k);
		return -ENOMEM;
	}

	svc = malloc(sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	ipvssvc_service_init(svc);
	svc->addr = *q->addr;
	svc->netmask = q->addr->family == AF_INET6 ? 128 : 0xffffffff;
	svc->protocol = q->sp->protocol;
	svc->port = q->port;
	snprintf(svc->sched, sizeof(svc->sched), "%s",
		 s->sched[0] ? s->sched
			     : (m->cfg->sched[0] ? m->cfg->sched : "rr"));
	svc->flags = s->sched_flags;
	/* kube-proxy hashes on the source port too for mh */
	if (strcmp(svc->sched, "mh") == 0)
		svc->flags |= IPVSSVC_SVC_F_SCHED2;
	if (s->affinity_client_ip) {
		svc->flags |= IPVSSVC_SVC_F_PERSISTENT;
		svc->timeout = s->affinity_timeout;
	}
	r = ipvssvc_service_set_origin(svc, q->origin, q->so->ns, q->so->name,
				       q->sp->name);
	svc->origin_hash = ipvssvc_origin_hash(q->so->ns, q->so->name);
	for (i = 0, n = 0; i < q->eps->n; i++)
		n += q->sel[i] ? 1 : 0;
	if (r == 0 && n)
		r = ipvssvc_service_reserve_dests(svc, n);
	for (i = 0; r == 0 && i < q->eps->n; i++) {
		struct ipvssvc_dest d = {0};

		if (!q->sel[i])
			continue;
		d.addr = q->eps->v[i].addr;
		d.port = q->eps->v[i].port;
		d.fwd = IPVSSVC_FWD_MASQ;
		d.weight = 1;
		r = ipvssvc_service_push_dest(svc, &d);
	}
	if (r == 0)
		r = ipvssvc_state_take_service(m->st, svc);
	if (r < 0) {
		ipvssvc_service_clear(svc);
		free(svc);
		return r;
	}
	if (q->bind)
		return ipvssvc_state_add_addr(m->st, q->addr);
	return 0;
}

static bool is_loopback(const struct ipvssvc_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	if (ip->family == AF_INET)
		return ip->u.bytes[0] == 127;
	return memcmp(ip->u.bytes, lo6, 16) == 0;
}

static bool is_link_local6(const struct ipvssvc_ip *ip)
{
	return ip->family == AF_INET6 && ip->u.bytes[0] == 0xfe &&
	       (ip->u.bytes[1] & 0xc0) == 0x80;
}

/* --nodeport-addresses for one family, as kube-proxy reads it. */
static bool nodeport_addr_ok(const struct ipvssvc_config *cfg,
			     const struct ipvssvc_ip *ip)
{
	size_t i, n = 0;

	if (is_loopback(ip) || is_link_local6(ip))
		return false;
	for (i = 0; i < cfg->n_nodeport_cidrs; i++) {
		const struct ipvssvc_cidr *c = &cfg->nodeport_cidrs[i];

		if (c->ip.family != ip->family)
			continue;
		n++;
		if (c->prefixlen == 0 || ipvssvc_cidr_contains(c, ip))
			return true;
	}
	/* no CIDR of this family: every address of it */
	return n == 0;
}

static bool any_usable(const struct epvec *eps)
{
	size_t i;

	for (i = 0; i < eps->n; i++)
		if (eps->v[i].ready ||
		    (eps->v[i].serving && eps->v[i].terminating))
			return true;
	return false;
}

static bool externally_accessible(const struct k8s_service *s)
{
	return s->type == SVC_TYPE_LOAD_BALANCER ||
	       s->type == SVC_TYPE_NODE_PORT ||
	       (s->type == SVC_TYPE_CLUSTER_IP && s->n_external_ips > 0);
}

static int build_port(struct mctx *m, const struct k8s_obj *so, int family,
		      const struct svc_port *sp, size_t n_slices,
		      bool any_slice)
{
	const struct k8s_service *s = &so->u.svc;
	const struct ipvssvc_ip *cip = &s->cluster_ip[family == AF_INET6];
	struct epvec eps = {0};
	bool *in_cluster, *in_local;
	bool ext_local, uses_cluster, uses_local, ext_acc;
	size_t i, nc, nl, n_ext = 0, n_lb = 0;
	uint16_t node_port = 0;
	struct vs_req q = {.so = so, .sp = sp, .eps = &eps};
	int r;

	/* endpoints: slices; else legacy Endpoints; else Pods */
	if (any_slice) {
		r = eps_from_slices(m, n_slices, family, sp, &eps);
	} else {
		const struct k8s_obj *eo =
			objs_find(m->objs, K8S_ENDPOINTS, so->ns, so->name);

		if (eo)
			r = eps_from_endpoints(m, eo, family, sp, &eps);
		else if (s->has_selector)
			r = eps_from_pods(m, so, family, sp, &eps);
		else
			r = 0;
	}
	if (r < 0)
		goto out;
	epvec_unique(&eps);

	/* >=: m->sel is never NULL, even with no endpoints (NULL + 0) */
	if (2 * eps.n >= m->cap_sel) {
		bool *v = realloc(m->sel, (2 * eps.n + 1) * sizeof(*v));

		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		m->sel = v;
		m->cap_sel = 2 * eps.n + 1;
	}
	in_cluster = m->sel;
	in_local = m->sel + eps.n;

	if (s->type == SVC_TYPE_NODE_PORT ||
	    (s->type == SVC_TYPE_LOAD_BALANCER && s->alloc_lb_node_ports))
		node_port = sp->node_port;
	for (i = 0; i < s->n_external_ips; i++)
		n_ext += s->external_ips[i].family == family;
	for (i = 0; i < s->n_lb_ips; i++)
		n_lb += s->lb_ips[i].family == family;
	ext_acc = node_port || n_ext || n_lb;
	ext_local = s->external_local && externally_accessible(s);
	uses_cluster = !s->internal_local || ext_acc;
	uses_local = s->internal_local || (ext_local && ext_acc);
	categorize(m, &eps, uses_cluster, uses_local, in_cluster, in_local, &nc,
		   &nl);
	/* kube-proxy counts them only when there are endpoints elsewhere */
	if (uses_local && nl == 0 && any_usable(&eps)) {
		m->no_local_int += s->internal_local;
		m->no_local_ext += ext_local;
	}

	/* ClusterIP; a Local policy without local endpoints falls back */
	q.origin = IPVSSVC_ORIGIN_CLUSTER_IP;
	q.addr = cip;
	q.port = sp->port;
	q.sel = s->internal_local && nl ? in_local : in_cluster;
	q.bind = true;
	r = emit(m, &q);
	if (r < 0)
		goto out;

	q.sel = ext_local && nl ? in_local : in_cluster;
	for (i = 0; i < s->n_external_ips; i++) {
		if (s->external_ips[i].family != family)
			continue;
		q.origin = IPVSSVC_ORIGIN_EXTERNAL_IP;
		q.addr = &s->external_ips[i];
		q.bind = !ipvssvc_config_is_node_addr(m->cfg, q.addr);
		r = emit(m, &q);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < s->n_lb_ips; i++) {
		if (s->lb_ips[i].family != family)
			continue;
		q.origin = IPVSSVC_ORIGIN_LOAD_BALANCER;
		q.addr = &s->lb_ips[i];
		q.bind = !ipvssvc_config_is_node_addr(m->cfg, q.addr);
		r = emit(m, &q);
		if (r < 0)
			goto out;
	}
	if (node_port) {
		q.origin = IPVSSVC_ORIGIN_NODE_PORT;
		q.port = node_port;
		q.bind = false;
		for (i = 0; i < m->cfg->n_node_addrs; i++) {
			q.addr = &m->cfg->node_addrs[i];
			if (q.addr->family != family ||
			    !nodeport_addr_ok(m->cfg, q.addr))
				continue;
			r = emit(m, &q);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	free(eps.v);
	return r;
}

static int build_service(struct mctx *m, const struct k8s_obj *so)
{
	const struct k8s_service *s = &so->u.svc;
	size_t n_slices, i;
	bool any_slice;
	int f, r;

	if (!proxy_name_ok(m, so) || kv_get(&so->labels, LABEL_HEADLESS))
		return 0;
	if (s->type == SVC_TYPE_EXTERNAL_NAME || s->headless)
		return 0;
	r = service_slices(m, so, &n_slices, &any_slice);
	if (r < 0)
		return r;
	for (f = 0; f < 2; f++) {
		if (!s->has_cluster_ip[f])
			continue;
		for (i = 0; i < s->n_ports; i++) {
			r = build_port(m, so, f ? AF_INET6 : AF_INET,
				       &s->ports[i], n_slices, any_slice);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int svc_order(const void *a, const void *b)
{
	const struct k8s_obj *x = *(const struct k8s_obj *const *)a;
	const struct k8s_obj *y = *(const struct k8s_obj *const *)b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

/*
 * Build the Services named (all when namespaces is NULL) into a new
 * state, in canonical order: the first one wins a conflict.
 */
static int model_run(const ipvssvc_objects *objs, const ipvssvc_config *cfg,
		     const char *const *namespaces, const char *const *names,
		     size_t n_names, ipvssvc_model_service_fn fn,
		     void *userdata, ipvssvc_state **ret)
{
	struct mctx m = {.objs = objs, .cfg = cfg};
	const struct k8s_obj **svcs = NULL, *o;
	size_t n = 0, i, cap;
	int r;

	if (!objs || !cfg || !ret || (n_names && (!namespaces || !names)))
		return -EINVAL;
	r = ipvssvc_state_new(&m.st);
	if (r < 0)
		return r;
	m.node_name = cfg->node_name;
	m.zone = cfg->zone;
	if (!m.zone && cfg->node_name) {
		const struct k8s_obj *node =
			objs_find(objs, K8S_NODE, "", cfg->node_name);

		if (node)
			m.zone = node->u.nodeo.zone;
	}

	cap = namespaces ? n_names : objs->kind_count[K8S_SERVICE];
	if (cap) {
		svcs = malloc(cap * sizeof(*svcs));
		if (!svcs) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (namespaces) {
		for (i = 0; i < n_names; i++) {
			o = objs_find(objs, K8S_SERVICE,
				      namespaces[i] ? namespaces[i] : "",
				      names[i] ? names[i] : "");
			if (o)
				svcs[n++] = o;
			else if (fn)
				fn(userdata, namespaces[i], names[i], 0, 0);
		}
	} else {
		for (o = objs_first(objs, K8S_SERVICE); o; o = o->knext)
			svcs[n++] = o;
	}
	if (n > 1)
		qsort(svcs, n, sizeof(*svcs), svc_order);
	for (i = 0; i < n; i++) {
		/* the same Service named twice is built once */
		if (i && svcs[i] == svcs[i - 1])
			continue;
		m.no_local_int = m.no_local_ext = 0;
		r = build_service(&m, svcs[i]);
		if (r < 0)
			goto out;
		if (fn && (namespaces || m.no_local_int || m.no_local_ext))
			fn(userdata, svcs[i]->ns, svcs[i]->name, m.no_local_int,
			   m.no_local_ext);
	}
	ipvssvc_state_sort(m.st);
	r = 0;
out:
	free(svcs);
	free(m.slices);
	free(m.sel);
	htable_free_all(&m.keys, vskey_free);
	htable_free_all(&m.podidx, podgroup_free);
	if (r < 0) {
		ipvssvc_state_free(m.st);
		return r;
	}
	*ret = m.st;
	return 0;
}

_public_ int ipvssvc_model_build(const ipvssvc_objects *objs,
				 const ipvssvc_config *cfg, ipvssvc_state **ret)
{
	return model_run(objs, cfg, NULL, NULL, 0, NULL, NULL, ret);
}

_public_ int ipvssvc_model_build_services(const ipvssvc_objects *objs,
					  const ipvssvc_config *cfg,
					  const char *const *namespaces,
					  const char *const *names, size_t n,
					  ipvssvc_model_service_fn fn,
					  void *userdata, ipvssvc_state **ret)
{
	return model_run(objs, cfg, namespaces, names, n, fn, userdata, ret);
}

/* ---- metadata lookups, for incremental daemons ---- */

static int get_meta(const ipvssvc_objects *objs, const char *kind,
		    const char *ns, const char *name, const char *key,
		    bool annotation, const char **ret)
{
	const struct k8s_obj *o;
	const char *v;
	int k;

	if (!objs || !kind || !name || !key || !ret)
		return -EINVAL;
	k = k8s_kind_from_name(kind);
	if (k < 0)
		return -EINVAL;
	o = objs_find(objs, (enum k8s_kind)k, ns ? ns : "", name);
	if (!o)
		return -ENOENT;
	v = kv_get(annotation ? &o->annotations : &o->labels, key);
	if (!v)
		return -ENODATA;
	*ret = v;
	return 0;
}

_public_ int ipvssvc_objects_get_label(const ipvssvc_objects *objs,
				       const char *kind, const char *namespace_,
				       const char *name, const char *key,
				       const char **ret)
{
	return get_meta(objs, kind, namespace_, name, key, false, ret);
}

_public_ int ipvssvc_objects_get_annotation(const ipvssvc_objects *objs,
					    const char *kind,
					    const char *namespace_,
					    const char *name, const char *key,
					    const char **ret)
{
	return get_meta(objs, kind, namespace_, name, key, true, ret);
}
