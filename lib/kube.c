/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes API client: list and watch of Services, EndpointSlices
 * and this node's Node with libcurl's multi interface on one thread, as
 * client-go's reflector does it (paged list, watch from the list's
 * resourceVersion with bookmarks, relist on 410 Gone with the difference
 * turned into changes, jittered exponential backoff).
 */
#include "kube-internal.h"

#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define LIST_BODY_MAX (512u << 20)
#define ERR_BODY_MAX (64u << 10)
#define FRAME_SLACK 4096 /* a watch event: the object and a little more */
#define LIST_ATTEMPTS 4 /* per kind, for ipvssvc_kube_list_into() */
#define GONE_RESTARTS 3 /* immediate relists before backing off */

/* Connection */

static struct ipvssvc_kube *kube_alloc(void)
{
	struct ipvssvc_kube *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->page_size = 500;
	k->backoff_initial_ms = 800;
	k->backoff_max_ms = 30000;
	k->backoff_auth_ms = 60000;
	k->watch_min_s = 300;
	k->watch_max_s = 600;
	k->max_object = KUBE_MAX_OBJECT_DEFAULT;
	k->max_endpoints = KUBE_MAX_ENDPOINTS_DEFAULT;
	return k;
}

_public_ void ipvssvc_kube_free(ipvssvc_kube *k)
{
	if (!k)
		return;
	free(k->server);
	free(k->pending_warn);
	free(k->tls_server_name);
	kube_blob_clear(&k->ca);
	kube_blob_clear(&k->cert);
	kube_blob_clear(&k->key);
	if (k->token) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	if (k->file_token) {
		explicit_bzero(k->file_token, strlen(k->file_token));
		free(k->file_token);
	}
	free(k->token_file);
	free(k->auth_info);
	free(k->node_name);
	free(k->proxy_name);
	free(k);
}

_public_ int ipvssvc_kube_set_master(ipvssvc_kube *k, const char *url)
{
	size_t n;
	char *s;

	if (!k || !url)
		return -EINVAL;
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	if (strchr(url, '?') || strchr(url, '#') || strpbrk(url, " \t\r\n"))
		return -EINVAL;
	s = strdup(url);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	free(k->server);
	k->server = s;
	return 0;
}

