/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * run: the node daemon. Lists Services and EndpointSlices from the API
 * server, makes a full sync, tells systemd it is ready, then watches:
 * changes are applied against an in-memory view of what is programmed
 * (coalesced by --ipvs-min-sync-period), and the kernel is verified and
 * repaired every --ipvs-sync-period. SIGTERM and SIGINT stop and leave
 * the rules in place; SIGHUP makes a full resync.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "ipvs-svc.h"
#include "lock.h"
#include "run.h"

#define log_notice_msg(...) log_msg(IPVSSVC_LOG_NOTICE, __VA_ARGS__)

/* kube-proxy's buckets: 1 ms doubling, 15 of them. */
#define N_BUCKETS 15
/* network programming: 0.25 s, 0.5 s, 1..59 s, 60..115 s, 120..300 s */
#define N_NPD_BUCKETS (2 + 59 + 12 + 7)
/* more changed Services than this in one sync: build the whole model */
#define DIRTY_MAX 256
/* trigger times kept for one sync */
#define N_TRIGGERS 256

struct metrics {
	pthread_mutex_t lock;
	uint64_t buckets[N_BUCKETS]; /* cumulative counts per le */
	uint64_t dur_count;
	double dur_sum;
	double last_sync; /* wall clock, seconds */
	double last_queued;
	uint64_t svc_changes, ep_changes;
	uint64_t svc_pending, ep_pending;
	uint64_t syncs, full_syncs, ops, failed_ops;
	size_t vs, rs;
	/* netlink requests of the last sync of each kind */
	uint64_t last_full_requests, last_incr_requests;
	/* Services whose model the last sync of each kind built */
	uint64_t last_full_services, last_incr_services;
	/* network programming latency (kube-proxy's buckets) */
	uint64_t npd_buckets[N_NPD_BUCKETS];
	uint64_t npd_count;
	double npd_sum;
	/* Service ports with a Local policy and no local endpoints */
	unsigned no_local_int, no_local_ext;
	/* healthz: monotonic ms; queued 0 when nothing pending */
	uint64_t queued_mono, updated_mono;
	uint64_t health_timeout_ms;
	ipvssvc_ctx *ctx; /* the scrape's own kernel context */
	enum traffic_level traffic; /* --traffic-metrics */
	/* the daemon's view, for the Services' names; written under lock */
	ipvssvc_state *const *programmed;
	const char *ifname;
};

/* A TCP real server at weight 0 until its connections end. */
struct drain {
	ipvssvc_service *svc; /* its virtual server (key only) */
	ipvssvc_dest *dest; /* at weight 0 */
	uint64_t deadline_ms;
	bool done; /* ended: deleted by the next sync, not drained again */
};

/* EndpointSlice -> its Service (a deleted slice no longer tells) */
struct slice_ref {
	struct slice_ref *next;
	uint64_t hash;
	char *ns, *name, *svc;
};

struct slice_map {
	struct slice_ref **b;
	size_t n_b, n;
};

/* A Service with ports of a Local policy and no local endpoints. */
struct no_local {
	char *ns, *name;
	unsigned internal, external;
};

struct daemon {
	struct run_settings s;
	struct drain *drains;
	size_t n_drains;
	uint64_t last_drain_check_ms;
	struct options o;
	ipvssvc_ctx *ctx;
	ipvssvc_config *cfg;
	ipvssvc_objects *objs;
	ipvssvc_kube *kube;
	ipvssvc_kube_watch *watch;
	ipvssvc_state *programmed; /* NULL: unknown, read the kernel */
	ipvssvc_state *start_record; /* NodePorts of a previous run */
	bool pending, full_due;
	/*
	 * What changed since the last sync: these Services, or everything
	 * (rebuild_all). contested: two Services claimed a virtual server
	 * in the last whole build, so only a whole build decides.
	 */
	char *dirty_ns[DIRTY_MAX], *dirty_name[DIRTY_MAX];
	size_t n_dirty;
	bool rebuild_all, contested, building;
	/* a Service changed, not only endpoints: its keys may have too */
	bool services_changed;
	unsigned model_diags;
	struct slice_map slices;
	uint64_t first_event_us; /* monotonic; 0 when nothing pending */
	double triggers[N_TRIGGERS]; /* last-change-trigger-time, wall */
	size_t n_triggers;
	struct no_local *no_local;
	size_t n_no_local;
	bool no_local_fresh; /* a whole build: none of them is listed yet */
	uint64_t last_sync_ms, last_full_ms, last_watchdog_ms;
	int sigfd;
	struct MHD_Daemon *healthz, *metricsd;
	struct metrics m;
};

/*
 * Give memory freed by a full sync back to the kernel. The heap itself
 * stays flat under churn (massif), but glibc keeps freed pages in the
 * arenas of the three threads that allocate (main, watch, HTTP), and
 * resident memory crept by about 0.4 MB a minute.
 */
static void release_memory(void)
{
#if defined(__GLIBC__)
	malloc_trim(0);
#endif
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- what changed since the last sync --------------------------------------
 */

static void mark_dirty(struct daemon *d, const char *ns, const char *name)
{
	char *a, *b;
	size_t i;

	if (d->rebuild_all)
		return;
	ns = ns ? ns : "";
	for (i = 0; i < d->n_dirty; i++)
		if (strcmp(d->dirty_name[i], name) == 0 &&
		    strcmp(d->dirty_ns[i], ns) == 0)
			return;
	if (d->n_dirty == DIRTY_MAX) {
		d->rebuild_all = true;
		return;
	}
	a = strdup(ns);
	b = strdup(name);
	if (!a || !b) {
		free(a);
		free(b);
		d->rebuild_all = true;
		return;
	}
	d->dirty_ns[d->n_dirty] = a;
	d->dirty_name[d->n_dirty++] = b;
}

static bool is_dirty(const struct daemon *d, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; name && i < d->n_dirty; i++)
		if (strcmp(d->dirty_name[i], name) == 0 &&
		    strcmp(d->dirty_ns[i], ns ? ns : "") == 0)
			return true;
	return false;
}

static void clear_dirty(struct daemon *d)
{
	while (d->n_dirty) {
		d->n_dirty--;
		free(d->dirty_ns[d->n_dirty]);
		free(d->dirty_name[d->n_dirty]);
	}
	d->rebuild_all = false;
	d->services_changed = false;
}

