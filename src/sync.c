/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync --once: make the kernel match the manifests; diff: show what a
 * sync would change, by Service.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs-svc.h"
#include "lock.h"

/* Everything a sync or a diff works from. */
struct job {
	ipvssvc_ctx *ctx;
	ipvssvc_config *cfg;
	ipvssvc_state *desired, *current, *recorded;
	ipvssvc_plan *plan;
	ipvssvc_nft *nft; /* the nftables table around IPVS */
};

static void job_done(struct job *j)
{
	ipvssvc_nft_free(j->nft);
	ipvssvc_plan_free(j->plan);
	ipvssvc_state_free(j->recorded);
	ipvssvc_state_free(j->current);
	ipvssvc_state_free(j->desired);
	ipvssvc_config_free(j->cfg);
	ipvssvc_ctx_free(j->ctx);
}

/*
 * Read everything and plan. Returns 0 or the exit status for an error:
 * fail_status for the kernel, EXIT_USAGE for bad options or input.
 */
static int job_plan(struct job *j, const struct options *o, const char *cmd,
		    int fail_status)
{
	ipvssvc_objects *objs = NULL;
	int r;

	memset(j, 0, sizeof(*j));
	if (o->manifests && (o->kubeconfig || o->master)) {
		log_err("%s takes --manifests or --kubeconfig/--master, not "
			"both",
			cmd);
		return EXIT_USAGE;
	}
	/* input first: bad options and manifests are found without a kernel */
	if (make_config(o, &j->cfg) < 0)
		return EXIT_USAGE;
	r = load_objects(o, &objs);
	if (r < 0)
		return r == -ENOMEM ? fail_status : EXIT_USAGE;
	if (open_kernel(&j->ctx) < 0) {
		ipvssvc_objects_free(objs);
		return fail_status;
	}
	add_node_addrs(j->ctx, o, j->cfg);
	r = build_desired(objs, j->cfg, &j->desired);
	/* the table reads traffic policies and source ranges from objs */
	if (r == 0 && nft_build(j->desired, objs, j->cfg, o, &j->nft) < 0)
		r = -ENOMEM;
	ipvssvc_objects_free(objs);
	if (r < 0)
		return r == -ENOMEM ? fail_status : EXIT_USAGE;
	if (read_current_rules(j->ctx, o, j->desired, &j->current) < 0)
		return fail_status;
	if (record_read(o, &j->recorded) < 0) {
		log_err("out of memory");
		return fail_status;
	}
	r = ipvssvc_plan_build(j->desired, j->current, j->recorded, j->cfg,
			       &j->plan);
	if (r < 0) {
		log_err("cannot plan the changes: %s", strerror(-r));
		return fail_status;
	}
	log_info("plan: %zu operations", ipvssvc_plan_count(j->plan));
	return 0;
}

/*
 * The new NodePort record: the desired virtual servers outside the dummy
 * interface, and those recorded before that are still in the kernel
 * because their removal failed or was not tried.
 */
static void update_record(const struct options *o, const struct job *j,
			  const struct apply_result *res)
{
	ipvssvc_state *rec, *deleted;
	size_t i, n;

	if (ipvssvc_state_new(&rec) < 0 || ipvssvc_state_new(&deleted) < 0) {
		ipvssvc_state_free(rec);
		log_err("out of memory");
		return;
	}
	record_add_nodeports(rec, j->desired);
	n = ipvssvc_plan_count(j->plan);
	for (i = 0; i < n; i++)
		if (ipvssvc_plan_op(j->plan, i) == IPVSSVC_OP_SVC_DEL &&
		    res->results && res->results[i] == 0)
			ipvssvc_state_add_service(
				deleted, ipvssvc_plan_op_service(j->plan, i));
	n = ipvssvc_state_service_count(j->recorded);
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc =
			ipvssvc_state_service(j->recorded, i);

		if (ipvssvc_state_find(j->current, svc) &&
		    !ipvssvc_state_find(deleted, svc) &&
		    !ipvssvc_state_find(rec, svc))
			ipvssvc_state_add_service(rec, svc);
	}
	record_write(o, rec);
	ipvssvc_state_free(deleted);
	ipvssvc_state_free(rec);
}