_public_ int ipvssvc_kube_new_from_master(const char *url, ipvssvc_kube **ret)
{
	struct ipvssvc_kube *k;
	int r;

	if (!ret)
		return -EINVAL;
	k = kube_alloc();
	if (!k)
		return -ENOMEM;
	r = ipvssvc_kube_set_master(k, url);
	if (r >= 0) {
		k->auth_info = strdup("no credentials (--master only)");
		if (!k->auth_info)
			r = -ENOMEM;
	}
	if (r < 0) {
		ipvssvc_kube_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

_public_ int ipvssvc_kube_new_from_kubeconfig(const char *path,
					      const char *context,
					      ipvssvc_kube **ret,
					      char **ret_error)
{
	struct ipvssvc_kube *k;
	int r;

	if (!path || !ret)
		return -EINVAL;
	k = kube_alloc();
	if (!k)
		return -ENOMEM;
	r = kube_config_load(k, path, context, ret_error);
	if (r < 0) {
		ipvssvc_kube_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

_public_ int ipvssvc_kube_new_in_cluster(const char *sa_dir, ipvssvc_kube **ret,
					 char **ret_error)
{
	struct ipvssvc_kube *k;
	int r;

	if (!ret)
		return -EINVAL;
	k = kube_alloc();
	if (!k)
		return -ENOMEM;
	r = kube_config_in_cluster(k, sa_dir, ret_error);
	if (r < 0) {
		ipvssvc_kube_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

_public_ int ipvssvc_kube_new_default(const char *kubeconfig,
				      const char *context, const char *master,
				      ipvssvc_kube **ret, char **ret_error)
{
	struct ipvssvc_kube *k = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	if (kubeconfig && *kubeconfig)
		r = ipvssvc_kube_new_from_kubeconfig(kubeconfig, context, &k,
						     ret_error);
	else if (master && *master)
		return ipvssvc_kube_new_from_master(master, ret);
	else
		r = ipvssvc_kube_new_in_cluster(NULL, &k, ret_error);
	if (r < 0)
		return r;
	if (master && *master) {
		r = ipvssvc_kube_set_master(k, master);
		if (r < 0) {
			ipvssvc_kube_free(k);
			return r;
		}
	}
	*ret = k;
	return 0;
}

_public_ void ipvssvc_kube_set_diag(ipvssvc_kube *k, ipvssvc_diag_fn fn,
				    void *userdata)
{
	if (!k)
		return;
	k->diag = fn;
	k->diag_userdata = userdata;
	/* the load's warnings, at start (before any request) */
	if (fn && k->pending_warn) {
		char *line = k->pending_warn, *nl;

		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			kube_diag(k, IPVSSVC_LOG_WARNING, "%s", line);
			line = nl + 1;
		}
		free(k->pending_warn);
		k->pending_warn = NULL;
	}
}

static int set_str(char **p, const char *s)
{
	char *n = NULL;

	if (s && *s) {
		n = strdup(s);
		if (!n)
			return -ENOMEM;
	}
	free(*p);
	*p = n;
	return 0;
}

_public_ int ipvssvc_kube_set_node_name(ipvssvc_kube *k, const char *name)
{
	if (!k)
		return -EINVAL;
	return set_str(&k->node_name, name);
}

_public_ int ipvssvc_kube_set_service_proxy_name(ipvssvc_kube *k,
						 const char *name)
{
	if (!k)
		return -EINVAL;
	return set_str(&k->proxy_name, name);
}

_public_ void ipvssvc_kube_set_page_size(ipvssvc_kube *k, unsigned limit)
{
	if (k)
		k->page_size = limit;
}

_public_ void ipvssvc_kube_set_backoff(ipvssvc_kube *k, unsigned initial_ms,
				       unsigned max_ms, unsigned auth_ms)
{
	if (!k)
		return;
	k->backoff_initial_ms = initial_ms ? initial_ms : 1;
	k->backoff_max_ms =
		max_ms < k->backoff_initial_ms ? k->backoff_initial_ms : max_ms;
	k->backoff_auth_ms = auth_ms ? auth_ms : 1;
}

_public_ void ipvssvc_kube_set_watch_timeout(ipvssvc_kube *k, unsigned min_s,
					     unsigned max_s)
{
	if (!k)
		return;
	k->watch_min_s = min_s ? min_s : 1;
	k->watch_max_s = max_s < k->watch_min_s ? k->watch_min_s : max_s;
}

_public_ const char *ipvssvc_kube_get_server(const ipvssvc_kube *k)
{
	return k ? k->server : NULL;
}

_public_ const char *ipvssvc_kube_get_auth_info(const ipvssvc_kube *k)
{
	return k ? k->auth_info : NULL;
}

/* Helpers */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: jitter only, not security */
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

unsigned kube_backoff_ms(unsigned initial_ms, unsigned max_ms,
			 unsigned failures, uint64_t *rng)
{
	uint64_t base = initial_ms;
	unsigned i;

	for (i = 1; i < failures && base < max_ms; i++)
		base *= 2;
	if (base > max_ms)
		base = max_ms;
	/* "equal jitter": between half and all of the delay */
	return (unsigned)(base / 2 + rng_next(rng) % (base / 2 + 1));
}

/* Framer */

void kube_framer_init(struct kube_framer *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void kube_framer_reset(struct kube_framer *f)
{
	f->len = f->start = f->scan = 0;
	f->depth = 0;
	f->in_str = f->esc = false;
}

void kube_framer_free(struct kube_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	kube_framer_reset(f);
}

bool kube_framer_partial(const struct kube_framer *f)
{
	return f->depth > 0;
}

int kube_framer_feed(struct kube_framer *f, const char *data, size_t len,
		     kube_frame_fn fn, void *userdata)
{
	size_t i;
	int r;

	if (len == 0)
		return 0;
	/* drop consumed bytes before growing */
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	if (f->len + len > f->max)
		return -E2BIG;
	if (f->len + len > f->cap) {
		size_t cap = f->cap ? f->cap : 16384;
		char *nb;

		while (cap < f->len + len)
			cap *= 2;
		if (cap > f->max)
			cap = f->max; /* f->len + len fits */
		nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, len);
	f->len += len;

	for (i = f->scan; i < f->len; i++) {
		char c = f->buf[i];

		if (f->depth == 0) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				f->start = i + 1;
				continue;
			}
			if (c != '{')
				return -EBADMSG;
			f->start = i;
			f->depth = 1;
			continue;
		}
		/*
		 * The API server writes one event a line, and JSON has no
		 * raw line break inside a string: a newline inside an object
		 * means the object was cut off (what follows would be taken
		 * into it).
		 */
		if (c == '\n')
			return -EBADMSG;
		if (f->in_str) {
			if (f->esc)
				f->esc = false;
			else if (c == '\\')
				f->esc = true;
			else if (c == '"')
				f->in_str = false;
			continue;
		}
		if (c == '"') {
			f->in_str = true;
		} else if (c == '{' || c == '[') {
			f->depth++;
		} else if (c == '}' || c == ']') {
			if (--f->depth == 0) {
				f->scan = i + 1;
				r = fn(userdata, f->buf + f->start,
				       i + 1 - f->start);
				f->start = i + 1;
				if (r < 0)
					return r;
			}
		}
	}
	f->scan = f->len;
	if (f->depth == 0)
		f->start = f->len;
	return 0;
}

/* The cache of one kind: (namespace, name) -> resourceVersion */

struct entry {
	char *ns; /* "" when cluster-scoped */
	char *name;
	char *rv;
	char *json; /* only while a list is being collected */
	size_t json_len;
	char *svc; /* an EndpointSlice's Service, or NULL */
	unsigned n_ep; /* and its endpoints */
	bool skip; /* a list item not taken */
};

struct store {
	struct entry **v;
	size_t n;
	size_t cap;
};

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->ns);
	free(e->name);
	free(e->rv);
	free(e->json);
	free(e->svc);
	free(e);
}

static struct entry *entry_new(const char *ns, const char *name, const char *rv)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->ns = strdup(ns ? ns : "");
	e->name = strdup(name);
	e->rv = strdup(rv ? rv : "");
	if (!e->ns || !e->name || !e->rv) {
		entry_free(e);
		return NULL;
	}
	return e;
}

static void store_clear(struct store *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		entry_free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int key_cmp(const char *ans, const char *aname, const char *bns,
		   const char *bname)
{
	int c = strcmp(ans, bns);

	return c ? c : strcmp(aname, bname);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return key_cmp(x->ns, x->name, y->ns, y->name);
}

/* Binary search; *ret_idx is where it is or would go. */
static struct entry *store_find(const struct store *s, const char *ns,
				const char *name, size_t *ret_idx)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(s->v[mid]->ns, s->v[mid]->name, ns, name);

		if (c == 0) {
			if (ret_idx)
				*ret_idx = mid;
			return s->v[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ret_idx)
		*ret_idx = lo;
	return NULL;
}

static int store_reserve(struct store *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry **nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	return 0;
}

static int store_insert_at(struct store *s, size_t idx, struct entry *e)
{
	if (store_reserve(s) < 0)
		return -ENOMEM;
	memmove(s->v + idx + 1, s->v + idx, (s->n - idx) * sizeof(*s->v));
	s->v[idx] = e;
	s->n++;
	return 0;
}

static void store_remove_at(struct store *s, size_t idx)
{
	entry_free(s->v[idx]);
	memmove(s->v + idx, s->v + idx + 1, (s->n - idx - 1) * sizeof(*s->v));
	s->n--;
}

/* Reflectors: one list-and-watch loop per kind */

enum { K_SERVICE, K_SLICE, K_NODE, K_MAX };

static const struct kind_desc {
	const char *kind;
	const char *api_version;
	const char *path;
} kinds[K_MAX] = {
	[K_SERVICE] = {"Service", "v1", "/api/v1/services"},
	[K_SLICE] = {"EndpointSlice", "discovery.k8s.io/v1",
		     "/apis/discovery.k8s.io/v1/endpointslices"},
	[K_NODE] = {"Node", "v1", "/api/v1/nodes"},
};

enum refl_state {
	R_OFF, /* kind not watched */
	R_WAIT, /* waiting for due_ms to (re)start */
	R_LIST, /* a list page request is running */
	R_WATCH, /* a watch request is running */
	R_DONE, /* listed once (list_into) */
};

struct refl {
	struct ipvssvc_kube_watch *w;
	int kind;
	enum refl_state state;
	bool synced;
	bool want_list; /* next start is a list (else a watch) */
	char *rv; /* last resourceVersion seen */
	struct store store;
	struct store next; /* the list being collected */
	char *cont; /* continue token of the next page */
	char *list_rv;

	CURL *easy;
	struct curl_slist *hdrs;
	struct curl_slist *connect_to_list;
	char errbuf[CURL_ERROR_SIZE];
	long status;
	unsigned retry_after_s;
	char *body;
	size_t body_len;
	size_t body_cap;
	bool body_truncated;
	struct kube_framer fr;
	int stream_error; /* set by the write callback */
	bool gone; /* 410 seen in a watch stream */
	unsigned stream_events;
	uint64_t started_ms;
	uint64_t due_ms;

	unsigned failures;
	unsigned gone_restarts;
	unsigned attempts;
};

struct ipvssvc_kube_watch {
	struct ipvssvc_kube *kube;
	ipvssvc_objects *objs;
	ipvssvc_kube_change_fn fn;
	void *userdata;
	CURLM *multi;
	int epfd;
	int64_t curl_due_ms; /* -1: no curl timer */
	struct refl r[K_MAX];
	bool list_only;
	int fatal;
	int changes;
	uint64_t rng;
};

_public_ const char *ipvssvc_kube_event_name(enum ipvssvc_kube_event ev)
{
	switch (ev) {
	case IPVSSVC_KUBE_ADDED:
		return "ADDED";
	case IPVSSVC_KUBE_MODIFIED:
		return "MODIFIED";
	case IPVSSVC_KUBE_DELETED:
		return "DELETED";
	}
	return "?";
}

static const char *refl_what(const struct refl *r)
{
	return r->state == R_WATCH ? "watch" : "list";
}

static void emit(struct refl *r, const char *ns, const char *name,
		 enum ipvssvc_kube_event ev)
{
	struct ipvssvc_kube_watch *w = r->w;

	w->changes++;
	if (w->fn)
		w->fn(w->userdata, kinds[r->kind].kind, ns, name, ev);
}

static void objs_upsert(struct refl *r, const char *ns, const char *name,
			const char *json, size_t len)
{
	int e;

	if (!r->w->objs)
		return;
	e = ipvssvc_objects_upsert_json(r->w->objs, json, len);
	if (e < 0)
		kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
			  "%s %s%s%s: not taken: %s", kinds[r->kind].kind, ns,
			  *ns ? "/" : "", name, strerror(-e));
}

static void objs_delete(struct refl *r, const char *ns, const char *name)
{
	if (r->w->objs)
		ipvssvc_objects_delete(r->w->objs, kinds[r->kind].kind,
				       *ns ? ns : NULL, name);
}

static int entry_set_svc(struct entry *e, const char *svc, unsigned n_ep)
{
	char *n = NULL;

	if (svc && !(n = strdup(svc)))
		return -ENOMEM;
	free(e->svc);
	e->svc = n;
	e->n_ep = n_ep;
	return 0;
}

/* Apply an added or modified object to the cache. */
static int cache_set(struct refl *r, const char *ns, const char *name,
		     const char *rv, const char *json, size_t len,
		     const char *svc, unsigned n_ep)
{
	struct entry *e;
	size_t idx;
	char *nrv;

	e = store_find(&r->store, ns, name, &idx);
	if (e && *rv && strcmp(e->rv, rv) == 0)
		return 0; /* seen already (a watch restarted) */
	if (e) {
		nrv = strdup(rv);
		if (!nrv)
			return -ENOMEM;
		free(e->rv);
		e->rv = nrv;
		if (entry_set_svc(e, svc, n_ep) < 0)
			return -ENOMEM;
		objs_upsert(r, ns, name, json, len);
		emit(r, ns, name, IPVSSVC_KUBE_MODIFIED);
		return 0;
	}
	e = entry_new(ns, name, rv);
	if (!e || entry_set_svc(e, svc, n_ep) < 0 ||
	    store_insert_at(&r->store, idx, e) < 0) {
		entry_free(e);
		return -ENOMEM;
	}
	objs_upsert(r, ns, name, json, len);
	emit(r, ns, name, IPVSSVC_KUBE_ADDED);
	return 0;
}

static void cache_del(struct refl *r, const char *ns, const char *name)
{
	size_t idx;

	if (!store_find(&r->store, ns, name, &idx))
		return;
	/* copies: ns and name may belong to the entry */
	objs_delete(r, ns, name);
	emit(r, ns, name, IPVSSVC_KUBE_DELETED);
	store_remove_at(&r->store, idx);
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* namespace, name, resourceVersion of an object; -EINVAL without a name */
static int obj_id(const cJSON *obj, const char **ns, const char **name,
		  const char **rv)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	if (!cJSON_IsObject(md))
		return -EINVAL;
	*name = json_str(md, "name");
	if (!*name || !**name)
		return -EINVAL;
	*ns = json_str(md, "namespace");
	if (!*ns)
		*ns = "";
	*rv = json_str(md, "resourceVersion");
	if (!*rv)
		*rv = "";
	return 0;
}

/* List items carry no kind and apiVersion: add them back. */
static char *obj_text(struct refl *r, cJSON *obj, size_t *ret_len)
{
	char *s;

	if (!cJSON_GetObjectItemCaseSensitive(obj, "kind"))
		cJSON_AddStringToObject(obj, "kind", kinds[r->kind].kind);
	if (!cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"))
		cJSON_AddStringToObject(obj, "apiVersion",
					kinds[r->kind].api_version);
	s = cJSON_PrintUnformatted(obj);
	if (s)
		*ret_len = strlen(s);
	return s;
}

/* Input limits */

static const char *slice_service(const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");

	return json_str(labels, "kubernetes.io/service-name");
}

static unsigned slice_endpoints(const cJSON *obj)
{
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(obj, "endpoints");
	int n = cJSON_IsArray(eps) ? cJSON_GetArraySize(eps) : 0;

	return n > 0 ? (unsigned)n : 0;
}

static void warn_too_big(struct refl *r, const char *ns, const char *name,
			 size_t len, bool kept)
{
	kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
		  "%s %s%s%s: %zu bytes, more than the object size limit of "
		  "%zu: not taken%s",
		  kinds[r->kind].kind, ns, *ns ? "/" : "", name, len,
		  r->w->kube->max_object,
		  kept ? ", its previous version stays" : "");
}

static void warn_too_many(struct refl *r, const char *ns, const char *name,
			  const char *svc, uint64_t total, bool kept)
{
	kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
		  "EndpointSlice %s/%s: Service %s/%s would have %llu "
		  "endpoints, more than the limit of %u: the slice is not "
		  "taken%s",
		  ns, name, ns, svc ? svc : "(none)", (unsigned long long)total,
		  r->w->kube->max_endpoints,
		  kept ? ", its previous version stays" : "");
}

