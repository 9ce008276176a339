/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes API client against tests/apiserver/apiserver.py over
 * TLS on 127.0.0.1: every form of credentials, paging, selectors,
 * bookmarks, 410 during a watch and during paging with the changes of
 * the gap applied, injected faults, a 5 MB object, refused certificates;
 * and the framer alone on buffers split at every byte.
 */
#include "kube-internal.h"

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <ipvs-svc/ipvs-svc.h>

#define TOKEN "tok-3f9c1d2e-secret"
#define TOKEN2 "tok-rotated-7a6b"
#define NODE "node-1"
#define SVC_SEL                                                   \
	"!service.kubernetes.io/headless,!service.kubernetes.io/" \
	"service-proxy-name"
#define SLICE_SEL "!service.kubernetes.io/headless"

static char dir[256];
static char base[64];
static int port;
static pid_t server_pid;

/* Diagnostics of the library under test, to check them. */
static char diaglog[1 << 16];

static void diag_fn(void *userdata, int level, const char *msg)
{
	size_t n = strlen(diaglog);

	snprintf(diaglog + n, sizeof(diaglog) - n, "<%d> %s\n", level, msg);
	if (getenv("KUBE_TEST_VERBOSE"))
		fprintf(stderr, "diag <%d> %s\n", level, msg);
}

static char *path_in(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void write_file(const char *name, const char *fmt, ...)
{
	char tmp[600];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path_in(name));
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path_in(name)), 0);
}

static char *slurp_b64(const char *name)
{
	FILE *f = fopen(path_in(name), "r");
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
				"uvwxyz0123456789+/";
	unsigned char in[8192];
	size_t n, i, o = 0;
	char *out;

	ck_assert_ptr_nonnull(f);
	n = fread(in, 1, sizeof(in), f);
	fclose(f);
	out = malloc(n * 2 + 4);
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* Control requests to the test server */

struct buf {
	char *p;
	size_t n;
};

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;

	b->p = realloc(b->p, b->n + size * nmemb + 1);
	memcpy(b->p + b->n, ptr, size * nmemb);
	b->n += size * nmemb;
	b->p[b->n] = '\0';
	return size * nmemb;
}

static long ctl_req(const char *path, const char *body, char **ret)
{
	/* one handle per test process: its connection is kept */
	static CURL *h;
	struct buf b = {0};
	char url[1024];
	long code = 0;

	if (!h)
		h = curl_easy_init();
	curl_easy_reset(h);
	snprintf(url, sizeof(url), "%s/_test/%s", base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, path_in("ca.crt"));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (ret)
		*ret = b.p;
	else
		free(b.p);
	return code;
}

static void ctl(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ctl(const char *path, const char *fmt, ...)
{
	char *body = NULL;
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&body, fmt, ap), 0);
	va_end(ap);
	ck_assert_int_eq(ctl_req(path, body, NULL), 200);
	free(body);
}

static void svc_apply(const char *ns, const char *name, const char *ip,
		      const char *labels)
{
	ctl("apply",
	    "{\"resource\":\"services\",\"object\":{\"metadata\":{\"name\":\"%"
	    "s\","
	    "\"namespace\":\"%s\",\"labels\":{%s}},\"spec\":{\"type\":"
	    "\"ClusterIP\","
	    "\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],\"ports\":[{\"name\":"
	    "\"http\","
	    "\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]}}}",
	    name, ns, labels ? labels : "", ip, ip);
}

static void slice_apply(const char *ns, const char *name, const char *svc,
			const char *addr, const char *labels)
{
	ctl("apply",
	    "{\"resource\":\"endpointslices\",\"object\":{\"metadata\":{"
	    "\"name\":"
	    "\"%s\",\"namespace\":\"%s\",\"labels\":{\"kubernetes.io/"
	    "service-name\":"
	    "\"%s\"%s%s}},\"addressType\":\"IPv4\",\"endpoints\":[{"
	    "\"addresses\":"
	    "[\"%s\"],\"conditions\":{\"ready\":true}}],\"ports\":[{\"name\":"
	    "\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}}",
	    name, ns, svc, labels ? "," : "", labels ? labels : "", addr);
}

static void node_apply(const char *name, const char *zone)
{
	ctl("apply",
	    "{\"resource\":\"nodes\",\"object\":{\"metadata\":{\"name\":\"%s\","
	    "\"labels\":{\"topology.kubernetes.io/zone\":\"%s\"}},\"status\":"
	    "{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2."
	    "1\"}]}}}",
	    name, zone);
}

static void obj_delete(const char *resource, const char *ns, const char *name)
{
	ctl("delete",
	    "{\"resource\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"}",
	    resource, ns, name);
}

/* A small cluster: 3 proxied Services (a, c, e), one headless, one for
 * another proxy; slices for a and c, one headless slice; two Nodes. */
static void populate(void)
{
	svc_apply("default", "a", "10.96.0.1", NULL);
	svc_apply("default", "b", "None",
		  "\"service.kubernetes.io/headless\":\"\"");
	svc_apply("default", "c", "10.96.0.3", NULL);
	svc_apply("kube-system", "d", "10.96.0.4",
		  "\"service.kubernetes.io/service-proxy-name\":\"other\"");
	svc_apply("kube-system", "e", "10.96.0.5", NULL);
	slice_apply("default", "a-x1", "a", "10.244.0.1", NULL);
	slice_apply("default", "b-x1", "b", "10.244.0.2",
		    "\"service.kubernetes.io/headless\":\"\"");
	slice_apply("default", "c-x1", "c", "10.244.0.3", NULL);
	node_apply(NODE, "z1");
	node_apply("node-2", "z2");
}

static void reset_server(void)
{
	ctl("reset", "{}");
	ctl("config",
	    "{\"tokens\":[\"%s\"],\"bookmark_interval\":0.3,"
	    "\"gone_mode\":\"event\",\"anonymous\":false,\"frozen\":false}",
	    TOKEN);
	diaglog[0] = '\0';
}

static cJSON *server_log(void)
{
	char *s = NULL;
	cJSON *j;

	ck_assert_int_eq(ctl_req("log", NULL, &s), 200);
	j = cJSON_Parse(s);
	free(s);
	ck_assert_ptr_nonnull(j);
	return cJSON_GetObjectItem(j, "requests") ? j : NULL;
}

/* Number of API requests whose path contains path and query has key
 * (NULL: any) and whose status is code (0: any). */
static int log_count(const char *path, const char *key, int code)
{
	cJSON *j = server_log(), *r;
	int n = 0;

	cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "requests")) {
		const char *p = cJSON_GetObjectItem(r, "path")->valuestring;
		cJSON *q = cJSON_GetObjectItem(r, "query");
		cJSON *st = cJSON_GetObjectItem(r, "status");

		if (!strstr(p, path))
			continue;
		if (key && !cJSON_GetObjectItem(q, key))
			continue;
		if (code && (!st || st->valueint != code))
			continue;
		n++;
	}
	cJSON_Delete(j);
	return n;
}

/* The user the server saw on its last API request. */
static char *last_user(void)
{
	cJSON *j = server_log(), *reqs = cJSON_GetObjectItem(j, "requests");
	int n = cJSON_GetArraySize(reqs);
	cJSON *u;
	char *s;

	ck_assert_int_gt(n, 0);
	u = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, n - 1), "user");
	s = strdup(cJSON_IsString(u) ? u->valuestring : "(none)");
	cJSON_Delete(j);
	return s;
}

/* Connections */

static void fast(ipvssvc_kube *k)
{
	ipvssvc_kube_set_diag(k, diag_fn, NULL);
	ipvssvc_kube_set_backoff(k, 50, 400, 300);
	ipvssvc_kube_set_watch_timeout(k, 2, 3);
	ck_assert_int_eq(ipvssvc_kube_set_node_name(k, NODE), 0);
}

/* A kubeconfig: cluster lines and user lines (indented 4). */
static void kubeconfig(const char *name, const char *cluster, const char *user)
{
	write_file(name,
		   "apiVersion: v1\nkind: Config\n"
		   "clusters:\n- name: other\n  cluster:\n    server: "
		   "https://127.0.0.1:1\n"
		   "- name: test\n  cluster:\n%s"
		   "contexts:\n- name: test\n  context:\n    cluster: test\n   "
		   " user: u\n"
		   "- name: wrong\n  context:\n    cluster: other\n    user: "
		   "u\n"
		   "current-context: test\n"
		   "users:\n- name: u\n  user:\n%s",
		   cluster, user);
}

