/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The run command's settings: kube-proxy's flags, and its --config file
 * (a KubeProxyConfiguration, kubeproxy.config.k8s.io/v1alpha1, YAML).
 * Flags given on the command line win over the file.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <yaml.h>

#include "ipvs-svc.h"
#include "run.h"

/* --- values --------------------------------------------------------------- */

int run_parse_duration(const char *str, uint64_t *ret_ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3},   {"ms", 1},
		{"s", 1000},  {"m", 60000}, {"h", 3600000},
	};
	const char *p = str;
	double total = 0;

	if (!str || !*str)
		return -EINVAL;
	if (strcmp(str, "0") == 0) {
		*ret_ms = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v;
		size_t i, best = 0, best_len = 0;

		if (*p < '0' || *p > '9')
			if (*p != '.')
				return -EINVAL;
		v = strtod(p, &end);
		if (end == p || v < 0)
			return -EINVAL;
		p = end;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, l) == 0 && l > best_len) {
				best = i;
				best_len = l;
			}
		}
		if (!best_len)
			return -EINVAL;
		/* "m" must not take the "m" of "ms" */
		total += v * units[best].ms;
		p += best_len;
	}
	if (total > 1e15)
		return -ERANGE;
	*ret_ms = (uint64_t)(total + 0.5);
	return 0;
}

int run_parse_hostport(const char *str, struct sockaddr_storage *ret)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	if (!str)
		return -EINVAL;
	colon = strrchr(str, ':');
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - str);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, str, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ret;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ret;

		if (hl == 0)
			strcpy(host, "0.0.0.0");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	}
	return 0;
}

static int parse_seconds(const char *str, uint32_t *ret)
{
	uint64_t ms;
	int r = run_parse_duration(str, &ms);

	if (r < 0)
		return r;
	if (ms / 1000 > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)(ms / 1000);
	return 0;
}

static char *keep(struct run_settings *s, const char *v)
{
	char **n;
	char *c = strdup(v);

	if (!c)
		return NULL;
	n = realloc(s->strings, (s->n_strings + 1) * sizeof(*n));
	if (!n) {
		free(c);
		return NULL;
	}
	s->strings = n;
	s->strings[s->n_strings++] = c;
	return c;
}

void run_settings_done(struct run_settings *s)
{
	size_t i;

	for (i = 0; i < s->n_strings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->owned_hostname);
	s->strings = NULL;
	s->n_strings = 0;
	s->owned_hostname = NULL;
}

/* --- the KubeProxyConfiguration file -------------------------------------- */

struct cfile {
	yaml_document_t doc;
	const char *path;
	struct run_settings *s;
	int errors;
};

static void field_error(struct cfile *c, const char *field, const char *msg)
{
	log_err("%s: %s: %s", c->path, field, msg);
	c->errors++;
}

/* A scalar's text, or NULL with an error for anything else. */
static const char *scalar(struct cfile *c, yaml_node_t *n, const char *field)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		field_error(c, field, "must be a single value");
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static bool is_null(yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return false;
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0);
}

static void set_string(struct cfile *c, yaml_node_t *n, const char *field,
		       const char **out)
{
	const char *v;

	if (is_null(n))
		return;
	v = scalar(c, n, field);
	if (v && *v && !(*out = keep(c->s, v)))
		field_error(c, field, "out of memory");
}

/* A list of CIDRs (or a comma-separated string) joined with commas. */
static void set_list(struct cfile *c, yaml_node_t *n, const char *field,
		     const char **out)
{
	yaml_node_item_t *it;
	char *joined = NULL;
	size_t len = 0;

	if (is_null(n))
		return;
	if (n->type == YAML_SCALAR_NODE) {
		set_string(c, n, field, out);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		field_error(c, field, "must be a list");
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = yaml_document_get_node(&c->doc, *it);
		const char *v = scalar(c, e, field);
		size_t l;
		char *nj;

		if (!v)
			continue;
		l = strlen(v);
		nj = realloc(joined, len + l + 2);
		if (!nj)
			break;
		joined = nj;
		if (len)
			joined[len++] = ',';
		memcpy(joined + len, v, l + 1);
		len += l;
	}
	if (joined && !(*out = keep(c->s, joined)))
		field_error(c, field, "out of memory");
	free(joined);
}