/* A slice (watch event) that would take its Service over the limit. */
static bool slice_over_limit(struct refl *r, const char *ns, const char *name,
			     const char *svc, unsigned n_ep)
{
	unsigned max = r->w->kube->max_endpoints;
	uint64_t total = n_ep;
	size_t i;

	if (r->kind != K_SLICE || !max)
		return false;
	for (i = 0; svc && i < r->store.n; i++) {
		const struct entry *e = r->store.v[i];

		if (e->svc && strcmp(e->svc, svc) == 0 &&
		    strcmp(e->ns, ns) == 0 && strcmp(e->name, name) != 0)
			total += e->n_ep;
	}
	if (total <= max)
		return false;
	warn_too_many(r, ns, name, svc, total,
		      !!store_find(&r->store, ns, name, NULL));
	return true;
}

/*
 * A list item not taken: the cached version (if any) stays, as the
 * resourceVersion it had, so that the difference sees no change.
 */
static bool keep_previous(struct refl *r, struct entry *en)
{
	const struct entry *old = store_find(&r->store, en->ns, en->name, NULL);
	char *rv;

	free(en->json);
	en->json = NULL;
	en->json_len = 0;
	if (!old || !(rv = strdup(old->rv)) ||
	    entry_set_svc(en, old->svc, old->n_ep) < 0) {
		en->skip = true;
		return false;
	}
	free(en->rv);
	en->rv = rv;
	return true;
}

static int svc_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c = strcmp(x->ns, y->ns);

	if (!c)
		c = strcmp(x->svc ? x->svc : "", y->svc ? y->svc : "");
	return c ? c : strcmp(x->name, y->name);
}

