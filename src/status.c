/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * status: the IPVS rules ipvs-svc owns, grouped by Service, with their
 * scheduler, persistence, real servers, connections and traffic. Names
 * come from the manifests when given; without them the rules on the
 * dummy interface's addresses and the recorded NodePorts are shown
 * unnamed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs-svc.h"

struct entry {
	const ipvssvc_service *svc; /* the kernel's, or desired if missing */
	const ipvssvc_service *named; /* the desired one, for its origin */
	bool missing; /* desired but not in the kernel */
	bool on_link; /* its address is on the interface */
	char label[200]; /* "ns/name", "" when unknown */
	size_t order;
};

static int entry_cmp(const void *a_, const void *b_)
{
	const struct entry *a = a_, *b = b_;

	/* named Services first, by name; then the unnamed rules */
	if (!*a->label != !*b->label)
		return *a->label ? -1 : 1;
	if (strcmp(a->label, b->label))
		return strcmp(a->label, b->label);
	return a->order < b->order ? -1 : a->order > b->order;
}

static const char *human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

static void print_traffic(const struct ipvssvc_stats *s)
{
	char a[16], b[16], c[16], d[16];

	printf("conns %llu  in %s pkts/%sB  out %s pkts/%sB",
	       (unsigned long long)s->conns, human(s->inpkts, a, sizeof(a)),
	       human(s->inbytes, b, sizeof(b)), human(s->outpkts, c, sizeof(c)),
	       human(s->outbytes, d, sizeof(d)));
}

static const char *kind_of(const struct entry *e)
{
	if (e->named)
		return ipvssvc_origin_name(
			ipvssvc_service_get_origin(e->named, NULL, NULL, NULL));
	return e->on_link ? "on the dummy interface" : "NodePort (recorded)";
}

static void print_entry_text(const struct entry *e)
{
	const ipvssvc_service *svc = e->svc;
	const char *port = NULL;
	char key[96];
	size_t k, n;

	if (e->named)
		ipvssvc_service_get_origin(e->named, NULL, NULL, &port);
	ipvssvc_service_format_key(svc, key, sizeof(key));
	if (port && *port)
		printf("  %s  (port %s, %s)\n", key, port, kind_of(e));
	else
		printf("  %s  (%s)\n", key, kind_of(e));
	if (e->missing) {
		printf("    missing from the kernel: run sync\n");
		return;
	}
	printf("    scheduler %s", ipvssvc_service_get_scheduler(svc));
	if (ipvssvc_service_get_flags(svc) & IPVSSVC_SVC_F_PERSISTENT)
		printf(", persistent %us (ClientIP affinity)",
		       ipvssvc_service_get_timeout(svc));
	else
		printf(", no persistence");
	printf("\n    ");
	{
		struct ipvssvc_stats st;

		ipvssvc_service_get_stats(svc, &st);
		print_traffic(&st);
	}
	putchar('\n');
	n = ipvssvc_service_get_dest_count(svc);
	if (n == 0)
		printf("    no real servers (connections are refused)\n");
	for (k = 0; k < n; k++) {
		const ipvssvc_dest *d = ipvssvc_service_get_dest(svc, k);
		struct ipvssvc_stats st;
		struct ipvssvc_ip ip;
		uint32_t act, inact, pers;
		char a[IPVSSVC_IP_STRLEN];

		ipvssvc_dest_get_addr(d, &ip);
		ipvssvc_ip_format(&ip, a, sizeof(a));
		ipvssvc_dest_get_conns(d, &act, &inact, &pers);
		ipvssvc_dest_get_stats(d, &st);
		printf(ip.family == AF_INET6 ? "    -> [%s]:%u"
					     : "    -> %s:%u",
		       a, ipvssvc_dest_get_port(d));
		printf("  %s  weight %u  active %u  inactive %u\n       ",
		       fwd_name(ipvssvc_dest_get_fwd(d)),
		       ipvssvc_dest_get_weight(d), act, inact);
		print_traffic(&st);
		putchar('\n');
	}
}

static void json_stats(const struct ipvssvc_stats *s)
{
	printf("{\"conns\":%llu,\"inpkts\":%llu,\"outpkts\":%llu,"
	       "\"inbytes\":%llu,\"outbytes\":%llu,\"cps\":%llu,"
	       "\"inpps\":%llu,\"outpps\":%llu,\"inbps\":%llu,\"outbps\":%llu}",
	       (unsigned long long)s->conns, (unsigned long long)s->inpkts,
	       (unsigned long long)s->outpkts, (unsigned long long)s->inbytes,
	       (unsigned long long)s->outbytes, (unsigned long long)s->cps,
	       (unsigned long long)s->inpps, (unsigned long long)s->outpps,
	       (unsigned long long)s->inbps, (unsigned long long)s->outbps);
}