/*
 * Before any write: the record as it is plus every NodePort the plan may
 * make. A run killed midway leaves no virtual server that no record
 * names (nothing would ever remove it); update_record trims it after.
 */
static void record_intent(const struct options *o, const struct job *j)
{
	ipvssvc_state *rec;

	if (ipvssvc_state_new(&rec) < 0)
		return;
	record_add_nodeports(rec, j->desired);
	/* a record has no addresses: all of it */
	record_add_nodeports(rec, j->recorded);
	record_write(o, rec);
	ipvssvc_state_free(rec);
}

static void print_plan_text(const ipvssvc_plan *plan, FILE *f)
{
	size_t i, n = ipvssvc_plan_count(plan);
	char line[512], label[256];

	for (i = 0; i < n; i++) {
		const char *l = service_label(ipvssvc_plan_op_service(plan, i),
					      label, sizeof(label));

		ipvssvc_plan_format_op(plan, i, line, sizeof(line));
		if (l)
			fprintf(f, "%-60s # %s\n", line, l);
		else
			fprintf(f, "%s\n", line);
	}
}

static void print_json(const char *cmd, const struct options *o,
		       const ipvssvc_plan *plan, const int *results,
		       size_t failed, uint64_t requests)
{
	size_t i, n = ipvssvc_plan_count(plan);

	printf("{\"command\":");
	json_quote(stdout, cmd);
	printf(",\"dry_run\":%s,\"interface\":", o->dry_run ? "true" : "false");
	json_quote(stdout, o->ifname);
	printf(",\"count\":%zu", n);
	if (!o->dry_run)
		printf(",\"failed\":%zu", failed);
	/* the kernel round trips of this run: what bench/ measures */
	printf(",\"netlink_requests\":%" PRIu64, requests);
	printf(",\"operations\":[");
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		printf("\n  ");
		json_plan_op(stdout, plan, i, results ? results[i] : 0,
			     !o->dry_run);
	}
	printf("%s]}\n", n ? "\n" : "");
}

static int run_sync(const struct options *o)
{
	struct apply_result res = {0, NULL};
	struct job j;
	size_t n;
	int r;

	if (!o->once) {
		log_err("sync runs once per call here: add --once (and run it "
			"from a timer or cron)");
		return EXIT_USAGE;
	}
	/* read the kernel under the lock: a plan from a stale read is wrong */
	if (!o->dry_run &&
	    lock_instance(o->state_dir, o->ifname, "sync --once") == -EBUSY)
		return EXIT_FAILED;
	r = job_plan(&j, o, "sync", EXIT_FAILED);
	if (r) {
		job_done(&j);
		return r;
	}
	n = ipvssvc_plan_count(j.plan);
	if (o->dry_run) {
		if (o->json) {
			print_json("sync", o, j.plan, NULL, 0,
				   ipvssvc_ctx_requests(j.ctx));
		} else {
			print_plan_text(j.plan, stdout);
			nft_print_diff(j.nft, stdout, "nftables:\n");
			printf("dry run: %zu operations planned, nothing "
			       "changed\n",
			       n);
		}
		job_done(&j);
		return EXIT_OK;
	}
	if (n)
		record_intent(o, &j);
	if (apply_plan(j.ctx, j.plan, "sync", &res) < 0) {
		job_done(&j);
		return EXIT_FAILED;
	}
	update_record(o, &j, &res);
	conntrack_after_plan(j.plan, j.current);
	if (nft_apply(j.nft) < 0)
		res.failed++;
	if (o->json) {
		print_json("sync", o, j.plan, res.results, res.failed,
			   ipvssvc_ctx_requests(j.ctx));
	} else {
		printf("sync: %zu operations, %zu failed\n", n, res.failed);
		log_info("%" PRIu64 " netlink requests",
			 ipvssvc_ctx_requests(j.ctx));
		if (res.failed)
			log_err("%zu of %zu operations failed (see above); fix "
				"the cause and run sync again",
				res.failed, n);
	}
	free(res.results);
	job_done(&j);
	return res.failed ? EXIT_FAILED : EXIT_OK;
}