/* The endpoints of each Service of a complete list, within the limit. */
static void list_limit_endpoints(struct refl *r, struct store *nx)
{
	unsigned max = r->w->kube->max_endpoints;
	struct entry **v;
	uint64_t total = 0;
	size_t i;

	if (r->kind != K_SLICE || !max || !nx->n)
		return;
	v = malloc(nx->n * sizeof(*v));
	if (!v)
		return;
	memcpy(v, nx->v, nx->n * sizeof(*v));
	qsort(v, nx->n, sizeof(*v), svc_cmp);
	for (i = 0; i < nx->n; i++) {
		struct entry *e = v[i];

		if (e->skip)
			continue;
		if (i == 0 || !e->svc || !v[i - 1]->svc ||
		    strcmp(e->ns, v[i - 1]->ns) != 0 ||
		    strcmp(e->svc, v[i - 1]->svc) != 0)
			total = 0;
		if (total + e->n_ep > max) {
			uint64_t over = total + e->n_ep;
			char *svc = e->svc ? strdup(e->svc) : NULL;
			bool kept = keep_previous(r, e);

			warn_too_many(r, e->ns, e->name, svc, over, kept);
			free(svc);
			if (e->skip)
				continue;
		}
		total += e->n_ep;
	}
	free(v);
}

static int set_rv(struct refl *r, const char *rv)
{
	char *n;

	if (!rv || !*rv)
		return 0;
	n = strdup(rv);
	if (!n)
		return -ENOMEM;
	free(r->rv);
	r->rv = n;
	return 0;
}

static bool status_is_gone(const cJSON *st)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "code");
	const char *reason = json_str(st, "reason");

	if (cJSON_IsNumber(code) && code->valueint == 410)
		return true;
	return reason &&
	       (strcmp(reason, "Gone") == 0 || strcmp(reason, "Expired") == 0);
}

/* One watch event. */
static int on_frame(void *userdata, const char *frame, size_t len)
{
	struct refl *r = userdata;
	const char *type, *ns, *name, *rv;
	cJSON *ev, *obj;
	int ret = 0;

	ev = cJSON_ParseWithLength(frame, len);
	if (!ev)
		return -EBADMSG;
	type = json_str(ev, "type");
	obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (!type || !cJSON_IsObject(obj)) {
		ret = -EBADMSG;
		goto out;
	}
	r->stream_events++;
	if (strcmp(type, "ERROR") == 0) {
		const char *msg = json_str(obj, "message");

		if (status_is_gone(obj)) {
			kube_diag(r->w->kube, IPVSSVC_LOG_INFO,
				  "%s watch: resourceVersion %s expired (%s), "
				  "relisting",
				  kinds[r->kind].kind, r->rv ? r->rv : "",
				  msg ? msg : "410 Gone");
			r->gone = true;
			ret = -ESTALE;
		} else {
			kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
				  "%s watch: error event: %s",
				  kinds[r->kind].kind, msg ? msg : "(none)");
			ret = -EPROTO;
		}
		goto out;
	}
	if (obj_id(obj, &ns, &name, &rv) < 0) {
		if (strcmp(type, "BOOKMARK") == 0) {
			const cJSON *md =
				cJSON_GetObjectItemCaseSensitive(obj, "metadat"
								      "a");

			ret = set_rv(r, json_str(md, "resourceVersion"));
			goto out;
		}
		kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
			  "%s watch: %s event without metadata.name skipped",
			  kinds[r->kind].kind, type);
		goto out;
	}
	if (strcmp(type, "BOOKMARK") == 0) {
		ret = set_rv(r, rv);
	} else if (strcmp(type, "ADDED") == 0 ||
		   strcmp(type, "MODIFIED") == 0) {
		const char *svc = NULL;
		unsigned n_ep = 0;
		size_t tlen = 0;
		char *text;

		if (len > r->w->kube->max_object) {
			warn_too_big(r, ns, name, len,
				     !!store_find(&r->store, ns, name, NULL));
			ret = set_rv(r, rv);
			goto out;
		}
		if (r->kind == K_SLICE) {
			svc = slice_service(obj);
			n_ep = slice_endpoints(obj);
			if (slice_over_limit(r, ns, name, svc, n_ep)) {
				ret = set_rv(r, rv);
				goto out;
			}
		}
		text = obj_text(r, obj, &tlen);
		if (!text) {
			ret = -ENOMEM;
			goto out;
		}
		ret = cache_set(r, ns, name, rv, text, tlen, svc, n_ep);
		free(text);
		if (ret >= 0)
			ret = set_rv(r, rv);
	} else if (strcmp(type, "DELETED") == 0) {
		cache_del(r, ns, name);
		ret = set_rv(r, rv);
	} else {
		kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
			  "%s watch: unknown event type %s ignored",
			  kinds[r->kind].kind, type);
	}
out:
	cJSON_Delete(ev);
	return ret;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct refl *r = userdata;
	size_t len = size * nmemb;
	size_t max;
	int e;

	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status == 200 && r->state == R_WATCH) {
		e = kube_framer_feed(&r->fr, ptr, len, on_frame, r);
		if (e < 0) {
			r->stream_error = e;
			return 0;
		}
		return len;
	}
	max = r->status == 200 ? LIST_BODY_MAX : ERR_BODY_MAX;
	if (r->body_len + len > max) {
		if (r->status == 200) {
			r->stream_error = -E2BIG;
			return 0;
		}
		r->body_truncated = true;
		len = max - r->body_len;
		if (len == 0)
			return size * nmemb;
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 65536;
		char *nb;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb) {
			r->stream_error = -ENOMEM;
			return 0;
		}
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, ptr, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return size * nmemb;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct refl *r = userdata;
	size_t len = size * nitems;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		r->retry_after_s = 0;
		r->status = 0;
	} else if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t n = len - 12 < sizeof(tmp) - 1 ? len - 12
						      : sizeof(tmp) - 1;

		memcpy(tmp, buf + 12, n);
		tmp[n] = '\0';
		/* seconds only; an HTTP date falls back to the backoff */
		r->retry_after_s = (unsigned)strtoul(tmp, NULL, 10);
		if (r->retry_after_s > 3600)
			r->retry_after_s = 3600;
	}
	return len;
}

/* Append "name=value" to a query, percent-encoding value. */
static int query_add(char **q, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t ol = *q ? strlen(*q) : 0, vl = strlen(value), i, o;
	char *n;

	n = realloc(*q, ol + strlen(name) + 3 * vl + 3);
	if (!n)
		return -ENOMEM;
	o = ol;
	if (o)
		n[o++] = '&';
	strcpy(n + o, name);
	o += strlen(name);
	n[o++] = '=';
	for (i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			n[o++] = (char)c;
		} else {
			n[o++] = '%';
			n[o++] = hex[c >> 4];
			n[o++] = hex[c & 15];
		}
	}
	n[o] = '\0';
	*q = n;
	return 0;
}

