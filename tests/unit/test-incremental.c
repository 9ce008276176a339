/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Incremental planning, as the daemon does it: build only the Services
 * changed, take their part out of the programmed state, plan it, put it
 * back. After every change the result must equal a whole rebuild: the
 * same operations as planning the whole model against the previous one,
 * and the same programmed state (rules and bound addresses), shared
 * ExternalIPs and NodePorts included.
 */
#include "internal.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>

#include <ipvs-svc/ipvs-svc.h>

#define NS "a"

static void upsert(ipvssvc_objects *objs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void upsert(ipvssvc_objects *objs, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(buf));
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, buf, (size_t)n), 0);
}

static void service(ipvssvc_objects *objs, int i, const char *type,
		    const char *extra_spec, int port, int node_port)
{
	char np[64] = "";

	if (node_port)
		snprintf(np, sizeof(np), ", \"nodePort\": %d", node_port);
	upsert(objs,
	       "{\"apiVersion\": \"v1\", \"kind\": \"Service\", "
	       "\"metadata\": {\"name\": \"s%d\", \"namespace\": \"" NS "\"}, "
	       "\"spec\": {\"type\": \"%s\", \"clusterIP\": \"10.96.0.%d\", "
	       "\"clusterIPs\": [\"10.96.0.%d\"], \"ipFamilies\": "
	       "[\"IPv4\"]%s, "
	       "\"ports\": [{\"name\": \"p\", \"port\": %d, \"targetPort\": "
	       "8080, \"protocol\": \"TCP\"%s}]}}",
	       i, type, i + 1, i + 1, extra_spec, port, np);
}

static void slice(ipvssvc_objects *objs, int i, int n_eps)
{
	char eps[1024] = "";
	size_t len = 0;
	int k;

	for (k = 0; k < n_eps; k++)
		len += (size_t)snprintf(eps + len, sizeof(eps) - len,
					"%s{\"addresses\": [\"10.244.%d.%d\"], "
					"\"conditions\": "
					"{\"ready\": true}, \"nodeName\": "
					"\"node-1\"}",
					k ? ", " : "", i, k + 1);
	upsert(objs,
	       "{\"apiVersion\": \"discovery.k8s.io/v1\", \"kind\": "
	       "\"EndpointSlice\", \"metadata\": {\"name\": \"s%d-x\", "
	       "\"namespace\": \"" NS "\", \"labels\": "
	       "{\"kubernetes.io/service-name\": \"s%d\"}}, \"addressType\": "
	       "\"IPv4\", \"endpoints\": [%s], \"ports\": [{\"name\": \"p\", "
	       "\"port\": 8080, \"protocol\": \"TCP\"}]}",
	       i, i, eps);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plan's operations, one per line, sorted: order within a phase
 * does not matter here. */
static char *plan_text(const ipvssvc_plan *plan)
{
	size_t i, n = ipvssvc_plan_count(plan), len = 0;
	char **lines = calloc(n ? n : 1, sizeof(*lines)), *text;

	ck_assert_ptr_nonnull(lines);
	for (i = 0; i < n; i++) {
		char buf[256];

		ipvssvc_plan_format_op(plan, i, buf, sizeof(buf));
		lines[i] = strdup(buf);
		len += strlen(buf) + 1;
	}
	if (n > 1)
		qsort(lines, n, sizeof(*lines), line_cmp);
	text = calloc(1, len + 1);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < n; i++) {
		strcat(text, lines[i]);
		strcat(text, "\n");
		free(lines[i]);
	}
	free(lines);
	return text;
}

static char *state_text(const ipvssvc_state *st)
{
	char *rules, *text;
	size_t i, n = ipvssvc_state_addr_count(st), len;

	ck_assert_int_eq(ipvssvc_state_format_rules(st, &rules), 0);
	len = strlen(rules) + n * (IPVSSVC_IP_STRLEN + 8) + 1;
	text = calloc(1, len);
	ck_assert_ptr_nonnull(text);
	strcat(text, rules);
	for (i = 0; i < n; i++) {
		char a[IPVSSVC_IP_STRLEN];

		strcat(text, "addr ");
		strcat(text, ipvssvc_ip_format(ipvssvc_state_addr(st, i), a,
					       sizeof(a)));
		strcat(text, "\n");
	}
	free(rules);
	return text;
}

struct world {
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *programmed;
	ipvssvc_state *prev_full;
};