static uint64_t names_hash(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

/* The link that points at the slice's entry, or at the chain's end. */
static struct slice_ref **slice_map_link(struct slice_map *m, const char *ns,
					 const char *name, uint64_t h)
{
	struct slice_ref **e = &m->b[h & (m->n_b - 1)];

	for (; *e; e = &(*e)->next)
		if ((*e)->hash == h && strcmp((*e)->name, name) == 0 &&
		    strcmp((*e)->ns, ns) == 0)
			break;
	return e;
}

static const char *slice_map_get(struct slice_map *m, const char *ns,
				 const char *name)
{
	struct slice_ref **e;

	if (!m->n_b)
		return NULL;
	e = slice_map_link(m, ns, name, names_hash(ns, name));
	return *e ? (*e)->svc : NULL;
}

static void slice_ref_free(struct slice_ref *e)
{
	free(e->ns);
	free(e->name);
	free(e->svc);
	free(e);
}

/* svc NULL: forget the slice. -ENOMEM. */
static int slice_map_set(struct slice_map *m, const char *ns, const char *name,
			 const char *svc)
{
	uint64_t h = names_hash(ns, name);
	struct slice_ref **e, *n;
	char *c;

	if (m->n >= m->n_b && svc) {
		size_t nb = m->n_b ? m->n_b * 2 : 256, i;
		struct slice_ref **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (i = 0; i < m->n_b; i++)
			while (m->b[i]) {
				n = m->b[i];
				m->b[i] = n->next;
				n->next = b[n->hash & (nb - 1)];
				b[n->hash & (nb - 1)] = n;
			}
		free(m->b);
		m->b = b;
		m->n_b = nb;
	}
	if (!m->n_b)
		return 0;
	e = slice_map_link(m, ns, name, h);
	if (!svc) {
		if (*e) {
			n = *e;
			*e = n->next;
			slice_ref_free(n);
			m->n--;
		}
		return 0;
	}
	if (*e) {
		if (strcmp((*e)->svc, svc) == 0)
			return 0;
		c = strdup(svc);
		if (!c)
			return -ENOMEM;
		free((*e)->svc);
		(*e)->svc = c;
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->hash = h;
	n->ns = strdup(ns);
	n->name = strdup(name);
	n->svc = strdup(svc);
	if (!n->ns || !n->name || !n->svc) {
		slice_ref_free(n);
		return -ENOMEM;
	}
	*e = n;
	m->n++;
	return 0;
}

static void slice_map_free(struct slice_map *m)
{
	size_t i;

	for (i = 0; i < m->n_b; i++)
		while (m->b[i]) {
			struct slice_ref *n = m->b[i];

			m->b[i] = n->next;
			slice_ref_free(n);
		}
	free(m->b);
	m->b = NULL;
	m->n_b = m->n = 0;
}

/* RFC 3339, as the API server writes times ("...T10:00:00.123456Z"). */
static int parse_rfc3339(const char *s, double *ret)
{
	struct tm tm;
	double frac = 0, scale = 0.1;
	int n = 0, oh, om;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -EINVAL;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') &&
		   sscanf(s + 1, "%2d:%2d", &oh, &om) == 2) {
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*ret = (double)t + frac;
	return 0;
}

/* The endpoint change's trigger time, for the programming latency. */
static void note_trigger(struct daemon *d, const char *kind, const char *ns,
			 const char *name)
{
	const char *v;
	double t;

	if (ipvssvc_objects_get_annotation(d->objs, kind, ns, name,
					   "endpoints.kubernetes.io/"
					   "last-change-trigger-time",
					   &v) < 0 ||
	    parse_rfc3339(v, &t) < 0 || d->n_triggers == N_TRIGGERS)
		return;
	d->triggers[d->n_triggers++] = t;
}

static double npd_le(int k)
{
	if (k < 2)
		return 0.25 * (k + 1);
	if (k < 2 + 59)
		return (double)(k - 1);
	if (k < 2 + 59 + 12)
		return 60.0 + 5 * (k - 61);
	return 120.0 + 30 * (k - 73);
}

static void observe_triggers(struct daemon *d)
{
	double now = wall_s();
	size_t i;
	int k;

	pthread_mutex_lock(&d->m.lock);
	for (i = 0; i < d->n_triggers; i++) {
		double v = now - d->triggers[i];

		if (v < 0)
			v = 0;
		d->m.npd_count++;
		d->m.npd_sum += v;
		for (k = 0; k < N_NPD_BUCKETS; k++)
			if (v <= npd_le(k))
				d->m.npd_buckets[k]++;
	}
	pthread_mutex_unlock(&d->m.lock);
	d->n_triggers = 0;
}

/* The model's count of a Service's ports with no local endpoints. */
static void on_service_built(void *userdata, const char *ns, const char *name,
			     unsigned internal, unsigned external)
{
	struct daemon *d = userdata;
	struct no_local *v;
	size_t i;

	for (i = 0; !d->no_local_fresh && i < d->n_no_local; i++)
		if (strcmp(d->no_local[i].name, name) == 0 &&
		    strcmp(d->no_local[i].ns, ns) == 0)
			break;
	if (!d->no_local_fresh && i < d->n_no_local) {
		free(d->no_local[i].ns);
		free(d->no_local[i].name);
		d->no_local[i] = d->no_local[--d->n_no_local];
	}
	if (!internal && !external)
		return;
	v = realloc(d->no_local, (d->n_no_local + 1) * sizeof(*v));
	if (!v)
		return;
	d->no_local = v;
	v = &d->no_local[d->n_no_local];
	v->ns = strdup(ns);
	v->name = strdup(name);
	v->internal = internal;
	v->external = external;
	if (!v->ns || !v->name) {
		free(v->ns);
		free(v->name);
		return;
	}
	d->n_no_local++;
}

/* Forget the dirty Services' counts: a deleted one is not built again. */
static void no_local_forget_dirty(struct daemon *d)
{
	size_t i = 0;

	while (i < d->n_no_local) {
		if (is_dirty(d, d->no_local[i].ns, d->no_local[i].name)) {
			free(d->no_local[i].ns);
			free(d->no_local[i].name);
			d->no_local[i] = d->no_local[--d->n_no_local];
		} else {
			i++;
		}
	}
}

static void no_local_clear(struct daemon *d)
{
	while (d->n_no_local) {
		d->n_no_local--;
		free(d->no_local[d->n_no_local].ns);
		free(d->no_local[d->n_no_local].name);
	}
}

static void no_local_publish(struct daemon *d)
{
	unsigned in = 0, ex = 0;
	size_t i;

	for (i = 0; i < d->n_no_local; i++) {
		in += d->no_local[i].internal;
		ex += d->no_local[i].external;
	}
	pthread_mutex_lock(&d->m.lock);
	d->m.no_local_int = in;
	d->m.no_local_ext = ex;
	pthread_mutex_unlock(&d->m.lock);
}

/* The model reports only conflicts between Services (see emit()). */
static void objs_diag(void *userdata, int level, const char *msg)
{
	struct daemon *d = userdata;

	if (d->building)
		d->model_diags++;
	diag_to_log(NULL, level, msg);
}

/* --- the kernel's settings ------------------------------------------------ */

static int write_sysctl(const char *name, const char *value)
{
	char path[256];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fputs(value, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static void set_sysctl(const char *name, const char *value)
{
	int r = write_sysctl(name, value);

	if (r < 0)
		log_warn("cannot set %s=%s: %s", name, value, strerror(-r));
	else
		log_debug("sysctl %s=%s", name, value);
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return true;
	return ma > major || (ma == major && mi >= minor);
}

static void kernel_settings(struct daemon *d)
{
	int r;

	/* as kube-proxy's IPVS mode */
	set_sysctl("net/ipv4/vs/conntrack", "1");
	set_sysctl("net/ipv4/vs/expire_nodest_conn", "1");
	set_sysctl("net/ipv4/vs/expire_quiescent_template", "1");
	/* before 5.9, conn_reuse_mode=1 stalls reused ports for a second */
	if (!kernel_at_least(5, 9))
		set_sysctl("net/ipv4/vs/conn_reuse_mode", "0");
	set_sysctl("net/ipv4/ip_forward", "1");
	if (d->s.strict_arp) {
		set_sysctl("net/ipv4/conf/all/arp_ignore", "1");
		set_sysctl("net/ipv4/conf/all/arp_announce", "2");
	}
	if (d->s.tcp_timeout_s || d->s.tcpfin_timeout_s || d->s.udp_timeout_s) {
		r = ipvssvc_set_timeouts(d->ctx, d->s.tcp_timeout_s,
					 d->s.tcpfin_timeout_s,
					 d->s.udp_timeout_s);
		if (r < 0)
			log_warn("cannot set the IPVS timeouts: %s",
				 strerror(-r));
	}
}

/* Does the kernel have the scheduler (loaded, built in, or a module)? */
static bool scheduler_available(const char *sched)
{
	char path[256], line[512], want[64];
	struct utsname u;
	bool found = false, any = false;
	static const char *const lists[] = {"modules.builtin", "modules.dep"};
	size_t i;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/ip_vs_%s", sched);
	if (stat(path, &st) == 0)
		return true;
	if (uname(&u) < 0)
		return true;
	snprintf(want, sizeof(want), "/ip_vs_%s.ko", sched);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && !found; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release,
			 lists[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		any = true;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, want) != NULL;
		fclose(f);
	}
	/* without module lists there is nothing to check against */
	return found || !any;
}

/* --- graceful termination -------------------------------------------------
 *
 * A TCP real server that leaves the desired state while it has
 * connections stays in it at weight 0 (the planner then edits its
 * weight instead of deleting it) until its connections end or
 * --ipvs-graceful-period passes. If it comes back it is desired again
 * at its own weight and the entry goes.
 */

static bool same_dest(const ipvssvc_dest *a, const ipvssvc_dest *b)
{
	struct ipvssvc_ip x, y;

	ipvssvc_dest_get_addr(a, &x);
	ipvssvc_dest_get_addr(b, &y);
	return ipvssvc_ip_cmp(&x, &y) == 0 &&
	       ipvssvc_dest_get_port(a) == ipvssvc_dest_get_port(b);
}

static const ipvssvc_dest *find_dest(const ipvssvc_service *svc,
				     const ipvssvc_dest *key)
{
	size_t i, n = ipvssvc_service_get_dest_count(svc);

	for (i = 0; i < n; i++)
		if (same_dest(ipvssvc_service_get_dest(svc, i), key))
			return ipvssvc_service_get_dest(svc, i);
	return NULL;
}

static bool same_svc(const ipvssvc_service *a, const ipvssvc_service *b)
{
	char x[96], y[96];

	ipvssvc_service_format_key(a, x, sizeof(x));
	ipvssvc_service_format_key(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}

static ssize_t find_drain(const struct daemon *d, const ipvssvc_service *svc,
			  const ipvssvc_dest *dest)
{
	size_t i;

	for (i = 0; i < d->n_drains; i++)
		if (same_dest(d->drains[i].dest, dest) &&
		    same_svc(d->drains[i].svc, svc))
			return (ssize_t)i;
	return -1;
}

static void drop_drain(struct daemon *d, size_t i)
{
	ipvssvc_service_free(d->drains[i].svc);
	ipvssvc_dest_free(d->drains[i].dest);
	d->drains[i] = d->drains[--d->n_drains];
}

static int dest_copy(const ipvssvc_dest *src, uint32_t weight,
		     ipvssvc_dest **ret)
{
	ipvssvc_dest *c;
	struct ipvssvc_ip ip;
	uint32_t up, lo;
	int r;

	r = ipvssvc_dest_new(&c);
	if (r < 0)
		return r;
	ipvssvc_dest_get_addr(src, &ip);
	ipvssvc_dest_get_thresholds(src, &up, &lo);
	if ((r = ipvssvc_dest_set_addr(c, &ip)) < 0 ||
	    (r = ipvssvc_dest_set_port(c, ipvssvc_dest_get_port(src))) < 0 ||
	    (r = ipvssvc_dest_set_fwd(c, ipvssvc_dest_get_fwd(src))) < 0 ||
	    (r = ipvssvc_dest_set_weight(c, weight)) < 0 ||
	    (r = ipvssvc_dest_set_thresholds(c, up, lo)) < 0) {
		ipvssvc_dest_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Active plus inactive connections of a real server in the kernel. */
static int kernel_conns(struct daemon *d, const ipvssvc_service *svc,
			const ipvssvc_dest *dest, uint32_t *ret)
{
	ipvssvc_dest **list = NULL;
	size_t i, n = 0;
	int r;

	r = ipvssvc_dest_dump(d->ctx, svc, &list, &n);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n; i++)
		if (same_dest(list[i], dest)) {
			uint32_t act, inact, pers;

			ipvssvc_dest_get_conns(list[i], &act, &inact, &pers);
			*ret = act + inact;
			r = 0;
			break;
		}
	ipvssvc_dest_list_free(list, n);
	return r;
}

static void start_drain(struct daemon *d, const ipvssvc_service *svc,
			const ipvssvc_dest *dest)
{
	struct drain *nd;
	struct drain e = {NULL, NULL, mono_ms() + d->s.graceful_period_ms,
			  false};
	char key[96], a[IPVSSVC_IP_STRLEN];
	struct ipvssvc_ip ip;

	if (ipvssvc_service_dup(svc, &e.svc) < 0 ||
	    dest_copy(dest, 0, &e.dest) < 0)
		goto fail;
	nd = realloc(d->drains, (d->n_drains + 1) * sizeof(*nd));
	if (!nd)
		goto fail;
	d->drains = nd;
	d->drains[d->n_drains++] = e;
	ipvssvc_dest_get_addr(dest, &ip);
	log_info("draining %s -> %s:%u at weight 0",
		 ipvssvc_service_format_key(svc, key, sizeof(key)),
		 ipvssvc_ip_format(&ip, a, sizeof(a)),
		 ipvssvc_dest_get_port(dest));
	return;
fail:
	/* out of memory: deleted at once instead */
	ipvssvc_service_free(e.svc);
	ipvssvc_dest_free(e.dest);
}

/*
 * Before planning: TCP real servers about to leave (in base, the kernel
 * or what was programmed, not in desired) with connections start
 * draining; the draining ones are put into desired at weight 0.
 */
static void graceful_prepare(struct daemon *d, ipvssvc_state *desired,
			     const ipvssvc_state *base, bool from_kernel,
			     bool partial)
{
	size_t i, j, n;

	if (!d->s.graceful_period_ms)
		return;
	n = base ? ipvssvc_state_service_count(base) : 0;
	for (i = 0; i < n; i++) {
		const ipvssvc_service *old = ipvssvc_state_service(base, i);
		const ipvssvc_service *now;
		size_t nd = ipvssvc_service_get_dest_count(old);

		if (ipvssvc_service_get_protocol(old) != IPPROTO_TCP ||
		    ipvssvc_service_get_fwmark(old))
			continue;
		now = ipvssvc_state_find(desired, old);
		if (!now)
			continue; /* the whole virtual server goes */
		for (j = 0; j < nd; j++) {
			const ipvssvc_dest *dst =
				ipvssvc_service_get_dest(old, j);
			uint32_t conns = 0, act, inact, pers;

			if (find_dest(now, dst) || find_drain(d, old, dst) >= 0)
				continue;
			if (from_kernel) {
				ipvssvc_dest_get_conns(dst, &act, &inact,
						       &pers);
				conns = act + inact;
			} else if (kernel_conns(d, old, dst, &conns) < 0) {
				continue;
			}
			if (conns)
				start_drain(d, old, dst);
		}
	}
	for (i = 0; i < d->n_drains;) {
		const ipvssvc_service *now =
			ipvssvc_state_find(desired, d->drains[i].svc);

		/* partial: another Service's drain is not ours to judge */
		if (!now && partial &&
		    !ipvssvc_state_find(base, d->drains[i].svc)) {
			i++;
			continue;
		}
		/* the virtual server went, or the endpoint came back */
		if (!now || find_dest(now, d->drains[i].dest)) {
			drop_drain(d, i);
			continue;
		}
		if (d->drains[i].done) {
			i++;
			continue;
		}
		ipvssvc_state_add_dest(desired, now, d->drains[i].dest);
		i++;
	}
}

/* The next sync must rebuild the drain's Service. */
static void drain_dirty(struct daemon *d, const struct drain *dr)
{
	const char *ns = NULL, *name = NULL, *port = NULL;
	const ipvssvc_service *named = dr->svc;

	ipvssvc_service_get_origin(named, &ns, &name, &port);
	if (!name && d->programmed) {
		/* started by a full sync: the kernel's copy has no origin */
		named = ipvssvc_state_find(d->programmed, dr->svc);
		if (named)
			ipvssvc_service_get_origin(named, &ns, &name, &port);
	}
	if (name)
		mark_dirty(d, ns, name);
	else
		d->rebuild_all = true;
}

/* Every second: end the drains whose connections are gone or timed out. */
static void graceful_check(struct daemon *d, uint64_t now)
{
	size_t i;

	if (!d->n_drains || now - d->last_drain_check_ms < 1000)
		return;
	d->last_drain_check_ms = now;
	for (i = 0; i < d->n_drains;) {
		uint32_t conns = 0;
		int r = kernel_conns(d, d->drains[i].svc, d->drains[i].dest,
				     &conns);

		if (d->drains[i].done ||
		    (r == 0 && conns && now < d->drains[i].deadline_ms)) {
			i++;
			continue;
		}
		log_info("drained: %s", r == 0 && conns ? "graceful period over"
							: "no connections "
							  "left");
		d->drains[i].done = true;
		d->pending = true; /* the next sync deletes it */
		drain_dirty(d, &d->drains[i]);
		i++;
	}
}

/* --- syncing ----------------------------------------------------------------
 */

static void count_programmed(struct daemon *d, const ipvssvc_state *st)
{
	size_t i, n = ipvssvc_state_service_count(st), rs = 0;

	for (i = 0; i < n; i++)
		rs += ipvssvc_service_get_dest_count(
			ipvssvc_state_service(st, i));
	pthread_mutex_lock(&d->m.lock);
	d->m.vs = n;
	d->m.rs = rs;
	pthread_mutex_unlock(&d->m.lock);
}

static void observe_sync(struct daemon *d, double seconds, bool full,
			 size_t ops, size_t failed, uint64_t requests)
{
	double le = 0.001;
	int i;

	pthread_mutex_lock(&d->m.lock);
	if (full)
		d->m.last_full_requests = requests;
	else
		d->m.last_incr_requests = requests;
	for (i = 0; i < N_BUCKETS; i++, le *= 2)
		if (seconds <= le)
			d->m.buckets[i]++;
	d->m.dur_count++;
	d->m.dur_sum += seconds;
	d->m.last_sync = wall_s();
	d->m.syncs++;
	if (full)
		d->m.full_syncs++;
	d->m.ops += ops;
	d->m.failed_ops += failed;
	if (!failed) {
		d->m.svc_pending = d->m.ep_pending = 0;
		d->m.queued_mono = 0;
		d->m.updated_mono = mono_ms();
	}
	pthread_mutex_unlock(&d->m.lock);
}

static void notify_status(struct daemon *d)
{
	sd_notifyf(0,
		   "STATUS=%zu Services, %zu EndpointSlices; %zu virtual "
		   "servers, %zu real servers programmed",
		   ipvssvc_objects_count(d->objs, "Service"),
		   ipvssvc_objects_count(d->objs, "EndpointSlice"), d->m.vs,
		   d->m.rs);
}

static void dest_counts(const ipvssvc_state *st, size_t *vs, size_t *rs)
{
	size_t i, n = ipvssvc_state_service_count(st);

	*vs += n;
	for (i = 0; i < n; i++)
		*rs += ipvssvc_service_get_dest_count(
			ipvssvc_state_service(st, i));
}

/* Has st a virtual server outside the dummy interface (a NodePort)? */
static bool any_outside(const ipvssvc_state *st)
{
	size_t i, n = ipvssvc_state_service_count(st);

	for (i = 0; i < n; i++)
		if (!state_on_dummy(st, ipvssvc_state_service(st, i)))
			return true;
	return false;
}

/*
 * Have a and b the same virtual servers outside the dummy interface? Then
 * the record of our NodePorts stays as it is, and an endpoint change
 * need not rebuild it from the whole programmed state.
 */
static bool same_outside(const ipvssvc_state *a, const ipvssvc_state *b)
{
	size_t i, n, na = 0, nb = 0;

	n = a ? ipvssvc_state_service_count(a) : 0;
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(a, i);

		if (state_on_dummy(a, svc))
			continue;
		na++;
		if (!b || !ipvssvc_state_find(b, svc) || state_on_dummy(b, svc))
			return false;
	}
	n = b ? ipvssvc_state_service_count(b) : 0;
	for (i = 0; i < n; i++)
		nb += !state_on_dummy(b, ipvssvc_state_service(b, i));
	return na == nb;
}

static void log_synced(struct daemon *d, const char *what, size_t services,
		       size_t n, size_t failed)
{
	if (d->first_event_us)
		log_info("%s sync of %zu Services: %zu operations, %zu "
			 "failed, %.3f ms after the first event",
			 what, services, n, failed,
			 (double)(mono_us() - d->first_event_us) / 1000.0);
	else
		log_info("%s sync of %zu Services: %zu operations, %zu failed",
			 what, services, n, failed);
}

/*
 * An incremental sync: build only the Services changed since the last
 * sync, plan them against what is programmed for them, and put the
 * result back into the programmed state. -EAGAIN, before anything is
 * changed, when the whole model must decide (two Services claim one
 * virtual server).
 */
static int sync_part(struct daemon *d, uint64_t t0, uint64_t req0)
{
	const char *const *nss = (const char *const *)d->dirty_ns;
	const char *const *names = (const char *const *)d->dirty_name;
	ipvssvc_state *part = NULL, *old = NULL, *rec = NULL;
	ipvssvc_plan *plan = NULL;
	struct apply_result res = {0, NULL};
	size_t i, n = 0, vs = 0, rs = 0, ovs = 0, ors = 0;
	bool outside;
	int r;

	d->building = true;
	d->model_diags = 0;
	no_local_forget_dirty(d);
	r = ipvssvc_model_build_services(d->objs, d->cfg, nss, names,
					 d->n_dirty, on_service_built, d,
					 &part);
	d->building = false;
	if (r < 0) {
		log_err("cannot build the desired state: %s", strerror(-r));
		return r;
	}
	if (d->model_diags) {
		ipvssvc_state_free(part);
		return -EAGAIN;
	}
	for (i = 0; i < ipvssvc_state_service_count(part); i++) {
		const ipvssvc_service *have = ipvssvc_state_find(
			d->programmed, ipvssvc_state_service(part, i));
		const char *ns = NULL, *name = NULL, *port = NULL;

		if (!have)
			continue;
		ipvssvc_service_get_origin(have, &ns, &name, &port);
		if (!is_dirty(d, ns, name)) {
			ipvssvc_state_free(part);
			return -EAGAIN;
		}
	}
	pthread_mutex_lock(&d->m.lock);
	/* only endpoints changed: the virtual servers kept their keys */
	r = ipvssvc_state_take_services(d->programmed, nss, names, d->n_dirty,
					d->services_changed ? NULL : part,
					&old);
	pthread_mutex_unlock(&d->m.lock);
	if (r < 0)
		goto fail;
	graceful_prepare(d, part, old, false, true);
	r = ipvssvc_plan_build_part(part, old, d->programmed, d->cfg, &plan);
	if (r < 0)
		goto fail;
	n = ipvssvc_plan_count(plan);
	outside = !same_outside(part, old);
	/*
	 * NodePorts about to be made are recorded first: a run killed in
	 * the middle must not leave ones that no record names.
	 */
	if (n && outside && any_outside(part) && ipvssvc_state_new(&rec) == 0) {
		record_add_nodeports(rec, d->programmed);
		record_add_nodeports(rec, old);
		record_add_nodeports(rec, part);
		record_write(&d->o, rec);
		ipvssvc_state_free(rec);
		rec = NULL;
	}
	if (n) {
		r = apply_plan(d->ctx, plan, "sync", &res);
		if (r < 0)
			goto fail;
	}
	log_synced(d, "incremental", d->n_dirty, n, res.failed);
	if (res.failed) {
		r = -EIO;
		goto fail;
	}
	for (i = 0; i < d->n_drains;) {
		if (d->drains[i].done &&
		    (ipvssvc_state_find(old, d->drains[i].svc) ||
		     ipvssvc_state_find(part, d->drains[i].svc)))
			drop_drain(d, i);
		else
			i++;
	}
	dest_counts(part, &vs, &rs);
	dest_counts(old, &ovs, &ors);
	pthread_mutex_lock(&d->m.lock);
	r = ipvssvc_state_put_services(d->programmed, part, old);
	d->m.vs = d->m.vs + vs - ovs;
	d->m.rs = d->m.rs + rs - ors;
	d->m.last_incr_services = d->n_dirty;
	pthread_mutex_unlock(&d->m.lock);
	if (r < 0)
		goto fail;
	/* UDP conntrack entries and the nftables table follow IPVS */
	conntrack_after_plan(plan, old);
	ipvssvc_plan_free(plan);
	plan = NULL;
	nft_after_sync(d->programmed, d->objs, d->cfg, &d->o, false);
	/* the record of our NodePorts changes only with NodePorts */
	if (outside && ipvssvc_state_new(&rec) == 0) {
		record_add_nodeports(rec, d->programmed);
		record_write(&d->o, rec);
		ipvssvc_state_free(rec);
	}
	observe_triggers(d);
	no_local_publish(d);
	clear_dirty(d);
	d->first_event_us = 0;
	observe_sync(d, (double)(mono_ms() - t0) / 1000.0, false, n, 0,
		     ipvssvc_ctx_requests(d->ctx) - req0);
	d->last_sync_ms = mono_ms();
	d->pending = false;
	notify_status(d);
	free(res.results);
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(part);
	ipvssvc_state_free(old);
	return 0;
fail:
	/* what is programmed is not known any more: the next sync is full */
	if (r != -EIO)
		log_err("incremental sync: %s", strerror(-r));
	pthread_mutex_lock(&d->m.lock);
	ipvssvc_state_free(d->programmed);
	d->programmed = NULL;
	pthread_mutex_unlock(&d->m.lock);
	observe_sync(d, (double)(mono_ms() - t0) / 1000.0, false, n,
		     res.failed ? res.failed : 1,
		     ipvssvc_ctx_requests(d->ctx) - req0);
	d->last_sync_ms = mono_ms();
	d->pending = true;
	free(res.results);
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(part);
	ipvssvc_state_free(old);
	return r;
}

/*
 * One sync. full: read the kernel and repair what differs; else rebuild
 * the Services changed since the last sync (sync_part()) or, when that
 * cannot decide, the whole model, and plan against what was programmed
 * last, so that only what changed is done.
 */
static int do_sync(struct daemon *d, bool full)
{
	ipvssvc_state *desired = NULL, *current = NULL, *rec = NULL;
	ipvssvc_plan *plan = NULL;
	struct apply_result res = {0, NULL};
	uint64_t t0 = mono_ms(), req0 = ipvssvc_ctx_requests(d->ctx);
	size_t i, n;
	int r;

	if (!d->programmed)
		full = true;
	if (!full && !d->rebuild_all && !d->contested) {
		r = sync_part(d, t0, req0);
		if (r != -EAGAIN)
			return r;
		log_info("two Services claim one virtual server: building "
			 "the whole model");
	}
	/* the node's addresses may have changed: NodePorts follow them */
	if (full) {
		ipvssvc_config_clear_node_addrs(d->cfg);
		add_node_addrs(d->ctx, &d->o, d->cfg);
	}
	no_local_clear(d);
	d->no_local_fresh = true;
	d->building = true;
	d->model_diags = 0;
	r = ipvssvc_model_build_services(d->objs, d->cfg, NULL, NULL, 0,
					 on_service_built, d, &desired);
	d->building = false;
	d->no_local_fresh = false;
	d->contested = d->model_diags > 0;
	if (r < 0) {
		log_err("cannot build the desired state: %s", strerror(-r));
		return r;
	}
	if (full) {
		/* real servers from /proc/net/ip_vs: at 10,000 virtual
		 * servers, one read instead of 11,000 netlink dumps */
		r = ipvssvc_state_read_rules(d->ctx, d->o.ifname, desired,
					     &current);
		if (r < 0) {
			log_err("cannot read the kernel's IPVS rules: %s",
				strerror(-r));
			goto out;
		}
	}
	graceful_prepare(d, desired, full ? current : d->programmed, full,
			 false);
	r = ipvssvc_state_new(&rec);
	if (r < 0)
		goto out;
	record_add_nodeports(rec, d->start_record);
	record_add_nodeports(rec, d->programmed);
	r = ipvssvc_plan_build(desired, full ? current : d->programmed, rec,
			       d->cfg, &plan);
	if (r < 0) {
		log_err("cannot plan the changes: %s", strerror(-r));
		goto out;
	}
	n = ipvssvc_plan_count(plan);
	if (n) {
		/* recorded before any write: killed midway, the next run
		 * still owns every NodePort this one may have made */
		record_add_nodeports(rec, desired);
		record_write(&d->o, rec);
		r = apply_plan(d->ctx, plan, full ? "verify" : "sync", &res);
		if (r < 0)
			goto out;
	}
	/* UDP conntrack entries and the nftables table follow IPVS; the
	 * plan and the kernel read go first (memory: nft_after_sync()) */
	conntrack_after_plan(plan, full ? current : d->programmed);
	ipvssvc_plan_free(plan);
	plan = NULL;
	ipvssvc_state_free(current);
	current = NULL;
	nft_after_sync(desired, d->objs, d->cfg, &d->o, full);
	if (full && n)
		log_notice_msg("repaired %zu differences with the kernel "
			       "(%zu failed)",
			       n, res.failed);
	else
		log_synced(d, full ? "full" : "whole-model",
			   ipvssvc_objects_count(d->objs, "Service"), n,
			   res.failed);
	i = ipvssvc_objects_count(d->objs, "Service");
	pthread_mutex_lock(&d->m.lock);
	*(full ? &d->m.last_full_services : &d->m.last_incr_services) = i;
	pthread_mutex_unlock(&d->m.lock);
	no_local_publish(d);
	if (!res.failed) {
		observe_triggers(d);
		clear_dirty(d);
		d->first_event_us = 0;
	}
	/* what is programmed now: the desired state, unless something failed */
	pthread_mutex_lock(&d->m.lock);
	ipvssvc_state_free(d->programmed);
	d->programmed = res.failed ? NULL : desired;
	pthread_mutex_unlock(&d->m.lock);
	if (res.failed) {
		ipvssvc_state_free(desired);
	} else {
		record_write(&d->o, rec);
		ipvssvc_state_free(rec);
		r = ipvssvc_state_new(&rec);
		if (r == 0) {
			record_add_nodeports(rec, desired);
			record_write(&d->o, rec);
		}
		count_programmed(d, desired);
	}
	desired = NULL;
	if (!res.failed)
		for (i = 0; i < d->n_drains;) {
			if (d->drains[i].done)
				drop_drain(d, i);
			else
				i++;
		}
	observe_sync(d, (double)(mono_ms() - t0) / 1000.0, full, n, res.failed,
		     ipvssvc_ctx_requests(d->ctx) - req0);
	d->last_sync_ms = mono_ms();
	if (full)
		d->last_full_ms = d->last_sync_ms;
	d->pending = res.failed != 0;
	notify_status(d);
	r = res.failed ? -EIO : 0;
out:
	free(res.results);
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(rec);
	ipvssvc_state_free(current);
	ipvssvc_state_free(desired);
	return r;
}

static void on_change(void *userdata, const char *kind, const char *ns,
		      const char *name, enum ipvssvc_kube_event ev)
{
	struct daemon *d = userdata;

	log_debug("%s %s %s/%s", ipvssvc_kube_event_name(ev), kind,
		  ns ? ns : "", name);
	if (!d->first_event_us)
		d->first_event_us = mono_us();
	if (strcmp(kind, "Node") == 0) {
		/* topology labels: a full model rebuild covers them */
		d->rebuild_all = true;
		d->pending = true;
		return;
	}
	d->pending = true;
	ns = ns ? ns : "";
	if (strcmp(kind, "Service") == 0 || strcmp(kind, "Endpoints") == 0) {
		d->services_changed |= strcmp(kind, "Service") == 0;
		mark_dirty(d, ns, name);
	} else if (strcmp(kind, "EndpointSlice") == 0) {
		const char *svc = NULL,
			   *was = slice_map_get(&d->slices, ns, name);

		if (ev != IPVSSVC_KUBE_DELETED &&
		    ipvssvc_objects_get_label(d->objs, kind, ns, name,
					      "kubernetes.io/service-name",
					      &svc) < 0)
			svc = NULL;
		if (was && (!svc || strcmp(was, svc) != 0))
			mark_dirty(d, ns, was);
		if (svc)
			mark_dirty(d, ns, svc);
		if (slice_map_set(&d->slices, ns, name, svc) < 0)
			d->rebuild_all = true; /* a later delete cannot tell */
	} else {
		d->rebuild_all = true;
	}
	if (ev != IPVSSVC_KUBE_DELETED && strcmp(kind, "Service") != 0)
		note_trigger(d, kind, ns, name);
	pthread_mutex_lock(&d->m.lock);
	if (strcmp(kind, "Service") == 0) {
		d->m.svc_changes++;
		d->m.svc_pending++;
	} else {
		d->m.ep_changes++;
		d->m.ep_pending++;
	}
	d->m.last_queued = wall_s();
	if (!d->m.queued_mono)
		d->m.queued_mono = mono_ms();
	pthread_mutex_unlock(&d->m.lock);
}

/* --- health and metrics ------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void format_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum MHD_Result healthz_handler(void *cls, struct MHD_Connection *c,
				       const char *url, const char *method,
				       const char *version,
				       const char *upload_data,
				       size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	char last[64], now[64], *body = NULL;
	bool healthy;
	uint64_t t = mono_ms();
	int n;

	if (strcmp(url, "/healthz") != 0 && strcmp(url, "/livez") != 0) {
		body = strdup("404 page not found\n");
		return body ? reply(c, MHD_HTTP_NOT_FOUND, "text/plain", body,
				    strlen(body))
			    : MHD_NO;
	}
	pthread_mutex_lock(&m->lock);
	/*
	 * kube-proxy: unhealthy when an update has been queued for longer
	 * than twice the sync period, or nothing has ever been programmed
	 * that long after start.
	 */
	healthy =
		!(m->queued_mono && t - m->queued_mono > m->health_timeout_ms);
	format_time(m->last_sync, last, sizeof(last));
	pthread_mutex_unlock(&m->lock);
	format_time(wall_s(), now, sizeof(now));
	n = asprintf(&body,
		     "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", "
		     "\"nodeEligible\": true}",
		     last, now);
	if (n < 0)
		return MHD_NO;
	return reply(c, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
		     "application/json", body, (size_t)n);
}

/* A growing text buffer. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			b->oom = true;
			return;
		}
	}
}

/* A label value: backslash, quote and newline escaped. */
static void label_value(char *out, size_t len, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[i++] = '\\';
			out[i++] = *s;
		} else if (*s == '\n') {
			out[i++] = '\\';
			out[i++] = 'n';
		} else {
			out[i++] = *s;
		}
	}
	out[i] = '\0';
}

/*
 * What a scrape reads from the kernel for --traffic-metrics, before it
 * takes the lock that syncs take too: at 10,000 virtual servers the read
 * of every real server is 11,000 netlink dumps, seconds in which a sync
 * must not wait.
 */
struct traffic {
	ipvssvc_state *st; /* real-servers: the whole read */
	ipvssvc_service **list; /* virtual-servers: one dump */
	size_t n;
};

static void traffic_read(const struct metrics *m, struct traffic *t)
{
	memset(t, 0, sizeof(*t));
	if (!m->ctx)
		return;
	if (m->traffic == TRAFFIC_REAL_SERVERS) {
		if (ipvssvc_state_read(m->ctx, m->ifname, &t->st) == 0)
			t->n = ipvssvc_state_service_count(t->st);
	} else if (m->traffic == TRAFFIC_VIRTUAL_SERVERS) {
		if (ipvssvc_service_dump(m->ctx, &t->list, &t->n) < 0)
			t->n = 0;
	}
}

static const ipvssvc_service *traffic_svc(const struct traffic *t, size_t i)
{
	return t->st ? ipvssvc_state_service(t->st, i) : t->list[i];
}

static void traffic_free(struct traffic *t)
{
	ipvssvc_state_free(t->st);
	ipvssvc_service_list_free(t->list, t->list ? t->n : 0);
}

static void traffic_metrics(struct metrics *m, const struct traffic *t,
			    struct buf *b)
{
	size_t i, j, n = t->n;
	static const char *const names[] = {"connections", "packets_in",
					    "packets_out", "bytes_in",
					    "bytes_out"};
	int k;

	if (!n)
		return;
	for (k = 0; k < 5; k++) {
		bprintf(b,
			"# HELP ipvs_svc_virtual_server_%s_total IPVS %s of "
			"a virtual server.\n"
			"# TYPE ipvs_svc_virtual_server_%s_total counter\n",
			names[k], names[k], names[k]);
		for (i = 0; i < n; i++) {
			const ipvssvc_service *svc = traffic_svc(t, i);
			struct ipvssvc_stats s;
			uint64_t v[5];
			char key[96], ns[256], nm[256], pn[256];
			const char *a, *bn, *c;
			const ipvssvc_service *named;

			ipvssvc_service_get_stats(svc, &s);
			v[0] = s.conns;
			v[1] = s.inpkts;
			v[2] = s.outpkts;
			v[3] = s.inbytes;
			v[4] = s.outbytes;
			named = *m->programmed
					? ipvssvc_state_find(*m->programmed,
							     svc)
					: NULL;
			ipvssvc_service_format_key(svc, key, sizeof(key));
			a = bn = c = NULL;
			if (named)
				ipvssvc_service_get_origin(named, &a, &bn, &c);
			label_value(ns, sizeof(ns), a);
			label_value(nm, sizeof(nm), bn);
			label_value(pn, sizeof(pn), c);
			bprintf(b,
				"ipvs_svc_virtual_server_%s_total{namespace=\"%"
				"s\","
				"service=\"%s\",port_name=\"%s\","
				"virtual_server=\"%s\"} %" PRIu64 "\n",
				names[k], ns, nm, pn, key, v[k]);
		}
	}
	for (k = 0; t->st && k < 5; k++) {
		bprintf(b,
			"# HELP ipvs_svc_real_server_%s_total IPVS %s of a "
			"real server.\n"
			"# TYPE ipvs_svc_real_server_%s_total counter\n",
			names[k], names[k], names[k]);
		for (i = 0; i < n; i++) {
			const ipvssvc_service *svc = traffic_svc(t, i);
			size_t nd = ipvssvc_service_get_dest_count(svc);
			const ipvssvc_service *named;
			const char *sa = NULL, *sb = NULL, *sc = NULL;
			char key[96], ns[256], nm[256], pn[256];

			ipvssvc_service_format_key(svc, key, sizeof(key));
			named = *m->programmed
					? ipvssvc_state_find(*m->programmed,
							     svc)
					: NULL;
			if (named)
				ipvssvc_service_get_origin(named, &sa, &sb,
							   &sc);
			label_value(ns, sizeof(ns), sa);
			label_value(nm, sizeof(nm), sb);
			label_value(pn, sizeof(pn), sc);
			for (j = 0; j < nd; j++) {
				const ipvssvc_dest *dst =
					ipvssvc_service_get_dest(svc, j);
				struct ipvssvc_stats s;
				struct ipvssvc_ip ip;
				char a[IPVSSVC_IP_STRLEN];
				uint64_t v[5];

				ipvssvc_dest_get_stats(dst, &s);
				ipvssvc_dest_get_addr(dst, &ip);
				ipvssvc_ip_format(&ip, a, sizeof(a));
				v[0] = s.conns;
				v[1] = s.inpkts;
				v[2] = s.outpkts;
				v[3] = s.inbytes;
				v[4] = s.outbytes;
				bprintf(b,
					"ipvs_svc_real_server_%s_total{"
					"namespace=\"%s\",service=\"%s\","
					"port_name=\"%s\",virtual_server=\"%"
					"s\","
					"endpoint=\"%s%s%s:%u\"} %" PRIu64 "\n",
					names[k], ns, nm, pn, key,
					ip.family == AF_INET6 ? "[" : "", a,
					ip.family == AF_INET6 ? "]" : "",
					ipvssvc_dest_get_port(dst), v[k]);
			}
		}
	}
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c,
				       const char *url, const char *method,
				       const char *version,
				       const char *upload_data,
				       size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct buf b = {NULL, 0, 0, false};
	struct traffic t;
	double le = 0.001;
	int i;

	if (strcmp(url, "/metrics") != 0) {
		char *body = strdup("404 page not found\n");

		return body ? reply(c, MHD_HTTP_NOT_FOUND, "text/plain", body,
				    strlen(body))
			    : MHD_NO;
	}
	traffic_read(m, &t);
	pthread_mutex_lock(&m->lock);
	bprintf(&b, "# HELP kubeproxy_sync_proxy_rules_duration_seconds "
		    "SyncProxyRules latency in seconds\n"
		    "# TYPE kubeproxy_sync_proxy_rules_duration_seconds "
		    "histogram\n");
	for (i = 0; i < N_BUCKETS; i++, le *= 2)
		bprintf(&b,
			"kubeproxy_sync_proxy_rules_duration_seconds_bucket{"
			"le=\"%g\"} %" PRIu64 "\n",
			le, m->buckets[i]);
	bprintf(&b,
		"kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+"
		"Inf\"}"
		" %" PRIu64 "\n"
		"kubeproxy_sync_proxy_rules_duration_seconds_sum %.6f\n"
		"kubeproxy_sync_proxy_rules_duration_seconds_count %" PRIu64
		"\n",
		m->dur_count, m->dur_sum, m->dur_count);
	bprintf(&b,
		"# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds "
		"The last time proxy rules were successfully synced\n"
		"# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds "
		"gauge\n"
		"kubeproxy_sync_proxy_rules_last_timestamp_seconds %.3f\n"
		"# HELP "
		"kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds "
		"The last time a sync of proxy rules was queued\n"
		"# TYPE "
		"kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds "
		"gauge\n"
		"kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds "
		"%.3f\n",
		m->last_sync, m->last_queued);
	bprintf(&b,
		"# HELP kubeproxy_sync_proxy_rules_endpoint_changes_total "
		"Cumulative proxy rules Endpoint changes\n"
		"# TYPE kubeproxy_sync_proxy_rules_endpoint_changes_total "
		"counter\n"
		"kubeproxy_sync_proxy_rules_endpoint_changes_total %" PRIu64
		"\n"
		"# HELP kubeproxy_sync_proxy_rules_service_changes_total "
		"Cumulative proxy rules Service changes\n"
		"# TYPE kubeproxy_sync_proxy_rules_service_changes_total "
		"counter\n"
		"kubeproxy_sync_proxy_rules_service_changes_total %" PRIu64 "\n"
		"# HELP kubeproxy_sync_proxy_rules_endpoint_changes_pending "
		"Pending proxy rules Endpoint changes\n"
		"# TYPE kubeproxy_sync_proxy_rules_endpoint_changes_pending "
		"gauge\n"
		"kubeproxy_sync_proxy_rules_endpoint_changes_pending %" PRIu64
		"\n"
		"# HELP kubeproxy_sync_proxy_rules_service_changes_pending "
		"Pending proxy rules Service changes\n"
		"# TYPE kubeproxy_sync_proxy_rules_service_changes_pending "
		"gauge\n"
		"kubeproxy_sync_proxy_rules_service_changes_pending %" PRIu64
		"\n",
		m->ep_changes, m->svc_changes, m->ep_pending, m->svc_pending);
	bprintf(&b,
		"# HELP ipvs_svc_virtual_servers Virtual servers programmed\n"
		"# TYPE ipvs_svc_virtual_servers gauge\n"
		"ipvs_svc_virtual_servers %zu\n"
		"# HELP ipvs_svc_real_servers Real servers programmed\n"
		"# TYPE ipvs_svc_real_servers gauge\n"
		"ipvs_svc_real_servers %zu\n"
		"# HELP ipvs_svc_syncs_total Syncs made, full or incremental\n"
		"# TYPE ipvs_svc_syncs_total counter\n"
		"ipvs_svc_syncs_total{kind=\"full\"} %" PRIu64 "\n"
		"ipvs_svc_syncs_total{kind=\"incremental\"} %" PRIu64 "\n"
		"# HELP ipvs_svc_operations_total Kernel operations applied\n"
		"# TYPE ipvs_svc_operations_total counter\n"
		"ipvs_svc_operations_total{result=\"ok\"} %" PRIu64 "\n"
		"ipvs_svc_operations_total{result=\"failed\"} %" PRIu64 "\n"
		"# HELP ipvs_svc_last_sync_netlink_requests Netlink requests "
		"of the last sync\n"
		"# TYPE ipvs_svc_last_sync_netlink_requests gauge\n"
		"ipvs_svc_last_sync_netlink_requests{kind=\"full\"} %" PRIu64
		"\n"
		"ipvs_svc_last_sync_netlink_requests{kind=\"incremental\"} "
		"%" PRIu64 "\n",
		m->vs, m->rs, m->full_syncs, m->syncs - m->full_syncs,
		m->ops - m->failed_ops, m->failed_ops, m->last_full_requests,
		m->last_incr_requests);
	bprintf(&b,
		"# HELP ipvs_svc_last_sync_services Services whose desired "
		"state the last sync built\n"
		"# TYPE ipvs_svc_last_sync_services gauge\n"
		"ipvs_svc_last_sync_services{kind=\"full\"} %" PRIu64 "\n"
		"ipvs_svc_last_sync_services{kind=\"incremental\"} %" PRIu64
		"\n",
		m->last_full_services, m->last_incr_services);
	bprintf(&b, "# HELP kubeproxy_network_programming_duration_seconds "
		    "In Cluster Network Programming Latency in seconds\n"
		    "# TYPE kubeproxy_network_programming_duration_seconds "
		    "histogram\n");
	for (i = 0; i < N_NPD_BUCKETS; i++)
		bprintf(&b,
			"kubeproxy_network_programming_duration_seconds_bucket{"
			"le=\"%g\"} %" PRIu64 "\n",
			npd_le(i), m->npd_buckets[i]);
	bprintf(&b,
		"kubeproxy_network_programming_duration_seconds_bucket{le=\"+"
		"Inf\"} %" PRIu64 "\n"
		"kubeproxy_network_programming_duration_seconds_sum %.6f\n"
		"kubeproxy_network_programming_duration_seconds_count %" PRIu64
		"\n",
		m->npd_count, m->npd_sum, m->npd_count);
	bprintf(&b,
		"# HELP kubeproxy_sync_proxy_rules_no_local_endpoints_total "
		"Number of services with a Local traffic policy and no "
		"endpoints\n"
		"# TYPE kubeproxy_sync_proxy_rules_no_local_endpoints_total "
		"gauge\n"
		"kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_"
		"policy=\"internal\"} %u\n"
		"kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_"
		"policy=\"external\"} %u\n",
		m->no_local_int, m->no_local_ext);
	traffic_metrics(m, &t, &b);
	pthread_mutex_unlock(&m->lock);
	traffic_free(&t);
	if (b.oom) {
		free(b.p);
		return MHD_NO;
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		     b.p, b.len);
}

static struct MHD_Daemon *start_http(const char *what, const char *bind,
				     MHD_AccessHandlerCallback fn, void *cls)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
	int r;

	memset(&ss, 0, sizeof(ss));
	r = run_parse_hostport(bind, &ss);
	if (r < 0) {
		log_err("%s: '%s' is not an address:port", what, bind);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = MHD_start_daemon(flags, 0, NULL, NULL, fn, cls,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			     MHD_OPTION_END);
	if (!h)
		log_err("%s: cannot listen on %s", what, bind);
	else
		log_info("%s on %s", what, bind);
	return h;
}

/* --- the loop -------------------------------------------------------------- */

static int setup_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* 0 go on, 1 stop */
static int read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_notice_msg("SIGHUP: full resync");
			d->full_due = true;
		} else {
			log_notice_msg("%s: stopping, the rules stay in place",
				       strsignal((int)si.ssi_signo));
			return 1;
		}
	}
	return 0;
}