static int build_url(struct refl *r, const char *base, char **ret)
{
	struct ipvssvc_kube *k = r->w->kube;
	char *q = NULL, *url = NULL, *sel = NULL, num[32];
	int e;

	/* kube-proxy's selection */
	if (r->kind == K_SERVICE && k->proxy_name)
		e = asprintf(&sel,
			     "!service.kubernetes.io/headless,"
			     "service.kubernetes.io/service-proxy-name=%s",
			     k->proxy_name);
	else if (r->kind == K_SERVICE)
		e = asprintf(&sel, "!service.kubernetes.io/headless,"
				   "!service.kubernetes.io/service-proxy-name");
	else if (r->kind == K_SLICE)
		e = asprintf(&sel, "!service.kubernetes.io/headless");
	else
		e = asprintf(&sel, "metadata.name=%s", k->node_name);
	if (e < 0)
		return -ENOMEM;
	e = query_add(&q, r->kind == K_NODE ? "fieldSelector" : "labelSelector",
		      sel);
	free(sel);
	if (e >= 0 && r->state == R_LIST) {
		if (k->page_size) {
			snprintf(num, sizeof(num), "%u", k->page_size);
			e = query_add(&q, "limit", num);
		}
		if (e >= 0 && r->cont)
			e = query_add(&q, "continue", r->cont);
	} else if (e >= 0) {
		unsigned span = k->watch_max_s - k->watch_min_s + 1;
		unsigned t = k->watch_min_s +
			     (unsigned)(rng_next(&r->w->rng) % span);

		e = query_add(&q, "watch", "1");
		if (e >= 0)
			e = query_add(&q, "resourceVersion", r->rv);
		if (e >= 0)
			e = query_add(&q, "allowWatchBookmarks", "true");
		snprintf(num, sizeof(num), "%u", t);
		if (e >= 0)
			e = query_add(&q, "timeoutSeconds", num);
	}
	if (e >= 0 &&
	    asprintf(&url, "%s%s?%s", base, kinds[r->kind].path, q) < 0) {
		url = NULL;
		e = -ENOMEM;
	}
	free(q);
	if (e < 0)
		return e;
	*ret = url;
	return 0;
}

static void set_blob(CURL *h, CURLoption blob_opt, CURLoption path_opt,
		     const struct kube_blob *b)
{
	if (b->data) {
		struct curl_blob cb = {
			.data = b->data,
			.len = b->len,
			.flags = CURL_BLOB_COPY,
		};

		curl_easy_setopt(h, blob_opt, &cb);
	} else if (b->path) {
		curl_easy_setopt(h, path_opt, b->path);
	}
}

/*
 * The URL base to request and, with tls-server-name, the CONNECT_TO
 * mapping that sends it to the real server while TLS checks the name.
 */
static int server_base(struct ipvssvc_kube *k, char **ret_base,
		       char **ret_connect_to)
{
	char *host = NULL, *port = NULL, *base = NULL, *ct = NULL;
	CURLU *u;
	int e = -EINVAL;

	if (!k->tls_server_name) {
		*ret_base = strdup(k->server);
		*ret_connect_to = NULL;
		return *ret_base ? 0 : -ENOMEM;
	}
	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, k->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, k->tls_server_name, 0) !=
		    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &base, 0) != CURLUE_OK)
		goto out;
	if (asprintf(&ct, "%s:%s:%s:%s", k->tls_server_name, port, host, port) <
	    0) {
		ct = NULL;
		e = -ENOMEM;
		goto out;
	}
	*ret_base = strdup(base);
	if (!*ret_base) {
		free(ct);
		e = -ENOMEM;
		goto out;
	}
	/* curl_url_get() adds a '/' path */
	{
		size_t n = strlen(*ret_base);

		while (n > 0 && (*ret_base)[n - 1] == '/')
			(*ret_base)[--n] = '\0';
	}
	*ret_connect_to = ct;
	e = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_free(base);
	curl_url_cleanup(u);
	return e;
}

static int refl_start(struct refl *r)
{
	struct ipvssvc_kube *k = r->w->kube;
	struct curl_slist *connect_to = NULL;
	char *url = NULL, *base = NULL, *ct = NULL, *auth = NULL;
	const char *token = NULL;
	int e;

	r->state = r->want_list ? R_LIST : R_WATCH;
	e = server_base(k, &base, &ct);
	if (e < 0)
		return e;
	e = build_url(r, base, &url);
	free(base);
	if (e < 0) {
		free(ct);
		return e;
	}
	e = kube_current_token(k, &token);
	if (e < 0) {
		kube_diag(k, IPVSSVC_LOG_WARNING, "token file %s: %s",
			  k->token_file, strerror(-e));
		token = NULL;
	}
	if (token && strpbrk(token, "\r\n")) {
		kube_diag(k, IPVSSVC_LOG_WARNING,
			  "the token (%s) has a line break: not sent",
			  k->auth_info ? k->auth_info : "");
		token = NULL;
	}

	curl_easy_reset(r->easy);
	curl_slist_free_all(r->hdrs);
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "User-Agent: ipvs-svc/" VERSION);
	if (token && *token) {
		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0)
			auth = NULL;
		if (auth) {
			r->hdrs = curl_slist_append(r->hdrs, auth);
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (r->state == R_LIST) {
		/* a stalled list is dropped, a quiet watch is normal */
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, 60L);
	} else {
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT,
				 (long)k->watch_max_s + 60L);
	}
	if (ct) {
		connect_to = curl_slist_append(NULL, ct);
		free(ct);
		curl_easy_setopt(r->easy, CURLOPT_CONNECT_TO, connect_to);
	}
	if (k->ca.data || k->ca.path) {
		set_blob(r->easy, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO, &k->ca);
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
	}
	if (k->insecure) {
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->cert.data || k->cert.path) {
		curl_easy_setopt(r->easy, CURLOPT_SSLCERTTYPE, "PEM");
		set_blob(r->easy, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT,
			 &k->cert);
		curl_easy_setopt(r->easy, CURLOPT_SSLKEYTYPE, "PEM");
		set_blob(r->easy, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY, &k->key);
	}
	/* curl does not copy lists: keep it with the handle */
	if (connect_to) {
		curl_slist_free_all(r->connect_to_list);
		r->connect_to_list = connect_to;
	}

	/* a big list or object does not keep its memory */
	if (r->body_cap > (1u << 20)) {
		free(r->body);
		r->body = NULL;
		r->body_cap = 0;
	}
	if (r->fr.cap > (1u << 20))
		kube_framer_free(&r->fr);
	r->status = 0;
	r->retry_after_s = 0;
	r->body_len = 0;
	r->body_truncated = false;
	r->stream_error = 0;
	r->gone = false;
	r->stream_events = 0;
	r->errbuf[0] = '\0';
	kube_framer_reset(&r->fr);
	r->started_ms = now_ms();
	if (curl_multi_add_handle(r->w->multi, r->easy) != CURLM_OK)
		return -EIO;
	return 0;
}

static void refl_schedule(struct refl *r, unsigned delay_ms)
{
	r->state = R_WAIT;
	r->due_ms = now_ms() + delay_ms;
}

/* How a failure is retried. */
enum retry_kind {
	RETRY_BACKOFF,
	RETRY_AUTH, /* 401, 403: slowly */
	RETRY_FATAL, /* list_into gives up at once (TLS) */
};

