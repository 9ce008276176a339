/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state container: virtual servers with their real servers, and the
 * dummy interface's addresses, kept in canonical order. Sorting is lazy:
 * adds mark the state dirty and the first read sorts it, so that building
 * a state of n services costs O(n log n), not O(n^2).
 */
#include "internal.h"

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

int ipvssvc_service_key_cmp(const struct ipvssvc_service *a,
			    const struct ipvssvc_service *b)
{
	int r;

	if (a->addr.family != b->addr.family)
		return a->addr.family == AF_INET ? -1 : 1;
	/* firewall-mark services sort after address services */
	if (!!a->fwmark != !!b->fwmark)
		return a->fwmark ? 1 : -1;
	if (a->fwmark)
		return cmp_u32(a->fwmark, b->fwmark);
	r = cmp_u32(a->protocol, b->protocol);
	if (r)
		return r;
	r = ipvssvc_ip_cmp(&a->addr, &b->addr);
	if (r)
		return r;
	return cmp_u32(a->port, b->port);
}

int ipvssvc_dest_key_cmp(const struct ipvssvc_dest *a,
			 const struct ipvssvc_dest *b)
{
	int r = ipvssvc_ip_cmp(&a->addr, &b->addr);

	return r ? r : cmp_u32(a->port, b->port);
}

int ipvssvc_service_attrs_equal(const struct ipvssvc_service *a,
				const struct ipvssvc_service *b)
{
	return strcmp(a->sched, b->sched) == 0 && a->flags == b->flags &&
	       a->timeout == b->timeout && a->netmask == b->netmask;
}

void ipvssvc_service_init(struct ipvssvc_service *svc)
{
	memset(svc, 0, sizeof(*svc));
	svc->addr.family = AF_INET;
	svc->protocol = IPPROTO_TCP;
	strcpy(svc->sched, "rr");
	svc->netmask = 0xffffffff;
}

void ipvssvc_service_clear(struct ipvssvc_service *svc)
{
	free(svc->origin_ns);
	free(svc->origin_name);
	free(svc->origin_port);
	free(svc->dests);
	free(svc->dest_stats);
	svc->origin_ns = svc->origin_name = svc->origin_port = NULL;
	svc->dests = NULL;
	svc->dest_stats = NULL;
	svc->n_dests = svc->cap_dests = 0;
}

void ipvssvc_service_reset_dests(struct ipvssvc_service *svc)
{
	free(svc->dest_stats);
	svc->dest_stats = NULL;
	svc->n_dests = 0;
}

static int dup_str(char **dst, const char *src)
{
	char *s = NULL;

	if (src) {
		s = strdup(src);
		if (!s)
			return -ENOMEM;
	}
	free(*dst);
	*dst = s;
	return 0;
}

int ipvssvc_service_set_origin(struct ipvssvc_service *svc,
			       enum ipvssvc_origin origin, const char *ns,
			       const char *name, const char *port_name)
{
	if (dup_str(&svc->origin_ns, ns) < 0 ||
	    dup_str(&svc->origin_name, name) < 0 ||
	    dup_str(&svc->origin_port, port_name) < 0)
		return -ENOMEM;
	svc->origin = origin;
	return 0;
}

int ipvssvc_grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static int resize_dests(struct ipvssvc_service *svc, size_t cap)
{
	struct ipvssvc_dest *d = realloc(svc->dests, cap * sizeof(*d));

	if (!d)
		return -ENOMEM;
	svc->dests = d;
	svc->cap_dests = cap;
	return 0;
}

int ipvssvc_service_reserve_dests(struct ipvssvc_service *svc, size_t n)
{
	if (svc->cap_dests - svc->n_dests >= n)
		return 0;
	if (n > SIZE_MAX / sizeof(*svc->dests) - svc->n_dests)
		return -ENOMEM;
	return resize_dests(svc, svc->n_dests + n);
}

int ipvssvc_service_push_dest(struct ipvssvc_service *svc,
			      const struct ipvssvc_dest *dest)
{
	if (svc->n_dests == svc->cap_dests &&
	    resize_dests(svc, svc->cap_dests ? svc->cap_dests * 2 : 4) < 0)
		return -ENOMEM;
	svc->dests[svc->n_dests] = *dest;
	svc->dests[svc->n_dests++].stats = NULL;
	return 0;
}

static int dest_qcmp(const void *a, const void *b)
{
	return ipvssvc_dest_key_cmp(a, b);
}

void ipvssvc_service_sort_dests(struct ipvssvc_service *svc)
{
	size_t i, j;

	if (svc->n_dests < 2)
		return;
	qsort(svc->dests, svc->n_dests, sizeof(*svc->dests), dest_qcmp);
	/* a real server is unique per virtual server: keep the first */
	for (i = 1, j = 0; i < svc->n_dests; i++)
		if (ipvssvc_dest_key_cmp(&svc->dests[j], &svc->dests[i]))
			svc->dests[++j] = svc->dests[i];
	svc->n_dests = j + 1;
}

/* Growth by doubling can leave most of an array unused: states live long. */
static void fit_dests(struct ipvssvc_service *svc)
{
	if (svc->n_dests == 0 && svc->cap_dests) {
		free(svc->dests);
		svc->dests = NULL;
		svc->cap_dests = 0;
	} else if (svc->cap_dests - svc->n_dests > svc->n_dests / 4) {
		(void)resize_dests(svc, svc->n_dests);
	}
}