static char *cluster_ca_file(void)
{
	static char s[512];

	snprintf(s, sizeof(s),
		 "    server: %s\n    certificate-authority: ca.crt\n", base);
	return s;
}

static ipvssvc_kube *kube_token(void)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL;

	kubeconfig("kc-token", cluster_ca_file(), "    token: " TOKEN "\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc-token"),
							  NULL, &k, &err),
			 0);
	fast(k);
	return k;
}

static int list_once(ipvssvc_kube *k, size_t *nsvc, size_t *nslice,
		     size_t *nnode)
{
	ipvssvc_objects *o;
	int r;

	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	r = ipvssvc_kube_list_into(k, o);
	if (nsvc)
		*nsvc = ipvssvc_objects_count(o, "Service");
	if (nslice)
		*nslice = ipvssvc_objects_count(o, "EndpointSlice");
	if (nnode)
		*nnode = ipvssvc_objects_count(o, "Node");
	ipvssvc_objects_free(o);
	return r;
}

/* Watchers */

struct changes {
	int added, modified, deleted;
	char last_deleted[128];
};

static void change_fn(void *userdata, const char *kind, const char *ns,
		      const char *name, enum ipvssvc_kube_event ev)
{
	struct changes *c = userdata;

	if (ev == IPVSSVC_KUBE_ADDED)
		c->added++;
	else if (ev == IPVSSVC_KUBE_MODIFIED)
		c->modified++;
	else if (ev == IPVSSVC_KUBE_DELETED) {
		c->deleted++;
		snprintf(c->last_deleted, sizeof(c->last_deleted), "%s %s/%s",
			 kind, ns, name);
	}
}