/* A failed request: report it, retry later; list_into gives up. */
static void refl_retry(struct refl *r, int err, enum retry_kind how,
		       unsigned min_ms, const char *msg)
{
	struct ipvssvc_kube_watch *w = r->w;
	struct ipvssvc_kube *k = w->kube;
	unsigned d;

	r->failures++;
	if (how == RETRY_AUTH)
		d = kube_backoff_ms(k->backoff_auth_ms, k->backoff_auth_ms, 1,
				    &w->rng);
	else
		d = kube_backoff_ms(k->backoff_initial_ms, k->backoff_max_ms,
				    r->failures, &w->rng);
	if (d < min_ms)
		d = min_ms;
	if (w->list_only) {
		r->attempts++;
		if (how != RETRY_BACKOFF || r->attempts >= LIST_ATTEMPTS) {
			kube_diag(k, IPVSSVC_LOG_ERR, "%s; giving up", msg);
			w->fatal = err;
			r->state = R_DONE;
			return;
		}
	}
	kube_diag(k, how == RETRY_AUTH ? IPVSSVC_LOG_ERR : IPVSSVC_LOG_WARNING,
		  "%s; retrying in %u ms", msg, d);
	refl_schedule(r, d);
}

static void refl_relist(struct refl *r, bool now)
{
	r->want_list = true;
	free(r->cont);
	r->cont = NULL;
	store_clear(&r->next);
	if (now && r->gone_restarts++ < GONE_RESTARTS) {
		refl_schedule(r, 0);
		return;
	}
	r->failures++;
	refl_schedule(r, kube_backoff_ms(r->w->kube->backoff_initial_ms,
					 r->w->kube->backoff_max_ms,
					 r->failures, &r->w->rng));
}

/* The server's Status message of an error answer, if any. */
static void status_message(struct refl *r, char *buf, size_t len)
{
	cJSON *st;
	const char *m;

	buf[0] = '\0';
	if (!r->body_len)
		return;
	st = cJSON_ParseWithLength(r->body, r->body_len);
	m = st ? json_str(st, "message") : NULL;
	if (m)
		snprintf(buf, len, ": %s", m);
	cJSON_Delete(st);
}

static int list_page(struct refl *r)
{
	const cJSON *items, *md, *it;
	const char *cont, *rv;
	cJSON *doc;
	int e = 0;

	doc = cJSON_ParseWithLength(r->body, r->body_len);
	if (!doc)
		return -EBADMSG;
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!cJSON_IsObject(md) ||
	    (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items)) {
		cJSON_Delete(doc);
		return -EBADMSG;
	}
	cJSON_ArrayForEach(it, items) {
		const char *ns, *name, *irv;
		struct entry *en;

		if (!cJSON_IsObject(it) || obj_id(it, &ns, &name, &irv) < 0) {
			kube_diag(r->w->kube, IPVSSVC_LOG_WARNING,
				  "%s list: item without metadata.name skipped",
				  kinds[r->kind].kind);
			continue;
		}
		en = entry_new(ns, name, irv);
		if (!en || store_reserve(&r->next) < 0) {
			entry_free(en);
			e = -ENOMEM;
			break;
		}
		if (r->kind == K_SLICE &&
		    entry_set_svc(en, slice_service(it), slice_endpoints(it)) <
			    0) {
			entry_free(en);
			e = -ENOMEM;
			break;
		}
		en->json = obj_text(r, (cJSON *)it, &en->json_len);
		if (!en->json) {
			entry_free(en);
			e = -ENOMEM;
			break;
		}
		if (en->json_len > r->w->kube->max_object) {
			size_t l = en->json_len;
			bool kept = keep_previous(r, en);

			warn_too_big(r, ns, name, l, kept);
		}
		r->next.v[r->next.n++] = en;
	}
	cont = json_str(md, "continue");
	rv = json_str(md, "resourceVersion");
	if (e >= 0 && cont && *cont) {
		free(r->cont);
		r->cont = strdup(cont);
		e = r->cont ? 1 : -ENOMEM;
	} else if (e >= 0) {
		free(r->cont);
		r->cont = NULL;
		free(r->list_rv);
		r->list_rv = strdup(rv ? rv : "");
		if (!r->list_rv)
			e = -ENOMEM;
	}
	cJSON_Delete(doc);
	return e;
}

/* The list is complete: the difference with the cache becomes changes. */
static void list_apply(struct refl *r)
{
	struct store old = r->store, *nx = &r->next;
	size_t i = 0, j = 0, o = 0;

	if (nx->n)
		qsort(nx->v, nx->n, sizeof(*nx->v), entry_cmp);
	/* duplicates cannot come from a server; keep the last anyway */
	for (j = 0; j < nx->n; j++) {
		if (o > 0 && entry_cmp(&nx->v[o - 1], &nx->v[j]) == 0) {
			entry_free(nx->v[o - 1]);
			nx->v[o - 1] = nx->v[j];
		} else {
			nx->v[o++] = nx->v[j];
		}
	}
	nx->n = o;
	list_limit_endpoints(r, nx);
	for (j = 0, o = 0; j < nx->n; j++) {
		if (nx->v[j]->skip)
			entry_free(nx->v[j]);
		else
			nx->v[o++] = nx->v[j];
	}
	nx->n = o;

	r->store = *nx;
	memset(nx, 0, sizeof(*nx));
	j = 0;
	while (i < old.n || j < r->store.n) {
		struct entry *a = i < old.n ? old.v[i] : NULL;
		struct entry *b = j < r->store.n ? r->store.v[j] : NULL;
		int c = !a ? 1 : !b ? -1 : entry_cmp(&a, &b);

		if (c < 0) {
			objs_delete(r, a->ns, a->name);
			emit(r, a->ns, a->name, IPVSSVC_KUBE_DELETED);
			i++;
			continue;
		}
		if (c > 0 || strcmp(a->rv, b->rv) != 0) {
			objs_upsert(r, b->ns, b->name, b->json, b->json_len);
			emit(r, b->ns, b->name,
			     c > 0 ? IPVSSVC_KUBE_ADDED
				   : IPVSSVC_KUBE_MODIFIED);
		}
		free(b->json);
		b->json = NULL;
		if (c == 0)
			i++;
		j++;
	}
	store_clear(&old);
}

static bool curl_tls_error(CURLcode c)
{
	return c == CURLE_PEER_FAILED_VERIFICATION ||
	       c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CACERT_BADFILE ||
	       c == CURLE_SSL_CIPHER || c == CURLE_SSL_ISSUER_ERROR ||
	       c == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	default:
		return curl_tls_error(c) ? -EPROTO : -EIO;
	}
}