static void world_init(struct world *w)
{
	struct ipvssvc_ip node;
	int i;

	ck_assert_int_eq(ipvssvc_objects_new(&w->objs), 0);
	ck_assert_int_eq(ipvssvc_config_new(&w->cfg), 0);
	ck_assert_int_eq(ipvssvc_config_set_node_name(w->cfg, "node-1"), 0);
	ck_assert_int_eq(ipvssvc_ip_parse("192.168.7.1", &node), 0);
	ck_assert_int_eq(ipvssvc_config_add_node_addr(w->cfg, &node), 0);
	for (i = 0; i < 30; i++) {
		if (i == 3 || i == 4)
			/* one ExternalIP, two Services, two ports */
			service(w->objs, i, "ClusterIP",
				", \"externalIPs\": [\"198.51.100.1\"]",
				80 + (i - 3), 0);
		else if (i == 6)
			service(w->objs, i, "NodePort", "", 80, 30006);
		else
			service(w->objs, i, "ClusterIP", "", 80, 0);
		slice(w->objs, i, 2);
	}
	ck_assert_int_eq(ipvssvc_model_build(w->objs, w->cfg, &w->programmed),
			 0);
	ck_assert_int_eq(ipvssvc_model_build(w->objs, w->cfg, &w->prev_full),
			 0);
}

static void world_done(struct world *w)
{
	ipvssvc_state_free(w->programmed);
	ipvssvc_state_free(w->prev_full);
	ipvssvc_config_free(w->cfg);
	ipvssvc_objects_free(w->objs);
}

/* After a change to the Services named: incremental == whole. */
static void check_step(struct world *w, const char *const *names, size_t n,
		       bool endpoints_only)
{
	const char *nss[8];
	ipvssvc_state *full, *part, *old;
	ipvssvc_plan *whole_plan, *part_plan;
	char *a, *b;
	size_t i;

	ck_assert_uint_le(n, 8);
	for (i = 0; i < n; i++)
		nss[i] = NS;
	ck_assert_int_eq(ipvssvc_model_build(w->objs, w->cfg, &full), 0);
	/* as the daemon: what it programmed is its own (NodePorts too) */
	ck_assert_int_eq(ipvssvc_plan_build(full, w->prev_full, w->prev_full,
					    w->cfg, &whole_plan),
			 0);
	ck_assert_int_eq(ipvssvc_model_build_services(w->objs, w->cfg, nss,
						      names, n, NULL, NULL,
						      &part),
			 0);
	/* endpoints only: the virtual servers kept their keys */
	ck_assert_int_eq(
		ipvssvc_state_take_services(w->programmed, nss, names, n,
					    endpoints_only ? part : NULL, &old),
		0);
	ck_assert_int_eq(ipvssvc_plan_build_part(part, old, w->programmed,
						 w->cfg, &part_plan),
			 0);
	a = plan_text(whole_plan);
	b = plan_text(part_plan);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	ck_assert_int_eq(ipvssvc_state_put_services(w->programmed, part, old),
			 0);
	ck_assert_uint_eq(ipvssvc_state_service_count(part), 0);
	a = state_text(full);
	b = state_text(w->programmed);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	ipvssvc_plan_free(whole_plan);
	ipvssvc_plan_free(part_plan);
	ipvssvc_state_free(part);
	ipvssvc_state_free(old);
	ipvssvc_state_free(w->prev_full);
	w->prev_full = full;
}

START_TEST(test_steps)
{
	struct world w;
	const char *s2[] = {"s2"}, *s3[] = {"s3"}, *s4[] = {"s4"};
	const char *s6[] = {"s6"}, *s7[] = {"s7"}, *s40[] = {"s40"};
	const char *many[] = {"s8", "s9", "s10", "gone"};

	world_init(&w);
	/* one endpoint more */
	slice(w.objs, 2, 3);
	check_step(&w, s2, 1, true);
	/* the shared ExternalIP stays while s4 uses it */
	ck_assert_int_eq(ipvssvc_objects_delete(w.objs, "Service", NS, "s3"),
			 0);
	check_step(&w, s3, 1, false);
	/* now it goes */
	ck_assert_int_eq(ipvssvc_objects_delete(w.objs, "Service", NS, "s4"),
			 0);
	check_step(&w, s4, 1, false);
	/* a new Service */
	service(w.objs, 40, "ClusterIP", "", 80, 0);
	slice(w.objs, 40, 1);
	check_step(&w, s40, 1, false);
	/* a NodePort moves */
	service(w.objs, 6, "NodePort", "", 80, 30106);
	check_step(&w, s6, 1, false);
	/* no endpoints any more */
	ck_assert_int_eq(
		ipvssvc_objects_delete(w.objs, "EndpointSlice", NS, "s7-x"), 0);
	check_step(&w, s7, 1, true);
	/* several at once, one of them unknown */
	slice(w.objs, 8, 1);
	service(w.objs, 9, "ClusterIP", "", 90, 0);
	ck_assert_int_eq(ipvssvc_objects_delete(w.objs, "Service", NS, "s10"),
			 0);
	check_step(&w, many, 4, false);
	/* nothing changed: nothing to do */
	check_step(&w, s2, 1, true);
	check_step(&w, s2, 1, false);
	world_done(&w);
}
END_TEST

