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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	if (r < 0)
		goto out;
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

int main(int argc, char **argv)
{
	const char *node_ip = "192.168.50.10";
	struct ipvssvc_ip ip;
	ipvssvc_config *cfg;
	int c, repeats = 3, i, k, failed = 0;

	while ((c = getopt(argc, argv, "r:N:h")) != -1) {
		switch (c) {
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'N':
			node_ip = optarg;
			break;
		default:
			fprintf(stderr, "usage: model-bench [-r R] [-N "
					"NODE_IP] "
					"FILE...\n");
			return c == 'h' ? 0 : 2;
		}
	}
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
	printf("%-28s %8s %8s %8s %8s %10s %10s %10s %10s %10s %8s\n", "file",
	       "services", "vs", "ops_cold", "ops_2nd", "decode_ms", "model_ms",
	       "plancold_ms", "plan2nd_ms", "total_ms", "hwm_mb");
	for (i = optind; i < argc; i++) {
		double best[PH_N], t[PH_N], total = 0;
		size_t svcs = 0, vs = 0, cold = 0, second = 0, len;
		const char *base = strrchr(argv[i], '/');
		char *data;

		if (read_all(argv[i], &data, &len) < 0) {
			failed++;
			continue;
		}
		for (k = 0; k < PH_N; k++)
			best[k] = 1e30;
		for (c = 0; c < repeats; c++) {
			if (one_run(data, len, argv[i], cfg, t, &svcs, &vs,
				    &cold, &second) < 0) {
				failed++;
				break;
			}
			for (k = 0; k < PH_N; k++)
				if (t[k] < best[k])
					best[k] = t[k];
		}
		free(data);
		if (c < repeats)
			continue;
		for (k = 0; k < PH_N; k++)
			total += best[k];
		printf("%-28s %8zu %8zu %8zu %8zu %10.1f %10.1f %10.1f %10.1f "
		       "%10.1f %8.1f\n",
		       base ? base + 1 : argv[i], svcs, vs, cold, second,
		       best[PH_DECODE] * 1e3, best[PH_MODEL] * 1e3,
		       best[PH_PLAN_COLD] * 1e3, best[PH_PLAN_SECOND] * 1e3,
		       total * 1e3, (double)hwm_kb() / 1024.0);
		fflush(stdout);
	}
	ipvssvc_config_free(cfg);
	return failed ? 1 : 0;
}