static void watchdog(struct daemon *d, uint64_t now)
{
	if (now - d->last_watchdog_ms >= 1000) {
		sd_notify(0, "WATCHDOG=1");
		d->last_watchdog_ms = now;
	}
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int main_loop(struct daemon *d)
{
	bool synced = false;
	int last_err = 0;
	uint64_t period = d->s.sync_period_ms, minp = d->s.min_sync_period_ms;

	for (;;) {
		struct pollfd p[2];
		uint64_t now = mono_ms();
		int t, r;

		watchdog(d, now);
		graceful_check(d, now);
		if (!synced && ipvssvc_kube_watch_synced(d->watch)) {
			log_info("listed %zu Services, %zu EndpointSlices",
				 ipvssvc_objects_count(d->objs, "Service"),
				 ipvssvc_objects_count(d->objs, "EndpointSlic"
								"e"));
			do_sync(d, true);
			release_memory();
			synced = true;
			sd_notify(0, "READY=1");
			log_notice_msg("ready: %zu virtual servers, %zu real "
				       "servers",
				       d->m.vs, d->m.rs);
		}
		if (synced) {
			/* changes first: a verification due must not delay them */
			if (d->pending && now - d->last_sync_ms >= minp)
				do_sync(d, false);
			now = mono_ms();
			if (d->full_due || now - d->last_full_ms >= period) {
				d->full_due = false;
				do_sync(d, true);
				release_memory();
			}
		}
		now = mono_ms();
		t = ipvssvc_kube_watch_get_timeout(d->watch);
		t = min_timeout(t, 1000);
		if (synced) {
			uint64_t due = d->last_full_ms + period;

			t = min_timeout(t, due > now ? (int)(due - now) : 0);
			if (d->n_drains)
				t = min_timeout(t, 1000);
			if (d->pending) {
				due = d->last_sync_ms + minp;
				t = min_timeout(t, due > now ? (int)(due - now)
							     : 0);
			}
		}
		p[0].fd = ipvssvc_kube_watch_get_fd(d->watch);
		p[0].events = POLLIN;
		p[1].fd = d->sigfd;
		p[1].events = POLLIN;
		r = poll(p, 2, t);
		if (r < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return -errno;
		}
		if (r > 0 && (p[1].revents & POLLIN) && read_signals(d))
			return 0;
		r = ipvssvc_kube_watch_process(d->watch);
		if (r < 0 && r != -EAGAIN && r != last_err)
			/* the rules stay; the watcher retries by itself */
			log_warn("watching the API server: %s", strerror(-r));
		last_err = r < 0 ? r : 0;
	}
}

/* --- options ----------------------------------------------------------- */

static void daemon_free(struct daemon *d)
{
	clear_dirty(d);
	slice_map_free(&d->slices);
	no_local_clear(d);
	free(d->no_local);
	while (d->n_drains)
		drop_drain(d, d->n_drains - 1);
	free(d->drains);
	if (d->healthz)
		MHD_stop_daemon(d->healthz);
	if (d->metricsd)
		MHD_stop_daemon(d->metricsd);
	ipvssvc_kube_watch_free(d->watch);
	ipvssvc_kube_free(d->kube);
	ipvssvc_objects_free(d->objs);
	ipvssvc_state_free(d->programmed);
	ipvssvc_state_free(d->start_record);
	ipvssvc_config_free(d->cfg);
	ipvssvc_ctx_free(d->m.ctx);
	ipvssvc_ctx_free(d->ctx);
	if (d->sigfd >= 0)
		close(d->sigfd);
	pthread_mutex_destroy(&d->m.lock);
	run_settings_done(&d->s);
}

static int connect_api(struct daemon *d)
{
	char *err = NULL;
	const char *node;
	int r;

	r = ipvssvc_kube_new_default(d->o.kubeconfig, d->o.context, d->o.master,
				     &d->kube, &err);
	if (r < 0) {
		log_err("cannot use the API server: %s",
			err ? err : strerror(-r));
		free(err);
		return r;
	}
	ipvssvc_kube_set_diag(d->kube, diag_to_log, NULL);
	node = d->s.hostname;
	if (node && *node)
		ipvssvc_kube_set_node_name(d->kube, node);
	if (d->o.service_proxy_name)
		ipvssvc_kube_set_service_proxy_name(d->kube,
						    d->o.service_proxy_name);
	r = ipvssvc_kube_watch_new(d->kube, d->objs, on_change, d, &d->watch);
	if (r < 0) {
		log_err("cannot watch the API server: %s", strerror(-r));
		return r;
	}
	log_info("API server %s (%s)", ipvssvc_kube_get_server(d->kube),
		 ipvssvc_kube_get_auth_info(d->kube));
	return 0;
}

static int run_main(int argc, char **argv)
{
	struct daemon d;
	char host[256];
	int r, status = EXIT_FAILED;

	memset(&d, 0, sizeof(d));
	d.sigfd = -1;
	pthread_mutex_init(&d.m.lock, NULL);
	r = run_parse_args(argc, argv, &d.s);
	if (r != 0) {
		run_settings_done(&d.s);
		pthread_mutex_destroy(&d.m.lock);
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	log_verbosity = d.s.verbosity;
	d.o.kubeconfig = d.s.kubeconfig;
	d.o.master = d.s.master;
	d.o.scheduler = d.s.scheduler;
	d.o.nodeport_addresses = d.s.nodeport_addresses;
	d.o.exclude_cidrs = d.s.exclude_cidrs;
	d.o.cluster_cidr = d.s.cluster_cidr;
	d.o.masquerade_all = d.s.masquerade_all;
	d.o.service_proxy_name = d.s.service_proxy_name;
	d.o.ifname = d.s.ifname;
	d.o.state_dir = d.s.state_dir;
	d.o.verbosity = d.s.verbosity;
	if (!d.s.hostname && gethostname(host, sizeof(host)) == 0) {
		char *p;

		host[sizeof(host) - 1] = '\0';
		for (p = host; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a'
							   : *p);
		d.s.hostname = d.s.owned_hostname = strdup(host);
	}
	d.o.hostname = d.s.hostname;
	if (make_config(&d.o, &d.cfg) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (d.s.scheduler && !scheduler_available(d.s.scheduler)) {
		log_err("--ipvs-scheduler %s: the kernel has no module "
			"ip_vs_%s; install it or choose another scheduler",
			d.s.scheduler, d.s.scheduler);
		status = EXIT_USAGE;
		goto out;
	}
	/* one daemon per interface: a second would undo the first's work */
	if (lock_instance(d.o.state_dir, d.o.ifname, "run") == -EBUSY)
		goto out;
	if (open_kernel(&d.ctx) < 0)
		goto out;
	/* a second context: scrapes run in the HTTP thread */
	if (ipvssvc_ctx_new(&d.m.ctx) < 0)
		d.m.ctx = NULL;
	d.m.ifname = d.o.ifname;
	d.m.traffic = d.s.traffic_metrics;
	d.m.programmed = &d.programmed;
	d.m.health_timeout_ms = 2 * d.s.sync_period_ms;
	kernel_settings(&d);
	if (record_read(&d.o, &d.start_record) < 0)
		goto out;
	if (ipvssvc_objects_new(&d.objs) < 0) {
		log_err("out of memory");
		goto out;
	}
	/* the daemon counts the model's reports of conflicts */
	ipvssvc_objects_set_diag(d.objs, objs_diag, &d);
	d.sigfd = setup_signals();
	if (d.sigfd < 0) {
		log_err("cannot set up signals: %s", strerror(-d.sigfd));
		goto out;
	}
	if (d.s.healthz_bind && *d.s.healthz_bind) {
		d.healthz = start_http("healthz", d.s.healthz_bind,
				       healthz_handler, &d.m);
		if (!d.healthz)
			goto out;
	}
	if (d.s.metrics_bind && *d.s.metrics_bind) {
		d.metricsd = start_http("metrics", d.s.metrics_bind,
					metrics_handler, &d.m);
		if (!d.metricsd)
			goto out;
	}
	if (connect_api(&d) < 0)
		goto out;
	/* until the first sync, a stuck list counts as a pending update */
	d.m.queued_mono = mono_ms();
	sd_notify(0, "STATUS=listing from the API server");
	r = main_loop(&d);
	sd_notify(0, "STOPPING=1");
	status = r < 0 ? EXIT_FAILED : EXIT_OK;
out:
	daemon_free(&d);
	return status;
}

const struct command cmd_run = {
	.name = "run",
	.summary = "the node daemon: watch the API server, keep IPVS in sync",
	.usage = "[OPTIONS]",
	.help = "",
	.main = run_main,
};