static char *url_escape(const char *s)
{
	static char out[512];
	size_t o = 0;

	for (; *s && o < sizeof(out) - 4; s++) {
		if (*s == '!' || *s == '/' || *s == ',' || *s == '=')
			o += (size_t)snprintf(out + o, 4, "%%%02X",
					      (unsigned char)*s);
		else
			out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

/* True when the watcher's cache of kind equals the server's objects. */
static bool cache_equal(ipvssvc_kube_watch *w, const char *kind,
			const char *resource, const char *sel)
{
	char q[1024], *s = NULL;
	cJSON *j, *it;
	size_t i = 0;
	bool eq = true;

	snprintf(q, sizeof(q), "state?resource=%s&%s", resource, sel);
	ck_assert_int_eq(ctl_req(q, NULL, &s), 200);
	j = cJSON_Parse(s);
	free(s);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items")) {
		const char *ns, *name, *rv;

		if (ipvssvc_kube_watch_get(w, kind, i++, &ns, &name, &rv) < 0 ||
		    strcmp(ns,
			   cJSON_GetObjectItem(it, "namespace")->valuestring) ||
		    strcmp(name,
			   cJSON_GetObjectItem(it, "name")->valuestring) ||
		    strcmp(rv, cJSON_GetObjectItem(it, "resourceVersion")
				       ->valuestring)) {
			eq = false;
			break;
		}
	}
	if (eq && i != ipvssvc_kube_watch_count(w, kind))
		eq = false;
	cJSON_Delete(j);
	return eq;
}

static bool all_equal(ipvssvc_kube_watch *w)
{
	char svc[256], slice[256];

	snprintf(svc, sizeof(svc), "labelSelector=%s", url_escape(SVC_SEL));
	snprintf(slice, sizeof(slice), "labelSelector=%s",
		 url_escape(SLICE_SEL));
	return ipvssvc_kube_watch_synced(w) &&
	       cache_equal(w, "Service", "services", svc) &&
	       cache_equal(w, "EndpointSlice", "endpointslices", slice) &&
	       cache_equal(w, "Node", "nodes",
			   "fieldSelector=metadata.name%3D" NODE);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Deadlines stretch under valgrind or sanitizers (IPVSSVC_TIME_SCALE). */
static uint64_t time_scale(void)
{
	const char *s = getenv("IPVSSVC_TIME_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;

	return v > 0 ? (uint64_t)v : 1;
}

/* Step the watcher until its cache equals the server's (bounded). */
static bool converge(ipvssvc_kube_watch *w, int timeout_ms)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_ms * time_scale();

	while (mono_ms() < end) {
		ck_assert_int_ge(ipvssvc_kube_watch_step(w, 100), 0);
		if (all_equal(w))
			return true;
	}
	return false;
}

/* Step for a while, whatever happens. */
static void run_for(ipvssvc_kube_watch *w, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	while (mono_ms() < end)
		ck_assert_int_ge(ipvssvc_kube_watch_step(w, 50), 0);
}

static void check_no_secret(void)
{
	ck_assert_ptr_null(strstr(diaglog, TOKEN));
	ck_assert_ptr_null(strstr(diaglog, TOKEN2));
}

/* The framer on buffers */

static const char events3[] = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{"
			      "\"name\":\"a\",\"annotations\":"
			      "{\"x\":\"br}ace{s [and] \\\"quotes\\\" "
			      "\\\\\"}}}}\n"
			      "{\"type\":\"MODIFIED\",\"object\":{\"list\":[1,["
			      "2,{\"3\":[]}],\"]\"],"
			      "\"u\":\"\\u00e9\xc3\xa9\"}}\r\n\n"
			      "{\"type\":\"BOOKMARK\",\"object\":{}}";

struct frames {
	int n;
	char text[3][256];
};

static int collect(void *userdata, const char *frame, size_t len)
{
	struct frames *f = userdata;

	ck_assert_int_lt(f->n, 3);
	ck_assert_uint_lt(len, sizeof(f->text[0]));
	memcpy(f->text[f->n], frame, len);
	f->text[f->n][len] = '\0';
	f->n++;
	return 0;
}

static void check_frames(const struct frames *f)
{
	const char *p = events3, *nl;
	int i;

	ck_assert_int_eq(f->n, 3);
	for (i = 0; i < 3; i++) {
		size_t len;

		nl = strpbrk(p, "\r\n");
		len = nl ? (size_t)(nl - p) : strlen(p);
		ck_assert_uint_eq(strlen(f->text[i]), len);
		ck_assert_int_eq(memcmp(f->text[i], p, len), 0);
		if (nl)
			p = nl + strspn(nl, "\r\n");
	}
}

START_TEST(framer_every_split)
{
	size_t len = strlen(events3), i, j;

	/* one cut at every byte, then two cuts at every pair of bytes */
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			struct kube_framer f;
			struct frames got = {0};

			kube_framer_init(&f, 1 << 20);
			ck_assert_int_eq(kube_framer_feed(&f, events3, i,
							  collect, &got),
					 0);
			ck_assert_int_eq(kube_framer_feed(&f, events3 + i,
							  j - i, collect, &got),
					 0);
			ck_assert_int_eq(kube_framer_feed(&f, events3 + j,
							  len - j, collect,
							  &got),
					 0);
			check_frames(&got);
			ck_assert(!kube_framer_partial(&f));
			kube_framer_free(&f);
		}
	}
	{
		/* a byte at a time */
		struct kube_framer f;
		struct frames got = {0};

		kube_framer_init(&f, 1 << 20);
		for (i = 0; i < len; i++)
			ck_assert_int_eq(kube_framer_feed(&f, events3 + i, 1,
							  collect, &got),
					 0);
		check_frames(&got);
		kube_framer_free(&f);
	}
}
END_TEST

static int count_frames(void *userdata, const char *frame, size_t len)
{
	(*(int *)userdata)++;
	return 0;
}

static int fail_frame(void *userdata, const char *frame, size_t len)
{
	return -ENOTSUP;
}

START_TEST(framer_errors)
{
	struct kube_framer f;
	int n = 0;

	kube_framer_init(&f, 64);
	ck_assert_int_eq(kube_framer_feed(&f, "{}{}\n{\"a\":1}", 12,
					  count_frames, &n),
			 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(
		kube_framer_feed(&f, "{\"partial\":", 11, count_frames, &n), 0);
	ck_assert(kube_framer_partial(&f));
	kube_framer_reset(&f);
	ck_assert(!kube_framer_partial(&f));
	ck_assert_int_eq(kube_framer_feed(&f, "garbage", 7, count_frames, &n),
			 -EBADMSG);
	kube_framer_reset(&f);
	ck_assert_int_eq(kube_framer_feed(&f, " }", 2, count_frames, &n),
			 -EBADMSG);
	kube_framer_reset(&f);
	{
		char big[100];

		memset(big, ' ', sizeof(big));
		big[0] = '{';
		ck_assert_int_eq(kube_framer_feed(&f, big, sizeof(big),
						  count_frames, &n),
				 -E2BIG);
	}
	kube_framer_reset(&f);
	ck_assert_int_eq(kube_framer_feed(&f, "{}", 2, fail_frame, NULL),
			 -ENOTSUP);
	kube_framer_free(&f);
}
END_TEST

/* A newline inside an object: the object was cut; never swallow the next. */
START_TEST(framer_newline_cut)
{
	static const char cut[] = "{\"type\":\"ADDED\",\"object\":{\"a\":"
				  "\"b\"\n"
				  "{\"type\":\"BOOKMARK\",\"object\":{}}\n";
	struct kube_framer f;
	size_t i;
	int n = 0;

	kube_framer_init(&f, 1 << 20);
	ck_assert_int_eq(kube_framer_feed(&f, cut, sizeof(cut) - 1,
					  count_frames, &n),
			 -EBADMSG);
	ck_assert_int_eq(n, 0);
	/* the same at every byte */
	kube_framer_reset(&f);
	for (i = 0; i < sizeof(cut) - 1; i++) {
		int e = kube_framer_feed(&f, cut + i, 1, count_frames, &n);

		if (e < 0) {
			ck_assert_int_eq(e, -EBADMSG);
			break;
		}
	}
	ck_assert_uint_lt(i, sizeof(cut) - 1);
	ck_assert_int_eq(n, 0);
	/* \r\n between objects stays fine */
	kube_framer_reset(&f);
	ck_assert_int_eq(kube_framer_feed(&f, "{}\r\n{\"a\":\"\\n\"}\r\n", 16,
					  count_frames, &n),
			 0);
	ck_assert_int_eq(n, 2);
	kube_framer_free(&f);
}
END_TEST

/* An endless object: memory stays within the limit. */
START_TEST(framer_endless)
{
	struct kube_framer f;
	char chunk[4096];
	size_t fed = 0;
	int e = 0, n = 0;

	memset(chunk, 'x', sizeof(chunk));
	kube_framer_init(&f, 1 << 20);
	ck_assert_int_eq(kube_framer_feed(&f, "{\"a\":\"", 6, count_frames, &n),
			 0);
	while (fed < (8u << 20)) {
		e = kube_framer_feed(&f, chunk, sizeof(chunk), count_frames,
				     &n);
		if (e < 0)
			break;
		fed += sizeof(chunk);
	}
	ck_assert_int_eq(e, -E2BIG);
	ck_assert_uint_le(fed, 1 << 20);
	ck_assert_uint_le(f.cap, 2u << 20);
	kube_framer_free(&f);
}
END_TEST

static int big_frame(void *userdata, const char *frame, size_t len)
{
	size_t *got = userdata;

	*got = len;
	ck_assert_int_eq(frame[0], '{');
	ck_assert_int_eq(frame[len - 1], '}');
	return 0;
}

START_TEST(framer_5mb)
{
	size_t n = 5u << 20, i, got = 0;
	char *s = malloc(n + 64);
	struct kube_framer f;
	int k;

	k = sprintf(s, "{\"type\":\"ADDED\",\"object\":{\"x\":\"");
	memset(s + k, 'y', n);
	strcpy(s + k + n, "\"}}\n");
	kube_framer_init(&f, 64u << 20);
	for (i = 0; i < strlen(s); i += 16384) {
		size_t c = strlen(s) - i < 16384 ? strlen(s) - i : 16384;

		ck_assert_int_eq(
			kube_framer_feed(&f, s + i, c, big_frame, &got), 0);
	}
	ck_assert_uint_eq(got, strlen(s) - 1);
	kube_framer_free(&f);
	free(s);
}
END_TEST

START_TEST(base64_and_backoff)
{
	char *out;
	size_t len;
	uint64_t rng = 1;
	unsigned i, d;

	ck_assert_int_eq(kube_base64_decode("aGVs\nbG8=", &out, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(out, "hello");
	free(out);
	ck_assert_int_eq(kube_base64_decode("a$b", &out, &len), -EINVAL);
	for (i = 1; i < 40; i++) {
		d = kube_backoff_ms(800, 30000, i, &rng);
		ck_assert_uint_le(d, 30000);
		ck_assert_uint_ge(d, i == 1  ? 400
				     : i < 7 ? 400u << (i - 1)
					     : 15000);
	}
}
END_TEST

/* kubeconfig parsing */

START_TEST(kubeconfig_forms)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL;
	const char *t;

	/* tokenFile relative to the kubeconfig, CA inline */
	write_file("tokfile", "%s\n", TOKEN);
	{
		char *ca = slurp_b64("ca.crt"), cl[8192];

		snprintf(cl, sizeof(cl),
			 "    server: %s/\n    certificate-authority-data: "
			 "%s\n",
			 base, ca);
		kubeconfig("kc1", cl, "    tokenFile: tokfile\n");
		free(ca);
	}
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc1"), NULL,
							  &k, &err),
			 0);
	ck_assert_str_eq(ipvssvc_kube_get_server(k), base);
	ck_assert_ptr_nonnull(k->ca.data);
	ck_assert_ptr_nonnull(strstr(k->ca.data, "BEGIN CERTIFICATE"));
	ck_assert_str_eq(k->token_file, path_in("tokfile"));
	ck_assert_int_eq(kube_current_token(k, &t), 0);
	ck_assert_str_eq(t, TOKEN);
	ck_assert_ptr_null(strstr(ipvssvc_kube_get_auth_info(k), TOKEN));
	ck_assert_ptr_nonnull(strstr(ipvssvc_kube_get_auth_info(k), "tokfile"));
	/* rotation: the file changes, the token follows */
	write_file("tokfile", "%s\n", TOKEN2);
	ck_assert_int_eq(kube_current_token(k, &t), 0);
	ck_assert_str_eq(t, TOKEN2);
	ipvssvc_kube_free(k);

	/* an explicit context */
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc1"),
							  "wrong", &k, &err),
			 0);
	ck_assert_str_eq(ipvssvc_kube_get_server(k), "https://127.0.0.1:1");
	ipvssvc_kube_free(k);
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc1"),
							  "nope", &k, &err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "nope"));

	/* exec and auth-provider are refused clearly */
	kubeconfig("kc2", cluster_ca_file(),
		   "    exec:\n      command: aws\n      apiVersion: "
		   "client.authentication.k8s.io/v1\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc2"), NULL,
							  &k, &err),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(err, "exec"));
	ck_assert_ptr_nonnull(strstr(err, "not supported"));
	kubeconfig("kc3", cluster_ca_file(),
		   "    auth-provider:\n      name: gcp\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc3"), NULL,
							  &k, &err),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(err, "auth-provider"));

	/* client certificate and key, TLS options */
	kubeconfig("kc4",
		   "    server: https://127.0.0.1:6443\n    tls-server-name: "
		   "apiserver.test\n"
		   "    insecure-skip-tls-verify: true\n",
		   "    client-certificate: client.crt\n    client-key: "
		   "client.key\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc4"), NULL,
							  &k, &err),
			 0);
	ck_assert(k->insecure);
	ck_assert_str_eq(k->tls_server_name, "apiserver.test");
	ck_assert_str_eq(k->cert.path, path_in("client.crt"));
	ck_assert_str_eq(k->key.path, path_in("client.key"));
	ipvssvc_kube_free(k);
	kubeconfig("kc5", cluster_ca_file(),
		   "    client-certificate: client.crt\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc5"), NULL,
							  &k, &err),
			 -EINVAL);
	kubeconfig("kc6", cluster_ca_file(), "    client-key: missing.key\n");
	ck_assert_int_lt(ipvssvc_kube_new_from_kubeconfig(path_in("kc6"), NULL,
							  &k, &err),
			 0);
	write_file("kc7", "clusters: [\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc7"), NULL,
							  &k, &err),
			 -EINVAL);
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("none"), NULL,
							  &k, &err),
			 -ENOENT);
	/* in-cluster needs the environment */
	unsetenv("KUBERNETES_SERVICE_HOST");
	ck_assert_int_eq(ipvssvc_kube_new_in_cluster(dir, &k, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "KUBERNETES_SERVICE_HOST"));
	/* nothing given: in-cluster, as kube-proxy */
	ck_assert_int_eq(ipvssvc_kube_new_default(NULL, NULL, NULL, &k, &err),
			 -ENOENT);
	ck_assert_int_eq(ipvssvc_kube_new_default(NULL, NULL, base, &k, &err),
			 0);
	ck_assert_str_eq(ipvssvc_kube_get_server(k), base);
	ipvssvc_kube_free(k);
	ck_assert_int_eq(ipvssvc_kube_set_master(NULL, "x"), -EINVAL);
	ck_assert_int_eq(ipvssvc_kube_new_from_master("ftp://x", &k), -EINVAL);
	free(err);
	ipvssvc_kube_free(NULL);
	ipvssvc_kube_watch_free(NULL);
}
END_TEST