static void set_duration_ms(struct cfile *c, yaml_node_t *n, const char *field,
			    uint64_t *out)
{
	const char *v;

	if (is_null(n))
		return;
	v = scalar(c, n, field);
	if (v && run_parse_duration(v, out) < 0)
		field_error(c, field,
			    "not a duration (give one like 30s, 1m or 500ms)");
}

static void set_duration_s(struct cfile *c, yaml_node_t *n, const char *field,
			   uint32_t *out)
{
	const char *v;

	if (is_null(n))
		return;
	v = scalar(c, n, field);
	if (v && parse_seconds(v, out) < 0)
		field_error(c, field,
			    "not a duration (give one like 900s or 15m)");
}

static void set_bool(struct cfile *c, yaml_node_t *n, const char *field,
		     bool *out)
{
	const char *v;

	if (is_null(n))
		return;
	v = scalar(c, n, field);
	if (!v)
		return;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0)
		*out = false;
	else
		field_error(c, field, "must be true or false");
}

/* kube-proxy's fields that have no meaning in IPVS mode here. */
static bool known_ignored(const char *path)
{
	static const char *const names[] = {
		"bindAddress",
		"bindAddressHardFail",
		"clientConnection.acceptContentTypes",
		"clientConnection.burst",
		"clientConnection.contentType",
		"clientConnection.qps",
		"configSyncPeriod",
		"conntrack",
		"detectLocal",
		"detectLocalMode",
		"enableProfiling",
		"featureGates",
		"iptables",
		"nftables",
		"linux",
		"logging",
		"oomScoreAdj",
		"portRange",
		"showHiddenMetricsForVersion",
		"udpIdleTimeout",
		"winkernel",
		"windowsRunAsService",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(path, names[i]) == 0)
			return true;
	return false;
}

/* Of kube-proxy's iptables settings, IPVS mode uses only masqueradeAll. */
static void walk_iptables(struct cfile *c, yaml_node_t *map)
{
	yaml_node_pair_t *p;

	if (is_null(map))
		return;
	if (map->type != YAML_MAPPING_NODE) {
		field_error(c, "iptables", "must be a mapping");
		return;
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "masqueradeAl"
							       "l") == 0)
			set_bool(c, v, "iptables.masqueradeAll",
				 &c->s->masquerade_all);
	}
}

static void walk_ipvs(struct cfile *c, yaml_node_t *map)
{
	struct run_settings *s = c->s;
	yaml_node_pair_t *p;

	if (is_null(map))
		return;
	if (map->type != YAML_MAPPING_NODE) {
		field_error(c, "ipvs", "must be a mapping");
		return;
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *key = k && k->type == YAML_SCALAR_NODE
					  ? (const char *)k->data.scalar.value
					  : "";
		char field[128];

		snprintf(field, sizeof(field), "ipvs.%s", key);
		if (strcmp(key, "scheduler") == 0)
			set_string(c, v, field, &s->scheduler);
		else if (strcmp(key, "syncPeriod") == 0) {
			/* kube-proxy: 0 (kubeadm writes "0s") is the default */
			uint64_t ms = 0;

			set_duration_ms(c, v, field, &ms);
			if (ms)
				s->sync_period_ms = ms;
		} else if (strcmp(key, "minSyncPeriod") == 0)
			set_duration_ms(c, v, field, &s->min_sync_period_ms);
		else if (strcmp(key, "tcpTimeout") == 0)
			set_duration_s(c, v, field, &s->tcp_timeout_s);
		else if (strcmp(key, "tcpFinTimeout") == 0)
			set_duration_s(c, v, field, &s->tcpfin_timeout_s);
		else if (strcmp(key, "udpTimeout") == 0)
			set_duration_s(c, v, field, &s->udp_timeout_s);
		else if (strcmp(key, "strictARP") == 0)
			set_bool(c, v, field, &s->strict_arp);
		else if (strcmp(key, "excludeCIDRs") == 0)
			set_list(c, v, field, &s->exclude_cidrs);
		else
			log_warn("%s: unknown field %s, ignored", c->path,
				 field);
	}
}