static void refl_done(struct refl *r, CURLcode res)
{
	struct ipvssvc_kube *k = r->w->kube;
	const char *kind = kinds[r->kind].kind;
	const char *what = refl_what(r);
	bool watch = r->state == R_WATCH;
	char msg[1024], smsg[512];
	long status = 0;
	int e;

	curl_multi_remove_handle(r->w->multi, r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);

	if (watch && r->gone) {
		refl_relist(r, true);
		return;
	}
	if (watch && r->stream_events > 0)
		r->failures = 0; /* the watch made progress */
	if (res == CURLE_WRITE_ERROR && r->stream_error == -E2BIG) {
		/* the list names what is too big, and keeps the rest */
		if (watch) {
			kube_diag(k, IPVSSVC_LOG_WARNING,
				  "%s watch: an event of more than %zu bytes "
				  "(the object size limit); relisting",
				  kind, k->max_object);
			refl_relist(r, false);
			return;
		}
		snprintf(msg, sizeof(msg),
			 "%s list: an answer of more than %u MiB", kind,
			 LIST_BODY_MAX >> 20);
		store_clear(&r->next);
		free(r->cont);
		r->cont = NULL;
		refl_retry(r, -E2BIG, RETRY_BACKOFF, 0, msg);
		return;
	}
	if (res == CURLE_WRITE_ERROR && r->stream_error) {
		snprintf(msg, sizeof(msg), "%s %s: %s", kind, what,
			 r->stream_error == -EBADMSG ? "malformed data in the "
						       "stream"
			 : r->stream_error == -EPROTO
				 ? "error event"
				 : strerror(-r->stream_error));
		refl_retry(r, -EBADMSG, RETRY_BACKOFF, 0, msg);
		return;
	}
	if (res != CURLE_OK) {
		snprintf(msg, sizeof(msg), "%s %s from %s: %s%s%s%s", kind,
			 what, k->server, curl_easy_strerror(res),
			 r->errbuf[0] ? " (" : "", r->errbuf,
			 r->errbuf[0] ? ")" : "");
		if (watch && kube_framer_partial(&r->fr))
			strncat(msg, ", stream cut mid-event",
				sizeof(msg) - strlen(msg) - 1);
		refl_retry(r, curl_errno(res),
			   curl_tls_error(res) ? RETRY_FATAL : RETRY_BACKOFF, 0,
			   msg);
		return;
	}
	status_message(r, smsg, sizeof(smsg));
	if (status == 200 && watch) {
		if (kube_framer_partial(&r->fr)) {
			snprintf(msg, sizeof(msg),
				 "%s watch: stream ended mid-event", kind);
			refl_retry(r, -EIO, RETRY_BACKOFF, 0, msg);
			return;
		}
		/* a clean end: watch again from the last resourceVersion */
		if (r->stream_events == 0 && now_ms() - r->started_ms < 1000) {
			snprintf(msg, sizeof(msg),
				 "%s watch: stream ended at once", kind);
			refl_retry(r, -EIO, RETRY_BACKOFF, 0, msg);
			return;
		}
		r->want_list = false;
		refl_schedule(r, 0);
		return;
	}
	if (status == 200) {
		e = list_page(r);
		if (e < 0) {
			snprintf(msg, sizeof(msg), "%s list: bad answer: %s",
				 kind, strerror(-e));
			store_clear(&r->next);
			free(r->cont);
			r->cont = NULL;
			refl_retry(r, -EBADMSG, RETRY_BACKOFF, 0, msg);
			return;
		}
		if (e > 0) {
			r->want_list = true;
			refl_schedule(r, 0);
			return;
		}
		list_apply(r);
		r->synced = true;
		r->failures = 0;
		r->gone_restarts = 0;
		if (!r->list_rv || !*r->list_rv) {
			snprintf(msg, sizeof(msg),
				 "%s list: no resourceVersion to watch from",
				 kind);
			r->want_list = true;
			refl_retry(r, -EBADMSG, RETRY_BACKOFF, 0, msg);
			return;
		}
		set_rv(r, r->list_rv);
		kube_diag(k, IPVSSVC_LOG_DEBUG,
			  "%s list: %zu objects at resourceVersion %s", kind,
			  r->store.n, r->rv);
		if (r->w->list_only) {
			r->state = R_DONE;
			return;
		}
		r->want_list = false;
		refl_schedule(r, 0);
		return;
	}
	if (status == 410) {
		if (watch) {
			kube_diag(k, IPVSSVC_LOG_INFO,
				  "%s watch: resourceVersion %s is gone%s, "
				  "relisting",
				  kind, r->rv ? r->rv : "", smsg);
			refl_relist(r, true);
		} else if (r->cont) {
			kube_diag(k, IPVSSVC_LOG_INFO,
				  "%s list: continue token expired%s, listing "
				  "again",
				  kind, smsg);
			refl_relist(r, true);
		} else {
			snprintf(msg, sizeof(msg), "%s list: 410 Gone%s", kind,
				 smsg);
			refl_relist(r, false);
			kube_diag(k, IPVSSVC_LOG_WARNING, "%s", msg);
		}
		return;
	}
	if (status == 401 || status == 403) {
		snprintf(msg, sizeof(msg), "%s %s of %s: %ld %s as %s%s", kind,
			 what, k->server, status,
			 status == 401 ? "Unauthorized" : "Forbidden",
			 k->auth_info ? k->auth_info : "(no credentials)",
			 smsg);
		if (r->state == R_WATCH)
			r->want_list = false;
		refl_retry(r, -EACCES, RETRY_AUTH, 0, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s %s from %s: HTTP %ld%s", kind, what,
		 k->server, status, smsg);
	refl_retry(r, status == 429 ? -EBUSY : -EIO, RETRY_BACKOFF,
		   status == 429 ? r->retry_after_s * 1000 : 0, msg);
}

/* curl multi on epoll */

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		   void *socketp)
{
	struct ipvssvc_kube_watch *w = userp;
	struct epoll_event ev = {0};

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) < 0 &&
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev) < 0)
		return -1;
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct ipvssvc_kube_watch *w = userp;

	w->curl_due_ms = timeout_ms < 0
				 ? -1
				 : (int64_t)(now_ms() + (uint64_t)timeout_ms);
	return 0;
}

static void check_done(struct ipvssvc_kube_watch *w)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left))) {
		struct refl *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
		if (r)
			refl_done(r, m->data.result);
	}
}

static void start_due(struct ipvssvc_kube_watch *w)
{
	uint64_t now = now_ms();
	size_t i;

	for (i = 0; i < K_MAX; i++) {
		struct refl *r = &w->r[i];
		char msg[256];
		int e;

		if (r->state != R_WAIT || r->due_ms > now)
			continue;
		e = refl_start(r);
		if (e < 0) {
			snprintf(msg, sizeof(msg), "%s: cannot start: %s",
				 kinds[i].kind, strerror(-e));
			refl_retry(r, e, RETRY_BACKOFF, 0, msg);
		}
	}
}

