/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-services: N Services with M ready endpoints each, written as a v1
 * List of Services and EndpointSlices (the manifests), as the `ipvsadm -R`
 * rules that ipvs-svc programs for them, and as the ClusterIPs it puts
 * on its dummy interface. Deterministic: the same arguments give the same
 * files, so that both sides of a benchmark program the same table.
 *
 *   gen-services -n N [-m M] [-N NODE_IP] [-e] [-j FILE] [-r FILE] [-a FILE]
 *
 * Service i: ClusterIP 10.96.0.0/12 + 16 + i, one port; every fourth is
 * UDP; i % 10 == 0 is a NodePort (on NODE_IP, 30000 up), i % 10 == 5 has
 * ClientIP affinity (persistence 10800 s). Endpoint j of Service i is
 * 10.244.0.0/14 + 16 + i * M + j, port 8080, ready, on node-1. With -e,
 * Service 1 has one more endpoint (10.244.0.0/14 + 16 + N * M): the
 * manifests of a one-endpoint change (the rules and addresses stay those
 * without -e).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_BASE 0x0a600000u /* 10.96.0.0/12 */
#define CLUSTER_SIZE (1u << 20)
#define POD_BASE 0x0af40000u /* 10.244.0.0/14 */
#define POD_SIZE (1u << 18)
#define NODEPORT_FIRST 30000u
#define NODEPORT_LAST 32767u
#define TARGET_PORT 8080u
#define AFFINITY_TIMEOUT 10800u

struct gen {
	unsigned long n, m;
	const char *node_ip;
	int extra;
};

static const char *ip4(uint32_t a, char *buf)
{
	sprintf(buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		a & 255);
	return buf;
}

static int is_udp(unsigned long i)
{
	return i % 4 == 3;
}

static int is_nodeport(unsigned long i)
{
	return i % 10 == 0;
}

static int is_affinity(unsigned long i)
{
	return i % 10 == 5;
}

static unsigned svc_port(unsigned long i)
{
	return 80 + (unsigned)(i % 1000);
}

static unsigned node_port(unsigned long i)
{
	return NODEPORT_FIRST + (unsigned)(i / 10);
}

static void write_manifests(const struct gen *g, FILE *f)
{
	unsigned long i, j;
	char a[16];

	fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n", f);
	for (i = 0; i < g->n; i++) {
		const char *proto = is_udp(i) ? "UDP" : "TCP";
		uint32_t cip = CLUSTER_BASE + 16 + (uint32_t)i;

		ip4(cip, a);
		fprintf(f,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Service\","
			"\"metadata\":{\"name\":\"svc-%lu\",\"namespace\":"
			"\"bench-%lu\"},\"spec\":{\"type\":\"%s\","
			"\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],"
			"\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":"
			"\"p\",\"port\":%u,\"targetPort\":%u,\"protocol\":"
			"\"%s\"",
			i ? ",\n" : "", i, i % 10,
			is_nodeport(i) ? "NodePort" : "ClusterIP", a, a,
			svc_port(i), TARGET_PORT, proto);
		if (is_nodeport(i))
			fprintf(f, ",\"nodePort\":%u", node_port(i));
		fprintf(f,
			"}],\"selector\":{\"app\":\"svc-%lu\"},"
			"\"sessionAffinity\":\"%s\"}}",
			i, is_affinity(i) ? "ClientIP" : "None");
		fprintf(f,
			",\n{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
			"\"EndpointSlice\",\"metadata\":{\"name\":"
			"\"svc-%lu-a\",\"namespace\":\"bench-%lu\",\"labels\":"
			"{\"kubernetes.io/service-name\":\"svc-%lu\"}},"
			"\"addressType\":\"IPv4\",\"endpoints\":[",
			i, i % 10, i);
		for (j = 0; j < g->m; j++)
			fprintf(f,
				"%s{\"addresses\":[\"%s\"],\"conditions\":"
				"{\"ready\":true},\"nodeName\":\"node-1\"}",
				j ? "," : "",
				ip4(POD_BASE + 16 + (uint32_t)(i * g->m + j),
				    a));
		if (g->extra && i == 1)
			fprintf(f,
				",{\"addresses\":[\"%s\"],\"conditions\":"
				"{\"ready\":true},\"nodeName\":\"node-1\"}",
				ip4(POD_BASE + 16 + (uint32_t)(g->n * g->m),
				    a));
		fprintf(f,
			"],\"ports\":[{\"name\":\"p\",\"port\":%u,"
			"\"protocol\":\"%s\"}]}",
			TARGET_PORT, proto);
	}
	fputs("\n]}\n", f);
}