/* Lists */

START_TEST(list_paging_selectors)
{
	ipvssvc_kube *k;
	size_t ns, nsl, nn;

	reset_server();
	populate();
	k = kube_token();
	ipvssvc_kube_set_page_size(k, 2);
	ck_assert_int_eq(list_once(k, &ns, &nsl, &nn), 0);
	ck_assert_uint_eq(ns, 3);
	ck_assert_uint_eq(nsl, 2);
	ck_assert_uint_eq(nn, 1);
	/* 3 Services in pages of 2: a first request and one continue */
	ck_assert_int_eq(log_count("/api/v1/services", "limit", 200), 2);
	ck_assert_int_eq(log_count("/api/v1/services", "continue", 200), 1);
	ck_assert_int_eq(log_count("/endpointslices", "continue", 200), 0);
	{
		cJSON *j = server_log(), *r;
		int seen = 0;

		cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "requests")) {
			const char *p =
				cJSON_GetObjectItem(r, "path")->valuestring;
			cJSON *q = cJSON_GetObjectItem(r, "query");

			ck_assert_str_eq(
				cJSON_GetObjectItem(r, "user")->valuestring,
				"token#0");
			if (strcmp(p, "/api/v1/services") == 0) {
				ck_assert_str_eq(cJSON_GetObjectItem(q, "labelS"
									"electo"
									"r")
							 ->valuestring,
						 SVC_SEL);
				seen |= 1;
			} else if (strstr(p, "endpointslices")) {
				ck_assert_str_eq(cJSON_GetObjectItem(q, "labelS"
									"electo"
									"r")
							 ->valuestring,
						 SLICE_SEL);
				seen |= 2;
			} else if (strcmp(p, "/api/v1/nodes") == 0) {
				ck_assert_str_eq(cJSON_GetObjectItem(q, "fieldS"
									"electo"
									"r")
							 ->valuestring,
						 "metadata.name=" NODE);
				seen |= 4;
			}
			ck_assert_ptr_null(cJSON_GetObjectItem(q, "watch"));
		}
		ck_assert_int_eq(seen, 7);
		cJSON_Delete(j);
	}
	/* no paging at all */
	ipvssvc_kube_set_page_size(k, 0);
	ck_assert_int_eq(list_once(k, &ns, NULL, NULL), 0);
	ck_assert_uint_eq(ns, 3);
	/* --service-proxy-name: only that proxy's Services */
	ck_assert_int_eq(ipvssvc_kube_set_service_proxy_name(k, "other"), 0);
	ck_assert_int_eq(list_once(k, &ns, NULL, NULL), 0);
	ck_assert_uint_eq(ns, 1);
	ck_assert_int_eq(log_count("/api/v1/services", "labelSelector", 200),
			 4);
	check_no_secret();
	ipvssvc_kube_free(k);
}
END_TEST

/* One kubeconfig (or in-cluster) per case: list works, the server saw
 * the expected user. */
static const char *auth_case_user[] = {
	"token#0", /* token, CA file */
	"token#0", /* tokenFile, CA data */
	"cert:test-client", /* client certificate files */
	"cert:test-client", /* client certificate inline */
	"token#0", /* insecure-skip-tls-verify, no CA */
	"token#0", /* tls-server-name */
	"token#0", /* in-cluster */
	"token#0", /* --master overrides a dead server */
	"token#0", /* kubeadm's kube-proxy: CA and tokenFile paths */
};

START_TEST(auth_forms)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL, cl[8192], us[8192];
	char *ca = slurp_b64("ca.crt");
	char *crt = slurp_b64("client.crt"), *key = slurp_b64("client.key");
	size_t ns;
	char *u;

	reset_server();
	populate();
	write_file("tokfile", "%s\n", TOKEN);
	snprintf(cl, sizeof(cl), "%s", cluster_ca_file());
	switch (_i) {
	case 0:
		snprintf(us, sizeof(us), "    token: %s\n", TOKEN);
		break;
	case 1:
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    certificate-authority-data: %s\n",
			 base, ca);
		snprintf(us, sizeof(us), "    tokenFile: %s\n",
			 path_in("tokfile"));
		break;
	case 2:
		snprintf(us, sizeof(us),
			 "    client-certificate: client.crt\n    client-key: "
			 "%s\n",
			 path_in("client.key"));
		break;
	case 3:
		snprintf(us, sizeof(us),
			 "    client-certificate-data: %s\n    "
			 "client-key-data: %s\n",
			 crt, key);
		break;
	case 4:
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    insecure-skip-tls-verify: true\n",
			 base);
		snprintf(us, sizeof(us), "    token: %s\n", TOKEN);
		break;
	case 5:
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    certificate-authority: ca.crt\n"
			 "    tls-server-name: apiserver.test\n",
			 base);
		snprintf(us, sizeof(us), "    token: %s\n", TOKEN);
		break;
	case 7:
		snprintf(cl, sizeof(cl),
			 "    server: https://127.0.0.1:1\n    "
			 "certificate-authority: ca.crt\n");
		snprintf(us, sizeof(us), "    token: %s\n", TOKEN);
		break;
	case 8:
		/* as kubeadm writes it, paths into the service account */
		mkdir(path_in("sa"), 0700);
		write_file("sa/token", "%s", TOKEN);
		{
			char cmd[1200];

			snprintf(cmd, sizeof(cmd), "cp %s %s",
				 path_in("ca.crt"), path_in("sa/ca.crt"));
			ck_assert_int_eq(system(cmd), 0);
		}
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    certificate-authority: %s\n",
			 base, path_in("sa/ca.crt"));
		snprintf(us, sizeof(us), "    tokenFile: %s\n",
			 path_in("sa/token"));
		break;
	}
	if (_i == 6) {
		char p[16];

		mkdir(path_in("sa"), 0700);
		write_file("sa/token", "%s", TOKEN);
		{
			char cmd[1200];

			snprintf(cmd, sizeof(cmd), "cp %s %s",
				 path_in("ca.crt"), path_in("sa/ca.crt"));
			ck_assert_int_eq(system(cmd), 0);
		}
		snprintf(p, sizeof(p), "%d", port);
		setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
		setenv("KUBERNETES_SERVICE_PORT", p, 1);
		ck_assert_int_eq(ipvssvc_kube_new_in_cluster(path_in("sa"), &k,
							     &err),
				 0);
		ck_assert_str_eq(ipvssvc_kube_get_server(k), base);
	} else {
		kubeconfig("kc-auth", cl, us);
		ck_assert_int_eq(ipvssvc_kube_new_default(
					 path_in("kc-auth"), NULL,
					 _i == 7 ? base : NULL, &k, &err),
				 0);
	}
	fast(k);
	ck_assert_int_eq(list_once(k, &ns, NULL, NULL), 0);
	ck_assert_uint_eq(ns, 3);
	u = last_user();
	ck_assert_str_eq(u, auth_case_user[_i]);
	free(u);
	check_no_secret();
	ipvssvc_kube_free(k);
	free(ca);
	free(crt);
	free(key);
	free(err);
}
END_TEST

