/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cleanup: remove every virtual server and address ipvs-svc owns, and
 * its dummy interface; nothing else.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs-svc.h"
#include "lock.h"

/* Recorded NodePorts still in the kernel after the removals. */
static void update_record(const struct options *o,
			  const ipvssvc_state *recorded,
			  const ipvssvc_state *current,
			  const ipvssvc_plan *plan,
			  const struct apply_result *res)
{
	ipvssvc_state *rec, *deleted;
	size_t i, n;

	if (ipvssvc_state_new(&rec) < 0 || ipvssvc_state_new(&deleted) < 0) {
		ipvssvc_state_free(rec);
		log_err("out of memory");
		return;
	}
	n = ipvssvc_plan_count(plan);
	for (i = 0; i < n; i++)
		if (ipvssvc_plan_op(plan, i) == IPVSSVC_OP_SVC_DEL &&
		    res->results && res->results[i] == 0)
			ipvssvc_state_add_service(
				deleted, ipvssvc_plan_op_service(plan, i));
	n = ipvssvc_state_service_count(recorded);
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(recorded, i);

		if (ipvssvc_state_find(current, svc) &&
		    !ipvssvc_state_find(deleted, svc))
			ipvssvc_state_add_service(rec, svc);
	}
	record_write(o, rec);
	ipvssvc_state_free(deleted);
	ipvssvc_state_free(rec);
}

static int run_cleanup(const struct options *o)
{
	struct apply_result res = {0, NULL};
	ipvssvc_ctx *ctx = NULL;
	ipvssvc_config *cfg = NULL;
	ipvssvc_objects *objs = NULL;
	ipvssvc_state *desired = NULL, *current = NULL, *recorded = NULL;
	ipvssvc_plan *plan = NULL;
	size_t i, n;
	int r, ret = EXIT_FAILED;

	if (make_config(o, &cfg) < 0 ||
	    (have_source(o) && load_objects(o, &objs) < 0)) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (open_kernel(&ctx) < 0)
		goto out;
	if (objs) {
		add_node_addrs(ctx, o, cfg);
		if (build_desired(objs, cfg, &desired) < 0)
			goto out;
	}
	if (!o->dry_run)
		if (lock_instance(o->state_dir, o->ifname, "cleanup") == -EBUSY)
			goto out;
	if (read_current(ctx, o, &current) < 0)
		goto out;
	if (record_read(o, &recorded) < 0)
		goto out;
	/* NodePorts of the given Services are ours even if not recorded */
	record_add_nodeports(recorded, desired);
	r = ipvssvc_plan_cleanup(current, recorded, cfg, &plan);
	if (r < 0) {
		log_err("cannot plan the cleanup: %s", strerror(-r));
		goto out;
	}
	n = ipvssvc_plan_count(plan);
	if (o->dry_run) {
		if (o->json) {
			printf("{\"command\":\"cleanup\",\"dry_run\":true,"
			       "\"count\":%zu,\"operations\":[",
			       n);
			for (i = 0; i < n; i++) {
				printf("%s\n  ", i ? "," : "");
				json_plan_op(stdout, plan, i, 0, false);
			}
			printf("%s]}\n", n ? "\n" : "");
		} else {
			for (i = 0; i < n; i++) {
				char line[512];

				printf("%s\n",
				       ipvssvc_plan_format_op(plan, i, line,
							      sizeof(line)));
			}
			printf("delete table inet %s (when present)\n",
			       IPVSSVC_NFT_TABLE);
			printf("dry run: %zu operations planned, nothing "
			       "changed\n",
			       n);
		}
		ret = EXIT_OK;
		goto out;
	}
	if (apply_plan(ctx, plan, "cleanup", &res) < 0)
		goto out;
	update_record(o, recorded, current, plan, &res);
	if (nft_cleanup(false) < 0)
		res.failed++;
	if (o->json) {
		printf("{\"command\":\"cleanup\",\"dry_run\":false,"
		       "\"count\":%zu,\"failed\":%zu,\"operations\":[",
		       n, res.failed);
		for (i = 0; i < n; i++) {
			printf("%s\n  ", i ? "," : "");
			json_plan_op(stdout, plan, i,
				     res.results ? res.results[i] : 0, true);
		}
		printf("%s]}\n", n ? "\n" : "");
	} else {
		printf("cleanup: %zu operations, %zu failed\n", n, res.failed);
	}
	ret = res.failed ? EXIT_FAILED : EXIT_OK;
out:
	free(res.results);
	ipvssvc_plan_free(plan);
	ipvssvc_state_free(recorded);
	ipvssvc_state_free(current);
	ipvssvc_state_free(desired);
	ipvssvc_objects_free(objs);
	ipvssvc_config_free(cfg);
	ipvssvc_ctx_free(ctx);
	return ret;
}

const struct command cmd_cleanup = {
	.name = "cleanup",
	.flags = OPT_SOURCES | OPT_DRY_RUN | OPT_OUTPUT,
	.summary = "remove everything ipvs-svc made, and nothing else",
	.usage = "[OPTIONS]",
	.help = "Removes the virtual servers on the dummy interface's\n"
		"addresses, the NodePorts ipvs-svc recorded (and, with\n"
		"--manifests, those of the given Services), the addresses and\n"
		"the dummy interface. Other programs' rules and anything in\n"
		"--ipvs-exclude-cidrs stay.\n"
		"Exit status: 0 done, 1 an operation failed, 2 bad usage.",
	.run = run_cleanup,
};