static void write_vs(const struct gen *g, FILE *f, unsigned long i,
		     const char *vip, unsigned port)
{
	char t = is_udp(i) ? 'u' : 't';
	unsigned long j;
	char a[16];

	fprintf(f, "-A -%c %s:%u -s rr", t, vip, port);
	if (is_affinity(i))
		fprintf(f, " -p %u", AFFINITY_TIMEOUT);
	fputc('\n', f);
	for (j = 0; j < g->m; j++)
		fprintf(f, "-a -%c %s:%u -r %s:%u -m -w 1\n", t, vip, port,
			ip4(POD_BASE + 16 + (uint32_t)(i * g->m + j), a),
			TARGET_PORT);
}

static void write_rules(const struct gen *g, FILE *f)
{
	unsigned long i;
	char a[16];

	for (i = 0; i < g->n; i++) {
		write_vs(g, f, i, ip4(CLUSTER_BASE + 16 + (uint32_t)i, a),
			 svc_port(i));
		if (is_nodeport(i))
			write_vs(g, f, i, g->node_ip, node_port(i));
	}
}

static void write_addrs(const struct gen *g, FILE *f)
{
	unsigned long i;
	char a[16];

	for (i = 0; i < g->n; i++)
		fprintf(f, "%s\n", ip4(CLUSTER_BASE + 16 + (uint32_t)i, a));
}

static int write_file(const char *path, const struct gen *g,
		      void (*fn)(const struct gen *, FILE *))
{
	FILE *f;

	if (!path)
		return 0;
	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "gen-services: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fn(g, f);
	if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
		fprintf(stderr, "gen-services: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "gen-services: %s: '%s' is not a number\n",
			what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct gen g = {.n = 1000, .m = 10, .node_ip = "192.168.50.10"};
	const char *json = NULL, *rules = NULL, *addrs = NULL;
	int c;

	while ((c = getopt(argc, argv, "n:m:N:ej:r:a:h")) != -1) {
		switch (c) {
		case 'n':
			g.n = number(optarg, "-n");
			break;
		case 'm':
			g.m = number(optarg, "-m");
			break;
		case 'N':
			g.node_ip = optarg;
			break;
		case 'e':
			g.extra = 1;
			break;
		case 'j':
			json = optarg;
			break;
		case 'r':
			rules = optarg;
			break;
		case 'a':
			addrs = optarg;
			break;
		default:
			fprintf(stderr, "usage: gen-services -n N [-m M] "
					"[-N NODE_IP] [-e] [-j MANIFESTS] "
					"[-r RULES] [-a ADDRS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	/* EndpointSlices hold at most 100 endpoints; NodePorts one range */
	if (g.n == 0 || g.n >= CLUSTER_SIZE - 32 || g.m > 100 ||
	    g.n * g.m + 1 >= POD_SIZE - 32 ||
	    node_port(g.n - 1) > NODEPORT_LAST) {
		fprintf(stderr,
			"gen-services: -n %lu -m %lu is out of range "
			"(n up to 27670, m up to 100, n*m < 262112)\n",
			g.n, g.m);
		return 2;
	}
	if (write_file(json, &g, write_manifests) < 0 ||
	    write_file(rules, &g, write_rules) < 0 ||
	    write_file(addrs, &g, write_addrs) < 0)
		return 1;
	return 0;
}
