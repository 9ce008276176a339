/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the subcommands share: options, logging, the sources of the
 * desired state, the NodePort ownership record and applying a plan.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipvs-svc.h"

const char *program_name = "ipvs-svc";
int log_verbosity;

/* A progress line is on the terminal: clear it before other output. */
static bool progress_shown;

static void progress_clear(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = false;
	}
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	/* -v 0: errors, warnings, notices; -v 1: info; -v 2: debug */
	if (level > IPVSSVC_LOG_NOTICE + log_verbosity)
		return;
	progress_clear();
	fprintf(stderr, "%s: ", program_name);
	if (level == IPVSSVC_LOG_WARNING)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void diag_to_log(void *userdata, int level, const char *msg)
{
	log_msg(level, "%s", msg);
}

/* --- options ---------------------------------------------------------- */

enum {
	ARG_MANIFESTS = 0x100,
	ARG_KUBECONFIG,
	ARG_MASTER,
	ARG_CONTEXT,
	ARG_HOSTNAME,
	ARG_SCHEDULER,
	ARG_NODEPORT_ADDRESSES,
	ARG_EXCLUDE_CIDRS,
	ARG_CLUSTER_CIDR,
	ARG_MASQUERADE_ALL,
	ARG_SERVICE_PROXY_NAME,
	ARG_INTERFACE,
	ARG_STATE_DIR,
	ARG_ONCE,
	ARG_DRY_RUN,
	ARG_OUTPUT,
};