const struct command cmd_sync = {
	.name = "sync",
	.flags = OPT_SOURCES | OPT_ONCE | OPT_DRY_RUN | OPT_OUTPUT,
	.summary = "make the kernel's IPVS rules match the manifests",
	.usage = "--once --manifests PATH [OPTIONS]",
	.help = "Reads Services and their endpoints from the manifests, and\n"
		"creates, edits and removes IPVS virtual servers, real "
		"servers\n"
		"and the addresses on the dummy interface until the kernel\n"
		"matches. Only what ipvs-svc owns is changed: virtual servers\n"
		"on its dummy interface's addresses and the NodePorts it "
		"made.\n"
		"Exit status: 0 the kernel matches, 1 an operation failed,\n"
		"2 bad usage or input.",
	.run = run_sync,
};

/* --- diff ------------------------------------------------------------------ */

static void describe_svc(const ipvssvc_service *svc, char *buf, size_t len)
{
	uint32_t flags = ipvssvc_service_get_flags(svc);
	size_t n;

	n = (size_t)snprintf(buf, len, "scheduler %s",
			     ipvssvc_service_get_scheduler(svc));
	if (n < len && (flags & IPVSSVC_SVC_F_PERSISTENT))
		n += (size_t)snprintf(buf + n, len - n, ", persistent %us",
				      ipvssvc_service_get_timeout(svc));
	if (n < len && (flags & IPVSSVC_SVC_F_ONEPACKET))
		snprintf(buf + n, len - n, ", one-packet");
}

static void format_dest(const ipvssvc_dest *d, char *buf, size_t len)
{
	struct ipvssvc_ip ip;
	char a[IPVSSVC_IP_STRLEN];

	ipvssvc_dest_get_addr(d, &ip);
	ipvssvc_ip_format(&ip, a, sizeof(a));
	if (ip.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ipvssvc_dest_get_port(d));
	else
		snprintf(buf, len, "%s:%u", a, ipvssvc_dest_get_port(d));
}

/* "scheduler rr -> lc, persistence off -> 10800s" */
static void svc_changes(const ipvssvc_service *old, const ipvssvc_service *now,
			char *buf, size_t len)
{
	uint32_t of = ipvssvc_service_get_flags(old);
	uint32_t nf = ipvssvc_service_get_flags(now);
	size_t n = 0;

	buf[0] = '\0';
#define CHG(...)                                                              \
	do {                                                                  \
		if (n < len)                                                  \
			n += (size_t)snprintf(buf + n, len - n, "%s",         \
					      n ? ", " : "");                 \
		if (n < len)                                                  \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__); \
	} while (0)
	if (strcmp(ipvssvc_service_get_scheduler(old),
		   ipvssvc_service_get_scheduler(now)))
		CHG("scheduler %s -> %s", ipvssvc_service_get_scheduler(old),
		    ipvssvc_service_get_scheduler(now));
	if ((of ^ nf) & IPVSSVC_SVC_F_PERSISTENT) {
		if (nf & IPVSSVC_SVC_F_PERSISTENT)
			CHG("persistence off -> %us",
			    ipvssvc_service_get_timeout(now));
		else
			CHG("persistence %us -> off",
			    ipvssvc_service_get_timeout(old));
	} else if (ipvssvc_service_get_timeout(old) !=
		   ipvssvc_service_get_timeout(now)) {
		CHG("timeout %us -> %us", ipvssvc_service_get_timeout(old),
		    ipvssvc_service_get_timeout(now));
	}
	if ((of ^ nf) & ~(uint32_t)IPVSSVC_SVC_F_PERSISTENT)
		CHG("flags 0x%x -> 0x%x", of, nf);
	if (ipvssvc_service_get_netmask(old) !=
	    ipvssvc_service_get_netmask(now))
		CHG("netmask /%u -> /%u", ipvssvc_service_get_netmask(old),
		    ipvssvc_service_get_netmask(now));
}

