/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The object store: Services, EndpointSlices, Endpoints, Pods and Nodes
 * decoded from a cJSON tree into validated structures, indexed by (kind,
 * namespace, name) and EndpointSlices also by their Service, so that an
 * upsert or delete is O(1) and the model never scans to join.
 *
 * Bad values: a scalar field of an object that is invalid (a ClusterIP
 * that is not an IP, an affinity timeout outside 1..86400, an unknown
 * scheduler annotation, an unknown type or policy) skips the whole
 * object; an invalid entry of a list (one port, one external IP, one
 * endpoint) skips only that entry. Each is reported with the kind,
 * namespace/name and the field.
 */
#include "objects.h"

#include <arpa/inet.h>
#include <stdio.h>

#include <cJSON.h>

static const char *const kind_names[K8S_KIND_MAX] = {
	[K8S_SERVICE] = "Service",     [K8S_ENDPOINT_SLICE] = "EndpointSlice",
	[K8S_ENDPOINTS] = "Endpoints", [K8S_POD] = "Pod",
	[K8S_NODE] = "Node",
};

const char *k8s_kind_name(enum k8s_kind kind)
{
	return kind < K8S_KIND_MAX ? kind_names[kind] : "?";
}

int k8s_kind_from_name(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < K8S_KIND_MAX; i++)
		if (strcmp(kind_names[i], name) == 0)
			return i;
	return -1;
}

/* FNV-1a: simple and good enough for names. */
uint64_t k8s_hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t k8s_hash_str(uint64_t h, const char *s)
{
	/* include the terminator so that ("ab","c") != ("a","bc") */
	return k8s_hash_bytes(h, s, strlen(s) + 1);
}

static int htable_grow(struct htable *t)
{
	size_t n = t->n_buckets ? t->n_buckets * 2 : 64, i;
	struct hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < t->n_buckets; i++) {
		struct hnode *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

static int htable_insert(struct htable *t, struct hnode *e)
{
	if (t->n >= t->n_buckets && htable_grow(t) < 0)
		return -ENOMEM;
	e->next = t->buckets[e->hash & (t->n_buckets - 1)];
	t->buckets[e->hash & (t->n_buckets - 1)] = e;
	t->n++;
	return 0;
}

static void htable_remove(struct htable *t, struct hnode *e)
{
	struct hnode **p;

	if (!t->n_buckets)
		return;
	for (p = &t->buckets[e->hash & (t->n_buckets - 1)]; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			t->n--;
			return;
		}
}

static struct hnode *htable_bucket(const struct htable *t, uint64_t hash)
{
	return t->n_buckets ? t->buckets[hash & (t->n_buckets - 1)] : NULL;
}

const char *kv_get(const struct kv_list *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

bool str_list_has(const struct str_list *l, const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void kv_list_clear(struct kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The strings of a str_list are interned: only the array is freed. */
static void str_list_clear(struct str_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void slice_ports_free(struct slice_port *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

static void obj_free(struct k8s_obj *o)
{
	size_t i;

	if (!o)
		return;
	free(o->ns);
	free(o->name);
	kv_list_clear(&o->labels);
	kv_list_clear(&o->annotations);
	switch (o->kind) {
	case K8S_SERVICE:
		free(o->u.svc.external_ips);
		free(o->u.svc.lb_ips);
		free(o->u.svc.lb_source_ranges);
		for (i = 0; i < o->u.svc.n_ports; i++) {
			free(o->u.svc.ports[i].name);
			free(o->u.svc.ports[i].target_name);
		}
		free(o->u.svc.ports);
		kv_list_clear(&o->u.svc.selector);
		break;
	case K8S_ENDPOINT_SLICE:
		free(o->u.slice.service_name);
		slice_ports_free(o->u.slice.ports, o->u.slice.n_ports);
		for (i = 0; i < o->u.slice.n_endpoints; i++) {
			struct slice_endpoint *e = &o->u.slice.endpoints[i];

			str_list_clear(&e->zone_hints);
			str_list_clear(&e->node_hints);
		}
		free(o->u.slice.endpoints);
		break;
	case K8S_ENDPOINTS:
		for (i = 0; i < o->u.eps.n_subsets; i++) {
			struct ep_subset *s = &o->u.eps.subsets[i];

			free(s->addrs);
			slice_ports_free(s->ports, s->n_ports);
		}
		free(o->u.eps.subsets);
		break;
	case K8S_POD:
		free(o->u.pod.ips);
		for (i = 0; i < o->u.pod.n_cports; i++)
			free(o->u.pod.cports[i].name);
		free(o->u.pod.cports);
		break;
	case K8S_NODE:
		free(o->u.nodeo.zone);
		free(o->u.nodeo.addrs);
		break;
	default:
		break;
	}
	free(o);
}

void objs_diag(const struct ipvssvc_objects *objs, int level, const char *fmt,
	       ...)
{
	char buf[1024];
	va_list ap;

	if (!objs || !objs->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	objs->diag(objs->diag_userdata, level, buf);
}

/* ---- decoding ---- */

/* What is being decoded, for messages. */
struct dctx {
	struct ipvssvc_objects *objs;
	const char *kind;
	const char *ns;
	const char *name;
	const char *where;
	int oom;
};

static void bad(struct dctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bad(struct dctx *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->ns && *c->ns)
		objs_diag(c->objs, IPVSSVC_LOG_WARNING, "%s%s%s %s/%s: %s",
			  c->where ? c->where : "", c->where ? ": " : "",
			  c->kind, c->ns, c->name ? c->name : "?", msg);
	else
		objs_diag(c->objs, IPVSSVC_LOG_WARNING, "%s%s%s %s: %s",
			  c->where ? c->where : "", c->where ? ": " : "",
			  c->kind, c->name ? c->name : "?", msg);
}

/*
 * Node names (and the names in topology hints) repeat across the
 * endpoints of a cluster: the store keeps one copy of each, for its whole
 * life, since a cluster has few nodes and zones.
 */
struct istr {
	struct hnode node;
	char s[];
};

static char *intern(struct dctx *c, const char *s)
{
	struct htable *t = c->objs->strings;
	uint64_t h = k8s_hash_str(K8S_HASH_SEED, s);
	struct hnode *e;
	struct istr *n;
	size_t len = strlen(s);

	for (e = htable_bucket(t, h); e; e = e->next)
		if (e->hash == h && strcmp(((struct istr *)e)->s, s) == 0)
			return ((struct istr *)e)->s;
	n = malloc(sizeof(*n) + len + 1);
	if (!n) {
		c->oom = 1;
		return NULL;
	}
	n->node.hash = h;
	memcpy(n->s, s, len + 1);
	if (htable_insert(t, &n->node) < 0) {
		free(n);
		c->oom = 1;
		return NULL;
	}
	return n->s;
}

static char *xstrdup(struct dctx *c, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		c->oom = 1;
	return d;
}

static const cJSON *field(const cJSON *o, const char *key)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(v) ? NULL : v;
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsArray(v))
		return "a list";
	if (cJSON_IsObject(v))
		return "a mapping";
	return "null";
}

/*
 * A string field: 0 with *ret NULL when absent, -EINVAL (reported) when
 * of another type.
 */
static int get_str(struct dctx *c, const cJSON *o, const char *key,
		   const char *path, const char **ret)
{
	const cJSON *v = field(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v)) {
		bad(c, "%s: expected a string, got %s", path, type_name(v));
		return -EINVAL;
	}
	*ret = v->valuestring;
	return 0;
}

/* A boolean field: *ret keeps its default when absent. */
static int get_bool(struct dctx *c, const cJSON *o, const char *key,
		    const char *path, bool *ret, bool *ret_present)
{
	const cJSON *v = field(o, key);

	if (ret_present)
		*ret_present = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		bad(c, "%s: expected a boolean, got %s", path, type_name(v));
		return -EINVAL;
	}
	*ret = cJSON_IsTrue(v);
	if (ret_present)
		*ret_present = true;
	return 0;
}

/* A whole number small enough to be exact (no libm needed). */
static bool is_integral(double d)
{
	return d > -9e15 && d < 9e15 && d == (double)(long long)d;
}

/* The text of a scalar (YAML numbers keep theirs in valuestring). */
static const char *scalar_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v) ||
	    (v->valuestring && !cJSON_IsObject(v) && !cJSON_IsArray(v)))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (is_integral(d))
			snprintf(buf, len, "%.0f", d);
		else
			snprintf(buf, len, "%.17g", d);
		return buf;
	}
	return NULL;
}

