/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ipvs-svc command: what its subcommands share. */
#ifndef IPVS_SVC_TOOL_H
#define IPVS_SVC_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include <ipvs-svc/ipvs-svc.h>

/* Exit statuses. */
#define EXIT_OK 0
#define EXIT_FAILED 1 /* an operation failed; or diff: not in sync */
#define EXIT_USAGE 2 /* bad usage or input; or diff/status: an error */

#define DEFAULT_IFNAME "kube-ipvs0"
#define DEFAULT_STATE_DIR "/run/ipvs-svc"

struct options {
	const char *manifests;
	const char *kubeconfig; /* the API server: --kubeconfig, */
	const char *master; /* --master, */
	const char *context; /* --context; else in-cluster */
	const char *hostname;
	const char *scheduler;
	const char *nodeport_addresses;
	const char *exclude_cidrs;
	const char *cluster_cidr;
	const char *service_proxy_name;
	const char *ifname;
	const char *state_dir;
	bool masquerade_all; /* --masquerade-all: SNAT all ClusterIP traffic */
	bool once;
	bool dry_run;
	bool json;
	int verbosity;
};

/* Which options a command takes, beyond --interface, --state-dir, -v. */
#define OPT_SOURCES 0x1 /* --manifests and the model's settings */
#define OPT_ONCE 0x2
#define OPT_DRY_RUN 0x4
#define OPT_OUTPUT 0x8

/* A subcommand: its name, usage text and entry point. */
struct command {
	const char *name;
	unsigned flags; /* OPT_* */
	const char *summary;
	const char *usage; /* the text after "Usage: ipvs-svc NAME " */
	const char *help; /* the command's own paragraph and options */
	int (*run)(const struct options *o);
	/* when set, takes the arguments after the name itself (run) */
	int (*main)(int argc, char **argv);
};

extern const struct command cmd_sync, cmd_diff, cmd_status, cmd_cleanup;
extern const struct command cmd_run;

/* common.c */
extern const char *program_name;
extern int log_verbosity;
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(IPVSSVC_LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(IPVSSVC_LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(IPVSSVC_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(IPVSSVC_LOG_DEBUG, __VA_ARGS__)
void diag_to_log(void *userdata, int level, const char *msg);

/* Parse argv after the command name; 0, 1 for --help (printed), -1. */
int parse_options(const struct command *cmd, int argc, char **argv,
		  struct options *o);
void print_command_help(const struct command *cmd, FILE *f);

/* Open the kernel layer; logs what to do on failure. */
int open_kernel(ipvssvc_ctx **ret);
/* The configuration from the options (errors are usage errors). */
int make_config(const struct options *o, ipvssvc_config **ret);
/* The node's own addresses, for NodePorts. */
void add_node_addrs(ipvssvc_ctx *ctx, const struct options *o,
		    ipvssvc_config *cfg);
/* The objects of --manifests; logs input errors. */
const char *fwd_name(enum ipvssvc_fwd fwd);
int have_source(const struct options *o);
int load_objects(const struct options *o, ipvssvc_objects **ret);
/* The model: objects and settings in, desired state out. */
int build_desired(const ipvssvc_objects *objs, const ipvssvc_config *cfg,
		  ipvssvc_state **ret);
/* Read the kernel's state; logs errors. */
int read_current(ipvssvc_ctx *ctx, const struct options *o,
		 ipvssvc_state **ret);
/* The same for the planner, cheaper (ipvssvc_state_read_rules). */
int read_current_rules(ipvssvc_ctx *ctx, const struct options *o,
		       const ipvssvc_state *desired, ipvssvc_state **ret);

/* The NodePort ownership record under the state directory. */
int record_read(const struct options *o, ipvssvc_state **ret);
int record_write(const struct options *o, const ipvssvc_state *st);

/* Serialize runs that change the kernel; returns an fd, 0 or -errno. */

/* Carry out a plan with a progress line on a terminal; failures logged. */
struct apply_result {
	size_t failed;
	int *results; /* per operation, malloc'ed; may be NULL */
};
int apply_plan(ipvssvc_ctx *ctx, const ipvssvc_plan *plan, const char *what,
	       struct apply_result *ret);

/* Sorted address set lookups over a state's addresses. */
bool state_has_addr(const ipvssvc_state *st, const struct ipvssvc_ip *ip);
/* Is svc on one of st's addresses (kube-ipvs0), not a NodePort or fwmark? */
bool state_on_dummy(const ipvssvc_state *st, const ipvssvc_service *svc);
/* Add to rec, once each, st's virtual servers off the dummy interface: the
 * NodePorts the record names. st NULL: nothing. */
void record_add_nodeports(ipvssvc_state *rec, const ipvssvc_state *st);

/* JSON output helpers. */
void json_quote(FILE *f, const char *s);
void json_plan_op(FILE *f, const ipvssvc_plan *plan, size_t i, int result,
		  bool with_result);

/* "kube-system/hostnames:http" or NULL when the origin is unknown. */
const char *service_label(const ipvssvc_service *svc, char *buf, size_t len);

/* nftables.c: the table around IPVS and UDP conntrack cleanup; logs. */
int nft_build(const ipvssvc_state *desired, const ipvssvc_objects *objs,
	      const ipvssvc_config *cfg, const struct options *o,
	      ipvssvc_nft **ret);
/* Load the whole table (sync, and the daemon's full syncs). */
int nft_apply(const ipvssvc_nft *nft);
int nft_diff_lines(const ipvssvc_nft *nft, char ***ret_lines, size_t *ret_n);
/* Print the differences under header; their number or -errno. */
int nft_print_diff(const ipvssvc_nft *nft, FILE *f, const char *header);
void conntrack_after_plan(const ipvssvc_plan *plan,
			  const ipvssvc_state *current);
/*
 * The daemon's table after a sync: the elements that changed since the
 * last one, or the whole table when full (or nothing known). Callers
 * free their plan and kernel read first: at scale those and the table's
 * elements are the largest things a sync holds.
 */
void nft_after_sync(const ipvssvc_state *desired, const ipvssvc_objects *objs,
		    const ipvssvc_config *cfg, const struct options *o,
		    bool full);
int nft_cleanup(bool dry_run);

#endif