static void dest_changes(const ipvssvc_dest *old, const ipvssvc_dest *now,
			 char *buf, size_t len)
{
	uint32_t ou, ol, nu, nl;
	size_t n = 0;

	buf[0] = '\0';
	ipvssvc_dest_get_thresholds(old, &ou, &ol);
	ipvssvc_dest_get_thresholds(now, &nu, &nl);
	if (ipvssvc_dest_get_weight(old) != ipvssvc_dest_get_weight(now))
		CHG("weight %u -> %u", ipvssvc_dest_get_weight(old),
		    ipvssvc_dest_get_weight(now));
	if (ipvssvc_dest_get_fwd(old) != ipvssvc_dest_get_fwd(now))
		CHG("%s -> %s", fwd_name(ipvssvc_dest_get_fwd(old)),
		    fwd_name(ipvssvc_dest_get_fwd(now)));
	if (ou != nu || ol != nl)
		CHG("thresholds %u/%u -> %u/%u", ou, ol, nu, nl);
#undef CHG
}

/* One line of the readable diff for operation i. */
static void diff_line(const ipvssvc_plan *plan, size_t i, char *buf, size_t len)
{
	const ipvssvc_service *svc = ipvssvc_plan_op_service(plan, i);
	const ipvssvc_dest *dest = ipvssvc_plan_op_dest(plan, i);
	const struct ipvssvc_ip *addr = ipvssvc_plan_op_addr(plan, i);
	char key[96], what[256], d[IPVSSVC_IP_STRLEN + 8];
	const char *port = NULL;
	enum ipvssvc_origin org = IPVSSVC_ORIGIN_NONE;

	if (svc) {
		ipvssvc_service_format_key(svc, key, sizeof(key));
		org = ipvssvc_service_get_origin(svc, NULL, NULL, &port);
	}
	if (dest)
		format_dest(dest, d, sizeof(d));
	if (addr)
		ipvssvc_ip_format(addr, d, sizeof(d));
	switch (ipvssvc_plan_op(plan, i)) {
	case IPVSSVC_OP_LINK_ADD:
		snprintf(buf, len, "+ interface %s (dummy)",
			 ipvssvc_plan_ifname(plan));
		break;
	case IPVSSVC_OP_LINK_DEL:
		snprintf(buf, len, "- interface %s", ipvssvc_plan_ifname(plan));
		break;
	case IPVSSVC_OP_ADDR_ADD:
		snprintf(buf, len, "+ address %s on %s", d,
			 ipvssvc_plan_ifname(plan));
		break;
	case IPVSSVC_OP_ADDR_DEL:
		snprintf(buf, len, "- address %s on %s", d,
			 ipvssvc_plan_ifname(plan));
		break;
	case IPVSSVC_OP_SVC_ADD:
		describe_svc(svc, what, sizeof(what));
		if (org != IPVSSVC_ORIGIN_NONE)
			snprintf(buf, len, "+ %s (%s%s%s): %s", key,
				 port && *port ? port : "",
				 port && *port ? ", " : "",
				 ipvssvc_origin_name(org), what);
		else
			snprintf(buf, len, "+ %s: %s", key, what);
		break;
	case IPVSSVC_OP_SVC_EDIT:
		svc_changes(ipvssvc_plan_op_old_service(plan, i), svc, what,
			    sizeof(what));
		snprintf(buf, len, "~ %s: %s", key, what);
		break;
	case IPVSSVC_OP_SVC_DEL:
		snprintf(buf, len, "- %s", key);
		break;
	case IPVSSVC_OP_DEST_ADD:
		snprintf(buf, len, "+ %s -> %s %s, weight %u", key, d,
			 fwd_name(ipvssvc_dest_get_fwd(dest)),
			 ipvssvc_dest_get_weight(dest));
		break;
	case IPVSSVC_OP_DEST_EDIT:
		dest_changes(ipvssvc_plan_op_old_dest(plan, i), dest, what,
			     sizeof(what));
		snprintf(buf, len, "~ %s -> %s: %s", key, d, what);
		break;
	case IPVSSVC_OP_DEST_DEL:
		snprintf(buf, len, "- %s -> %s", key, d);
		break;
	}
}

struct diff_row {
	size_t i;
	int group; /* 0 named Services, 1 no Service, 2 the interface */
	char label[200];
	char key[96];
};