static const char *proto_name(int p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static void print_entry_json(const struct entry *e)
{
	const ipvssvc_service *svc = e->svc;
	const char *ns = NULL, *name = NULL, *port = NULL;
	struct ipvssvc_stats st;
	bool persistent;
	struct ipvssvc_ip ip;
	char buf[96];
	size_t k, n;

	if (e->named)
		ipvssvc_service_get_origin(e->named, &ns, &name, &port);
	printf("{\"namespace\":");
	json_quote(stdout, ns);
	printf(",\"name\":");
	json_quote(stdout, name);
	printf(",\"port_name\":");
	json_quote(stdout, port);
	printf(",\"kind\":");
	json_quote(stdout, kind_of(e));
	printf(",\"virtual_server\":");
	json_quote(stdout, ipvssvc_service_format_key(svc, buf, sizeof(buf)));
	if (ipvssvc_service_get_fwmark(svc)) {
		printf(",\"fwmark\":%u", ipvssvc_service_get_fwmark(svc));
	} else {
		ipvssvc_service_get_addr(svc, &ip);
		printf(",\"protocol\":\"%s\",\"address\":",
		       proto_name(ipvssvc_service_get_protocol(svc)));
		json_quote(stdout, ipvssvc_ip_format(&ip, buf, sizeof(buf)));
		printf(",\"port\":%u", ipvssvc_service_get_port(svc));
	}
	printf(",\"in_kernel\":%s", e->missing ? "false" : "true");
	if (e->missing) {
		putchar('}');
		return;
	}
	printf(",\"scheduler\":");
	json_quote(stdout, ipvssvc_service_get_scheduler(svc));
	persistent = ipvssvc_service_get_flags(svc) & IPVSSVC_SVC_F_PERSISTENT;
	printf(",\"persistent\":%s,\"timeout\":%u,\"stats\":",
	       persistent ? "true" : "false", ipvssvc_service_get_timeout(svc));
	ipvssvc_service_get_stats(svc, &st);
	json_stats(&st);
	printf(",\"real_servers\":[");
	n = ipvssvc_service_get_dest_count(svc);
	for (k = 0; k < n; k++) {
		const ipvssvc_dest *d = ipvssvc_service_get_dest(svc, k);
		uint32_t act, inact, pers;

		ipvssvc_dest_get_addr(d, &ip);
		ipvssvc_dest_get_conns(d, &act, &inact, &pers);
		ipvssvc_dest_get_stats(d, &st);
		printf("%s{\"address\":", k ? "," : "");
		json_quote(stdout, ipvssvc_ip_format(&ip, buf, sizeof(buf)));
		printf(",\"port\":%u,\"forward\":\"%s\",\"weight\":%u,"
		       "\"active_conns\":%u,\"inactive_conns\":%u,"
		       "\"persistent_conns\":%u,\"stats\":",
		       ipvssvc_dest_get_port(d),
		       fwd_name(ipvssvc_dest_get_fwd(d)),
		       ipvssvc_dest_get_weight(d), act, inact, pers);
		json_stats(&st);
		putchar('}');
	}
	printf("]}");
}

static void print_addrs_json(const ipvssvc_state *current)
{
	size_t i, n = ipvssvc_state_addr_count(current);
	char buf[IPVSSVC_IP_STRLEN];

	putchar('[');
	for (i = 0; i < n; i++) {
		printf("%s", i ? "," : "");
		json_quote(stdout,
			   ipvssvc_ip_format(ipvssvc_state_addr(current, i),
					     buf, sizeof(buf)));
	}
	putchar(']');
}

static int run_status(const struct options *o)
{
	ipvssvc_ctx *ctx = NULL;
	ipvssvc_config *cfg = NULL;
	ipvssvc_objects *objs = NULL;
	ipvssvc_state *desired = NULL, *current = NULL, *recorded = NULL;
	struct entry *ents = NULL;
	size_t i, n = 0, cap;
	int ret = EXIT_USAGE;
	const char *group = NULL;

	if (make_config(o, &cfg) < 0)
		goto out;
	if (have_source(o) && load_objects(o, &objs) < 0)
		goto out;
	if (open_kernel(&ctx) < 0)
		goto out;
	if (objs) {
		add_node_addrs(ctx, o, cfg);
		if (build_desired(objs, cfg, &desired) < 0)
			goto out;
	}
	if (read_current(ctx, o, &current) < 0)
		goto out;
	if (record_read(o, &recorded) < 0)
		goto out;
	cap = ipvssvc_state_service_count(current) +
	      ipvssvc_state_service_count(desired) + 1;
	ents = calloc(cap, sizeof(*ents));
	if (!ents) {
		log_err("out of memory");
		goto out;
	}
	for (i = 0; i < ipvssvc_state_service_count(current); i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(current, i);
		const ipvssvc_service *want = ipvssvc_state_find(desired, svc);
		struct ipvssvc_ip ip;
		bool on_link;

		ipvssvc_service_get_addr(svc, &ip);
		on_link = !ipvssvc_service_get_fwmark(svc) &&
			  state_has_addr(current, &ip);
		if (ipvssvc_config_is_excluded(cfg, &ip))
			continue;
		if (!want && !on_link && !ipvssvc_state_find(recorded, svc) &&
		    !(desired && state_has_addr(desired, &ip)))
			continue; /* not ours */
		ents[n].svc = svc;
		ents[n].named = want;
		ents[n].on_link = on_link;
		ents[n].order = n;
		n++;
	}
	for (i = 0; i < ipvssvc_state_service_count(desired); i++) {
		const ipvssvc_service *want = ipvssvc_state_service(desired, i);

		if (ipvssvc_state_find(current, want))
			continue;
		ents[n].svc = want;
		ents[n].named = want;
		ents[n].missing = true;
		ents[n].order = n;
		n++;
	}
	for (i = 0; i < n; i++) {
		const char *ns = NULL, *name = NULL;

		if (ents[i].named)
			ipvssvc_service_get_origin(ents[i].named, &ns, &name,
						   NULL);
		if (name)
			snprintf(ents[i].label, sizeof(ents[i].label), "%s/%s",
				 ns ? ns : "", name);
	}
	qsort(ents, n, sizeof(*ents), entry_cmp);

	if (o->json) {
		printf("{\"interface\":");
		json_quote(stdout, o->ifname);
		printf(",\"addresses\":");
		print_addrs_json(current);
		printf(",\"services\":[");
		for (i = 0; i < n; i++) {
			printf("%s\n  ", i ? "," : "");
			print_entry_json(&ents[i]);
		}
		printf("%s]}\n", n ? "\n" : "");
		ret = EXIT_OK;
		goto out;
	}
	printf("Interface %s: %zu address%s\n", o->ifname,
	       ipvssvc_state_addr_count(current),
	       ipvssvc_state_addr_count(current) == 1 ? "" : "es");
	if (n == 0)
		printf("\nNo IPVS rules of ipvs-svc in the kernel.\n");
	for (i = 0; i < n; i++) {
		if (!group || strcmp(group, ents[i].label)) {
			if (*ents[i].label)
				printf("\nService %s\n", ents[i].label);
			else
				printf("\nRules of ipvs-svc%s\n",
				       have_source(o) ? " not from any Service "
							"(stale: sync removes "
							"them)"
						      : " (give --manifests or "
							"--kubeconfig to "
							"name their Services)");
			group = ents[i].label;
		}
		print_entry_text(&ents[i]);
	}
	ret = EXIT_OK;
out:
	free(ents);
	ipvssvc_state_free(recorded);
	ipvssvc_state_free(current);
	ipvssvc_state_free(desired);
	ipvssvc_objects_free(objs);
	ipvssvc_config_free(cfg);
	ipvssvc_ctx_free(ctx);
	return ret;
}

const struct command cmd_status = {
	.name = "status",
	.flags = OPT_SOURCES | OPT_OUTPUT,
	.summary = "show the IPVS rules ipvs-svc owns, by Service",
	.usage = "[--manifests PATH] [OPTIONS]",
	.help = "Shows each virtual server ipvs-svc owns with its scheduler,\n"
		"persistence and counters, and each real server's weight,\n"
		"active and inactive connections and traffic. With\n"
		"--manifests (and the same options as sync) rules are grouped\n"
		"by Service and port name, and Services missing from the\n"
		"kernel are shown.",
	.run = run_status,
};