/* An integer field: absent leaves *ret; not an integer is -EINVAL. */
static int get_int(struct dctx *c, const cJSON *o, const char *key,
		   const char *path, long long *ret, bool *ret_present)
{
	const cJSON *v = field(o, key);
	char buf[64];

	if (ret_present)
		*ret_present = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !is_integral(v->valuedouble)) {
		const char *t = cJSON_IsNumber(v)
					? scalar_text(v, buf, sizeof(buf))
					: NULL;

		if (t)
			bad(c, "%s: %s is not an integer", path, t);
		else
			bad(c, "%s: expected an integer, got %s", path,
			    type_name(v));
		return -EINVAL;
	}
	*ret = (long long)v->valuedouble;
	if (ret_present)
		*ret_present = true;
	return 0;
}

/* A map of strings (labels, annotations, selector). */
static int get_kv(struct dctx *c, const cJSON *o, const char *key,
		  const char *path, struct kv_list *ret)
{
	const cJSON *m = field(o, key), *e;
	size_t n = 0;

	if (!m)
		return 0;
	if (!cJSON_IsObject(m)) {
		bad(c, "%s: expected a mapping, got %s", path, type_name(m));
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, m)
		n++;
	if (!n)
		return 0;
	ret->v = calloc(n, sizeof(*ret->v));
	if (!ret->v) {
		c->oom = 1;
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, m) {
		char buf[64];
		const char *t =
			cJSON_IsNull(e) ? "" : scalar_text(e, buf, sizeof(buf));

		if (!t || !e->string) {
			bad(c, "%s.%s: expected a string, got %s", path,
			    e->string ? e->string : "?", type_name(e));
			return -EINVAL;
		}
		ret->v[ret->n].key = xstrdup(c, e->string);
		ret->v[ret->n].value = xstrdup(c, t);
		ret->n++;
		if (c->oom)
			return -ENOMEM;
	}
	return 0;
}

static int get_list(struct dctx *c, const cJSON *o, const char *key,
		    const char *path, const cJSON **ret, size_t *ret_n)
{
	const cJSON *a = field(o, key), *e;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a)) {
		bad(c, "%s: expected a list, got %s", path, type_name(a));
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, a)
		n++;
	*ret = a;
	*ret_n = n;
	return 0;
}

static void *xcalloc(struct dctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		c->oom = 1;
	return p;
}