/* Refused: the wrong CA, the wrong name, an unknown client certificate,
 * no or a wrong token. */
START_TEST(refused)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL, cl[1024];

	reset_server();
	populate();
	switch (_i) {
	case 0:
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    certificate-authority: "
			 "bad-ca.crt\n",
			 base);
		kubeconfig("kc-bad", cl, "    token: " TOKEN "\n");
		break;
	case 1:
		snprintf(cl, sizeof(cl),
			 "    server: %s\n    certificate-authority: ca.crt\n"
			 "    tls-server-name: wrong.test\n",
			 base);
		kubeconfig("kc-bad", cl, "    token: " TOKEN "\n");
		break;
	case 2:
		kubeconfig("kc-bad", cluster_ca_file(),
			   "    client-certificate: bad-client.crt\n"
			   "    client-key: bad-client.key\n");
		break;
	case 3:
		kubeconfig("kc-bad", cluster_ca_file(),
			   "    token: " TOKEN2 "\n");
		break;
	case 4:
		kubeconfig("kc-bad", cluster_ca_file(), "    {}\n");
		break;
	case 5:
		/* nobody listens on port 1 */
		kubeconfig("kc-bad",
			   "    server: https://127.0.0.1:1\n"
			   "    certificate-authority: ca.crt\n",
			   "    token: " TOKEN "\n");
		break;
	}
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc-bad"),
							  NULL, &k, &err),
			 0);
	fast(k);
	switch (_i) {
	case 0:
	case 1:
		ck_assert_int_eq(list_once(k, NULL, NULL, NULL), -EPROTO);
		/* the server saw nothing of ours */
		ck_assert_int_eq(log_count("/", NULL, 0), 0);
		break;
	case 2:
		ck_assert_int_lt(list_once(k, NULL, NULL, NULL), 0);
		ck_assert_int_eq(log_count("/", NULL, 200), 0);
		break;
	case 5:
		ck_assert_int_eq(list_once(k, NULL, NULL, NULL), -ECONNREFUSED);
		ck_assert_ptr_nonnull(strstr(diaglog, "giving up"));
		break;
	default:
		ck_assert_int_eq(list_once(k, NULL, NULL, NULL), -EACCES);
		/* which resource, which server, which credentials */
		ck_assert_ptr_nonnull(strstr(diaglog, "401 Unauthorized"));
		ck_assert_ptr_nonnull(strstr(diaglog, base));
		ck_assert_ptr_nonnull(
			strstr(diaglog, _i == 3 ? "token" : "no credentials"));
		break;
	}
	check_no_secret();
	ipvssvc_kube_free(k);
	free(err);
}
END_TEST

/* Token rotation on a live connection: the file changes, the server
 * accepts only the new token. */
START_TEST(token_rotation)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL;

	reset_server();
	populate();
	write_file("rot", "%s\n", TOKEN);
	kubeconfig("kc-rot", cluster_ca_file(), "    tokenFile: rot\n");
	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in("kc-rot"),
							  NULL, &k, &err),
			 0);
	fast(k);
	ck_assert_int_eq(list_once(k, NULL, NULL, NULL), 0);
	ctl("config", "{\"tokens\":[\"%s\"]}", TOKEN2);
	write_file("rot", "%s\n", TOKEN2);
	ck_assert_int_eq(list_once(k, NULL, NULL, NULL), 0);
	ck_assert_int_eq(log_count("/", NULL, 401), 0);
	check_no_secret();
	ipvssvc_kube_free(k);
}
END_TEST

/* Watches */

START_TEST(watch_events_bookmarks)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;
	struct changes c = {0};
	const char *rv;
	char *s = NULL;
	cJSON *j;

	reset_server();
	populate();
	k = kube_token();
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, change_fn, &c, &w), 0);
	ck_assert(!ipvssvc_kube_watch_synced(w));
	ck_assert(converge(w, 5000));
	ck_assert_int_eq(c.added, 6);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 3);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "EndpointSlice"), 2);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Node"), 1);

	/* changes while watching */
	svc_apply("default", "f", "10.96.0.6", NULL);
	svc_apply("default", "a", "10.96.0.1",
		  "\"app\":\"changed\""); /* MODIFIED */
	obj_delete("services", "default", "c");
	slice_apply("default", "f-x1", "f", "10.244.0.6", NULL);
	node_apply(NODE, "z9");
	/* a Service leaving the selection is a deletion */
	svc_apply("kube-system", "e", "None",
		  "\"service.kubernetes.io/headless\":\"\"");
	ck_assert(converge(w, 5000));
	ck_assert_int_eq(c.added, 8);
	ck_assert_int_eq(c.modified, 2);
	ck_assert_int_eq(c.deleted, 2);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 2);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "EndpointSlice"), 3);

	/* changes elsewhere move the server on; bookmarks carry the
	 * watch's resourceVersion along */
	node_apply("node-2", "z3");
	node_apply("node-2", "z4");
	run_for(w, 1200);
	ck_assert_int_eq(ctl_req("state?resource=nodes", NULL, &s), 200);
	j = cJSON_Parse(s);
	rv = ipvssvc_kube_watch_resource_version(w, "Service");
	ck_assert_ptr_nonnull(rv);
	ck_assert_str_eq(
		rv, cJSON_GetObjectItem(j, "resourceVersion")->valuestring);
	ck_assert_str_eq(ipvssvc_kube_watch_resource_version(w, "EndpointSlic"
								"e"),
			 rv);
	cJSON_Delete(j);
	free(s);
	ck_assert_int_eq(c.added + c.modified + c.deleted, 12);
	/* each kind listed once and watched with bookmarks, concurrently */
	ck_assert_int_eq(log_count("/api/v1/services", "allowWatchBookmarks",
				   200),
			 log_count("/api/v1/services", "watch", 200));
	ck_assert_int_ge(log_count("/api/v1/nodes", "watch", 200), 1);
	ck_assert_int_eq(log_count("/endpointslices", "limit", 200), 1);
	ck_assert_int_eq(log_count("/api/v1/services", "limit", 200), 1);
	check_no_secret();
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

/* 410 Gone while watching, after changes the watch never delivered
 * (deletions among them): relist and apply the difference. Case 0: an
 * ERROR event in the stream; case 1: the stream ends, the rewatch gets
 * HTTP 410; case 2: the relist's continue token expires too; case 3:
 * compaction overtakes the open watch (the soak test's lost deletion). */
START_TEST(watch_gone_gap)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;
	struct changes c = {0};

	reset_server();
	populate();
	svc_apply("default", "g", "10.96.0.7", NULL);
	k = kube_token();
	if (_i == 2)
		ipvssvc_kube_set_page_size(k, 1);
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, change_fn, &c, &w), 0);
	ck_assert(converge(w, 5000));
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 4);
	memset(&c, 0, sizeof(c));

	ctl("config", "{\"frozen\":true%s}",
	    _i == 1 ? ",\"gone_mode\":\"http\"" : "");
	run_for(w, 300);
	obj_delete("services", "default", "c");
	obj_delete("endpointslices", "default", "c-x1");
	svc_apply("default", "a", "10.96.0.1", "\"v\":\"2\"");
	svc_apply("default", "h", "10.96.0.8", NULL);
	if (_i == 2)
		/* one more deletion between the relist's pages, which
		 * compacts away the list's snapshot */
		ctl("fault", "{\"op\":\"compact\",\"match\":[\"/api/v1/"
			     "services\",\"continue=\"],"
			     "\"delete\":{\"resource\":\"services\","
			     "\"namespace\":\"default\","
			     "\"name\":\"g\"}}");
	if (_i == 1) {
		ctl("compact", "{}");
		ctl("drop", "{}");
	} else if (_i == 3) {
		/* compacted under an open watch that has not yet sent the
		 * changes: the server ends it with 410, nothing is lost */
		ctl("compact", "{}");
	} else {
		ctl("expire", "{}");
	}
	ctl("config", "{\"frozen\":false}");
	ck_assert(converge(w, 8000));
	ck_assert_int_eq(c.deleted, _i == 2 ? 3 : 2);
	ck_assert_int_eq(c.added, 1);
	ck_assert_int_eq(c.modified, 1);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), _i == 2 ? 3 : 4);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "EndpointSlice"), 1);
	if (_i == 1)
		ck_assert_int_ge(log_count("/api/v1/services", "watch", 410),
				 1);
	if (_i == 2)
		ck_assert_int_eq(log_count("/api/v1/services", "continue", 410),
				 1);
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