static int diff_row_cmp(const void *a_, const void *b_)
{
	const struct diff_row *a = a_, *b = b_;
	int c;

	if (a->group != b->group)
		return a->group - b->group;
	c = strcmp(a->label, b->label);
	if (c)
		return c;
	c = strcmp(a->key, b->key);
	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int print_diff_text(const ipvssvc_plan *plan, const char *ifname)
{
	size_t i, n = ipvssvc_plan_count(plan), adds = 0, edits = 0, dels = 0;
	struct diff_row *rows;
	const char *group = NULL;
	int last_group = -1;

	if (n == 0) {
		printf("in sync: no changes\n");
		return 0;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		log_err("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_plan_op_service(plan, i);
		const char *ns, *name;

		rows[i].i = i;
		if (!svc) {
			rows[i].group = 2;
			continue;
		}
		ipvssvc_service_format_key(svc, rows[i].key,
					   sizeof(rows[i].key));
		ipvssvc_service_get_origin(svc, &ns, &name, NULL);
		if (name) {
			snprintf(rows[i].label, sizeof(rows[i].label), "%s/%s",
				 ns ? ns : "", name);
			rows[i].group = 0;
		} else {
			rows[i].group = 1;
		}
	}
	qsort(rows, n, sizeof(*rows), diff_row_cmp);
	for (i = 0; i < n; i++) {
		char line[512];
		enum ipvssvc_op op = ipvssvc_plan_op(plan, rows[i].i);

		if (rows[i].group != last_group ||
		    (rows[i].group == 0 && strcmp(group, rows[i].label))) {
			if (rows[i].group == 0)
				printf("%sService %s\n", i ? "\n" : "",
				       rows[i].label);
			else if (rows[i].group == 1)
				printf("%sNot from any Service (stale)\n",
				       i ? "\n" : "");
			else
				printf("%sInterface %s\n", i ? "\n" : "",
				       ifname);
			last_group = rows[i].group;
			group = rows[i].label;
		}
		diff_line(plan, rows[i].i, line, sizeof(line));
		printf("  %s\n", line);
		if (op == IPVSSVC_OP_SVC_EDIT || op == IPVSSVC_OP_DEST_EDIT)
			edits++;
		else if (op == IPVSSVC_OP_SVC_DEL ||
			 op == IPVSSVC_OP_DEST_DEL ||
			 op == IPVSSVC_OP_ADDR_DEL || op == IPVSSVC_OP_LINK_DEL)
			dels++;
		else
			adds++;
	}
	printf("\n%zu changes: %zu to add, %zu to edit, %zu to remove; "
	       "'%s sync --once' with the same options applies them\n",
	       n, adds, edits, dels, program_name);
	free(rows);
	return 0;
}

static int run_diff(const struct options *o)
{
	struct job j;
	size_t n;
	int r;

	r = job_plan(&j, o, "diff", EXIT_USAGE);
	if (r) {
		job_done(&j);
		return EXIT_USAGE;
	}
	n = ipvssvc_plan_count(j.plan);
	if (o->json) {
		size_t i;

		printf("{\"command\":\"diff\",\"in_sync\":%s,\"count\":%zu,"
		       "\"changes\":[",
		       n ? "false" : "true", n);
		for (i = 0; i < n; i++) {
			char line[512];

			printf("%s\n  {\"change\":", i ? "," : "");
			diff_line(j.plan, i, line, sizeof(line));
			json_quote(stdout, line);
			printf(",\"operation\":");
			json_plan_op(stdout, j.plan, i, 0, false);
			putchar('}');
		}
		printf("%s]}\n", n ? "\n" : "");
	} else if (print_diff_text(j.plan, o->ifname) < 0) {
		job_done(&j);
		return EXIT_USAGE;
	}
	if (!o->json) {
		r = nft_print_diff(j.nft, stdout,
				   "\nnftables table inet " IPVSSVC_NFT_TABLE
				   "\n");
		if (r < 0) {
			job_done(&j);
			return EXIT_USAGE;
		}
		n += (size_t)r;
	}
	job_done(&j);
	return n ? EXIT_FAILED : EXIT_OK;
}

const struct command cmd_diff = {
	.name = "diff",
	.flags = OPT_SOURCES | OPT_OUTPUT,
	.summary = "show what a sync would change, by Service",
	.usage = "--manifests PATH [OPTIONS]",
	.help = "Plans like sync and prints the changes grouped by Service,\n"
		"changing nothing: + to add, ~ to edit, - to remove.\n"
		"Exit status: 0 in sync, 1 not in sync, 2 an error.",
	.run = run_diff,
};
