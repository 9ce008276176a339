/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon-bench-cpu: the CPU cost of the daemon's incremental path, no
 * kernel: load MANIFESTS (bench/gen-services -j), build the whole model
 * once (what the daemon has programmed), then K times change one
 * Service's EndpointSlice (one endpoint more) and do what the daemon
 * does: build that Service, take its part out of the programmed state,
 * plan, put it back. Prints the median and maximum of each, and of a
 * whole rebuild and plan for comparison. Times are CPU time of the
 * thread (CLOCK_THREAD_CPUTIME_ID): a loaded machine does not inflate them.
 * After each change it also builds the nftables table from the programmed
 * state and works out the set elements that differ from the last one,
 * which is what the daemon sends (ipvssvc_nft_update()).
 *
 *   daemon-bench-cpu MANIFESTS [K [M]]   (M: endpoints per Service, 10)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipvs-svc/ipvs-svc.h>

#include "internal.h" /* ipvssvc_nft_update_script() */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dcmp);
	printf("%-28s median %9.1f us   max %9.1f us\n", what, v[n / 2],
	       v[n - 1]);
}

int main(int argc, char **argv)
{
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *programmed, *whole;
	ipvssvc_plan *plan;
	struct ipvssvc_ip node;
	size_t k, n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20, nsvc;
	size_t m = argc > 3 ? strtoul(argv[3], NULL, 10) : 10;
	/* IPVSSVC_BENCH_SCAN=1: take by scanning, as after a Service change */
	bool scan = getenv("IPVSSVC_BENCH_SCAN") != NULL;
	double *t_model, *t_take, *t_plan, *t_put, *t_total, t0, t1;
	double *t_nft, *t_nft_diff, w_model, w_plan;
	ipvssvc_nft *nft, *last_nft = NULL;

	if (argc < 2 || !n) {
		fprintf(stderr, "usage: daemon-bench-cpu MANIFESTS [K]\n");
		return 2;
	}
	if (ipvssvc_objects_new(&objs) < 0 || ipvssvc_config_new(&cfg) < 0 ||
	    ipvssvc_config_set_node_name(cfg, "node-1") < 0 ||
	    ipvssvc_ip_parse("192.168.50.10", &node) < 0 ||
	    ipvssvc_config_add_node_addr(cfg, &node) < 0 ||
	    ipvssvc_objects_load_path(objs, argv[1]) < 0) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	nsvc = ipvssvc_objects_count(objs, "Service");
	if (ipvssvc_model_build(objs, cfg, &programmed) < 0)
		return 1;
	t_model = calloc(n, sizeof(double));
	t_take = calloc(n, sizeof(double));
	t_plan = calloc(n, sizeof(double));
	t_put = calloc(n, sizeof(double));
	t_total = calloc(n, sizeof(double));
	t_nft = calloc(n, sizeof(double));
	t_nft_diff = calloc(n, sizeof(double));
	if (!t_model || !t_take || !t_plan || !t_put || !t_total || !t_nft ||
	    !t_nft_diff)
		return 1;
	for (k = 0; k < n; k++) {
		char name[32], ns[32], json[16384], eps[12288];
		size_t j, elen = 0;
		const char *nss[1] = {ns}, *names[1] = {name};
		unsigned long i = (k * 7919 + 1) % nsvc;
		ipvssvc_state *part, *old;
		int len;

		/* Service i's slice (as gen-services) and one endpoint more */
		for (j = 0; j <= m && elen < sizeof(eps) - 128; j++) {
			uint32_t a = 0x0af40000u + 16 + (uint32_t)(i * m + j);

			if (j == m)
				a = 0x0afa0000u + (uint32_t)k; /* 10.250/16 */
			elen += (size_t)snprintf(eps + elen, sizeof(eps) - elen,
						 "%s{\"addresses\": "
						 "[\"%u.%u.%u.%u\"], "
						 "\"conditions\": {\"ready\": "
						 "true}, "
						 "\"nodeName\": \"node-1\"}",
						 j ? ", " : "", a >> 24,
						 (a >> 16) & 255,
						 (a >> 8) & 255, a & 255);
		}
		snprintf(name, sizeof(name), "svc-%lu", i);
		snprintf(ns, sizeof(ns), "bench-%lu", i % 10);
		len = snprintf(json, sizeof(json),
			       "{\"apiVersion\": \"discovery.k8s.io/v1\", "
			       "\"kind\": "
			       "\"EndpointSlice\", \"metadata\": {\"name\": "
			       "\"svc-%lu-a\", \"namespace\": \"%s\", "
			       "\"labels\": "
			       "{\"kubernetes.io/service-name\": \"%s\"}}, "
			       "\"addressType\": \"IPv4\", \"endpoints\": "
			       "[%s], "
			       "\"ports\": [{\"name\": \"p\", \"port\": 8080, "
			       "\"protocol\": \"%s\"}]}",
			       i, ns, name, eps, i % 4 == 3 ? "UDP" : "TCP");
		if (ipvssvc_objects_upsert_json(objs, json, (size_t)len) < 0)
			return 1;
		t0 = now_us();
		if (ipvssvc_model_build_services(objs, cfg, nss, names, 1, NULL,
						 NULL, &part) < 0)
			return 1;
		t1 = now_us();
		t_model[k] = t1 - t0;
		/* only endpoints changed: by key (as the daemon does) */
		if (ipvssvc_state_take_services(programmed, nss, names, 1,
						scan ? NULL : part, &old) < 0)
			return 1;
		t_take[k] = now_us() - t1;
		t1 = now_us();
		if (ipvssvc_plan_build_part(part, old, programmed, cfg, &plan) <
		    0)
			return 1;
		t_plan[k] = now_us() - t1;
		t1 = now_us();
		if (ipvssvc_state_put_services(programmed, part, old) < 0)
			return 1;
		t_put[k] = now_us() - t1;
		t_total[k] = now_us() - t0;
		if (k == 0)
			printf("one change: %zu operations\n",
			       ipvssvc_plan_count(plan));
		ipvssvc_plan_free(plan);
		ipvssvc_state_free(part);
		ipvssvc_state_free(old);

		t0 = now_us();
		if (ipvssvc_nft_build(programmed, objs, cfg, 0, &nft) < 0)
			return 1;
		t1 = now_us();
		t_nft[k] = t1 - t0;
		if (last_nft) {
			char *script;
			size_t changed;

			if (ipvssvc_nft_update_script(last_nft, nft, &script,
						      &changed) < 0)
				return 1;
			t_nft_diff[k - 1] = now_us() - t1;
			if (k == 1)
				printf("one change: %zu nftables elements\n",
				       changed);
			free(script);
		}
		ipvssvc_nft_free(last_nft);
		last_nft = nft;
	}
	t0 = now_us();
	if (ipvssvc_model_build(objs, cfg, &whole) < 0)
		return 1;
	w_model = now_us() - t0;
	t0 = now_us();
	if (ipvssvc_plan_build(whole, programmed, NULL, cfg, &plan) < 0)
		return 1;
	w_plan = now_us() - t0;
	printf("%zu Services, %zu virtual servers; %zu changes\n", nsvc,
	       ipvssvc_state_service_count(programmed), n);
	report("build one Service", t_model, n);
	report("take its part", t_take, n);
	report("plan the part", t_plan, n);
	report("put it back", t_put, n);
	report("incremental, in all", t_total, n);
	report("nftables: build the table", t_nft, n);
	if (n > 1)
		report("nftables: elements changed", t_nft_diff, n - 1);
	printf("%-28s %9.1f us\n", "whole model (before)", w_model);
	printf("%-28s %9.1f us (%zu operations: must be 0)\n",
	       "whole plan (before)", w_plan, ipvssvc_plan_count(plan));
	ipvssvc_nft_free(last_nft);
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(whole);
	ipvssvc_state_free(programmed);
	ipvssvc_config_free(cfg);
	ipvssvc_objects_free(objs);
	free(t_model);
	free(t_take);
	free(t_plan);
	free(t_put);
	free(t_nft);
	free(t_nft_diff);
	free(t_total);
	return 0;
}