/* Each fault, injected once, is survived: the cache ends equal to the
 * server's objects. */
static const struct fault_case {
	const char *json;
	bool after_sync; /* inject once synced (a watch fault) */
} faults[] = {
	{"{\"op\":\"status\",\"code\":500,\"match\":[\"/api/v1/"
	 "services\",\"limit\"]}",
	 false},
	{"{\"op\":\"status\",\"code\":503,\"match\":[\"endpointslices\","
	 "\"watch\"]}",
	 true},
	{"{\"op\":\"status\",\"code\":429,\"retry_after\":1,\"match\":\"/api/"
	 "v1/services\"}",
	 false},
	{"{\"op\":\"status\",\"code\":401,\"match\":[\"/api/v1/"
	 "services\",\"watch\"]}",
	 true},
	{"{\"op\":\"status\",\"code\":403,\"match\":\"/api/v1/nodes\"}", false},
	{"{\"op\":\"delay\",\"ms\":1500,\"match\":[\"/api/v1/"
	 "services\",\"watch\"]}",
	 true},
	{"{\"op\":\"cut\",\"match\":[\"/api/v1/services\",\"watch\"]}", true},
	{"{\"op\":\"cut\",\"after\":1,\"match\":[\"/api/v1/"
	 "services\",\"watch\"]}",
	 true},
	{"{\"op\":\"garbage\",\"match\":[\"/api/v1/services\",\"watch\"]}",
	 true},
	{"{\"op\":\"split\",\"match\":[\"/api/v1/services\",\"watch\"]}", true},
	{"{\"op\":\"close\",\"match\":[\"/api/v1/services\",\"watch\"]}", true},
	{"{\"op\":\"gone\",\"match\":[\"/api/v1/services\",\"watch\"]}", true},
	{"{\"op\":\"status\",\"code\":410,\"match\":[\"/api/v1/"
	 "services\",\"watch\"]}",
	 true},
	{"{\"op\":\"status\",\"code\":500,\"count\":3,\"match\":\"/api/v1/"
	 "services\"}",
	 false},
};

START_TEST(fault_survived)
{
	const struct fault_case *f = &faults[_i];
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;

	reset_server();
	populate();
	k = kube_token();
	if (!f->after_sync)
		ctl("fault", "%s", f->json);
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, NULL, NULL, &w), 0);
	ck_assert(converge(w, 8000));
	if (f->after_sync) {
		/* the running watches end; the next ones meet the fault */
		ctl("fault", "%s", f->json);
		ctl("drop", "{}");
		run_for(w, 200);
	}
	svc_apply("default", "x1", "10.96.1.1", NULL);
	svc_apply("default", "x2", "10.96.1.2", NULL);
	obj_delete("services", "default", "a");
	slice_apply("default", "x1-1", "x1", "10.244.1.1", NULL);
	ck_assert(converge(w, 8000));
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 4);
	if (strstr(f->json, "429")) {
		/* Retry-After: 1 was honoured */
		cJSON *j = server_log(), *r;
		double t429 = -1, next = -1;

		cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "requests")) {
			cJSON *st = cJSON_GetObjectItem(r, "status");
			const char *p =
				cJSON_GetObjectItem(r, "path")->valuestring;

			if (strcmp(p, "/api/v1/services"))
				continue;
			if (st && st->valueint == 429)
				t429 = cJSON_GetObjectItem(r, "t")->valuedouble;
			else if (t429 >= 0 && next < 0)
				next = cJSON_GetObjectItem(r, "t")->valuedouble;
		}
		ck_assert(t429 >= 0 && next >= 0);
		ck_assert(next - t429 >= 0.95);
		cJSON_Delete(j);
	}
	if (strstr(f->json, "401") || strstr(f->json, "403"))
		ck_assert_ptr_nonnull(strstr(diaglog, "as user \"u\": token"));
	check_no_secret();
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

/* A 5 MB object through a watch and through a list. */
START_TEST(big_object)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;
	size_t n = 5u << 20, ns;
	char *big, *body;

	reset_server();
	populate();
	k = kube_token();
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, NULL, NULL, &w), 0);
	ck_assert(converge(w, 5000));
	big = malloc(n + 1);
	memset(big, 'q', n);
	big[n] = '\0';
	ck_assert_int_ge(asprintf(&body,
				  "{\"resource\":\"services\",\"object\":{"
				  "\"metadata\":{\"name\":"
				  "\"big\",\"namespace\":\"default\","
				  "\"annotations\":{\"blob\":\"%s\"}},"
				  "\"spec\":{\"type\":\"ClusterIP\","
				  "\"clusterIP\":\"10.96.9.9\","
				  "\"ports\":[{\"port\":443,\"protocol\":"
				  "\"TCP\"}]}}}",
				  big),
			 0);
	ck_assert_int_eq(ctl_req("apply", body, NULL), 200);
	ck_assert(converge(w, 8000));
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 4);
	ck_assert_int_eq(list_once(k, &ns, NULL, NULL), 0);
	ck_assert_uint_eq(ns, 4);
	free(body);
	free(big);
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

/* A Service with an annotation of n bytes. */
static void svc_apply_big(const char *name, const char *ip, size_t n)
{
	char *big = malloc(n + 1), *body;

	memset(big, 'q', n);
	big[n] = '\0';
	ck_assert_int_ge(asprintf(&body,
				  "{\"resource\":\"services\",\"object\":{"
				  "\"metadata\":{\"name\":\"%s\",\"namespace\":"
				  "\"default\",\"annotations\":{\"blob\":"
				  "\"%s\"}},\"spec\":{\"type\":\"ClusterIP\","
				  "\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"]"
				  ","
				  "\"ports\":[{\"port\":443,\"protocol\":"
				  "\"TCP\"}]}}}",
				  name, big, ip, ip),
			 0);
	ck_assert_int_eq(ctl_req("apply", body, NULL), 200);
	free(body);
	free(big);
}

/* The resourceVersion the watcher holds for a Service ("" if none). */
static const char *cached_rv(ipvssvc_kube_watch *w, const char *name)
{
	const char *ns, *nm, *rv;
	size_t i;

	for (i = 0; ipvssvc_kube_watch_get(w, "Service", i, &ns, &nm, &rv) >= 0;
	     i++)
		if (strcmp(ns, "default") == 0 && strcmp(nm, name) == 0)
			return rv;
	return "";
}

/*
 * Objects over the size limit, through a watch (within the framer's
 * bound, and beyond it: relist) and a list: not taken, named, the
 * previous version kept, the rest applied.
 */
START_TEST(limit_object_size)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;
	char rv_a[32];
	size_t ns;

	reset_server();
	populate();
	k = kube_token();
	k->max_object = 64 << 10;
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, NULL, NULL, &w), 0);
	ck_assert(converge(w, 5000));
	snprintf(rv_a, sizeof(rv_a), "%s", cached_rv(w, "a"));
	ck_assert_str_ne(rv_a, "");

	/* just over: the event is framed, then refused by name */
	svc_apply_big("a", "10.96.0.1", (64 << 10) + 100);
	svc_apply("default", "x1", "10.96.1.1", NULL);
	{
		uint64_t end = mono_ms() + 8000 * time_scale();

		while (mono_ms() < end && !*cached_rv(w, "x1"))
			ck_assert_int_ge(ipvssvc_kube_watch_step(w, 100), 0);
	}
	ck_assert_str_ne(cached_rv(w, "x1"), "");
	ck_assert_str_eq(cached_rv(w, "a"), rv_a);
	ck_assert_ptr_nonnull(strstr(diaglog, "Service default/a: "));
	ck_assert_ptr_nonnull(strstr(diaglog, "object size limit of 65536: "
					      "not taken, its previous "
					      "version stays"));

	/* far over: the framer stops at its bound, the list names it */
	diaglog[0] = '\0';
	svc_apply_big("big", "10.96.9.9", 1 << 20);
	svc_apply("default", "x2", "10.96.1.2", NULL);
	{
		uint64_t end = mono_ms() + 10000 * time_scale();

		while (mono_ms() < end && !*cached_rv(w, "x2"))
			ck_assert_int_ge(ipvssvc_kube_watch_step(w, 100), 0);
	}
	ck_assert_str_ne(cached_rv(w, "x2"), "");
	ck_assert_str_eq(cached_rv(w, "big"), "");
	ck_assert_str_eq(cached_rv(w, "a"), rv_a);
	ck_assert_ptr_nonnull(strstr(diaglog, "(the object size limit); "
					      "relisting"));
	ck_assert_ptr_nonnull(strstr(diaglog, "Service default/big: "));
	/* a, c, e, x1, x2 */
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 5);

	/* a list alone: the same */
	ck_assert_int_eq(list_once(k, &ns, NULL, NULL), 0);
	ck_assert_uint_eq(ns, 4); /* no previous version of a: not taken */
	check_no_secret();
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

