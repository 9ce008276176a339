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
#include "run.h"

#define log_notice_msg(...) log_msg(IPVSSVC_LOG_NOTICE, __VA_ARGS__)

/* kube-proxy's buckets: 1 ms doubling, 15 of them. */
#define N_BUCKETS 15

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
	/* healthz: monotonic ms; queued 0 when nothing pending */
	uint64_t queued_mono, updated_mono;
	uint64_t health_timeout_ms;
	ipvssvc_ctx *ctx; /* the scrape's own kernel context */
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
	uint64_t last_sync_ms, last_full_ms, last_watchdog_ms;
	int sigfd;
	struct MHD_Daemon *healthz, *metricsd;
	struct metrics m;
};

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
			     const ipvssvc_state *base, bool from_kernel)
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
		i++;
	}
}

/* --- syncing ----------------------------------------------------------------
 */

static bool on_dummy(const ipvssvc_state *st, const ipvssvc_service *svc)
{
	struct ipvssvc_ip ip;

	if (ipvssvc_service_get_fwmark(svc))
		return false;
	ipvssvc_service_get_addr(svc, &ip);
	return state_has_addr(st, &ip);
}

/* The virtual servers of st outside the dummy interface: our NodePorts. */
static void add_outside(ipvssvc_state *rec, const ipvssvc_state *st)
{
	size_t i, n;

	if (!st)
		return;
	n = ipvssvc_state_service_count(st);
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(st, i);

		if (!on_dummy(st, svc) && !ipvssvc_state_find(rec, svc))
			ipvssvc_state_add_service(rec, svc);
	}
}

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

/*
 * One sync. full: read the kernel and repair what differs; else plan
 * against what was programmed last, so that only what changed is done.
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
	/* the node's addresses may have changed: NodePorts follow them */
	if (full) {
		ipvssvc_config_clear_node_addrs(d->cfg);
		add_node_addrs(d->ctx, &d->o, d->cfg);
	}
	r = ipvssvc_model_build(d->objs, d->cfg, &desired);
	if (r < 0) {
		log_err("cannot build the desired state: %s", strerror(-r));
		return r;
	}
	if (full) {
		r = ipvssvc_state_read(d->ctx, d->o.ifname, &current);
		if (r < 0) {
			log_err("cannot read the kernel's IPVS rules: %s",
				strerror(-r));
			goto out;
		}
	}
	graceful_prepare(d, desired, full ? current : d->programmed, full);
	r = ipvssvc_state_new(&rec);
	if (r < 0)
		goto out;
	add_outside(rec, d->start_record);
	add_outside(rec, d->programmed);
	r = ipvssvc_plan_build(desired, full ? current : d->programmed, rec,
			       d->cfg, &plan);
	if (r < 0) {
		log_err("cannot plan the changes: %s", strerror(-r));
		goto out;
	}
	n = ipvssvc_plan_count(plan);
	if (n) {
		r = apply_plan(d->ctx, plan, full ? "verify" : "sync", &res);
		if (r < 0)
			goto out;
	}
	if (full && n)
		log_notice_msg("repaired %zu differences with the kernel "
			       "(%zu failed)",
			       n, res.failed);
	else
		log_info("%s sync: %zu operations, %zu failed",
			 full ? "full" : "incremental", n, res.failed);
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
			add_outside(rec, desired);
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
	if (strcmp(kind, "Node") == 0) {
		/* topology labels: a full model rebuild covers them */
		d->pending = true;
		return;
	}
	d->pending = true;
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

static void traffic_metrics(struct metrics *m, struct buf *b)
{
	ipvssvc_state *st;
	size_t i, j, n;
	static const char *const names[] = {"connections", "packets_in",
					    "packets_out", "bytes_in",
					    "bytes_out"};
	int k;

	if (!m->ctx || ipvssvc_state_read(m->ctx, m->ifname, &st) < 0)
		return;
	n = ipvssvc_state_service_count(st);
	for (k = 0; k < 5; k++) {
		bprintf(b,
			"# HELP ipvs_svc_virtual_server_%s_total IPVS %s of "
			"a virtual server.\n"
			"# TYPE ipvs_svc_virtual_server_%s_total counter\n",
			names[k], names[k], names[k]);
		for (i = 0; i < n; i++) {
			const ipvssvc_service *svc =
				ipvssvc_state_service(st, i);
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
	for (k = 0; k < 5; k++) {
		bprintf(b,
			"# HELP ipvs_svc_real_server_%s_total IPVS %s of a "
			"real server.\n"
			"# TYPE ipvs_svc_real_server_%s_total counter\n",
			names[k], names[k], names[k]);
		for (i = 0; i < n; i++) {
			const ipvssvc_service *svc =
				ipvssvc_state_service(st, i);
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
	ipvssvc_state_free(st);
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c,
				       const char *url, const char *method,
				       const char *version,
				       const char *upload_data,
				       size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct buf b = {NULL, 0, 0, false};
	double le = 0.001;
	int i;

	if (strcmp(url, "/metrics") != 0) {
		char *body = strdup("404 page not found\n");

		return body ? reply(c, MHD_HTTP_NOT_FOUND, "text/plain", body,
				    strlen(body))
			    : MHD_NO;
	}
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
	traffic_metrics(m, &b);
	pthread_mutex_unlock(&m->lock);
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
			synced = true;
			sd_notify(0, "READY=1");
			log_notice_msg("ready: %zu virtual servers, %zu real "
				       "servers",
				       d->m.vs, d->m.rs);
		}
		if (synced) {
			if (d->full_due || now - d->last_full_ms >= period) {
				d->full_due = false;
				do_sync(d, true);
			} else if (d->pending &&
				   now - d->last_sync_ms >= minp) {
				do_sync(d, false);
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
	if (open_kernel(&d.ctx) < 0)
		goto out;
	/* a second context: scrapes run in the HTTP thread */
	if (ipvssvc_ctx_new(&d.m.ctx) < 0)
		d.m.ctx = NULL;
	d.m.ifname = d.o.ifname;
	d.m.programmed = &d.programmed;
	d.m.health_timeout_ms = 2 * d.s.sync_period_ms;
	kernel_settings(&d);
	if (record_read(&d.o, &d.start_record) < 0)
		goto out;
	if (ipvssvc_objects_new(&d.objs) < 0) {
		log_err("out of memory");
		goto out;
	}
	ipvssvc_objects_set_diag(d.objs, diag_to_log, NULL);
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
