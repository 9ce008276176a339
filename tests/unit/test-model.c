/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model, table-driven: each directory under tests/data/model/ holds
 * objects (objects.json, and the same as objects.yaml), the settings
 * (args, kube-proxy's flag names plus --node-ip and --node-zone), and the
 * expected state: expected.ipvs (`ipvsadm -Sn | sort`), expected.addrs,
 * optionally expected.diag (messages that must be reported) and
 * expected.origins ("-t 10.96.0.10:80 ns/name port Kind").
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "internal.h"
#include "objects.h"

static const char *const cases[] = {
	"bad-input",
	"clusterip-basic",
	"conflict",
	"dual-stack-nodeport-addresses",
	"etp-local",
	"etp-local-clusterip-type",
	"etp-local-none-local",
	"etp-local-terminating",
	"exclude-cidrs",
	"externalips",
	"headless-slice-ignored",
	"ipv6-only",
	"itp-local",
	"itp-local-nodeport-fallback",
	"itp-local-none-local",
	"legacy-endpoints",
	"loadbalancer",
	"loadbalancer-no-nodeports",
	"multi-slice",
	"no-endpoints",
	"nodeport",
	"nodeport-addresses",
	"nodeport-zero-cidr",
	"nothing",
	"pods-offline",
	"pods-offline-terminating",
	"port-name-mismatch",
	"protocols",
	"readiness",
	"scheduler-annotations",
	"scheduler-mh-default",
	"service-proxy-name-set",
	"service-proxy-name-unset",
	"terminating-fallback",
	"topology-missing-hint",
	"topology-node",
	"topology-other-zone",
	"topology-zone",
	"unnamed-port",
	/* the acceptance scenarios, copied */
	"acc-headless-nothing",
	"acc-hostnames-affinity-timeout",
	"acc-hostnames-client-ip-affinity",
	"acc-hostnames-one-not-ready",
	"acc-hostnames-scheduler-flag",
	"acc-hostnames-three-ready",
	"acc-kube-dns-multi-port",
};

struct diagbuf {
	char *text;
	size_t len;
};

static void collect(void *userdata, int level, const char *msg)
{
	struct diagbuf *d = userdata;
	size_t l = strlen(msg);
	char *t = realloc(d->text, d->len + l + 2);

	(void)level;
	ck_assert_ptr_nonnull(t);
	memcpy(t + d->len, msg, l);
	t[d->len + l] = '\n';
	t[d->len + l + 1] = '\0';
	d->text = t;
	d->len += l + 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *case_file(const char *c, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/model/%s/%s", TEST_DATA_DIR, c, file);
	return slurp(path);
}

static void apply_args(ipvssvc_config *cfg, const char *args)
{
	char *copy = strdup(args), *save = NULL, *tok;

	ck_assert_ptr_nonnull(copy);
	for (tok = strtok_r(copy, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		char *v = strtok_r(NULL, " \t\n", &save);
		struct ipvssvc_ip ip;

		ck_assert_msg(v, "flag %s without value", tok);
		if (strcmp(tok, "--hostname-override") == 0)
			ck_assert_int_eq(ipvssvc_config_set_node_name(cfg, v),
					 0);
		else if (strcmp(tok, "--ipvs-scheduler") == 0)
			ck_assert_int_eq(ipvssvc_config_set_scheduler(cfg, v),
					 0);
		else if (strcmp(tok, "--nodeport-addresses") == 0)
			ck_assert_int_eq(
				ipvssvc_config_set_nodeport_addresses(cfg, v),
				0);
		else if (strcmp(tok, "--ipvs-exclude-cidrs") == 0)
			ck_assert_int_eq(
				ipvssvc_config_set_exclude_cidrs(cfg, v), 0);
		else if (strcmp(tok, "--cluster-cidr") == 0)
			ck_assert_int_eq(
				ipvssvc_config_set_cluster_cidrs(cfg, v), 0);
		else if (strcmp(tok, "--service-proxy-name") == 0)
			ck_assert_int_eq(
				ipvssvc_config_set_service_proxy_name(cfg, v),
				0);
		else if (strcmp(tok, "--node-zone") == 0)
			ck_assert_int_eq(ipvssvc_config_set_node_zone(cfg, v),
					 0);
		else if (strcmp(tok, "--node-ip") == 0) {
			ck_assert_int_eq(ipvssvc_ip_parse(v, &ip), 0);
			ck_assert_int_eq(ipvssvc_config_add_node_addr(cfg, &ip),
					 0);
		} else
			ck_abort_msg("unknown flag %s", tok);
	}
	free(copy);
}

/* rules, then "--addrs", then the addresses */
static char *state_text(const ipvssvc_state *st)
{
	char *rules, *out;
	size_t i, len;

	ck_assert_int_eq(ipvssvc_state_format_rules(st, &rules), 0);
	len = strlen(rules) + 16 +
	      ipvssvc_state_addr_count(st) * (IPVSSVC_IP_STRLEN + 1);
	out = malloc(len);
	ck_assert_ptr_nonnull(out);
	snprintf(out, len, "%s--addrs\n", rules);
	for (i = 0; i < ipvssvc_state_addr_count(st); i++) {
		char ip[IPVSSVC_IP_STRLEN];

		ipvssvc_ip_format(ipvssvc_state_addr(st, i), ip, sizeof(ip));
		strcat(out, ip);
		strcat(out, "\n");
	}
	free(rules);
	return out;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted (LC_ALL=C), blank lines dropped. */
static char *sorted_lines(const char *text)
{
	char *copy = strdup(text ? text : ""), *save = NULL, *tok, *out;
	char **v = NULL;
	size_t n = 0, i;

	ck_assert_ptr_nonnull(copy);
	for (tok = strtok_r(copy, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		v = realloc(v, (n + 1) * sizeof(*v));
		ck_assert_ptr_nonnull(v);
		v[n++] = tok;
	}
	if (n)
		qsort(v, n, sizeof(*v), line_cmp);
	out = calloc(1, strlen(text ? text : "") + 2);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	free(v);
	free(copy);
	return out;
}

/* Build the state of a case from data (a file's content). */
static ipvssvc_state *build(const char *c, const char *data, const char *name,
			    struct diagbuf *diag)
{
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	char *args = case_file(c, "args");

	ck_assert_ptr_nonnull(args);
	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ipvssvc_objects_set_diag(objs, collect, diag);
	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	apply_args(cfg, args);
	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(objs, data, strlen(data), name), 0);
	ck_assert_int_eq(ipvssvc_model_build(objs, cfg, &st), 0);
	ipvssvc_objects_free(objs);
	ipvssvc_config_free(cfg);
	free(args);
	return st;
}

static char *expected_text(const char *c)
{
	char *ipvs = case_file(c, "expected.ipvs");
	char *addrs = case_file(c, "expected.addrs");
	char *si, *sa, *out;
	size_t len;

	ck_assert_msg(ipvs && addrs, "case %s: expected files missing", c);
	si = sorted_lines(ipvs);
	sa = sorted_lines(addrs);
	len = strlen(si) + strlen(sa) + 16;
	out = malloc(len);
	ck_assert_ptr_nonnull(out);
	snprintf(out, len, "%s--addrs\n%s", si, sa);
	free(ipvs);
	free(addrs);
	free(si);
	free(sa);
	return out;
}

/* The addresses of a state come sorted by address, not as text. */
static char *normalize(char *text)
{
	char *mark = strstr(text, "--addrs\n"), *rest, *out;
	size_t len;

	ck_assert_ptr_nonnull(mark);
	rest = sorted_lines(mark + 8);
	mark[8] = '\0';
	len = strlen(text) + strlen(rest) + 1;
	out = malloc(len);
	ck_assert_ptr_nonnull(out);
	snprintf(out, len, "%s%s", text, rest);
	free(rest);
	free(text);
	return out;
}

static const char *origin_kind(enum ipvssvc_origin o)
{
	switch (o) {
	case IPVSSVC_ORIGIN_CLUSTER_IP:
		return "ClusterIP";
	case IPVSSVC_ORIGIN_EXTERNAL_IP:
		return "ExternalIP";
	case IPVSSVC_ORIGIN_LOAD_BALANCER:
		return "LoadBalancer";
	case IPVSSVC_ORIGIN_NODE_PORT:
		return "NodePort";
	default:
		return "None";
	}
}

static void check_origins(const char *c, const ipvssvc_state *st)
{
	char *want = case_file(c, "expected.origins"), *save = NULL, *line;
	size_t i;

	if (!want)
		return;
	for (line = strtok_r(want, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool found = false;

		for (i = 0; i < ipvssvc_state_service_count(st); i++) {
			const ipvssvc_service *svc =
				ipvssvc_state_service(st, i);
			char rule[256], got[512];
			const char *ns, *name, *port;
			enum ipvssvc_origin o;
			char *sp;

			ipvssvc_service_format_rule(svc, rule, sizeof(rule));
			/* "-A -t 10.0.0.1:80 -s rr" -> "-t 10.0.0.1:80" */
			sp = strstr(rule, " -s ");
			*sp = '\0';
			if (strcmp(rule + 3, line) == 0 ||
			    strncmp(line, rule + 3, strlen(rule + 3)) != 0 ||
			    line[strlen(rule + 3)] != ' ')
				continue;
			o = ipvssvc_service_get_origin(svc, &ns, &name, &port);
			snprintf(got, sizeof(got), "%s %s/%s %s %s", rule + 3,
				 ns, name, port, origin_kind(o));
			ck_assert_str_eq(got, line);
			found = true;
		}
		ck_assert_msg(found, "case %s: no virtual server for %s", c,
			      line);
	}
	free(want);
}

static void check_diag(const char *c, const struct diagbuf *diag)
{
	char *want = case_file(c, "expected.diag"), *save = NULL, *line;

	if (!want)
		return;
	for (line = strtok_r(want, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		ck_assert_msg(diag->text && strstr(diag->text, line),
			      "case %s: message not reported: %s\ngot:\n%s", c,
			      line, diag->text ? diag->text : "");
	free(want);
}

/* The same objects in the reverse order. */
static char *reversed(const char *json)
{
	cJSON *root = cJSON_Parse(json), *items, *rev, *it;
	char *out;

	ck_assert_ptr_nonnull(root);
	items = cJSON_GetObjectItem(root, "items");
	ck_assert_ptr_nonnull(items);
	rev = cJSON_CreateArray();
	while ((it = cJSON_DetachItemFromArray(items, 0)))
		ck_assert(cJSON_InsertItemInArray(rev, 0, it));
	cJSON_ReplaceItemInObject(root, "items", rev);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

START_TEST(test_case)
{
	const char *c = cases[_i];
	char *json = case_file(c, "objects.json"), *yaml, *want, *got;
	struct diagbuf diag = {0};
	ipvssvc_state *st;

	ck_assert_msg(json, "case %s: no objects.json", c);
	want = expected_text(c);

	st = build(c, json, "objects.json", &diag);
	got = normalize(state_text(st));
	ck_assert_msg(strcmp(got, want) == 0,
		      "case %s:\n--- got\n%s--- want\n%s--- diag\n%s", c, got,
		      want, diag.text ? diag.text : "");
	check_origins(c, st);
	check_diag(c, &diag);
	ipvssvc_state_free(st);
	free(got);

	/* the model does not depend on the order of the input */
	{
		char *rev = reversed(json);
		struct diagbuf d2 = {0};

		st = build(c, rev, "reversed", &d2);
		got = normalize(state_text(st));
		ck_assert_msg(strcmp(got, want) == 0,
			      "case %s reversed:\n--- got\n%s--- want\n%s", c,
			      got, want);
		ipvssvc_state_free(st);
		free(got);
		free(rev);
		free(d2.text);
	}

	/* the same objects as YAML give the same state */
	yaml = case_file(c, "objects.yaml");
	if (yaml) {
		struct diagbuf d3 = {0};

		st = build(c, yaml, "objects.yaml", &d3);
		got = normalize(state_text(st));
		ck_assert_msg(strcmp(got, want) == 0,
			      "case %s from YAML:\n--- got\n%s--- want\n%s"
			      "--- diag\n%s",
			      c, got, want, d3.text ? d3.text : "");
		check_diag(c, &d3);
		ipvssvc_state_free(st);
		free(got);
		free(yaml);
		free(d3.text);
	}
	free(want);
	free(json);
	free(diag.text);
}
END_TEST

/* Attributes the rule text does not show. */
START_TEST(test_netmask_and_timeout)
{
	char *json = case_file("ipv6-only", "objects.json");
	struct diagbuf diag = {0};
	ipvssvc_state *st = build("ipv6-only", json, "objects.json", &diag);
	const ipvssvc_service *svc;

	ck_assert_uint_eq(ipvssvc_state_service_count(st), 1);
	svc = ipvssvc_state_service(st, 0);
	ck_assert_uint_eq(svc->netmask, 128);
	ck_assert_uint_eq(svc->flags, IPVSSVC_SVC_F_PERSISTENT);
	ck_assert_uint_eq(svc->timeout, 300);
	ck_assert_uint_eq(svc->n_dests, 2);
	ck_assert_uint_eq(svc->dests[0].weight, 1);
	ck_assert_int_eq(svc->dests[0].fwd, IPVSSVC_FWD_MASQ);
	ipvssvc_state_free(st);
	free(json);
	free(diag.text);

	json = case_file("acc-hostnames-affinity-timeout", "objects.json");
	diag = (struct diagbuf){0};
	st = build("acc-hostnames-affinity-timeout", json, "objects.json",
		   &diag);
	svc = ipvssvc_state_service(st, 0);
	ck_assert_uint_eq(svc->netmask, 0xffffffff);
	ck_assert_uint_eq(svc->timeout, 600);
	ipvssvc_state_free(st);
	free(json);
	free(diag.text);
}
END_TEST

/* A watch replaces and deletes objects; the model follows. */
START_TEST(test_upsert_delete_rebuild)
{
	static const char svc[] = "{\"kind\":\"Service\",\"metadata\":{"
				  "\"name\":\"web\"},"
				  "\"spec\":{\"clusterIP\":\"10.96.0.10\","
				  "\"ports\":[{\"name\":"
				  "\"http\",\"port\":80}]}}";
	static const char svc2[] = "{\"kind\":\"Service\",\"metadata\":{"
				   "\"name\":\"web\"},"
				   "\"spec\":{\"clusterIP\":\"10.96.0.11\","
				   "\"ports\":[{\"name\":"
				   "\"http\",\"port\":80}]}}";
	static const char slice[] =
		"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"web-a\","
		"\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\","
		"\"port\":8080}],\"endpoints\":[{\"addresses\":"
		"[\"10.244.0.5\"]}]}";
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	char *t;

	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, svc, strlen(svc)),
			 0);
	ck_assert_int_eq(
		ipvssvc_objects_upsert_json(objs, slice, strlen(slice)), 0);
	ck_assert_int_eq(ipvssvc_model_build(objs, cfg, &st), 0);
	t = state_text(st);
	ck_assert_str_eq(t, "-A -t 10.96.0.10:80 -s rr\n"
			    "-a -t 10.96.0.10:80 -r 10.244.0.5:8080 -m -w 1\n"
			    "--addrs\n10.96.0.10\n");
	free(t);
	ipvssvc_state_free(st);

	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, svc2, strlen(svc2)),
			 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 1);
	ck_assert_int_eq(ipvssvc_objects_delete(objs, "EndpointSlice",
						"default", "web-a"),
			 0);
	ck_assert_int_eq(ipvssvc_model_build(objs, cfg, &st), 0);
	t = state_text(st);
	ck_assert_str_eq(t, "-A -t 10.96.0.11:80 -s rr\n--addrs\n10.96.0.11\n");
	free(t);
	ipvssvc_state_free(st);
	ipvssvc_objects_free(objs);
	ipvssvc_config_free(cfg);
}
END_TEST

/* 100k endpoints in 100 slices: linear decoding and joining. */
START_TEST(test_huge)
{
	size_t cap = 16 << 20, n = 0;
	char *buf = malloc(cap);
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	clock_t t0;
	int s, e;

	ck_assert_ptr_nonnull(buf);
	n += (size_t)snprintf(buf + n, cap - n,
			      "{\"kind\":\"List\",\"items\":[{\"kind\":"
			      "\"Service\",\"metadata\":{\"name\":\"big\"},"
			      "\"spec\":{\"clusterIP\":\"10.96.0.1\","
			      "\"ports\":[{\"port\":80}]}}");
	for (s = 0; s < 100; s++) {
		n += (size_t)snprintf(buf + n, cap - n,
				      ",{\"kind\":\"EndpointSlice\","
				      "\"metadata\":{\"name\":"
				      "\"big-%d\",\"labels\":{\"kubernetes.io/"
				      "service-name\":\"big\"}},"
				      "\"addressType\":\"IPv4\","
				      "\"ports\":[{\"port\":8080}],"
				      "\"endpoints\":[",
				      s);
		for (e = 0; e < 1000; e++)
			n += (size_t)snprintf(buf + n, cap - n,
					      "%s{\"addresses\":[\"10.%d.%d.%"
					      "d\"],"
					      "\"conditions\":{\"ready\":true}"
					      "}",
					      e ? "," : "", 100 + s / 100,
					      s % 100, e % 250);
		n += (size_t)snprintf(buf + n, cap - n, "]}");
	}
	n += (size_t)snprintf(buf + n, cap - n, "]}");
	ck_assert_uint_lt(n, cap);

	t0 = clock();
	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, buf, n, "huge"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "EndpointSlice"), 100);
	ck_assert_int_eq(ipvssvc_model_build(objs, cfg, &st), 0);
	ck_assert_uint_eq(ipvssvc_state_service_count(st), 1);
	/* 250 distinct addresses per slice */
	ck_assert_uint_eq(ipvssvc_state_service(st, 0)->n_dests, 100 * 250);
	/* generous: this takes well under a second when linear */
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0,
		      "too slow: %.1f s",
		      (double)(clock() - t0) / CLOCKS_PER_SEC);
	ipvssvc_state_free(st);
	ipvssvc_objects_free(objs);
	ipvssvc_config_free(cfg);
	free(buf);
}
END_TEST

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("cases");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_case, 0, (int)ARRAY_SIZE(cases));
	tcase_add_test(tc, test_netmask_and_timeout);
	tcase_add_test(tc, test_upsert_delete_rebuild);
	tcase_add_test(tc, test_huge);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(model_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