static void walk_client(struct cfile *c, yaml_node_t *map)
{
	yaml_node_pair_t *p;

	if (is_null(map))
		return;
	if (map->type != YAML_MAPPING_NODE) {
		field_error(c, "clientConnection", "must be a mapping");
		return;
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *key = k && k->type == YAML_SCALAR_NODE
					  ? (const char *)k->data.scalar.value
					  : "";
		char field[128];

		snprintf(field, sizeof(field), "clientConnection.%s", key);
		if (strcmp(key, "kubeconfig") == 0)
			set_string(c, v, field, &c->s->kubeconfig);
		else if (!known_ignored(field))
			log_warn("%s: unknown field %s, ignored", c->path,
				 field);
	}
}

static void walk_top(struct cfile *c, yaml_node_t *root)
{
	struct run_settings *s = c->s;
	yaml_node_pair_t *p;

	for (p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *key = k && k->type == YAML_SCALAR_NODE
					  ? (const char *)k->data.scalar.value
					  : "";
		const char *val;

		if (strcmp(key, "apiVersion") == 0) {
			val = scalar(c, v, key);
			if (val && strcmp(val, "kubeproxy.config.k8s.io/"
					       "v1alpha1") != 0)
				field_error(c, key,
					    "must be "
					    "kubeproxy.config.k8s.io/v1alpha1");
		} else if (strcmp(key, "kind") == 0) {
			val = scalar(c, v, key);
			if (val && strcmp(val, "KubeProxyConfiguration") != 0)
				field_error(c, key,
					    "must be KubeProxyConfiguration");
		} else if (strcmp(key, "mode") == 0) {
			if (is_null(v))
				continue;
			val = scalar(c, v, key);
			if (val && *val && strcmp(val, "ipvs") != 0)
				field_error(c, key,
					    "must be ipvs or empty: ipvs-svc "
					    "is kube-proxy's IPVS mode");
		} else if (strcmp(key, "ipvs") == 0) {
			walk_ipvs(c, v);
		} else if (strcmp(key, "iptables") == 0) {
			walk_iptables(c, v);
		} else if (strcmp(key, "masqueradeAll") == 0) {
			set_bool(c, v, key, &s->masquerade_all);
		} else if (strcmp(key, "clientConnection") == 0) {
			walk_client(c, v);
		} else if (strcmp(key, "nodePortAddresses") == 0) {
			set_list(c, v, key, &s->nodeport_addresses);
		} else if (strcmp(key, "clusterCIDR") == 0) {
			set_string(c, v, key, &s->cluster_cidr);
		} else if (strcmp(key, "hostnameOverride") == 0) {
			set_string(c, v, key, &s->hostname);
		} else if (strcmp(key, "healthzBindAddress") == 0) {
			set_string(c, v, key, &s->healthz_bind);
		} else if (strcmp(key, "metricsBindAddress") == 0) {
			set_string(c, v, key, &s->metrics_bind);
		} else if (!known_ignored(key)) {
			log_warn("%s: unknown field %s, ignored", c->path, key);
		}
	}
}