/* Another Service's virtual server: the part cannot be planned alone. */
START_TEST(test_conflict)
{
	struct world w;
	const char *nss[] = {NS}, *s5[] = {"s5"};
	ipvssvc_state *part, *old;
	ipvssvc_plan *plan;

	world_init(&w);
	/* s5 takes s1's ClusterIP and port */
	upsert(w.objs, "{\"apiVersion\": \"v1\", \"kind\": \"Service\", "
		       "\"metadata\": "
		       "{\"name\": \"s5\", \"namespace\": \"" NS "\"}, "
		       "\"spec\": "
		       "{\"clusterIP\": \"10.96.0.2\", \"clusterIPs\": "
		       "[\"10.96.0.2\"], \"ports\": [{\"name\": \"p\", "
		       "\"port\": 80, "
		       "\"protocol\": \"TCP\"}]}}");
	ck_assert_int_eq(ipvssvc_model_build_services(w.objs, w.cfg, nss, s5, 1,
						      NULL, NULL, &part),
			 0);
	ck_assert_int_eq(ipvssvc_state_take_services(w.programmed, nss, s5, 1,
						     NULL, &old),
			 0);
	ck_assert_int_eq(ipvssvc_plan_build_part(part, old, w.programmed, w.cfg,
						 &plan),
			 -EEXIST);
	ck_assert_int_eq(ipvssvc_state_put_services(w.programmed, part, old),
			 -EEXIST);
	ipvssvc_state_free(part);
	ipvssvc_state_free(old);
	world_done(&w);
}
END_TEST

static unsigned no_local_int, no_local_ext, calls;

static void count_local(void *userdata, const char *ns, const char *name,
			unsigned internal, unsigned external)
{
	(void)userdata;
	(void)ns;
	(void)name;
	calls++;
	no_local_int += internal;
	no_local_ext += external;
}

/* kube-proxy's no-local-endpoints counts, and the metadata lookups. */
START_TEST(test_no_local)
{
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	const char *v;
	const char *nss[] = {NS, NS}, *names[] = {"s1", "s2"};

	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ck_assert_int_eq(ipvssvc_config_set_node_name(cfg, "node-2"), 0);
	service(objs, 1, "ClusterIP", ", \"internalTrafficPolicy\": \"Local\"",
		80, 0);
	service(objs, 2, "NodePort", ", \"externalTrafficPolicy\": \"Local\"",
		80, 30002);
	service(objs, 3, "NodePort", ", \"externalTrafficPolicy\": \"Local\"",
		80, 30003);
	slice(objs, 1, 1); /* on node-1: not local */
	slice(objs, 2, 1);
	/* s3 has no endpoints at all: not counted */
	no_local_int = no_local_ext = calls = 0;
	ck_assert_int_eq(ipvssvc_model_build_services(objs, cfg, NULL, NULL, 0,
						      count_local, NULL, &st),
			 0);
	ipvssvc_state_free(st);
	ck_assert_uint_eq(no_local_int, 1);
	ck_assert_uint_eq(no_local_ext, 1);
	ck_assert_uint_eq(calls, 2); /* all: only the non-zero ones */
	no_local_int = no_local_ext = calls = 0;
	ck_assert_int_eq(ipvssvc_model_build_services(objs, cfg, nss, names, 2,
						      count_local, NULL, &st),
			 0);
	ipvssvc_state_free(st);
	ck_assert_uint_eq(calls, 2);
	ck_assert_int_eq(
		ipvssvc_objects_get_label(objs, "EndpointSlice", NS, "s1-x",
					  "kubernetes.io/service-name", &v),
		0);
	ck_assert_str_eq(v, "s1");
	ck_assert_int_eq(ipvssvc_objects_get_annotation(objs, "EndpointSlice",
							NS, "s1-x", "x", &v),
			 -ENODATA);
	ck_assert_int_eq(ipvssvc_objects_get_label(objs, "EndpointSlice", NS,
						   "nope", "x", &v),
			 -ENOENT);
	ipvssvc_config_free(cfg);
	ipvssvc_objects_free(objs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("incremental");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_steps);
	tcase_add_test(tc, test_conflict);
	tcase_add_test(tc, test_no_local);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