static int parse_protocol(const char *s, uint16_t *ret)
{
	if (!s || strcmp(s, "TCP") == 0)
		*ret = IPPROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*ret = IPPROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*ret = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* protocol field of a port entry; TCP when absent */
static int get_protocol(struct dctx *c, const cJSON *o, const char *path,
			uint16_t *ret)
{
	const char *s;

	if (get_str(c, o, "protocol", path, &s) < 0)
		return -EINVAL;
	if (parse_protocol(s, ret) < 0) {
		bad(c, "%s: unknown protocol \"%s\"", path, s);
		return -EINVAL;
	}
	return 0;
}

/* A port number 1..65535; with allow_zero, 0 or absent mean none. */
static int get_port(struct dctx *c, const cJSON *o, const char *key,
		    const char *path, bool allow_zero, uint16_t *ret)
{
	long long v = 0;
	bool present;

	if (get_int(c, o, key, path, &v, &present) < 0)
		return -EINVAL;
	if (!present && !allow_zero) {
		bad(c, "%s: missing", path);
		return -EINVAL;
	}
	if ((v == 0 && !allow_zero) || v < 0 || v > 65535) {
		bad(c, "%s: %lld is not a valid port", path, v);
		return -EINVAL;
	}
	*ret = (uint16_t)v;
	return 0;
}

static int get_ip(struct dctx *c, const char *s, const char *path,
		  struct ipvssvc_ip *ret)
{
	if (!s || ipvssvc_ip_parse(s, ret) < 0) {
		bad(c, "%s: \"%s\" is not a valid IP address", path,
		    s ? s : "");
		return -EINVAL;
	}
	return 0;
}

static int fam_idx(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static int decode_service_ports(struct dctx *c, struct k8s_service *s,
				const cJSON *spec)
{
	const cJSON *list, *p;
	size_t n, i = 0;

	if (get_list(c, spec, "ports", "spec.ports", &list, &n) < 0)
		return -EINVAL;
	s->ports = xcalloc(c, n, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	cJSON_ArrayForEach(p, list) {
		struct svc_port sp = {0};
		char path[64];
		const char *name;
		const cJSON *tp;
		size_t j;

		snprintf(path, sizeof(path), "spec.ports[%zu]", i++);
		if (!cJSON_IsObject(p)) {
			bad(c, "%s: expected a mapping, got %s", path,
			    type_name(p));
			continue;
		}
		{
			char fp[96];

			snprintf(fp, sizeof(fp), "%s.name", path);
			if (get_str(c, p, "name", fp, &name) < 0)
				continue;
			snprintf(fp, sizeof(fp), "%s.protocol", path);
			if (get_protocol(c, p, fp, &sp.protocol) < 0)
				continue;
			snprintf(fp, sizeof(fp), "%s.port", path);
			if (get_port(c, p, "port", fp, false, &sp.port) < 0)
				continue;
			snprintf(fp, sizeof(fp), "%s.nodePort", path);
			if (get_port(c, p, "nodePort", fp, true,
				     &sp.node_port) < 0)
				continue;
			snprintf(fp, sizeof(fp), "%s.targetPort", path);
			tp = field(p, "targetPort");
			if (tp && cJSON_IsString(tp)) {
				char *end;
				long v = strtol(tp->valuestring, &end, 10);

				if (*tp->valuestring && !*end) {
					/* "8080": a number in a string */
					if (v < 1 || v > 65535) {
						bad(c,
						    "%s: %s is not a valid "
						    "port",
						    fp, tp->valuestring);
						continue;
					}
					sp.target_port = (uint16_t)v;
				} else if (!*tp->valuestring) {
					sp.target_port = 0;
				} else {
					sp.target_name =
						xstrdup(c, tp->valuestring);
				}
			} else if (tp && get_port(c, p, "targetPort", fp, true,
						  &sp.target_port) < 0) {
				continue;
			}
		}
		/* two entries may not share port and protocol */
		for (j = 0; j < s->n_ports; j++)
			if (s->ports[j].port == sp.port &&
			    s->ports[j].protocol == sp.protocol)
				break;
		if (j < s->n_ports) {
			bad(c, "%s: duplicate port %u", path, sp.port);
			free(sp.target_name);
			continue;
		}
		sp.name = xstrdup(c, name);
		s->ports[s->n_ports++] = sp;
		if (c->oom)
			return -ENOMEM;
	}
	return 0;
}

static int decode_ip_list(struct dctx *c, const cJSON *list, size_t n,
			  const char *path, struct ipvssvc_ip **ret,
			  size_t *ret_n)
{
	const cJSON *e;
	size_t i = 0, j;

	*ret = xcalloc(c, n, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		char p[64];
		struct ipvssvc_ip ip;

		snprintf(p, sizeof(p), "%s[%zu]", path, i++);
		if (!cJSON_IsString(e)) {
			bad(c, "%s: expected a string, got %s", p,
			    type_name(e));
			continue;
		}
		if (get_ip(c, e->valuestring, p, &ip) < 0)
			continue;
		for (j = 0; j < *ret_n; j++)
			if (ipvssvc_ip_cmp(&(*ret)[j], &ip) == 0)
				break;
		if (j == *ret_n)
			(*ret)[(*ret_n)++] = ip;
	}
	return 0;
}

static int decode_service(struct dctx *c, struct k8s_obj *o, const cJSON *root)
{
	struct k8s_service *s = &o->u.svc;
	const cJSON *spec = field(root, "spec"), *list, *e;
	const char *str;
	size_t n, i;
	long long timeout = 10800;
	bool b;

	s->alloc_lb_node_ports = true;
	s->affinity_timeout = 10800;
	if (spec && !cJSON_IsObject(spec)) {
		bad(c, "spec: expected a mapping, got %s", type_name(spec));
		return -EINVAL;
	}
	if (get_str(c, spec, "type", "spec.type", &str) < 0)
		return -EINVAL;
	if (!str || strcmp(str, "ClusterIP") == 0)
		s->type = SVC_TYPE_CLUSTER_IP;
	else if (strcmp(str, "NodePort") == 0)
		s->type = SVC_TYPE_NODE_PORT;
	else if (strcmp(str, "LoadBalancer") == 0)
		s->type = SVC_TYPE_LOAD_BALANCER;
	else if (strcmp(str, "ExternalName") == 0)
		s->type = SVC_TYPE_EXTERNAL_NAME;
	else {
		bad(c, "spec.type: unknown type \"%s\"", str);
		return -EINVAL;
	}

	/* clusterIPs wins over clusterIP, as the API server keeps them equal */
	if (get_list(c, spec, "clusterIPs", "spec.clusterIPs", &list, &n) < 0)
		return -EINVAL;
	if (n == 0) {
		if (get_str(c, spec, "clusterIP", "spec.clusterIP", &str) < 0)
			return -EINVAL;
		list = NULL;
		if (str && strcmp(str, "None") == 0) {
			s->headless = true;
		} else if (str && *str) {
			struct ipvssvc_ip ip;

			if (get_ip(c, str, "spec.clusterIP", &ip) < 0)
				return -EINVAL;
			s->has_cluster_ip[fam_idx(ip.family)] = true;
			s->cluster_ip[fam_idx(ip.family)] = ip;
		}
	}
	i = 0;
	cJSON_ArrayForEach(e, list) {
		char p[64];
		struct ipvssvc_ip ip;

		snprintf(p, sizeof(p), "spec.clusterIPs[%zu]", i++);
		if (!cJSON_IsString(e)) {
			bad(c, "%s: expected a string, got %s", p,
			    type_name(e));
			return -EINVAL;
		}
		if (strcmp(e->valuestring, "None") == 0) {
			s->headless = true;
			continue;
		}
		if (!*e->valuestring)
			continue;
		if (get_ip(c, e->valuestring, p, &ip) < 0)
			return -EINVAL;
		if (s->has_cluster_ip[fam_idx(ip.family)]) {
			bad(c, "%s: a second address of the same family", p);
			return -EINVAL;
		}
		s->has_cluster_ip[fam_idx(ip.family)] = true;
		s->cluster_ip[fam_idx(ip.family)] = ip;
	}

	if (get_list(c, spec, "externalIPs", "spec.externalIPs", &list, &n) <
		    0 ||
	    decode_ip_list(c, list, n, "spec.externalIPs", &s->external_ips,
			   &s->n_external_ips) < 0)
		return -EINVAL;

	/* status.loadBalancer.ingress[].ip with ipMode absent or VIP */
	{
		const cJSON *st = field(root, "status");
		const cJSON *lb = field(st, "loadBalancer");

		if (get_list(c, lb, "ingress", "status.loadBalancer.ingress",
			     &list, &n) < 0)
			return -EINVAL;
		s->lb_ips = xcalloc(c, n, sizeof(*s->lb_ips));
		if (!s->lb_ips)
			return -ENOMEM;
		i = 0;
		cJSON_ArrayForEach(e, list) {
			char p[80];
			const char *ip, *mode;
			struct ipvssvc_ip a;
			size_t j;

			snprintf(p, sizeof(p),
				 "status.loadBalancer.ingress[%zu].ip", i);
			if (get_str(c, e, "ip", p, &ip) < 0)
				goto next_ing;
			snprintf(p, sizeof(p),
				 "status.loadBalancer.ingress[%zu].ipMode", i);
			if (get_str(c, e, "ipMode", p, &mode) < 0)
				goto next_ing;
			if (!ip || !*ip)
				goto next_ing; /* a hostname only */
			if (mode && strcmp(mode, "VIP") != 0) {
				if (strcmp(mode, "Proxy") != 0)
					bad(c, "%s: unknown ipMode \"%s\"", p,
					    mode);
				goto next_ing;
			}
			snprintf(p, sizeof(p),
				 "status.loadBalancer.ingress[%zu].ip", i);
			if (get_ip(c, ip, p, &a) < 0)
				goto next_ing;
			for (j = 0; j < s->n_lb_ips; j++)
				if (ipvssvc_ip_cmp(&s->lb_ips[j], &a) == 0)
					break;
			if (j == s->n_lb_ips)
				s->lb_ips[s->n_lb_ips++] = a;
		next_ing:
			i++;
		}
	}

	if (decode_service_ports(c, s, spec) < 0)
		return -EINVAL;

	if (field(spec, "selector")) {
		s->has_selector = true;
		if (get_kv(c, spec, "selector", "spec.selector", &s->selector) <
		    0)
			return -EINVAL;
		if (s->selector.n == 0)
			s->has_selector = false;
	}

	if (get_str(c, spec, "sessionAffinity", "spec.sessionAffinity", &str) <
	    0)
		return -EINVAL;
	if (str && strcmp(str, "ClientIP") == 0)
		s->affinity_client_ip = true;
	else if (str && strcmp(str, "None") != 0 && *str) {
		bad(c, "spec.sessionAffinity: unknown value \"%s\"", str);
		return -EINVAL;
	}
	{
		const cJSON *sac = field(spec, "sessionAffinityConfig");
		const cJSON *cip = field(sac, "clientIP");
		bool present;

		if (get_int(c, cip, "timeoutSeconds",
			    "spec.sessionAffinityConfig.clientIP."
			    "timeoutSeconds",
			    &timeout, &present) < 0)
			return -EINVAL;
		if (present && (timeout < 1 || timeout > 86400)) {
			bad(c,
			    "spec.sessionAffinityConfig.clientIP."
			    "timeoutSeconds: %lld is outside 1..86400",
			    timeout);
			return -EINVAL;
		}
		s->affinity_timeout = (uint32_t)timeout;
	}

	if (get_str(c, spec, "externalTrafficPolicy",
		    "spec.externalTrafficPolicy", &str) < 0)
		return -EINVAL;
	if (str && strcmp(str, "Local") == 0)
		s->external_local = true;
	else if (str && *str && strcmp(str, "Cluster") != 0 &&
		 strcmp(str, "Global") != 0) {
		bad(c, "spec.externalTrafficPolicy: unknown value \"%s\"", str);
		return -EINVAL;
	}
	/* a bad range is skipped: the list only ever admits fewer sources */
	if (get_list(c, spec, "loadBalancerSourceRanges",
		     "spec.loadBalancerSourceRanges", &list, &n) < 0)
		return -EINVAL;
	if (n) {
		s->lb_source_ranges =
			xcalloc(c, n, sizeof(*s->lb_source_ranges));
		if (!s->lb_source_ranges)
			return -ENOMEM;
	}
	i = 0;
	cJSON_ArrayForEach(e, list) {
		struct ipvssvc_cidr cidr;

		if (!cJSON_IsString(e) ||
		    ipvssvc_cidr_parse(e->valuestring, &cidr) < 0) {
			bad(c, "spec.loadBalancerSourceRanges[%zu]: not a CIDR",
			    i++);
			continue;
		}
		i++;
		s->lb_source_ranges[s->n_lb_source_ranges++] = cidr;
	}

	if (get_str(c, spec, "internalTrafficPolicy",
		    "spec.internalTrafficPolicy", &str) < 0)
		return -EINVAL;
	if (str && strcmp(str, "Local") == 0)
		s->internal_local = true;
	else if (str && *str && strcmp(str, "Cluster") != 0) {
		bad(c, "spec.internalTrafficPolicy: unknown value \"%s\"", str);
		return -EINVAL;
	}
	b = true;
	if (get_bool(c, spec, "allocateLoadBalancerNodePorts",
		     "spec.allocateLoadBalancerNodePorts", &b, NULL) < 0)
		return -EINVAL;
	s->alloc_lb_node_ports = b;
	b = false;
	if (get_bool(c, spec, "publishNotReadyAddresses",
		     "spec.publishNotReadyAddresses", &b, NULL) < 0)
		return -EINVAL;
	s->publish_not_ready = b;

	/* the scheduler annotations, ipvs-svc's own first */
	{
		static const char *const sched_keys[] = {
			"ipvs-svc.io/scheduler",
			"kube-router.io/service.scheduler",
		};
		static const char *const flag_keys[] = {
			"ipvs-svc.io/scheduler-flags",
			"kube-router.io/service.schedflags",
		};

		for (i = 0; i < ARRAY_SIZE(sched_keys); i++) {
			str = kv_get(&o->annotations, sched_keys[i]);
			if (!str || !*str)
				continue;
			if (!ipvssvc_scheduler_is_known(str)) {
				bad(c,
				    "metadata.annotations[%s]: unknown "
				    "scheduler \"%s\"",
				    sched_keys[i], str);
				return -EINVAL;
			}
			snprintf(s->sched, sizeof(s->sched), "%s", str);
			break;
		}
		for (i = 0; i < ARRAY_SIZE(flag_keys); i++) {
			str = kv_get(&o->annotations, flag_keys[i]);
			if (!str || !*str)
				continue;
			if (ipvssvc_sched_flags_parse(str, &s->sched_flags) <
			    0) {
				bad(c,
				    "metadata.annotations[%s]: unknown "
				    "scheduler flags \"%s\"",
				    flag_keys[i], str);
				return -EINVAL;
			}
			break;
		}
	}
	return 0;
}

static int decode_slice_ports(struct dctx *c, const cJSON *o, const char *key,
			      const char *path, struct slice_port **ret,
			      size_t *ret_n)
{
	const cJSON *list, *p;
	size_t n, i = 0;

	if (get_list(c, o, key, path, &list, &n) < 0)
		return -EINVAL;
	*ret = xcalloc(c, n, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	cJSON_ArrayForEach(p, list) {
		struct slice_port sp = {0};
		char fp[96];
		const char *name;

		snprintf(fp, sizeof(fp), "%s[%zu].name", path, i);
		if (get_str(c, p, "name", fp, &name) < 0)
			goto next;
		snprintf(fp, sizeof(fp), "%s[%zu].protocol", path, i);
		if (get_protocol(c, p, fp, &sp.protocol) < 0)
			goto next;
		snprintf(fp, sizeof(fp), "%s[%zu].port", path, i);
		/* kube-proxy ignores a port without a number */
		if (get_port(c, p, "port", fp, true, &sp.port) < 0)
			goto next;
		sp.name = xstrdup(c, name);
		(*ret)[(*ret_n)++] = sp;
		if (c->oom)
			return -ENOMEM;
	next:
		i++;
	}
	return 0;
}

static int decode_hints(struct dctx *c, const cJSON *hints, const char *key,
			const char *path, struct str_list *ret)
{
	const cJSON *list, *e;
	size_t n;

	if (get_list(c, hints, key, path, &list, &n) < 0)
		return -EINVAL;
	if (!n)
		return 0;
	ret->v = xcalloc(c, n, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		const char *name;

		if (get_str(c, e, "name", path, &name) < 0)
			return -EINVAL;
		if (!name)
			continue;
		ret->v[ret->n] = intern(c, name);
		if (c->oom)
			return -ENOMEM;
		ret->n++;
	}
	return 0;
}

static int decode_slice(struct dctx *c, struct k8s_obj *o, const cJSON *root)
{
	struct k8s_slice *s = &o->u.slice;
	const cJSON *list, *e;
	const char *str;
	size_t n, i = 0;

	str = kv_get(&o->labels, "kubernetes.io/service-name");
	if (str && *str) {
		s->service_name = xstrdup(c, str);
		if (c->oom)
			return -ENOMEM;
	}
	s->headless = kv_get(&o->labels, "service.kubernetes.io/headless") !=
		      NULL;
	if (get_str(c, root, "addressType", "addressType", &str) < 0)
		return -EINVAL;
	if (!str) {
		bad(c, "addressType: missing");
		return -EINVAL;
	}
	if (strcmp(str, "IPv4") == 0)
		s->family = AF_INET;
	else if (strcmp(str, "IPv6") == 0)
		s->family = AF_INET6;
	else if (strcmp(str, "FQDN") == 0)
		s->family = 0;
	else {
		bad(c, "addressType: unknown type \"%s\"", str);
		return -EINVAL;
	}
	if (decode_slice_ports(c, root, "ports", "ports", &s->ports,
			       &s->n_ports) < 0)
		return -EINVAL;
	if (!s->family)
		return 0; /* FQDN: nothing a proxy can use */
	if (get_list(c, root, "endpoints", "endpoints", &list, &n) < 0)
		return -EINVAL;
	s->endpoints = xcalloc(c, n, sizeof(*s->endpoints));
	if (!s->endpoints)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		struct slice_endpoint *ep = &s->endpoints[s->n_endpoints];
		const cJSON *addrs, *cond, *hints;
		char p[96];
		size_t na;
		bool ready = true, serving = true, terminating = false;
		bool serving_set;

		memset(ep, 0, sizeof(*ep));
		snprintf(p, sizeof(p), "endpoints[%zu].addresses", i);
		if (get_list(c, e, "addresses", p, &addrs, &na) < 0)
			goto next;
		if (na == 0)
			goto next; /* kube-proxy skips it too */
		snprintf(p, sizeof(p), "endpoints[%zu].addresses[0]", i);
		if (!cJSON_IsString(addrs->child)) {
			bad(c, "%s: expected a string, got %s", p,
			    type_name(addrs->child));
			goto next;
		}
		if (get_ip(c, addrs->child->valuestring, p, &ep->addr) < 0)
			goto next;
		if (ep->addr.family != s->family) {
			bad(c, "%s: \"%s\" is not an %s address", p,
			    addrs->child->valuestring,
			    s->family == AF_INET ? "IPv4" : "IPv6");
			goto next;
		}
		cond = field(e, "conditions");
		snprintf(p, sizeof(p), "endpoints[%zu].conditions.ready", i);
		if (get_bool(c, cond, "ready", p, &ready, NULL) < 0)
			goto next;
		/* serving absent means the same as ready */
		serving = ready;
		snprintf(p, sizeof(p), "endpoints[%zu].conditions.serving", i);
		if (get_bool(c, cond, "serving", p, &serving, &serving_set) < 0)
			goto next;
		snprintf(p, sizeof(p), "endpoints[%zu].conditions.terminating",
			 i);
		if (get_bool(c, cond, "terminating", p, &terminating, NULL) < 0)
			goto next;
		ep->ready = ready;
		ep->serving = serving;
		ep->terminating = terminating;
		snprintf(p, sizeof(p), "endpoints[%zu].nodeName", i);
		if (get_str(c, e, "nodeName", p, &str) < 0)
			goto next;
		if (str) {
			ep->node_name = intern(c, str);
			if (c->oom)
				return -ENOMEM;
		}
		hints = field(e, "hints");
		snprintf(p, sizeof(p), "endpoints[%zu].hints.forZones", i);
		if (decode_hints(c, hints, "forZones", p, &ep->zone_hints) < 0)
			goto drop;
		snprintf(p, sizeof(p), "endpoints[%zu].hints.forNodes", i);
		if (decode_hints(c, hints, "forNodes", p, &ep->node_hints) < 0)
			goto drop;
		s->n_endpoints++;
		goto next;
	drop:
		str_list_clear(&ep->zone_hints);
		str_list_clear(&ep->node_hints);
		if (c->oom)
			return -ENOMEM;
	next:
		i++;
	}
	return 0;
}

static int decode_endpoints(struct dctx *c, struct k8s_obj *o,
			    const cJSON *root)
{
	struct k8s_endpoints *eps = &o->u.eps;
	const cJSON *list, *sub;
	size_t n, i = 0;

	if (get_list(c, root, "subsets", "subsets", &list, &n) < 0)
		return -EINVAL;
	eps->subsets = xcalloc(c, n, sizeof(*eps->subsets));
	if (!eps->subsets)
		return -ENOMEM;
	cJSON_ArrayForEach(sub, list) {
		struct ep_subset *s = &eps->subsets[eps->n_subsets++];
		const cJSON *addrs, *a;
		char p[96];
		size_t na, j = 0;

		snprintf(p, sizeof(p), "subsets[%zu].ports", i);
		if (decode_slice_ports(c, sub, "ports", p, &s->ports,
				       &s->n_ports) < 0)
			return -EINVAL;
		/* notReadyAddresses are never used */
		snprintf(p, sizeof(p), "subsets[%zu].addresses", i);
		if (get_list(c, sub, "addresses", p, &addrs, &na) < 0)
			return -EINVAL;
		s->addrs = xcalloc(c, na, sizeof(*s->addrs));
		if (!s->addrs)
			return -ENOMEM;
		cJSON_ArrayForEach(a, addrs) {
			struct ep_address *ea = &s->addrs[s->n_addrs];
			const char *ip, *node;

			snprintf(p, sizeof(p), "subsets[%zu].addresses[%zu].ip",
				 i, j);
			if (get_str(c, a, "ip", p, &ip) < 0 ||
			    get_ip(c, ip, p, &ea->addr) < 0)
				goto next;
			snprintf(p, sizeof(p),
				 "subsets[%zu].addresses[%zu].nodeName", i, j);
			if (get_str(c, a, "nodeName", p, &node) < 0)
				goto next;
			if (node) {
				ea->node_name = intern(c, node);
				if (c->oom)
					return -ENOMEM;
			}
			s->n_addrs++;
		next:
			j++;
		}
		i++;
	}
	return 0;
}

static int decode_cports(struct dctx *c, struct k8s_pod *pod,
			 const cJSON *containers, const char *path,
			 bool sidecars_only)
{
	const cJSON *ct;
	size_t i = 0;

	cJSON_ArrayForEach(ct, containers) {
		const cJSON *ports, *p;
		struct container_port *v;
		char fp[96];
		size_t n, j = 0;

		if (sidecars_only) {
			const char *rp;

			if (get_str(c, ct, "restartPolicy", path, &rp) < 0 ||
			    !rp || strcmp(rp, "Always") != 0) {
				i++;
				continue;
			}
		}
		snprintf(fp, sizeof(fp), "%s[%zu].ports", path, i);
		if (get_list(c, ct, "ports", fp, &ports, &n) < 0)
			return -EINVAL;
		if (!n) {
			i++;
			continue;
		}
		v = realloc(pod->cports, (pod->n_cports + n) * sizeof(*v));
		if (!v) {
			c->oom = 1;
			return -ENOMEM;
		}
		pod->cports = v;
		cJSON_ArrayForEach(p, ports) {
			struct container_port cp = {0};
			const char *name;

			snprintf(fp, sizeof(fp), "%s[%zu].ports[%zu]", path, i,
				 j++);
			if (get_str(c, p, "name", fp, &name) < 0 ||
			    get_protocol(c, p, fp, &cp.protocol) < 0 ||
			    get_port(c, p, "containerPort", fp, false,
				     &cp.port) < 0)
				continue;
			if (name) {
				cp.name = xstrdup(c, name);
				if (c->oom)
					return -ENOMEM;
			}
			pod->cports[pod->n_cports++] = cp;
		}
		i++;
	}
	return 0;
}

static int decode_pod(struct dctx *c, struct k8s_obj *o, const cJSON *root,
		      const cJSON *meta)
{
	struct k8s_pod *pod = &o->u.pod;
	const cJSON *spec = field(root, "spec"), *status = field(root, "statu"
								       "s");
	const cJSON *list, *e;
	const char *str;
	size_t n, i = 0;

	pod->terminating = field(meta, "deletionTimestamp") != NULL;
	if (get_str(c, spec, "nodeName", "spec.nodeName", &str) < 0)
		return -EINVAL;
	if (str) {
		pod->node_name = intern(c, str);
		if (c->oom)
			return -ENOMEM;
	}
	if (get_list(c, spec, "containers", "spec.containers", &list, &n) < 0 ||
	    decode_cports(c, pod, list, "spec.containers", false) < 0)
		return -EINVAL;
	if (get_list(c, spec, "initContainers", "spec.initContainers", &list,
		     &n) < 0 ||
	    decode_cports(c, pod, list, "spec.initContainers", true) < 0)
		return -EINVAL;
	if (get_str(c, status, "phase", "status.phase", &str) < 0)
		return -EINVAL;
	pod->running = str && strcmp(str, "Running") == 0;
	if (get_list(c, status, "conditions", "status.conditions", &list, &n) <
	    0)
		return -EINVAL;
	cJSON_ArrayForEach(e, list) {
		const char *type, *st;

		if (get_str(c, e, "type", "status.conditions[].type", &type) <
			    0 ||
		    get_str(c, e, "status", "status.conditions[].status", &st) <
			    0)
			return -EINVAL;
		if (type && strcmp(type, "Ready") == 0)
			pod->ready = st && strcmp(st, "True") == 0;
	}
	if (get_list(c, status, "podIPs", "status.podIPs", &list, &n) < 0)
		return -EINVAL;
	pod->ips = xcalloc(c, n + 1, sizeof(*pod->ips));
	if (!pod->ips)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		char p[64];
		const char *ip;
		struct ipvssvc_ip a;

		snprintf(p, sizeof(p), "status.podIPs[%zu].ip", i++);
		if (get_str(c, e, "ip", p, &ip) < 0 || get_ip(c, ip, p, &a) < 0)
			return -EINVAL;
		pod->ips[pod->n_ips++] = a;
	}
	if (get_str(c, status, "podIP", "status.podIP", &str) < 0)
		return -EINVAL;
	if (str && *str) {
		struct ipvssvc_ip a;
		size_t j;

		if (get_ip(c, str, "status.podIP", &a) < 0)
			return -EINVAL;
		for (j = 0; j < pod->n_ips; j++)
			if (ipvssvc_ip_cmp(&pod->ips[j], &a) == 0)
				break;
		if (j == pod->n_ips)
			pod->ips[pod->n_ips++] = a;
	}
	return 0;
}

static int decode_node(struct dctx *c, struct k8s_obj *o, const cJSON *root)
{
	struct k8s_node *nd = &o->u.nodeo;
	const cJSON *status = field(root, "status"), *list, *e;
	const char *zone = kv_get(&o->labels, "topology.kubernetes.io/zone");
	size_t n, i = 0;

	if (zone) {
		nd->zone = xstrdup(c, zone);
		if (c->oom)
			return -ENOMEM;
	}
	if (get_list(c, status, "addresses", "status.addresses", &list, &n) < 0)
		return -EINVAL;
	nd->addrs = xcalloc(c, n, sizeof(*nd->addrs));
	if (!nd->addrs)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		char p[64];
		const char *type, *addr;

		snprintf(p, sizeof(p), "status.addresses[%zu]", i++);
		if (get_str(c, e, "type", p, &type) < 0 ||
		    get_str(c, e, "address", p, &addr) < 0)
			continue;
		if (!type ||
		    (strcmp(type, "InternalIP") != 0 && strcmp(type, "ExternalI"
								     "P") != 0))
			continue;
		if (get_ip(c, addr, p, &nd->addrs[nd->n_addrs]) == 0)
			nd->n_addrs++;
	}
	return 0;
}

/* ---- the store ---- */

static uint64_t obj_hash(enum k8s_kind kind, const char *ns, const char *name)
{
	uint64_t h = k8s_hash_bytes(K8S_HASH_SEED, &kind, sizeof(kind));

	h = k8s_hash_str(h, ns);
	return k8s_hash_str(h, name);
}

static struct k8s_obj *find_obj(const struct ipvssvc_objects *objs,
				enum k8s_kind kind, const char *ns,
				const char *name)
{
	uint64_t h = obj_hash(kind, ns, name);
	struct hnode *e;

	for (e = htable_bucket(&objs->objs, h); e; e = e->next) {
		struct k8s_obj *o = (struct k8s_obj *)e;

		if (e->hash == h && o->kind == kind && strcmp(o->ns, ns) == 0 &&
		    strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static uint64_t group_hash(const char *ns, const char *svc)
{
	return k8s_hash_str(k8s_hash_str(K8S_HASH_SEED, ns), svc);
}

static struct slice_group *find_group(const struct ipvssvc_objects *objs,
				      const char *ns, const char *svc)
{
	uint64_t h = group_hash(ns, svc);
	struct hnode *e;

	for (e = htable_bucket(&objs->groups, h); e; e = e->next) {
		struct slice_group *g = (struct slice_group *)e;

		if (e->hash == h && strcmp(g->ns, ns) == 0 &&
		    strcmp(g->svc_name, svc) == 0)
			return g;
	}
	return NULL;
}

static void unlink_obj(struct ipvssvc_objects *objs, struct k8s_obj *o)
{
	htable_remove(&objs->objs, &o->node);
	if (o->kprev)
		o->kprev->knext = o->knext;
	else
		objs->kind_head[o->kind] = o->knext;
	if (o->knext)
		o->knext->kprev = o->kprev;
	objs->kind_count[o->kind]--;
	if (o->group) {
		struct slice_group *g = o->group;

		if (o->gprev)
			o->gprev->gnext = o->gnext;
		else
			g->head = o->gnext;
		if (o->gnext)
			o->gnext->gprev = o->gprev;
		if (--g->n == 0) {
			htable_remove(&objs->groups, &g->node);
			free(g->ns);
			free(g->svc_name);
			free(g);
		}
		o->group = NULL;
	}
}

static int link_obj(struct ipvssvc_objects *objs, struct k8s_obj *o)
{
	o->node.hash = obj_hash(o->kind, o->ns, o->name);
	if (htable_insert(&objs->objs, &o->node) < 0)
		return -ENOMEM;
	if (o->kind == K8S_ENDPOINT_SLICE && o->u.slice.service_name) {
		struct slice_group *g =
			find_group(objs, o->ns, o->u.slice.service_name);

		if (!g) {
			g = calloc(1, sizeof(*g));
			if (!g)
				goto oom;
			g->ns = strdup(o->ns);
			g->svc_name = strdup(o->u.slice.service_name);
			g->node.hash =
				group_hash(o->ns, o->u.slice.service_name);
			if (!g->ns || !g->svc_name ||
			    htable_insert(&objs->groups, &g->node) < 0) {
				free(g->ns);
				free(g->svc_name);
				free(g);
				goto oom;
			}
		}
		o->group = g;
		o->gprev = NULL;
		o->gnext = g->head;
		if (g->head)
			g->head->gprev = o;
		g->head = o;
		g->n++;
	}
	o->kprev = NULL;
	o->knext = objs->kind_head[o->kind];
	if (o->knext)
		o->knext->kprev = o;
	objs->kind_head[o->kind] = o;
	objs->kind_count[o->kind]++;
	return 0;
oom:
	htable_remove(&objs->objs, &o->node);
	return -ENOMEM;
}

int objs_upsert_tree(struct ipvssvc_objects *objs, const cJSON *root,
		     const char *kind_hint, const char *where)
{
	struct dctx c = {.objs = objs, .where = where};
	const cJSON *meta;
	const char *kind = NULL, *ns = NULL, *name = NULL;
	struct k8s_obj *o, *old;
	int k, r;

	c.kind = kind_hint ? kind_hint : "object";
	if (!cJSON_IsObject(root)) {
		objs_diag(objs, IPVSSVC_LOG_WARNING,
			  "%s%sskipping %s: not a mapping", where ? where : "",
			  where ? ": " : "", type_name(root));
		return 0;
	}
	if (get_str(&c, root, "kind", "kind", &kind) < 0)
		return 0;
	if (!kind || !*kind)
		kind = kind_hint;
	if (!kind) {
		objs_diag(objs, IPVSSVC_LOG_WARNING,
			  "%s%sskipping an object without a kind",
			  where ? where : "", where ? ": " : "");
		return 0;
	}
	c.kind = kind;
	meta = field(root, "metadata");
	if (get_str(&c, meta, "name", "metadata.name", &name) < 0)
		return 0;
	c.name = name;
	k = k8s_kind_from_name(kind);
	if (k < 0) {
		objs_diag(objs, IPVSSVC_LOG_INFO, "%s%signoring %s %s",
			  where ? where : "", where ? ": " : "", kind,
			  name ? name : "");
		return 0;
	}
	if (get_str(&c, meta, "namespace", "metadata.namespace", &ns) < 0)
		return 0;
	if (k == K8S_NODE)
		ns = "";
	else if (!ns || !*ns)
		ns = "default";
	c.ns = ns;
	if (!name || !*name) {
		bad(&c, "metadata.name: missing");
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = (enum k8s_kind)k;
	o->ns = xstrdup(&c, ns);
	o->name = xstrdup(&c, name);
	if (c.oom)
		goto oom;
	if (get_kv(&c, meta, "labels", "metadata.labels", &o->labels) < 0 ||
	    get_kv(&c, meta, "annotations", "metadata.annotations",
		   &o->annotations) < 0)
		goto skip;
	switch (o->kind) {
	case K8S_SERVICE:
		r = decode_service(&c, o, root);
		break;
	case K8S_ENDPOINT_SLICE:
		r = decode_slice(&c, o, root);
		break;
	case K8S_ENDPOINTS:
		r = decode_endpoints(&c, o, root);
		break;
	case K8S_POD:
		r = decode_pod(&c, o, root, meta);
		break;
	case K8S_NODE:
		r = decode_node(&c, o, root);
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (c.oom)
		goto oom;
	if (r < 0)
		goto skip;
	old = find_obj(objs, o->kind, o->ns, o->name);
	if (old) {
		unlink_obj(objs, old);
		obj_free(old);
	}
	if (link_obj(objs, o) < 0)
		goto oom;
	return 1;
skip:
	if (c.oom)
		goto oom;
	bad(&c, "skipped");
	obj_free(o);
	return 0;
oom:
	obj_free(o);
	return -ENOMEM;
}

static bool objs_empty(const struct ipvssvc_objects *objs)
{
	int k;

	for (k = 0; k < K8S_KIND_MAX; k++)
		if (objs->kind_head[k])
			return false;
	return true;
}

int objs_move(struct ipvssvc_objects *dst, struct ipvssvc_objects *src)
{
	int k;

	if (objs_empty(dst)) {
		/* the common case (one file into a new store): swap */
		struct ipvssvc_objects tmp = *dst;

		memcpy(dst->kind_head, src->kind_head, sizeof(dst->kind_head));
		memcpy(dst->kind_count, src->kind_count,
		       sizeof(dst->kind_count));
		dst->objs = src->objs;
		dst->groups = src->groups;
		memcpy(src->kind_head, tmp.kind_head, sizeof(src->kind_head));
		memcpy(src->kind_count, tmp.kind_count,
		       sizeof(src->kind_count));
		src->objs = tmp.objs;
		src->groups = tmp.groups;
		return 0;
	}
	for (k = 0; k < K8S_KIND_MAX; k++) {
		struct k8s_obj *o = src->kind_head[k];

		/* oldest first, as if they had been upserted into dst */
		while (o && o->knext)
			o = o->knext;
		while (o) {
			struct k8s_obj *prev = o->kprev, *old;

			unlink_obj(src, o);
			old = find_obj(dst, o->kind, o->ns, o->name);
			if (old) {
				unlink_obj(dst, old);
				obj_free(old);
			}
			if (link_obj(dst, o) < 0) {
				obj_free(o);
				return -ENOMEM;
			}
			o = prev;
		}
	}
	return 0;
}

const struct k8s_obj *objs_find(const struct ipvssvc_objects *objs,
				enum k8s_kind kind, const char *ns,
				const char *name)
{
	return find_obj(objs, kind, ns, name);
}

const struct k8s_obj *objs_first(const struct ipvssvc_objects *objs,
				 enum k8s_kind kind)
{
	return kind < K8S_KIND_MAX ? objs->kind_head[kind] : NULL;
}

const struct slice_group *objs_slices(const struct ipvssvc_objects *objs,
				      const char *ns, const char *svc_name)
{
	return find_group(objs, ns, svc_name);
}

/* ---- public API ---- */

_public_ int ipvssvc_objects_new(ipvssvc_objects **ret)
{
	ipvssvc_objects *objs;

	if (!ret)
		return -EINVAL;
	objs = calloc(1, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	objs->strings = &objs->own_strings;
	*ret = objs;
	return 0;
}

_public_ void ipvssvc_objects_free(ipvssvc_objects *objs)
{
	size_t i;
	int k;

	if (!objs)
		return;
	for (k = 0; k < K8S_KIND_MAX; k++) {
		struct k8s_obj *o = objs->kind_head[k], *next;

		for (; o; o = next) {
			next = o->knext;
			obj_free(o);
		}
	}
	for (i = 0; i < objs->groups.n_buckets; i++) {
		struct hnode *e = objs->groups.buckets[i], *next;

		for (; e; e = next) {
			struct slice_group *g = (struct slice_group *)e;

			next = e->next;
			free(g->ns);
			free(g->svc_name);
			free(g);
		}
	}
	for (i = 0; i < objs->own_strings.n_buckets; i++) {
		struct hnode *e = objs->own_strings.buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(objs->own_strings.buckets);
	free(objs->objs.buckets);
	free(objs->groups.buckets);
	free(objs);
}

_public_ void ipvssvc_objects_set_diag(ipvssvc_objects *objs,
				       ipvssvc_diag_fn fn, void *userdata)
{
	if (!objs)
		return;
	objs->diag = fn;
	objs->diag_userdata = userdata;
}

_public_ int ipvssvc_objects_upsert_json(ipvssvc_objects *objs,
					 const char *json, size_t len)
{
	const char *end = NULL;
	cJSON *root;
	int r;

	if (!objs || !json)
		return -EINVAL;
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		objs_diag(objs, IPVSSVC_LOG_ERR,
			  "object: not valid JSON at byte %zu",
			  end ? (size_t)(end - json) : (size_t)0);
		return -EBADMSG;
	}
	r = objs_upsert_tree(objs, root, NULL, NULL);
	cJSON_Delete(root);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EINVAL;
}

_public_ int ipvssvc_objects_delete(ipvssvc_objects *objs, const char *kind,
				    const char *namespace_, const char *name)
{
	struct k8s_obj *o;
	int k;

	if (!objs || !kind || !name)
		return -EINVAL;
	k = k8s_kind_from_name(kind);
	if (k < 0)
		return -ENOENT;
	if (k == K8S_NODE)
		namespace_ = "";
	else if (!namespace_ || !*namespace_)
		namespace_ = "default";
	o = find_obj(objs, (enum k8s_kind)k, namespace_, name);
	if (!o)
		return -ENOENT;
	unlink_obj(objs, o);
	obj_free(o);
	return 0;
}

_public_ size_t ipvssvc_objects_count(const ipvssvc_objects *objs,
				      const char *kind)
{
	int k;

	if (!objs)
		return 0;
	k = k8s_kind_from_name(kind);
	return k < 0 ? 0 : objs->kind_count[k];
}