/* kube-proxy accepts "0.0.0.0" (port from the default) too. */
static int fix_bind(struct run_settings *s, const char **bind, const char *port,
		    const char *field)
{
	struct sockaddr_storage ss;
	char buf[80];

	if (!*bind || !**bind || run_parse_hostport(*bind, &ss) == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s%s%s:%s", strchr(*bind, ':') ? "[" : "",
		 *bind, strchr(*bind, ':') ? "]" : "", port);
	if (run_parse_hostport(buf, &ss) < 0) {
		log_err("%s: '%s' is not an address or address:port", field,
			*bind);
		return -EINVAL;
	}
	*bind = keep(s, buf);
	return *bind ? 0 : -ENOMEM;
}

int run_load_config_file(const char *path, struct run_settings *s)
{
	struct cfile c = {.path = path, .s = s};
	yaml_parser_t parser;
	yaml_node_t *root;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		log_err("--config: cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &c.doc)) {
		log_err("%s:%zu:%zu: not YAML: %s", path,
			parser.problem_mark.line + 1,
			parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&c.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		log_err("%s: not a KubeProxyConfiguration (no mapping)", path);
		r = -EINVAL;
	} else {
		walk_top(&c, root);
		if (c.errors)
			r = -EINVAL;
	}
	yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	fclose(f);
	if (r == 0)
		r = fix_bind(s, &s->healthz_bind, "10256",
			     "healthzBindAddress");
	if (r == 0)
		r = fix_bind(s, &s->metrics_bind, "10249",
			     "metricsBindAddress");
	return r;
}

/* --- flags ------------------------------------------------------------------ */

enum {
	A_CONFIG = 0x100,
	A_KUBECONFIG,
	A_MASTER,
	A_HOSTNAME,
	A_SCHEDULER,
	A_SYNC,
	A_MIN_SYNC,
	A_EXCLUDE,
	A_STRICT_ARP,
	A_TCP,
	A_TCPFIN,
	A_UDP,
	A_NODEPORT,
	A_CLUSTER,
	A_MASQ_ALL,
	A_HEALTHZ,
	A_METRICS,
	A_PROXY_NAME,
	A_GRACEFUL,
	A_INTERFACE,
	A_STATE_DIR,
	A_TRAFFIC,
};

static const struct option run_options[] = {
	{"config", required_argument, NULL, A_CONFIG},
	{"kubeconfig", required_argument, NULL, A_KUBECONFIG},
	{"master", required_argument, NULL, A_MASTER},
	{"hostname-override", required_argument, NULL, A_HOSTNAME},
	{"ipvs-scheduler", required_argument, NULL, A_SCHEDULER},
	{"ipvs-sync-period", required_argument, NULL, A_SYNC},
	{"ipvs-min-sync-period", required_argument, NULL, A_MIN_SYNC},
	{"ipvs-exclude-cidrs", required_argument, NULL, A_EXCLUDE},
	{"ipvs-strict-arp", optional_argument, NULL, A_STRICT_ARP},
	{"ipvs-tcp-timeout", required_argument, NULL, A_TCP},
	{"ipvs-tcpfin-timeout", required_argument, NULL, A_TCPFIN},
	{"ipvs-udp-timeout", required_argument, NULL, A_UDP},
	{"nodeport-addresses", required_argument, NULL, A_NODEPORT},
	{"cluster-cidr", required_argument, NULL, A_CLUSTER},
	{"masquerade-all", optional_argument, NULL, A_MASQ_ALL},
	{"healthz-bind-address", required_argument, NULL, A_HEALTHZ},
	{"metrics-bind-address", required_argument, NULL, A_METRICS},
	{"service-proxy-name", required_argument, NULL, A_PROXY_NAME},
	{"ipvs-graceful-period", required_argument, NULL, A_GRACEFUL},
	{"interface", required_argument, NULL, A_INTERFACE},
	{"state-dir", required_argument, NULL, A_STATE_DIR},
	{"traffic-metrics", required_argument, NULL, A_TRAFFIC},
	{"v", required_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char run_help[] =
	"Usage: %s run [OPTIONS]\n"
	"\n"
	"The node daemon, a drop-in for kube-proxy in IPVS mode: lists and\n"
	"watches Services and EndpointSlices, makes a full sync, tells\n"
	"systemd it is ready (Type=notify), then applies only what changed.\n"
	"The kernel is verified and repaired every sync period. SIGTERM and\n"
	"SIGINT stop and leave the rules in place; SIGHUP resyncs fully.\n"
	"\n"
	"Options (kube-proxy's names; flags win over --config):\n"
	"  --config FILE                 a KubeProxyConfiguration (YAML)\n"
	"  --kubeconfig PATH             the API server's kubeconfig\n"
	"  --master URL                  the API server (overrides it)\n"
	"  --hostname-override NAME      this node's name\n"
	"  --ipvs-scheduler NAME         rr (default), wrr, lc, ...\n"
	"  --ipvs-sync-period D          full verification period (30s)\n"
	"  --ipvs-min-sync-period D      coalesce changes this long (0s)\n"
	"  --ipvs-exclude-cidrs CIDRS    never touch virtual servers there\n"
	"  --ipvs-strict-arp[=BOOL]      arp_ignore=1, arp_announce=2\n"
	"  --ipvs-tcp-timeout D          IPVS TCP timeout (0: unchanged)\n"
	"  --ipvs-tcpfin-timeout D       IPVS TCP FIN timeout\n"
	"  --ipvs-udp-timeout D          IPVS UDP timeout\n"
	"  --ipvs-graceful-period D      bound on draining a TCP real\n"
	"                                server at weight 0 (15m)\n"
	"  --nodeport-addresses CIDRS    node addresses for NodePorts\n"
	"  --cluster-cidr CIDRS          the Pods' network\n"
	"  --masquerade-all[=BOOL]       SNAT all traffic to ClusterIPs\n"
	"  --healthz-bind-address A:P    /healthz, /livez (0.0.0.0:10256;\n"
	"                                empty: off)\n"
	"  --metrics-bind-address A:P    /metrics (127.0.0.1:10249)\n"
	"  --traffic-metrics LEVEL       IPVS counters on /metrics: none\n"
	"                                (default), virtual-servers, or\n"
	"                                real-servers (a series each; at\n"
	"                                scale, large and slow to read)\n"
	"  --service-proxy-name NAME     only Services with this label\n"
	"  --interface NAME              the dummy interface (kube-ipvs0)\n"
	"  --state-dir DIR               the NodePort record (/run/ipvs-svc)\n"
	"  -v, --v N                     log verbosity: 0, 1 info, 2 debug\n"
	"  -h, --help                    show this help\n";

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("run: %s; see '%s run --help'", msg, program_name);
	return -1;
}

int run_parse_args(int argc, char **argv, struct run_settings *s)
{
	const char *cfgfile = NULL;
	int c, i;

	memset(s, 0, sizeof(*s));
	s->ifname = DEFAULT_IFNAME;
	s->state_dir = getenv("IPVS_SVC_STATE_DIR");
	if (!s->state_dir || !*s->state_dir)
		s->state_dir = DEFAULT_STATE_DIR;
	s->sync_period_ms = 30000;
	s->min_sync_period_ms = 0;
	s->graceful_period_ms = 15 * 60000;
	s->healthz_bind = "0.0.0.0:10256";
	s->metrics_bind = "127.0.0.1:10249";
	/* the file first, so that flags override it */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cfgfile = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			cfgfile = argv[i] + 9;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			printf(run_help, program_name);
			return 1;
		}
	}
	if (cfgfile) {
		s->config_file = cfgfile;
		if (run_load_config_file(cfgfile, s) < 0)
			return -1;
	}
	opterr = 0;
	optind = 1;
	for (;;) {
		int li = -1;
		char flag[64];

		c = getopt_long(argc, argv, "+:hv:", run_options, &li);
		if (c == -1)
			break;
		if (li >= 0)
			snprintf(flag, sizeof(flag), "--%s",
				 run_options[li].name);
		else
			snprintf(flag, sizeof(flag), "%s", argv[optind - 1]);
		char *end;
		long v;

		switch (c) {
		case 'h':
			printf(run_help, program_name);
			return 1;
		case 'v':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 10)
				return usage_error("-v needs a number from 0 "
						   "to "
						   "10, not '%s'%s",
						   optarg, "");
			s->verbosity = (int)v;
			log_verbosity = s->verbosity;
			break;
		case A_CONFIG:
			break;
		case A_KUBECONFIG:
			s->kubeconfig = optarg;
			break;
		case A_MASTER:
			s->master = optarg;
			break;
		case A_HOSTNAME:
			s->hostname = optarg;
			break;
		case A_SCHEDULER:
			s->scheduler = optarg;
			break;
		case A_SYNC:
		case A_MIN_SYNC:
		case A_GRACEFUL: {
			uint64_t ms;

			if (run_parse_duration(optarg, &ms) < 0)
				return usage_error("%s: '%s' is not a duration "
						   "(like 30s, 1m, 500ms)",
						   flag, optarg);
			if (c == A_SYNC)
				s->sync_period_ms = ms;
			else if (c == A_MIN_SYNC)
				s->min_sync_period_ms = ms;
			else
				s->graceful_period_ms = ms;
			break;
		}
		case A_TCP:
		case A_TCPFIN:
		case A_UDP: {
			uint32_t sec;

			if (parse_seconds(optarg, &sec) < 0)
				return usage_error("%s: '%s' is not a duration "
						   "(like 900s, 15m)",
						   flag, optarg);
			if (c == A_TCP)
				s->tcp_timeout_s = sec;
			else if (c == A_TCPFIN)
				s->tcpfin_timeout_s = sec;
			else
				s->udp_timeout_s = sec;
			break;
		}
		case A_EXCLUDE:
			s->exclude_cidrs = optarg;
			break;
		case A_STRICT_ARP:
			if (!optarg || strcmp(optarg, "true") == 0)
				s->strict_arp = true;
			else if (strcmp(optarg, "false") == 0)
				s->strict_arp = false;
			else
				return usage_error("--ipvs-strict-arp takes "
						   "true or false, not '%s'%s",
						   optarg, "");
			break;
		case A_NODEPORT:
			s->nodeport_addresses = optarg;
			break;
		case A_TRAFFIC:
			if (strcmp(optarg, "none") == 0)
				s->traffic_metrics = TRAFFIC_NONE;
			else if (strcmp(optarg, "virtual-servers") == 0)
				s->traffic_metrics = TRAFFIC_VIRTUAL_SERVERS;
			else if (strcmp(optarg, "real-servers") == 0)
				s->traffic_metrics = TRAFFIC_REAL_SERVERS;
			else
				return usage_error("--traffic-metrics takes "
						   "none, virtual-servers or "
						   "real-servers, not '%s'%s",
						   optarg, "");
			break;
		case A_CLUSTER:
			s->cluster_cidr = optarg;
			break;
		case A_MASQ_ALL:
			if (!optarg || strcmp(optarg, "true") == 0)
				s->masquerade_all = true;
			else if (strcmp(optarg, "false") == 0)
				s->masquerade_all = false;
			else
				return usage_error("--masquerade-all takes "
						   "true or false, not '%s'%s",
						   optarg, "");
			break;
		case A_HEALTHZ:
		case A_METRICS: {
			struct sockaddr_storage ss;

			if (*optarg && run_parse_hostport(optarg, &ss) < 0)
				return usage_error("%s: '%s' is not "
						   "address:port",
						   flag, optarg);
			if (c == A_HEALTHZ)
				s->healthz_bind = optarg;
			else
				s->metrics_bind = optarg;
			break;
		}
		case A_PROXY_NAME:
			s->service_proxy_name = optarg;
			break;
		case A_INTERFACE:
			if (!*optarg || strlen(optarg) >= 16 ||
			    strchr(optarg, '/') || strchr(optarg, ' '))
				return usage_error("--interface: '%s' is not "
						   "an interface name%s",
						   optarg, "");
			s->ifname = optarg;
			break;
		case A_STATE_DIR:
			s->state_dir = optarg;
			break;
		case ':':
			return usage_error("'%s' needs a value%s", flag, "");
		default:
			return usage_error("unknown option '%s'%s", flag, "");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'%s", argv[optind],
				   "");
	if (s->sync_period_ms == 0)
		return usage_error("--ipvs-sync-period must be more than 0%s%s",
				   "", "");
	if (s->min_sync_period_ms > s->sync_period_ms)
		return usage_error("--ipvs-min-sync-period must not exceed "
				   "--ipvs-sync-period%s%s",
				   "", "");
	return 0;
}