static int watch_new(struct ipvssvc_kube *kube, ipvssvc_objects *objs,
		     bool list_only, struct ipvssvc_kube_watch **ret)
{
	struct ipvssvc_kube_watch *w;
	size_t i;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->kube = kube;
	w->objs = objs;
	w->list_only = list_only;
	w->curl_due_ms = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (getrandom(&w->rng, sizeof(w->rng), GRND_NONBLOCK) != sizeof(w->rng))
		w->rng = now_ms() ^ ((uint64_t)getpid() << 32);
	w->multi = curl_multi_init();
	if (w->epfd < 0 || !w->multi) {
		ipvssvc_kube_watch_free(w);
		return -ENOMEM;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	for (i = 0; i < K_MAX; i++) {
		struct refl *r = &w->r[i];

		r->w = w;
		r->kind = (int)i;
		kube_framer_init(&r->fr, kube->max_object + FRAME_SLACK);
		if (i == K_NODE && !kube->node_name) {
			r->state = R_OFF;
			continue;
		}
		r->easy = curl_easy_init();
		if (!r->easy) {
			ipvssvc_kube_watch_free(w);
			return -ENOMEM;
		}
		r->want_list = true;
		r->state = R_WAIT;
		r->due_ms = 0;
	}
	*ret = w;
	return 0;
}

_public_ int ipvssvc_kube_watch_new(ipvssvc_kube *kube, ipvssvc_objects *objs,
				    ipvssvc_kube_change_fn fn, void *userdata,
				    ipvssvc_kube_watch **ret)
{
	struct ipvssvc_kube_watch *w;
	int e;

	if (!kube || !ret)
		return -EINVAL;
	e = watch_new(kube, objs, false, &w);
	if (e < 0)
		return e;
	w->fn = fn;
	w->userdata = userdata;
	*ret = w;
	return 0;
}

_public_ void ipvssvc_kube_watch_free(ipvssvc_kube_watch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < K_MAX; i++) {
		struct refl *r = &w->r[i];

		if (r->easy) {
			if (w->multi)
				curl_multi_remove_handle(w->multi, r->easy);
			curl_easy_cleanup(r->easy);
		}
		curl_slist_free_all(r->hdrs);
		curl_slist_free_all(r->connect_to_list);
		store_clear(&r->store);
		store_clear(&r->next);
		kube_framer_free(&r->fr);
		free(r->rv);
		free(r->cont);
		free(r->list_rv);
		free(r->body);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}

_public_ int ipvssvc_kube_watch_get_fd(const ipvssvc_kube_watch *w)
{
	return w ? w->epfd : -EINVAL;
}

_public_ int ipvssvc_kube_watch_get_timeout(ipvssvc_kube_watch *w)
{
	uint64_t now = now_ms();
	int64_t due = w->curl_due_ms;
	size_t i;

	for (i = 0; i < K_MAX; i++)
		if (w->r[i].state == R_WAIT &&
		    (due < 0 || (int64_t)w->r[i].due_ms < due))
			due = (int64_t)w->r[i].due_ms;
	if (due < 0)
		return -1;
	if ((uint64_t)due <= now)
		return 0;
	if ((uint64_t)due - now > INT32_MAX)
		return INT32_MAX;
	return (int)((uint64_t)due - now);
}

_public_ int ipvssvc_kube_watch_process(ipvssvc_kube_watch *w)
{
	struct epoll_event evs[16];
	int n, i, running, round;

	if (!w)
		return -EINVAL;
	w->changes = 0;
	n = epoll_wait(w->epfd, evs, ARRAY_SIZE(evs), 0);
	for (i = 0; i < n; i++) {
		int flags = 0;

		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(w->multi, evs[i].data.fd, flags,
					 &running);
	}
	/* a few rounds: starting a request arms an immediate curl timer */
	for (round = 0; round < 3; round++) {
		check_done(w);
		start_due(w);
		if (w->curl_due_ms < 0 || (uint64_t)w->curl_due_ms > now_ms())
			break;
		w->curl_due_ms = -1;
		curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	}
	check_done(w);
	if (w->fatal)
		return w->fatal;
	return w->changes;
}

_public_ int ipvssvc_kube_watch_step(ipvssvc_kube_watch *w, int timeout_ms)
{
	struct pollfd p;
	int t;

	if (!w)
		return -EINVAL;
	t = ipvssvc_kube_watch_get_timeout(w);
	if (timeout_ms >= 0 && (t < 0 || t > timeout_ms))
		t = timeout_ms;
	p.fd = w->epfd;
	p.events = POLLIN;
	if (poll(&p, 1, t) < 0 && errno != EINTR)
		return -errno;
	return ipvssvc_kube_watch_process(w);
}

_public_ int ipvssvc_kube_watch_run(ipvssvc_kube_watch *w,
				    const volatile int *stop, int timeout_ms)
{
	uint64_t end = timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : 0;

	if (!w)
		return -EINVAL;
	for (;;) {
		int t = 250, e;

		if (stop && *stop)
			return 0;
		if (timeout_ms >= 0) {
			uint64_t now = now_ms();

			if (now >= end)
				return -ETIMEDOUT;
			if (end - now < (uint64_t)t)
				t = (int)(end - now);
		}
		e = ipvssvc_kube_watch_step(w, t);
		if (e < 0)
			return e;
	}
}

_public_ bool ipvssvc_kube_watch_synced(const ipvssvc_kube_watch *w)
{
	size_t i;

	if (!w)
		return false;
	for (i = 0; i < K_MAX; i++)
		if (w->r[i].state != R_OFF && !w->r[i].synced)
			return false;
	return true;
}

static const struct refl *refl_of(const ipvssvc_kube_watch *w, const char *kind)
{
	size_t i;

	if (!w || !kind)
		return NULL;
	for (i = 0; i < K_MAX; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &w->r[i];
	return NULL;
}

_public_ const char *
ipvssvc_kube_watch_resource_version(const ipvssvc_kube_watch *w,
				    const char *kind)
{
	const struct refl *r = refl_of(w, kind);

	return r ? r->rv : NULL;
}

_public_ size_t ipvssvc_kube_watch_count(const ipvssvc_kube_watch *w,
					 const char *kind)
{
	const struct refl *r = refl_of(w, kind);

	return r ? r->store.n : 0;
}

_public_ int ipvssvc_kube_watch_get(const ipvssvc_kube_watch *w,
				    const char *kind, size_t i,
				    const char **ret_namespace,
				    const char **ret_name,
				    const char **ret_resource_version)
{
	const struct refl *r = refl_of(w, kind);

	if (!r || i >= r->store.n)
		return -ERANGE;
	if (ret_namespace)
		*ret_namespace = r->store.v[i]->ns;
	if (ret_name)
		*ret_name = r->store.v[i]->name;
	if (ret_resource_version)
		*ret_resource_version = r->store.v[i]->rv;
	return 0;
}

_public_ int ipvssvc_kube_list_into(ipvssvc_kube *kube, ipvssvc_objects *objs)
{
	struct ipvssvc_kube_watch *w;
	int e;

	if (!kube || !objs)
		return -EINVAL;
	e = watch_new(kube, objs, true, &w);
	if (e < 0)
		return e;
	for (;;) {
		size_t i;
		bool done = true;

		for (i = 0; i < K_MAX; i++)
			if (w->r[i].state != R_OFF && w->r[i].state != R_DONE)
				done = false;
		if (done)
			break;
		e = ipvssvc_kube_watch_step(w, 1000);
		if (e < 0)
			break;
	}
	e = w->fatal;
	ipvssvc_kube_watch_free(w);
	return e;
}
