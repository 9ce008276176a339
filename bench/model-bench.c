/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * model-bench: the user-space half of a sync, outside any kernel. For
 * each manifests file (from gen-services): decode it, build the desired
 * state, plan a cold sync (against an empty kernel) and a second sync
 * (against the desired state itself: zero operations). Each phase is
 * timed in process CPU time (CLOCK_PROCESS_CPUTIME_ID: on a shared
 * machine, wall time measures the other tenants) and reported as the
 * best of R runs, since noise only ever adds time.
 *
 *   model-bench [-r R] [-N NODE_IP] FILE...
 *
 * The decoded objects are freed once the desired state is built, as
 * sync --once does, so that the peak RSS is the command's.
 *
 *   model-bench -k rules|full [-r R]
 *
 * reads the kernel's IPVS table instead (this network namespace), with
 * ipvssvc_state_read_rules() (real servers from /proc/net/ip_vs) or
 * ipvssvc_state_read() (a netlink dump per virtual server): the read
 * alone, without start-up, decoding or planning.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipvs-svc/ipvs-svc.h>

enum { PH_DECODE, PH_MODEL, PH_PLAN_COLD, PH_PLAN_SECOND, PH_N };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int read_all(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			free(buf);
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*ret = buf;
	*ret_len = got;
	return 0;
fail:
	fprintf(stderr, "model-bench: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One pass over the pipeline; t[] gets each phase's seconds. */
static long hwm_kb(void);
/* VmHWM once the desired state is built (the first run's) */
static long model_hwm_kb = -1;

static int one_run(const char *data, size_t len, const char *name,
		   const ipvssvc_config *cfg, double t[PH_N], size_t *ret_svcs,
		   size_t *ret_vs, size_t *ret_ops_cold, size_t *ret_ops_second)
{
	ipvssvc_objects *objs = NULL;
	ipvssvc_state *desired = NULL, *empty = NULL;
	ipvssvc_plan *plan = NULL;
	double t0;
	int r;

	t0 = now();
	r = ipvssvc_objects_new(&objs);
	if (r == 0)
		r = ipvssvc_objects_load_buffer(objs, data, len, name);
	t[PH_DECODE] = now() - t0;
	if (r < 0)
		goto out;
	*ret_svcs = ipvssvc_objects_count(objs, "Service");

	t0 = now();
	r = ipvssvc_model_build(objs, cfg, &desired);
	t[PH_MODEL] = now() - t0;
	ipvssvc_objects_free(objs);
	objs = NULL;
	if (r < 0)
		goto out;
	if (model_hwm_kb < 0)
		model_hwm_kb = hwm_kb();
	*ret_vs = ipvssvc_state_service_count(desired);

	r = ipvssvc_state_new(&empty);
	if (r < 0)
		goto out;
	t0 = now();
	r = ipvssvc_plan_build(desired, empty, NULL, cfg, &plan);
	t[PH_PLAN_COLD] = now() - t0;
	if (r < 0)
		goto out;
	*ret_ops_cold = ipvssvc_plan_count(plan);
	ipvssvc_plan_free(plan);
	plan = NULL;

	t0 = now();
	r = ipvssvc_plan_build(desired, desired, NULL, cfg, &plan);
	t[PH_PLAN_SECOND] = now() - t0;
	if (r < 0)
		goto out;
	*ret_ops_second = ipvssvc_plan_count(plan);
out:
	if (r < 0)
		fprintf(stderr, "model-bench: %s: %s\n", name, strerror(-r));
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(empty);
	ipvssvc_state_free(desired);
	ipvssvc_objects_free(objs);
	return r;
}

/* -k: read the kernel R times; the best time and the requests of one. */
static int read_kernel(const char *how, int repeats)
{
	double best = 1e30, t0;
	uint64_t req = 0;
	size_t vs = 0, rs = 0, i;
	ipvssvc_ctx *ctx;
	int k, r;

	if (strcmp(how, "rules") != 0 && strcmp(how, "full") != 0) {
		fprintf(stderr, "model-bench: -k rules or -k full\n");
		return 2;
	}
	r = ipvssvc_ctx_new(&ctx);
	if (r < 0) {
		fprintf(stderr, "model-bench: no IPVS: %s\n", strerror(-r));
		return 1;
	}
	for (k = 0; k < repeats; k++) {
		uint64_t before = ipvssvc_ctx_requests(ctx);
		ipvssvc_state *st;

		t0 = now();
		r = strcmp(how, "rules") == 0
			    ? ipvssvc_state_read_rules(ctx, NULL, NULL, &st)
			    : ipvssvc_state_read(ctx, NULL, &st);
		t0 = now() - t0;
		if (r < 0) {
			fprintf(stderr, "model-bench: read: %s\n",
				strerror(-r));
			ipvssvc_ctx_free(ctx);
			return 1;
		}
		req = ipvssvc_ctx_requests(ctx) - before;
		if (t0 < best)
			best = t0;
		vs = ipvssvc_state_service_count(st);
		for (i = 0, rs = 0; i < vs; i++)
			rs += ipvssvc_service_get_dest_count(
				ipvssvc_state_service(st, i));
		ipvssvc_state_free(st);
	}
	ipvssvc_ctx_free(ctx);
	printf("read %s: %zu virtual servers, %zu real servers, %" PRIu64
	       " requests, %.1f ms (process CPU, best of %d)\n",
	       how, vs, rs, req, best * 1e3, repeats);
	return 0;
}

static long hwm_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/*
 * One file, best of R runs. Each file runs in a process of its own, so
 * that a larger file does not inherit a smaller one's heap (its holes
 * and its already-touched pages) and VmHWM is the file's own.
 */
static int bench_file(const char *path, const ipvssvc_config *cfg, int repeats)
{
	double best[PH_N], t[PH_N], total = 0;
	int c, k, failed = 0;
	size_t svcs = 0, vs = 0, cold = 0, second = 0, len;
	const char *base = strrchr(path, '/');
	char *data;

	if (read_all(path, &data, &len) < 0)
		return 1;
	for (k = 0; k < PH_N; k++)
		best[k] = 1e30;
	for (c = 0; c < repeats; c++) {
		if (one_run(data, len, path, cfg, t, &svcs, &vs, &cold,
			    &second) < 0) {
			failed = 1;
			break;
		}
		for (k = 0; k < PH_N; k++)
			if (t[k] < best[k])
				best[k] = t[k];
	}
	free(data);
	if (c < repeats)
		return 1;
	for (k = 0; k < PH_N; k++)
		total += best[k];
	printf("%-28s %8zu %8zu %8zu %8zu %10.1f %10.1f %10.1f %10.1f %10.1f "
	       "%10.1f %8.1f %12.1f\n",
	       base ? base + 1 : path, svcs, vs, cold, second,
	       best[PH_DECODE] * 1e3, best[PH_MODEL] * 1e3,
	       (best[PH_DECODE] + best[PH_MODEL]) * 1e3,
	       best[PH_PLAN_COLD] * 1e3, best[PH_PLAN_SECOND] * 1e3,
	       total * 1e3, (double)hwm_kb() / 1024.0,
	       (double)model_hwm_kb / 1024.0);
	fflush(stdout);
	return failed;
}

int main(int argc, char **argv)
{
	const char *node_ip = "192.168.50.10";
	struct ipvssvc_ip ip;
	ipvssvc_config *cfg;
	const char *kernel = NULL;
	int c, repeats = 3, i, failed = 0;

	while ((c = getopt(argc, argv, "r:N:k:h")) != -1) {
		switch (c) {
		case 'k':
			kernel = optarg;
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'N':
			node_ip = optarg;
			break;
		default:
			fprintf(stderr, "usage: model-bench [-r R] [-N "
					"NODE_IP] FILE...\n"
					"       model-bench -k rules|full "
					"[-r R]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (kernel && repeats >= 1)
		return read_kernel(kernel, repeats);
	if (optind >= argc || repeats < 1 ||
	    ipvssvc_ip_parse(node_ip, &ip) < 0) {
		fprintf(stderr, "model-bench: give manifests files (and a "
				"valid -N address, -r of 1 or more)\n");
		return 2;
	}
	if (ipvssvc_config_new(&cfg) < 0 ||
	    ipvssvc_config_set_node_name(cfg, "node-1") < 0 ||
	    ipvssvc_config_add_node_addr(cfg, &ip) < 0) {
		fprintf(stderr, "model-bench: out of memory\n");
		return 1;
	}
	printf("%-28s %8s %8s %8s %8s %10s %10s %10s %10s %10s %10s %8s "
	       "%12s\n",
	       "file", "services", "vs", "ops_cold", "ops_2nd", "decode_ms",
	       "model_ms", "build_ms", "plancold_ms", "plan2nd_ms", "total_ms",
	       "hwm_mb", "model_hwm_mb");
	fflush(stdout);
	for (i = optind; i < argc; i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0)
			_exit(bench_file(argv[i], cfg, repeats) ? 1 : 0);
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed++;
	}
	ipvssvc_config_free(cfg);
	return failed ? 1 : 0;
}