static const struct option long_options[] = {
	{"manifests", required_argument, NULL, ARG_MANIFESTS},
	{"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
	{"master", required_argument, NULL, ARG_MASTER},
	{"context", required_argument, NULL, ARG_CONTEXT},
	{"hostname-override", required_argument, NULL, ARG_HOSTNAME},
	{"ipvs-scheduler", required_argument, NULL, ARG_SCHEDULER},
	{"nodeport-addresses", required_argument, NULL, ARG_NODEPORT_ADDRESSES},
	{"ipvs-exclude-cidrs", required_argument, NULL, ARG_EXCLUDE_CIDRS},
	{"cluster-cidr", required_argument, NULL, ARG_CLUSTER_CIDR},
	{"masquerade-all", no_argument, NULL, ARG_MASQUERADE_ALL},
	{"service-proxy-name", required_argument, NULL, ARG_SERVICE_PROXY_NAME},
	{"interface", required_argument, NULL, ARG_INTERFACE},
	{"state-dir", required_argument, NULL, ARG_STATE_DIR},
	{"once", no_argument, NULL, ARG_ONCE},
	{"dry-run", no_argument, NULL, ARG_DRY_RUN},
	{"output", required_argument, NULL, ARG_OUTPUT},
	{"v", required_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char help_sources[] =
	"Sources of the desired state (kube-proxy's names):\n"
	"  --manifests PATH            Services, EndpointSlices, Endpoints,\n"
	"                              Pods, Nodes as JSON or YAML: a file, a\n"
	"                              directory of them, or - for stdin\n"
	"  --kubeconfig PATH           read them from the API server instead\n"
	"  --context NAME              the kubeconfig's context to use\n"
	"  --master URL                the API server (overrides kubeconfig);\n"
	"                              neither: in-cluster service account\n"
	"  --hostname-override NAME    this node's name (default: hostname)\n"
	"  --ipvs-scheduler NAME       rr (default), wrr, lc, wlc, lblc,\n"
	"                              lblcr, dh, sh, sed, nq, mh\n"
	"  --nodeport-addresses CIDRS  node addresses for NodePorts\n"
	"                              (default: all but loopback)\n"
	"  --cluster-cidr CIDRS        the Pods' network\n"
	"  --masquerade-all            SNAT all traffic to ClusterIPs\n"
	"  --service-proxy-name NAME   serve only Services with this\n"
	"                              "
	"service.kubernetes.io/service-proxy-name\n";

static const char help_common[] =
	"  --ipvs-exclude-cidrs CIDRS  never touch virtual servers there\n"
	"  --interface NAME            the dummy interface for Service\n"
	"                              addresses (default: kube-ipvs0)\n"
	"  --state-dir DIR             where the NodePort record is kept\n"
	"                              (default: $IPVS_SVC_STATE_DIR or\n"
	"                              /run/ipvs-svc)\n"
	"  -v, --v N                   log verbosity: 0 (default), 1 info,\n"
	"                              2 debug\n"
	"  -h, --help                  show this help\n";

void print_command_help(const struct command *cmd, FILE *f)
{
	fprintf(f, "Usage: %s %s %s\n\n%s\n", program_name, cmd->name,
		cmd->usage, cmd->help);
	if (cmd->flags & OPT_SOURCES)
		fprintf(f, "\n%s", help_sources);
	fprintf(f, "\nOptions:\n");
	if (cmd->flags & OPT_ONCE)
		fprintf(f, "  --once                      sync once and "
			   "exit\n");
	if (cmd->flags & OPT_DRY_RUN)
		fprintf(f, "  --dry-run                   print the plan, "
			   "change nothing\n");
	if (cmd->flags & OPT_OUTPUT)
		fprintf(f, "  -o, --output text|json      output format "
			   "(default: text)\n");
	fputs(help_common, f);
}

static int option_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int option_error(const struct command *cmd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s: %s; see '%s %s --help'", cmd->name, msg, program_name,
		cmd->name);
	return -1;
}

static int parse_verbosity(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 10)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static const char *option_name(int c)
{
	const struct option *lo;

	for (lo = long_options; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

int parse_options(const struct command *cmd, int argc, char **argv,
		  struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->ifname = DEFAULT_IFNAME;
	o->state_dir = getenv("IPVS_SVC_STATE_DIR");
	if (!o->state_dir || !*o->state_dir)
		o->state_dir = DEFAULT_STATE_DIR;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:hv:o:", long_options, NULL)) !=
	       -1) {
		unsigned need = 0;

		switch (c) {
		case ARG_MANIFESTS:
		case ARG_KUBECONFIG:
		case ARG_MASTER:
		case ARG_CONTEXT:
		case ARG_HOSTNAME:
		case ARG_SCHEDULER:
		case ARG_NODEPORT_ADDRESSES:
		case ARG_CLUSTER_CIDR:
		case ARG_MASQUERADE_ALL:
		case ARG_SERVICE_PROXY_NAME:
			need = OPT_SOURCES;
			break;
		case ARG_ONCE:
			need = OPT_ONCE;
			break;
		case ARG_DRY_RUN:
			need = OPT_DRY_RUN;
			break;
		case 'o':
		case ARG_OUTPUT:
			need = OPT_OUTPUT;
			break;
		}
		/* status and cleanup read --manifests only to name things */
		if (need && !(cmd->flags & need))
			return option_error(cmd,
					    "'--%s' is not an option "
					    "of %s",
					    option_name(c), cmd->name);
		switch (c) {
		case 'h':
			print_command_help(cmd, stdout);
			return 1;
		case 'v':
			if (parse_verbosity(optarg, &o->verbosity) < 0)
				return option_error(cmd,
						    "-v needs a number from 0 "
						    "to 10, not '%s'",
						    optarg);
			log_verbosity = o->verbosity;
			break;
		case ARG_MANIFESTS:
			o->manifests = optarg;
			break;
		case ARG_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case ARG_MASTER:
			o->master = optarg;
			break;
		case ARG_CONTEXT:
			o->context = optarg;
			break;
		case ARG_HOSTNAME:
			o->hostname = optarg;
			break;
		case ARG_SCHEDULER:
			o->scheduler = optarg;
			break;
		case ARG_NODEPORT_ADDRESSES:
			o->nodeport_addresses = optarg;
			break;
		case ARG_EXCLUDE_CIDRS:
			o->exclude_cidrs = optarg;
			break;
		case ARG_CLUSTER_CIDR:
			o->cluster_cidr = optarg;
			break;
		case ARG_MASQUERADE_ALL:
			o->masquerade_all = true;
			break;
		case ARG_SERVICE_PROXY_NAME:
			o->service_proxy_name = optarg;
			break;
		case ARG_INTERFACE:
			if (!*optarg || strlen(optarg) >= 16 ||
			    strchr(optarg, '/') || strchr(optarg, ' '))
				return option_error(cmd,
						    "--interface: '%s' is not "
						    "an "
						    "interface name (1 to 15 "
						    "characters)",
						    optarg);
			o->ifname = optarg;
			break;
		case ARG_STATE_DIR:
			o->state_dir = optarg;
			break;
		case ARG_ONCE:
			o->once = true;
			break;
		case ARG_DRY_RUN:
			o->dry_run = true;
			break;
		case 'o':
		case ARG_OUTPUT:
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "text") == 0)
				o->json = false;
			else
				return option_error(cmd,
						    "--output takes text or "
						    "json, not '%s'",
						    optarg);
			break;
		case ':':
			return option_error(cmd, "'%s' needs a value",
					    argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 0x100)
				return option_error(cmd, "unknown option '-%c'",
						    optopt);
			return option_error(cmd, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return option_error(cmd, "unexpected argument '%s'",
				    argv[optind]);
	return 0;
}

/* --- kernel, configuration, desired state -------------------------------- */

int open_kernel(ipvssvc_ctx **ret)
{
	int r = ipvssvc_ctx_new(ret);

	if (r == 0)
		return 0;
	if (r == -EPROTONOSUPPORT || r == -ENOENT)
		log_err("this kernel has no IPVS; load it with 'modprobe "
			"ip_vs' "
			"and run again");
	else if (r == -EPERM || r == -EACCES)
		log_err("not permitted to use IPVS; run as root (or with "
			"CAP_NET_ADMIN)");
	else
		log_err("cannot open the kernel's IPVS interface: %s",
			strerror(-r));
	return r;
}

static int config_error(int r, const char *opt, const char *value,
			const char *hint)
{
	if (r == -ENOMEM)
		log_err("out of memory");
	else
		log_err("%s: '%s' is not valid; %s", opt, value, hint);
	return r;
}

int make_config(const struct options *o, ipvssvc_config **ret)
{
	static const char cidr_hint[] = "give comma-separated CIDRs like "
					"10.0.0.0/8,fd00::/64";
	ipvssvc_config *cfg;
	char host[256];
	int r;

	r = ipvssvc_config_new(&cfg);
	if (r < 0) {
		log_err("out of memory");
		return r;
	}
	r = ipvssvc_config_set_interface(cfg, o->ifname);
	if (r < 0) {
		config_error(r, "--interface", o->ifname,
			     "give an interface name of 1 to 15 characters");
		goto fail;
	}
	if (o->scheduler &&
	    (r = ipvssvc_config_set_scheduler(cfg, o->scheduler)) < 0) {
		config_error(r, "--ipvs-scheduler", o->scheduler,
			     "use one of rr, wrr, lc, wlc, lblc, lblcr, dh, "
			     "sh, sed, nq, mh");
		goto fail;
	}
	if (o->nodeport_addresses &&
	    (r = ipvssvc_config_set_nodeport_addresses(
		     cfg, o->nodeport_addresses)) < 0) {
		config_error(r, "--nodeport-addresses", o->nodeport_addresses,
			     cidr_hint);
		goto fail;
	}
	if (o->exclude_cidrs &&
	    (r = ipvssvc_config_set_exclude_cidrs(cfg, o->exclude_cidrs)) < 0) {
		config_error(r, "--ipvs-exclude-cidrs", o->exclude_cidrs,
			     cidr_hint);
		goto fail;
	}
	if (o->cluster_cidr &&
	    (r = ipvssvc_config_set_cluster_cidrs(cfg, o->cluster_cidr)) < 0) {
		config_error(r, "--cluster-cidr", o->cluster_cidr, cidr_hint);
		goto fail;
	}
	if (o->service_proxy_name &&
	    (r = ipvssvc_config_set_service_proxy_name(
		     cfg, o->service_proxy_name)) < 0) {
		config_error(r, "--service-proxy-name", o->service_proxy_name,
			     "give a label value");
		goto fail;
	}
	if (o->hostname) {
		r = ipvssvc_config_set_node_name(cfg, o->hostname);
		if (r < 0) {
			config_error(r, "--hostname-override", o->hostname,
				     "give the node's name");
			goto fail;
		}
	} else if (gethostname(host, sizeof(host)) == 0) {
		char *p;

		/* as kube-proxy: the node name is the lower-case hostname */
		host[sizeof(host) - 1] = '\0';
		for (p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		ipvssvc_config_set_node_name(cfg, host);
	}
	/* after the settings: their errors are ours to report, in one line */
	ipvssvc_config_set_diag(cfg, diag_to_log, NULL);
	*ret = cfg;
	return 0;
fail:
	ipvssvc_config_free(cfg);
	return r;
}

void add_node_addrs(ipvssvc_ctx *ctx, const struct options *o,
		    ipvssvc_config *cfg)
{
	struct ipvssvc_ip *addrs = NULL;
	size_t i, n = 0;
	int r;

	r = ipvssvc_node_addrs(ctx, o->ifname, &addrs, &n);
	if (r < 0)
		log_warn("cannot read the node's addresses (%s); "
			 "NodePorts get no virtual servers",
			 strerror(-r));
	for (i = 0; i < n; i++) {
		char buf[IPVSSVC_IP_STRLEN];

		log_debug("node address %s",
			  ipvssvc_ip_format(&addrs[i], buf, sizeof(buf)));
		ipvssvc_config_add_node_addr(cfg, &addrs[i]);
	}
	free(addrs);
}

/* List Services, EndpointSlices and this node's Node from the API
 * server once (--kubeconfig, --master, or in-cluster). */
static int load_from_api(const struct options *o, ipvssvc_objects *objs)
{
	ipvssvc_kube *kube = NULL;
	char host[256], *err = NULL, *p;
	int r;

	r = ipvssvc_kube_new_default(o->kubeconfig, o->context, o->master,
				     &kube, &err);
	if (r < 0) {
		log_err("cannot use the API server: %s",
			err ? err : strerror(-r));
		free(err);
		return r == -ENOMEM ? r : -EINVAL;
	}
	ipvssvc_kube_set_diag(kube, diag_to_log, NULL);
	if (o->hostname)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		for (p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else
		host[0] = '\0';
	if (host[0])
		ipvssvc_kube_set_node_name(kube, host);
	if (o->service_proxy_name)
		ipvssvc_kube_set_service_proxy_name(kube,
						    o->service_proxy_name);
	r = ipvssvc_kube_list_into(kube, objs);
	if (r < 0)
		log_err("cannot list from the API server %s (%s): %s",
			ipvssvc_kube_get_server(kube),
			ipvssvc_kube_get_auth_info(kube), strerror(-r));
	ipvssvc_kube_free(kube);
	return r < 0 ? -EINVAL : 0;
}

/* The forwarding method as status and sync print it. */
const char *fwd_name(enum ipvssvc_fwd fwd)
{
	switch (fwd) {
	case IPVSSVC_FWD_LOCAL:
		return "local";
	case IPVSSVC_FWD_TUNNEL:
		return "tunnel";
	case IPVSSVC_FWD_ROUTE:
		return "route";
	default:
		return "masq";
	}
}

/* True when objects come from somewhere: manifests or an API server. */
int have_source(const struct options *o)
{
	return o->manifests || o->kubeconfig || o->master;
}

int load_objects(const struct options *o, ipvssvc_objects **ret)
{
	ipvssvc_objects *objs;
	const char *path = o->manifests;
	int r;

	r = ipvssvc_objects_new(&objs);
	if (r < 0) {
		log_err("out of memory");
		return r;
	}
	ipvssvc_objects_set_diag(objs, diag_to_log, NULL);
	if (!path) {
		r = load_from_api(o, objs);
		if (r < 0) {
			ipvssvc_objects_free(objs);
			return r;
		}
	} else
		r = ipvssvc_objects_load_path(objs, path);
	if (r < 0) {
		const char *what = strcmp(path, "-") == 0 ? "standard input"
							  : path;

		if (r == -EBADMSG || r == -EINVAL)
			log_err("the manifests in %s do not parse (see the "
				"message above); fix them and run again",
				what);
		else
			log_err("cannot read manifests %s: %s; give a file, a "
				"directory or - with --manifests",
				what, strerror(-r));
		ipvssvc_objects_free(objs);
		return r;
	}
	log_info("loaded %zu Services, %zu EndpointSlices, %zu Endpoints, "
		 "%zu Pods",
		 ipvssvc_objects_count(objs, "Service"),
		 ipvssvc_objects_count(objs, "EndpointSlice"),
		 ipvssvc_objects_count(objs, "Endpoints"),
		 ipvssvc_objects_count(objs, "Pod"));
	*ret = objs;
	return 0;
}

int build_desired(const ipvssvc_objects *objs, const ipvssvc_config *cfg,
		  ipvssvc_state **ret)
{
	ipvssvc_state *st;
	int r = ipvssvc_model_build(objs, cfg, &st);

	if (r < 0) {
		log_err("cannot build the desired state: %s", strerror(-r));
		return r;
	}
	log_info("desired: %zu virtual servers on %zu addresses",
		 ipvssvc_state_service_count(st), ipvssvc_state_addr_count(st));
	*ret = st;
	return 0;
}

static int report_read(int r, const struct options *o, ipvssvc_state **ret)
{
	if (r == -EPERM || r == -EACCES)
		log_err("not permitted to read IPVS; run as root (or with "
			"CAP_NET_ADMIN)");
	else if (r < 0)
		log_err("cannot read the kernel's IPVS rules: %s",
			strerror(-r));
	else
		log_info("kernel: %zu virtual servers, %zu addresses on %s",
			 ipvssvc_state_service_count(*ret),
			 ipvssvc_state_addr_count(*ret), o->ifname);
	return r;
}

int read_current(ipvssvc_ctx *ctx, const struct options *o, ipvssvc_state **ret)
{
	return report_read(ipvssvc_state_read(ctx, o->ifname, ret), o, ret);
}

/* The rules alone: real servers from /proc/net/ip_vs, not a dump per VS. */
int read_current_rules(ipvssvc_ctx *ctx, const struct options *o,
		       const ipvssvc_state *desired, ipvssvc_state **ret)
{
	return report_read(
		ipvssvc_state_read_rules(ctx, o->ifname, desired, ret), o, ret);
}

/* --- addresses ------------------------------------------------------------ */

bool state_has_addr(const ipvssvc_state *st, const struct ipvssvc_ip *ip)
{
	size_t lo = 0, hi = ipvssvc_state_addr_count(st);

	/* the state keeps its addresses sorted */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ipvssvc_ip_cmp(ipvssvc_state_addr(st, mid), ip);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool state_on_dummy(const ipvssvc_state *st, const ipvssvc_service *svc)
{
	struct ipvssvc_ip ip;

	if (ipvssvc_service_get_fwmark(svc))
		return false;
	ipvssvc_service_get_addr(svc, &ip);
	return state_has_addr(st, &ip);
}

void record_add_nodeports(ipvssvc_state *rec, const ipvssvc_state *st)
{
	size_t i, n = st ? ipvssvc_state_service_count(st) : 0;

	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(st, i);

		if (!state_on_dummy(st, svc) && !ipvssvc_state_find(rec, svc))
			ipvssvc_state_add_service(rec, svc);
	}
}

/* --- the NodePort ownership record -------------------------------------- */
/*
 * One line per virtual server ipvs-svc created outside its dummy
 * interface (NodePorts on the node's addresses): "tcp 192.168.1.10 30080"
 * or "fwm inet 7". Like the IPVS table it lives in /run and so does not
 * survive a reboot.
 */

static char *record_path(const struct options *o)
{
	size_t n = strlen(o->state_dir) + strlen(o->ifname) + 16;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s.nodeports", o->state_dir, o->ifname);
	return p;
}

static int parse_record_line(char *line, ipvssvc_service *svc)
{
	char *tok[3], *save = NULL, *end;
	struct ipvssvc_ip ip;
	unsigned long n;
	int i, proto;

	for (i = 0; i < 3; i++) {
		tok[i] = strtok_r(i ? NULL : line, " \t\r\n", &save);
		if (!tok[i])
			return -EINVAL;
	}
	errno = 0;
	n = strtoul(tok[2], &end, 10);
	if (errno || *end || end == tok[2])
		return -EINVAL;
	if (strcmp(tok[0], "fwm") == 0) {
		int family = strcmp(tok[1], "inet6") == 0  ? AF_INET6
			     : strcmp(tok[1], "inet") == 0 ? AF_INET
							   : 0;

		if (!family || n == 0 || n > UINT32_MAX)
			return -EINVAL;
		return ipvssvc_service_set_fwmark(svc, family, (uint32_t)n);
	}
	if (strcmp(tok[0], "tcp") == 0)
		proto = IPPROTO_TCP;
	else if (strcmp(tok[0], "udp") == 0)
		proto = IPPROTO_UDP;
	else if (strcmp(tok[0], "sctp") == 0)
		proto = IPPROTO_SCTP;
	else
		return -EINVAL;
	if (n > 65535 || ipvssvc_ip_parse(tok[1], &ip) < 0)
		return -EINVAL;
	if (ipvssvc_service_set_addr(svc, &ip) < 0 ||
	    ipvssvc_service_set_protocol(svc, proto) < 0 ||
	    ipvssvc_service_set_port(svc, (uint16_t)n) < 0)
		return -EINVAL;
	return 0;
}

int record_read(const struct options *o, ipvssvc_state **ret)
{
	char *path = record_path(o), line[256];
	ipvssvc_state *st;
	unsigned lineno = 0;
	FILE *f;
	int r;

	if (!path)
		return -ENOMEM;
	r = ipvssvc_state_new(&st);
	if (r < 0) {
		free(path);
		return r;
	}
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_warn("cannot read the NodePort record %s: %s; "
				 "NodePorts made earlier are left alone",
				 path, strerror(errno));
		free(path);
		*ret = st;
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		ipvssvc_service *svc;
		char *p = line;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (ipvssvc_service_new(&svc) < 0)
			break;
		if (parse_record_line(p, svc) < 0)
			log_warn("%s:%u: not a virtual server, ignored", path,
				 lineno);
		else
			ipvssvc_state_add_service(st, svc);
		ipvssvc_service_free(svc);
	}
	fclose(f);
	free(path);
	*ret = st;
	return 0;
}

static int record_format(const ipvssvc_state *st, char **ret, size_t *ret_len)
{
	size_t i, n = ipvssvc_state_service_count(st), cap = 128 + n * 64;
	size_t len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	len += (size_t)snprintf(buf, cap,
				"# Virtual servers ipvs-svc created outside "
				"its dummy interface.\n");
	for (i = 0; i < n; i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(st, i);
		struct ipvssvc_ip ip;
		char a[IPVSSVC_IP_STRLEN];
		const char *proto;

		if (ipvssvc_service_get_fwmark(svc)) {
			len += (size_t)snprintf(
				buf + len, cap - len, "fwm %s %u\n",
				ipvssvc_service_get_family(svc) == AF_INET6
					? "inet6"
					: "inet",
				ipvssvc_service_get_fwmark(svc));
			continue;
		}
		switch (ipvssvc_service_get_protocol(svc)) {
		case IPPROTO_UDP:
			proto = "udp";
			break;
		case IPPROTO_SCTP:
			proto = "sctp";
			break;
		default:
			proto = "tcp";
		}
		ipvssvc_service_get_addr(svc, &ip);
		len += (size_t)snprintf(buf + len, cap - len, "%s %s %u\n",
					proto,
					ipvssvc_ip_format(&ip, a, sizeof(a)),
					ipvssvc_service_get_port(svc));
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Is the file at path exactly data? Saves a write on every quiet sync. */
static bool file_equals(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "re");
	bool same = false;
	char *buf;

	if (!f)
		return false;
	buf = malloc(len + 1);
	if (buf)
		same = fread(buf, 1, len + 1, f) == len &&
		       memcmp(buf, data, len) == 0;
	free(buf);
	fclose(f);
	return same;
}

int record_write(const struct options *o, const ipvssvc_state *st)
{
	char *path = record_path(o), *tmp = NULL, *data = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	if (ipvssvc_state_service_count(st) == 0) {
		/* nothing of ours outside the dummy interface */
		r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
		goto out;
	}
	r = record_format(st, &data, &len);
	if (r < 0)
		goto out;
	if (file_equals(path, data, len))
		goto out;
	if (mkdir(o->state_dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	tmp = malloc(strlen(path) + 8);
	if (!tmp) {
		r = -ENOMEM;
		goto out;
	}
	sprintf(tmp, "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		r = -errno;
		goto out;
	}
	if (fwrite(data, 1, len, f) != len || fflush(f) != 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	if (r < 0)
		log_warn("cannot write the NodePort record %s: %s; a later "
			 "sync or cleanup will not know these NodePorts are "
			 "ours",
			 path, strerror(-r));
	free(tmp);
	free(data);
	free(path);
	return r;
}

/* --- applying a plan ------------------------------------------------------ */

struct apply_state {
	const char *what;
	struct timespec start, last;
	size_t done, failed, total;
	int *results;
	ipvssvc_ctx *ctx;
	bool tty;
};

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void on_applied(void *userdata, const ipvssvc_plan *plan, size_t i,
		       int result)
{
	struct apply_state *a = userdata;
	char line[512];

	a->done++;
	if (a->results)
		a->results[i] = result;
	ipvssvc_plan_format_op(plan, i, line, sizeof(line));
	if (result < 0) {
		const char *kmsg = ipvssvc_ctx_last_error(a->ctx);

		a->failed++;
		log_err("failed: %s: %s%s%s%s", line, strerror(-result),
			kmsg ? " (kernel: " : "", kmsg ? kmsg : "",
			kmsg ? ")" : "");
	} else {
		log_info("%s", line);
	}
	/* a progress line on a terminal once it takes more than a second */
	if (a->tty && seconds_since(&a->start) > 1.0 &&
	    seconds_since(&a->last) > 0.1) {
		fprintf(stderr, "\r\033[K%s: %zu/%zu operations, %zu failed",
			a->what, a->done, a->total, a->failed);
		fflush(stderr);
		progress_shown = true;
		clock_gettime(CLOCK_MONOTONIC, &a->last);
	}
}

int apply_plan(ipvssvc_ctx *ctx, const ipvssvc_plan *plan, const char *what,
	       struct apply_result *ret)
{
	struct apply_state a = {
		.what = what,
		.total = ipvssvc_plan_count(plan),
		.ctx = ctx,
		.tty = isatty(STDERR_FILENO) == 1,
	};
	int r;

	clock_gettime(CLOCK_MONOTONIC, &a.start);
	a.last = a.start;
	a.results = calloc(a.total ? a.total : 1, sizeof(*a.results));
	r = ipvssvc_plan_apply(ctx, plan, ipvssvc_plan_ifname(plan), on_applied,
			       &a);
	progress_clear();
	if (r < 0) {
		log_err("cannot apply the plan: %s", strerror(-r));
		free(a.results);
		return r;
	}
	ret->failed = (size_t)r;
	ret->results = a.results;
	return 0;
}

/* --- output helpers ------------------------------------------------------- */

void json_quote(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

const char *service_label(const ipvssvc_service *svc, char *buf, size_t len)
{
	const char *ns, *name, *port;

	if (!svc)
		return NULL;
	ipvssvc_service_get_origin(svc, &ns, &name, &port);
	if (!name)
		return NULL;
	snprintf(buf, len, "%s/%s%s%s", ns ? ns : "", name,
		 port && *port ? ":" : "", port && *port ? port : "");
	return buf;
}

void json_plan_op(FILE *f, const ipvssvc_plan *plan, size_t i, int result,
		  bool with_result)
{
	const ipvssvc_service *svc = ipvssvc_plan_op_service(plan, i);
	const struct ipvssvc_ip *addr = ipvssvc_plan_op_addr(plan, i);
	char line[512], a[IPVSSVC_IP_STRLEN];

	fputs("{\"op\":", f);
	json_quote(f, ipvssvc_op_name(ipvssvc_plan_op(plan, i)));
	fputs(",\"rule\":", f);
	json_quote(f, ipvssvc_plan_format_op(plan, i, line, sizeof(line)));
	if (addr) {
		fputs(",\"address\":", f);
		json_quote(f, ipvssvc_ip_format(addr, a, sizeof(a)));
	}
	if (svc) {
		const char *ns, *name, *port;
		enum ipvssvc_origin org =
			ipvssvc_service_get_origin(svc, &ns, &name, &port);

		fputs(",\"virtual_server\":", f);
		json_quote(f,
			   ipvssvc_service_format_key(svc, line, sizeof(line)));
		if (name) {
			fputs(",\"service\":{\"namespace\":", f);
			json_quote(f, ns);
			fputs(",\"name\":", f);
			json_quote(f, name);
			fputs(",\"port\":", f);
			json_quote(f, port);
			fputs(",\"kind\":", f);
			json_quote(f, ipvssvc_origin_name(org));
			fputc('}', f);
		}
	}
	if (with_result) {
		fputs(",\"result\":", f);
		json_quote(f, result < 0 ? "failed" : "ok");
		if (result < 0) {
			fputs(",\"error\":", f);
			json_quote(f, strerror(-result));
		}
	}
	fputc('}', f);
}