const struct ipvssvc_dest *
ipvssvc_service_find_dest(const struct ipvssvc_service *svc,
			  const struct ipvssvc_dest *key)
{
	if (!svc->n_dests)
		return NULL;
	return bsearch(key, svc->dests, svc->n_dests, sizeof(*svc->dests),
		       dest_qcmp);
}

_public_ int ipvssvc_state_new(ipvssvc_state **ret)
{
	ipvssvc_state *st;

	if (!ret)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	*ret = st;
	return 0;
}

_public_ void ipvssvc_state_free(ipvssvc_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n_svcs; i++) {
		ipvssvc_service_clear(st->svcs[i]);
		free(st->svcs[i]);
	}
	free(st->svcs);
	free(st->addrs);
	free(st);
}

static int svc_qcmp(const void *a, const void *b)
{
	return ipvssvc_service_key_cmp(*(struct ipvssvc_service *const *)a,
				       *(struct ipvssvc_service *const *)b);
}

static int ip_qcmp(const void *a, const void *b)
{
	return ipvssvc_ip_cmp(a, b);
}

void ipvssvc_state_sort(struct ipvssvc_state *st)
{
	size_t i, j;

	if (!st->dirty)
		return;
	/* qsort's base must not be NULL, even for no elements */
	if (st->n_svcs > 1)
		qsort(st->svcs, st->n_svcs, sizeof(*st->svcs), svc_qcmp);
	for (i = 0; i < st->n_svcs; i++) {
		ipvssvc_service_sort_dests(st->svcs[i]);
		fit_dests(st->svcs[i]);
	}
	if (st->n_addrs > 1) {
		qsort(st->addrs, st->n_addrs, sizeof(*st->addrs), ip_qcmp);
		for (i = 1, j = 0; i < st->n_addrs; i++)
			if (ipvssvc_ip_cmp(&st->addrs[j], &st->addrs[i]))
				st->addrs[++j] = st->addrs[i];
		st->n_addrs = j + 1;
	}
	st->dirty = 0;
}

/* Readers sort on first use; a state is not shared between threads. */
static struct ipvssvc_state *sorted(const struct ipvssvc_state *st)
{
	struct ipvssvc_state *s = (struct ipvssvc_state *)st;

	ipvssvc_state_sort(s);
	return s;
}

_public_ size_t ipvssvc_state_service_count(const ipvssvc_state *st)
{
	return st ? st->n_svcs : 0;
}

_public_ const ipvssvc_service *ipvssvc_state_service(const ipvssvc_state *st,
						      size_t i)
{
	if (!st || i >= st->n_svcs)
		return NULL;
	return sorted(st)->svcs[i];
}

_public_ size_t ipvssvc_state_addr_count(const ipvssvc_state *st)
{
	return st ? sorted(st)->n_addrs : 0;
}

_public_ const struct ipvssvc_ip *ipvssvc_state_addr(const ipvssvc_state *st,
						     size_t i)
{
	if (!st || i >= sorted(st)->n_addrs)
		return NULL;
	return &st->addrs[i];
}

_public_ const ipvssvc_service *ipvssvc_state_find(const ipvssvc_state *st,
						   const ipvssvc_service *key)
{
	struct ipvssvc_service *const *p;

	if (!st || !key || st->n_svcs == 0)
		return NULL;
	p = bsearch(&key, sorted(st)->svcs, st->n_svcs, sizeof(*st->svcs),
		    svc_qcmp);
	return p ? *p : NULL;
}

int ipvssvc_state_take_service(struct ipvssvc_state *st,
			       struct ipvssvc_service *svc)
{
	if (st->n_svcs == st->cap_svcs) {
		size_t cap = st->cap_svcs ? st->cap_svcs * 2 : 16;
		struct ipvssvc_service **v =
			realloc(st->svcs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->svcs = v;
		st->cap_svcs = cap;
	}
	st->svcs[st->n_svcs++] = svc;
	st->dirty = 1;
	return 0;
}

_public_ int ipvssvc_state_add_service(ipvssvc_state *st,
				       const ipvssvc_service *svc)
{
	ipvssvc_service *copy;
	int r;

	if (!st || !svc)
		return -EINVAL;
	if (ipvssvc_state_find(st, svc))
		return -EEXIST;
	r = ipvssvc_service_dup(svc, &copy);
	if (r < 0)
		return r;
	r = ipvssvc_state_take_service(st, copy);
	if (r < 0)
		ipvssvc_service_free(copy);
	return r;
}

_public_ int ipvssvc_state_add_dest(ipvssvc_state *st,
				    const ipvssvc_service *svc,
				    const ipvssvc_dest *dest)
{
	ipvssvc_service *s;
	int r;

	if (!st || !svc || !dest)
		return -EINVAL;
	s = (ipvssvc_service *)ipvssvc_state_find(st, svc);
	if (!s)
		return -ESRCH;
	r = ipvssvc_service_push_dest(s, dest);
	if (r == 0)
		ipvssvc_service_sort_dests(s);
	return r;
}

_public_ int ipvssvc_state_add_addr(ipvssvc_state *st,
				    const struct ipvssvc_ip *addr)
{
	if (!st || !addr ||
	    (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	if (st->n_addrs == st->cap_addrs) {
		size_t cap = st->cap_addrs ? st->cap_addrs * 2 : 16;
		struct ipvssvc_ip *v = realloc(st->addrs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->addrs = v;
		st->cap_addrs = cap;
	}
	st->addrs[st->n_addrs++] = *addr;
	st->dirty = 1;
	return 0;
}