/* A 50 MB object at the default limit (32 MiB): the watch stops reading
 * it at the bound and relists; the list names it; the rest applies. */
START_TEST(limit_object_50mb)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;

	reset_server();
	populate();
	k = kube_token();
	ck_assert_uint_eq(k->max_object, KUBE_MAX_OBJECT_DEFAULT);
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, NULL, NULL, &w), 0);
	ck_assert(converge(w, 5000));
	ctl("apply", "{\"resource\":\"services\",\"pad_mb\":50,\"object\":{"
		     "\"metadata\":"
		     "{\"name\":\"huge\",\"namespace\":\"default\"},\"spec\":{"
		     "\"type\":"
		     "\"ClusterIP\",\"clusterIP\":\"10.96.9.9\",\"clusterIPs\":"
		     "[\"10.96.9.9\"],\"ports\":[{\"port\":443,\"protocol\":"
		     "\"TCP\"}]}}}");
	svc_apply("default", "x1", "10.96.1.1", NULL);
	{
		uint64_t end = mono_ms() + 30000 * time_scale();

		while (mono_ms() < end && !*cached_rv(w, "x1"))
			ck_assert_int_ge(ipvssvc_kube_watch_step(w, 100), 0);
	}
	ck_assert_str_ne(cached_rv(w, "x1"), "");
	ck_assert_str_eq(cached_rv(w, "huge"), "");
	ck_assert_ptr_nonnull(strstr(diaglog, "(the object size limit); "
					      "relisting"));
	ck_assert_ptr_nonnull(strstr(diaglog, "Service default/huge: "));
	ck_assert_ptr_nonnull(strstr(diaglog, "more than the object size limit "
					      "of 33554432: not taken"));
	ck_assert_uint_eq(ipvssvc_objects_count(o, "Service"), 4);
	obj_delete("services", "default", "huge");
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

static void slice_apply_n(const char *name, const char *svc, int n)
{
	char eps[4096];
	size_t o = 0;
	int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(eps + o, sizeof(eps) - o,
				      "%s{\"addresses\":[\"10.244.9.%d\"],"
				      "\"conditions\":{\"ready\":true}}",
				      i ? "," : "", i + 1);
	ctl("apply",
	    "{\"resource\":\"endpointslices\",\"object\":{\"metadata\":{"
	    "\"name\":\"%s\",\"namespace\":\"default\",\"labels\":{"
	    "\"kubernetes.io/service-name\":\"%s\"}},\"addressType\":"
	    "\"IPv4\",\"endpoints\":[%s],\"ports\":[{\"name\":\"http\","
	    "\"port\":8080,\"protocol\":\"TCP\"}]}}",
	    name, svc, eps);
}

/* More endpoints for one Service than the limit: the slice that takes
 * it over is not taken, by name; other Services are not affected. */
START_TEST(limit_endpoints)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	ipvssvc_objects *o;
	size_t nslice;

	reset_server();
	populate();
	k = kube_token();
	k->max_endpoints = 3;
	ck_assert_int_eq(ipvssvc_objects_new(&o), 0);
	ck_assert_int_eq(ipvssvc_kube_watch_new(k, o, NULL, NULL, &w), 0);
	ck_assert(converge(w, 5000));
	ck_assert_uint_eq(ipvssvc_objects_count(o, "EndpointSlice"), 2);
	slice_apply_n("a-x2", "a", 2); /* a: 1 + 2: fine */
	slice_apply_n("a-x3", "a", 1); /* a: 4: no */
	slice_apply_n("c-x2", "c", 2); /* c: 3: fine */
	svc_apply("default", "x1", "10.96.1.1", NULL);
	{
		uint64_t end = mono_ms() + 8000 * time_scale();

		while (mono_ms() < end && !*cached_rv(w, "x1"))
			ck_assert_int_ge(ipvssvc_kube_watch_step(w, 100), 0);
	}
	run_for(w, 300);
	ck_assert_uint_eq(ipvssvc_objects_count(o, "EndpointSlice"), 4);
	ck_assert_ptr_nonnull(strstr(diaglog, "EndpointSlice default/a-x3: "
					      "Service "
					      "default/a would have 4 "
					      "endpoints, more "
					      "than the limit of 3: the slice "
					      "is not "
					      "taken"));
	/* through a list */
	diaglog[0] = '\0';
	ck_assert_int_eq(list_once(k, NULL, &nslice, NULL), 0);
	ck_assert_uint_eq(nslice, 4);
	ck_assert_ptr_nonnull(strstr(diaglog, "Service default/a would have 4 "
					      "endpoints"));
	ipvssvc_kube_watch_free(w);
	ipvssvc_objects_free(o);
	ipvssvc_kube_free(k);
}
END_TEST

static ipvssvc_kube *load_kc(const char *name)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL;

	ck_assert_int_eq(ipvssvc_kube_new_from_kubeconfig(path_in(name), NULL,
							  &k, &err),
			 0);
	diaglog[0] = '\0';
	ipvssvc_kube_set_diag(k, diag_fn, NULL);
	return k;
}

/* Warnings at start: TLS verification off, secrets readable by others;
 * never the secret itself. */
START_TEST(security_warnings)
{
	ipvssvc_kube *k;

	kubeconfig("kc-sec", cluster_ca_file(), "    token: " TOKEN "\n");
	chmod(path_in("kc-sec"), 0600);
	k = load_kc("kc-sec");
	ck_assert_str_eq(diaglog, "");
	ipvssvc_kube_free(k);

	chmod(path_in("kc-sec"), 0644);
	k = load_kc("kc-sec");
	ck_assert_ptr_nonnull(strstr(diaglog, "kc-sec (it holds a credential) "
					      "is readable or writable "
					      "by group or others (mode "
					      "0644)"));
	/* once */
	diaglog[0] = '\0';
	ipvssvc_kube_set_diag(k, diag_fn, NULL);
	ck_assert_str_eq(diaglog, "");
	ipvssvc_kube_free(k);

	write_file("tok-sec", "%s\n", TOKEN);
	chmod(path_in("tok-sec"), 0640);
	kubeconfig("kc-sec2", cluster_ca_file(), "    tokenFile: tok-sec\n");
	chmod(path_in("kc-sec2"), 0644); /* no secret in it: fine */
	k = load_kc("kc-sec2");
	ck_assert_ptr_nonnull(strstr(diaglog, "the token file "));
	ck_assert_ptr_nonnull(strstr(diaglog, "(mode 0640)"));
	ck_assert_ptr_null(strstr(diaglog, "kc-sec2 is"));
	ipvssvc_kube_free(k);

	chmod(path_in("client.key"), 0644);
	kubeconfig("kc-sec3", cluster_ca_file(),
		   "    client-certificate: client.crt\n    client-key: "
		   "client.key\n");
	chmod(path_in("kc-sec3"), 0600);
	k = load_kc("kc-sec3");
	ck_assert_ptr_nonnull(strstr(diaglog, "the client key "));
	ipvssvc_kube_free(k);
	chmod(path_in("client.key"), 0600);
	k = load_kc("kc-sec3");
	ck_assert_str_eq(diaglog, "");
	ipvssvc_kube_free(k);

	kubeconfig("kc-sec4",
		   "    server: https://127.0.0.1:1\n"
		   "    insecure-skip-tls-verify: true\n",
		   "    tokenFile: tok-sec\n");
	chmod(path_in("tok-sec"), 0600);
	k = load_kc("kc-sec4");
	ck_assert_ptr_nonnull(strstr(diaglog, "<4> "));
	ck_assert_ptr_nonnull(strstr(diaglog, "insecure-skip-tls-verify is "
					      "set: the API server "
					      "https://127.0.0.1:1 is not "
					      "authenticated"));
	ipvssvc_kube_free(k);
	check_no_secret();
}
END_TEST

/* The event-loop interface and the blocking run with a stop flag. */
static volatile int stop_flag;

static void stop_on_change(void *userdata, const char *kind, const char *ns,
			   const char *name, enum ipvssvc_kube_event ev)
{
	if (strcmp(name, "stopper") == 0)
		stop_flag = 1;
}

START_TEST(run_and_poll)
{
	ipvssvc_kube *k;
	ipvssvc_kube_watch *w;
	struct pollfd p;
	uint64_t end;
	int t;

	reset_server();
	populate();
	k = kube_token();
	ck_assert_int_eq(
		ipvssvc_kube_watch_new(k, NULL, stop_on_change, NULL, &w), 0);
	/* an external poll loop */
	ck_assert_int_ge(ipvssvc_kube_watch_get_fd(w), 0);
	end = mono_ms() + 5000;
	while (!ipvssvc_kube_watch_synced(w) && mono_ms() < end) {
		t = ipvssvc_kube_watch_get_timeout(w);
		p.fd = ipvssvc_kube_watch_get_fd(w);
		p.events = POLLIN;
		ck_assert_int_ge(poll(&p, 1, t < 0 || t > 100 ? 100 : t), 0);
		ck_assert_int_ge(ipvssvc_kube_watch_process(w), 0);
	}
	ck_assert(ipvssvc_kube_watch_synced(w));
	ck_assert_uint_eq(ipvssvc_kube_watch_count(w, "Service"), 3);
	ck_assert_int_eq(ipvssvc_kube_watch_run(w, &stop_flag, 300),
			 -ETIMEDOUT);
	svc_apply("default", "stopper", "10.96.3.3", NULL);
	ck_assert_int_eq(ipvssvc_kube_watch_run(w, &stop_flag, 5000), 0);
	ck_assert_uint_eq(ipvssvc_kube_watch_count(w, "Service"), 4);
	ipvssvc_kube_watch_free(w);
	ipvssvc_kube_free(k);
}
END_TEST

/* The same objects from manifests and from the API server make the same
 * desired rules. */
static const char *const manifests[] = {
	"/../kernel/sync/base.json",
	"/../kernel/sync/changed.json",
	"/../kernel/sync/no-web.json",
	"/traffic/hostnames.json",
	"/traffic/hostnames-client-ip.json",
	"/traffic/hostnames-one-not-ready.json",
	"/traffic/hostnames-scheduler-lc.json",
};

static char *rules_of(ipvssvc_objects *o)
{
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	struct ipvssvc_ip a;
	char *text;

	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ck_assert_int_eq(ipvssvc_config_set_node_name(cfg, NODE), 0);
	ck_assert_int_eq(ipvssvc_config_set_nodeport_addresses(cfg, "192.168.7."
								    "0/24"),
			 0);
	ck_assert_int_eq(ipvssvc_ip_parse("192.168.7.1", &a), 0);
	ck_assert_int_eq(ipvssvc_config_add_node_addr(cfg, &a), 0);
	ck_assert_int_eq(ipvssvc_model_build(o, cfg, &st), 0);
	ck_assert_int_eq(ipvssvc_state_format_rules(st, &text), 0);
	ipvssvc_state_free(st);
	ipvssvc_config_free(cfg);
	return text;
}

START_TEST(same_rules_as_manifests)
{
	char path[1024], *body, *from_file, *from_api;
	ipvssvc_objects *a, *b;
	ipvssvc_kube *k;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s%s", TEST_DATA_DIR, manifests[_i]);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	body = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(body, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	ck_assert_int_eq(ipvssvc_objects_new(&a), 0);
	ck_assert_int_eq(ipvssvc_objects_load_path(a, path), 0);
	reset_server();
	ck_assert_int_eq(ctl_req("load", body, NULL), 200);
	k = kube_token();
	ipvssvc_kube_set_page_size(k, 1);
	ck_assert_int_eq(ipvssvc_objects_new(&b), 0);
	ck_assert_int_eq(ipvssvc_kube_list_into(k, b), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(a, "Service"),
			  ipvssvc_objects_count(b, "Service"));
	from_file = rules_of(a);
	from_api = rules_of(b);
	ck_assert_ptr_nonnull(strstr(from_file, "-A "));
	ck_assert_str_eq(from_api, from_file);
	free(from_file);
	free(from_api);
	free(body);
	ipvssvc_objects_free(a);
	ipvssvc_objects_free(b);
	ipvssvc_kube_free(k);
}
END_TEST

/* The test server, once for all cases */

static void stop_server(void)
{
	char cmd[600];

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (dir[0] && !getenv("KUBE_TEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static int start_server(void)
{
	char cmd[1024], pid[16], *pf;
	FILE *f;
	int i;

	snprintf(dir, sizeof(dir), "/tmp/ipvssvc-kube-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(cmd, sizeof(cmd), "sh '%s/mkcerts.sh' '%s'", APISERVER_DIR,
		 dir);
	if (system(cmd) != 0)
		return -EIO;
	pf = path_in("port");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	server_pid = fork();
	if (server_pid < 0)
		return -errno;
	if (server_pid == 0) {
		char script[512];

		snprintf(script, sizeof(script), "%s/apiserver.py",
			 APISERVER_DIR);
		execlp("python3", "python3", script, "--port-file", pf,
		       "--cert", path_in("server.crt"), "--key",
		       path_in("server.key"), "--client-ca", path_in("ca.crt"),
		       "--token", TOKEN, "--lifetime", "600", "--parent-pid",
		       pid, getenv("KUBE_TEST_VERBOSE") ? "--verbose" : NULL,
		       (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		f = fopen(pf, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
			break;
		}
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
			server_pid = 0;
			return -ECHILD;
		}
		usleep(50000);
	}
	if (port <= 0)
		return -ETIMEDOUT;
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);
	return 0;
}

static Suite *kube_suite(void)
{
	Suite *s = suite_create("kube");
	TCase *tc = tcase_create("framer");

	tcase_add_test(tc, framer_every_split);
	tcase_add_test(tc, framer_errors);
	tcase_add_test(tc, framer_5mb);
	tcase_add_test(tc, framer_newline_cut);
	tcase_add_test(tc, framer_endless);
	tcase_add_test(tc, base64_and_backoff);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_test(tc, kubeconfig_forms);
	tcase_add_test(tc, list_paging_selectors);
	tcase_add_loop_test(tc, auth_forms, 0, ARRAY_SIZE(auth_case_user));
	tcase_add_loop_test(tc, refused, 0, 6);
	tcase_add_test(tc, token_rotation);
	tcase_add_test(tc, watch_events_bookmarks);
	tcase_add_loop_test(tc, watch_gone_gap, 0, 4);
	tcase_add_loop_test(tc, fault_survived, 0, ARRAY_SIZE(faults));
	tcase_add_test(tc, big_object);
	tcase_add_test(tc, run_and_poll);
	tcase_add_loop_test(tc, same_rules_as_manifests, 0,
			    ARRAY_SIZE(manifests));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	/* input limits and security warnings; a 50 MB object takes a while */
	tc = tcase_create("limits");
	tcase_add_test(tc, limit_object_size);
	tcase_add_test(tc, limit_object_50mb);
	tcase_add_test(tc, limit_endpoints);
	tcase_add_test(tc, security_warnings);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed, r;

	/* only 127.0.0.1, never through a proxy */
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (system("command -v python3 >/dev/null && command -v openssl "
		   ">/dev/null") != 0) {
		fprintf(stderr, "python3 or openssl missing: skipped\n");
		return 77;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = start_server();
	if (r < 0) {
		fprintf(stderr, "test apiserver: %s\n", strerror(-r));
		stop_server();
		return 99;
	}
	sr = srunner_create(kube_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	stop_server();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
