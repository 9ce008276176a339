/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoding objects: formats, positions of errors, the index, settings. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "objects.h"

struct diagbuf {
	char *text;
	size_t len;
};

static void collect(void *userdata, int level, const char *msg)
{
	struct diagbuf *d = userdata;
	size_t l = strlen(msg) + 8;
	char *t = realloc(d->text, d->len + l + 2);

	ck_assert_ptr_nonnull(t);
	d->len += (size_t)snprintf(t + d->len, l + 2, "%d %s\n", level, msg);
	d->text = t;
}

static ipvssvc_objects *new_objs(struct diagbuf *d)
{
	ipvssvc_objects *objs;

	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ipvssvc_objects_set_diag(objs, collect, d);
	return objs;
}

static void assert_reported(const struct diagbuf *d, const char *s)
{
	ck_assert_msg(d->text && strstr(d->text, s),
		      "not reported: %s\ngot:\n%s", s, d->text ? d->text : "");
}

#define DATA(f) TEST_DATA_DIR "/objects/" f

START_TEST(test_null_and_args)
{
	ipvssvc_objects_free(NULL);
	ipvssvc_config_free(NULL);
	ck_assert_int_eq(ipvssvc_objects_new(NULL), -EINVAL);
	ck_assert_int_eq(ipvssvc_objects_load_path(NULL, "x"), -EINVAL);
	ck_assert_uint_eq(ipvssvc_objects_count(NULL, "Service"), 0);
	ck_assert_int_eq(ipvssvc_model_build(NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_upsert_replace_delete)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	const struct k8s_obj *o;
	const struct slice_group *g;
	static const char s1[] = "{\"kind\":\"Service\",\"metadata\":{\"name\":"
				 "\"web\","
				 "\"namespace\":\"ns\"},\"spec\":{"
				 "\"clusterIP\":\"10.0.0.1\"}}";
	static const char s2[] = "{\"kind\":\"Service\",\"metadata\":{\"name\":"
				 "\"web\","
				 "\"namespace\":\"ns\"},\"spec\":{"
				 "\"clusterIP\":\"10.0.0.2\"}}";
	static const char e1[] = "{\"kind\":\"EndpointSlice\",\"metadata\":{"
				 "\"name\":\"web-1\","
				 "\"namespace\":\"ns\",\"labels\":{"
				 "\"kubernetes.io/"
				 "service-name\":\"web\"}},\"addressType\":"
				 "\"IPv4\"}";
	static const char e2[] = "{\"kind\":\"EndpointSlice\",\"metadata\":{"
				 "\"name\":\"web-2\","
				 "\"namespace\":\"ns\",\"labels\":{"
				 "\"kubernetes.io/"
				 "service-name\":\"web\"}},\"addressType\":"
				 "\"IPv4\"}";
	/* a slice that moves to another Service */
	static const char e2b[] = "{\"kind\":\"EndpointSlice\",\"metadata\":{"
				  "\"name\":\"web-2\","
				  "\"namespace\":\"ns\",\"labels\":{"
				  "\"kubernetes.io/"
				  "service-name\":\"api\"}},\"addressType\":"
				  "\"IPv4\"}";

	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, s1, strlen(s1)), 0);
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, s2, strlen(s2)), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 1);
	o = objs_find(objs, K8S_SERVICE, "ns", "web");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->u.svc.cluster_ip[0].u.bytes[3], 2);

	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, e1, strlen(e1)), 0);
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, e2, strlen(e2)), 0);
	g = objs_slices(objs, "ns", "web");
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g->n, 2);
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, e2b, strlen(e2b)),
			 0);
	ck_assert_uint_eq(objs_slices(objs, "ns", "web")->n, 1);
	ck_assert_uint_eq(objs_slices(objs, "ns", "api")->n, 1);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "EndpointSlice"), 2);

	ck_assert_int_eq(ipvssvc_objects_delete(objs, "EndpointSlice", "ns",
						"web-1"),
			 0);
	ck_assert_ptr_null(objs_slices(objs, "ns", "web"));
	ck_assert_int_eq(ipvssvc_objects_delete(objs, "EndpointSlice", "ns",
						"web-1"),
			 -ENOENT);
	ck_assert_int_eq(ipvssvc_objects_delete(objs, "Service", "ns", "web"),
			 0);
	ck_assert_int_eq(ipvssvc_objects_delete(objs, "Gadget", "ns", "web"),
			 -ENOENT);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Gadget"), 0);

	/* invalid JSON and an invalid object */
	ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, "{\"kind\":", 8),
			 -EBADMSG);
	ck_assert_int_eq(
		ipvssvc_objects_upsert_json(objs, "{\"kind\":\"Service\"}", 18),
		-EINVAL);
	assert_reported(&d, "metadata.name: missing");
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_many_objects_index)
{
	ipvssvc_objects *objs = new_objs(&(struct diagbuf){0});
	char buf[512];
	int i;

	/* many slices of many Services: the index grows */
	for (i = 0; i < 5000; i++) {
		int n = snprintf(buf, sizeof(buf),
				 "{\"kind\":\"EndpointSlice\",\"metadata\":{"
				 "\"name\":\"s-%d\",\"labels\":{\"kubernetes."
				 "io/"
				 "service-name\":\"svc-%d\"}},\"addressType\":"
				 "\"IPv4\"}",
				 i, i % 1000);

		ck_assert_int_eq(ipvssvc_objects_upsert_json(objs, buf, n), 0);
	}
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "EndpointSlice"), 5000);
	ck_assert_uint_eq(objs_slices(objs, "default", "svc-7")->n, 5);
	for (i = 0; i < 5000; i += 2) {
		snprintf(buf, sizeof(buf), "s-%d", i);
		ck_assert_int_eq(ipvssvc_objects_delete(objs, "EndpointSlice",
							NULL, buf),
				 0);
	}
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "EndpointSlice"), 2500);
	ck_assert_ptr_null(objs_slices(objs, "default", "svc-8"));
	ck_assert_uint_eq(objs_slices(objs, "default", "svc-7")->n, 5);
	ipvssvc_objects_free(objs);
}
END_TEST

START_TEST(test_truncated_json)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);

	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("truncated."
							      "json")),
			 -EBADMSG);
	/* one error, naming the file and where it ends */
	assert_reported(&d, "truncated.json:3:");
	assert_reported(&d, "truncated JSON");
	ck_assert_ptr_eq(strchr(d.text, '\n'), d.text + strlen(d.text) - 1);
	ipvssvc_objects_free(objs);
	free(d.text);

	d = (struct diagbuf){0};
	objs = new_objs(&d);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, "{\"a\": tru }", 11,
						     "inline"),
			 -EBADMSG);
	assert_reported(&d, "inline:1:");
	assert_reported(&d, "not valid JSON");
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_bad_yaml)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);

	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("garbage.yaml")),
			 -EBADMSG);
	assert_reported(&d, "garbage.yaml:");
	assert_reported(&d, "not valid YAML");
	ipvssvc_objects_free(objs);
	free(d.text);

	d = (struct diagbuf){0};
	objs = new_objs(&d);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, "a\0b", 3, "binary"),
			 -EBADMSG);
	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("missing.json")),
			 -ENOENT);
	assert_reported(&d, "missing.json: cannot open");
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_yaml_scalars)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	const struct k8s_obj *o;

	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("scalars.yaml")),
			 0);
	o = objs_find(objs, K8S_SERVICE, "ns1", "typed");
	ck_assert_ptr_nonnull(o);
	/* label values written as a number or a boolean keep their text */
	ck_assert_str_eq(kv_get(&o->labels, "version"), "1");
	ck_assert_str_eq(kv_get(&o->labels, "enabled"), "true");
	ck_assert_str_eq(kv_get(&o->labels, "empty"), "");
	ck_assert_str_eq(o->u.svc.sched, "lc");
	/* 0x1f90 is a number; "81" is a string, not a port */
	ck_assert_uint_eq(o->u.svc.n_ports, 1);
	ck_assert_uint_eq(o->u.svc.ports[0].target_port, 8080);
	assert_reported(&d, "Service ns1/typed: spec.ports[1].port: expected "
			    "an integer, got a string");
	/* a merge key and aliases */
	o = objs_find(objs, K8S_SERVICE, "ns1", "anchored");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(kv_get(&o->u.svc.selector, "app"), "web");
	o = objs_find(objs, K8S_ENDPOINT_SLICE, "ns1", "anchored-1");
	ck_assert_ptr_nonnull(o);
	ck_assert(o->u.slice.endpoints[0].ready);
	ck_assert(o->u.slice.endpoints[0].serving);
	ck_assert_uint_eq(o->u.slice.ports[0].port, 8080);
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_typed_list_and_streams)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	const struct k8s_obj *o;

	/* a ServiceList's items have no kind; then a second document */
	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("typed-list."
							      "json")),
			 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_ptr_nonnull(objs_find(objs, K8S_SERVICE, "x", "b"));
	o = objs_find(objs, K8S_NODE, "", "node-1");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(o->u.nodeo.zone, "z1");
	ck_assert_uint_eq(o->u.nodeo.n_addrs, 1);
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_stdin)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	int fd = open(DATA("truncated.json"), O_RDONLY | O_CLOEXEC);
	int saved = dup(STDIN_FILENO);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	ck_assert_int_eq(ipvssvc_objects_load_path(objs, "-"), -EBADMSG);
	assert_reported(&d, "<stdin>:3:");
	ck_assert_int_eq(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	close(fd);
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_directory)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	const struct k8s_obj *o;

	ck_assert_int_eq(ipvssvc_objects_load_path(objs, DATA("dir")), 0);
	/* name order: 10-b.yaml comes last and replaces 02-a.json's */
	o = objs_find(objs, K8S_SERVICE, "default", "web");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->u.svc.cluster_ip[0].u.bytes[3], 2);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Pod"), 1);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "ConfigMap"), 0);
	assert_reported(&d, "6 ");
	assert_reported(&d, "ignoring ConfigMap cm");
	ck_assert_ptr_null(strstr(d.text, "hidden"));
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_bad_values)
{
	static const char list[] =
		"{\"kind\":\"List\",\"items\":["
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{"
		"\"clusterIP\":\"10.0.0.1\",\"type\":\"Magic\"}},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"b\"},\"spec\":{"
		"\"clusterIP\":\"10.0.0.1\",\"sessionAffinityConfig\":{"
		"\"clientIP\":{\"timeoutSeconds\":86401}}}},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"c\"},\"spec\":{"
		"\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80.5}]}},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"d\","
		"\"annotations\":"
		"{\"ipvs-svc.io/scheduler-flags\":\"sh-turbo\"}},\"spec\":{"
		"\"clusterIP\":\"10.0.0.1\"}},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"e\"},\"spec\":{"
		"\"clusterIPs\":[\"10.0.0.1\",\"10.0.0.2\"]}},"
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{"
		"\"podIP\":\"1.2.3\"}},"
		"{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"e\"},"
		"\"subsets\":"
		"[{\"addresses\":[{\"ip\":\"x\"},{\"ip\":\"10.1.1.1\"}],"
		"\"ports\":[{\"port\":-1},{\"port\":80}]}]},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"ok\"},\"spec\":"
		"{"
		"\"clusterIP\":\"10.0.0.9\"}}]}";
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	const struct k8s_obj *o;

	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(objs, list, strlen(list), "l"), 0);
	assert_reported(&d, "Service default/a: spec.type: unknown type "
			    "\"Magic\"");
	assert_reported(&d, "Service default/b: spec.sessionAffinityConfig."
			    "clientIP.timeoutSeconds: 86401 is outside "
			    "1..86400");
	assert_reported(&d, "Service default/c: spec.ports[0].port: 80.5 is "
			    "not an integer");
	assert_reported(&d, "Service default/d: metadata.annotations["
			    "ipvs-svc.io/scheduler-flags]: unknown scheduler "
			    "flags \"sh-turbo\"");
	assert_reported(&d, "Service default/e: spec.clusterIPs[1]: a second "
			    "address of the same family");
	assert_reported(&d, "Pod default/p: status.podIP: \"1.2.3\" is not a "
			    "valid IP address");
	assert_reported(&d, "Endpoints default/e: subsets[0].addresses[0].ip");
	assert_reported(&d, "Endpoints default/e: subsets[0].ports[0].port: -1 "
			    "is not a valid port");
	/* skipped objects are gone; the rest stays */
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_ptr_nonnull(objs_find(objs, K8S_SERVICE, "default", "ok"));
	o = objs_find(objs, K8S_ENDPOINTS, "default", "e");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->u.eps.subsets[0].n_addrs, 1);
	ck_assert_uint_eq(o->u.eps.subsets[0].n_ports, 1);
	ipvssvc_objects_free(objs);
	free(d.text);
}
END_TEST

START_TEST(test_config)
{
	ipvssvc_config *cfg;
	struct ipvssvc_ip ip;
	struct diagbuf d = {0};

	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ipvssvc_config_set_diag(cfg, collect, &d);
	ck_assert_str_eq(cfg->sched, "rr");
	ck_assert_str_eq(ipvssvc_config_get_interface(cfg), "kube-ipvs0");
	ck_assert_int_eq(ipvssvc_config_set_scheduler(cfg, "mh"), 0);
	ck_assert_str_eq(cfg->sched, "mh");
	ck_assert_int_eq(ipvssvc_config_set_scheduler(cfg, ""), 0);
	ck_assert_str_eq(cfg->sched, "rr");
	ck_assert_int_eq(ipvssvc_config_set_scheduler(cfg, "fast"), -EINVAL);
	assert_reported(&d, "unknown IPVS scheduler \"fast\"");
	/* --hostname-override as kube-proxy reads it */
	ck_assert_int_eq(ipvssvc_config_set_node_name(cfg, " Node-1 "), 0);
	ck_assert_str_eq(cfg->node_name, "node-1");
	ck_assert_int_eq(ipvssvc_config_set_interface(cfg, "ipvs0"), 0);
	ck_assert_str_eq(ipvssvc_config_get_interface(cfg), "ipvs0");
	ck_assert_int_eq(ipvssvc_config_set_interface(cfg, "a-very-long-"
							   "ifname0"),
			 -EINVAL);
	ck_assert_int_eq(ipvssvc_config_set_exclude_cidrs(cfg, "10.0.0.0/8, "
							       "fd00::/8"),
			 0);
	ck_assert_int_eq(ipvssvc_ip_parse("10.1.2.3", &ip), 0);
	ck_assert(ipvssvc_config_is_excluded(cfg, &ip));
	ck_assert_int_eq(ipvssvc_ip_parse("fd00::5", &ip), 0);
	ck_assert(ipvssvc_config_is_excluded(cfg, &ip));
	ck_assert_int_eq(ipvssvc_ip_parse("11.1.2.3", &ip), 0);
	ck_assert(!ipvssvc_config_is_excluded(cfg, &ip));
	ck_assert_int_eq(ipvssvc_config_set_nodeport_addresses(cfg, "10.0.0/8"),
			 -EINVAL);
	ck_assert(!ipvssvc_config_is_node_addr(cfg, &ip));
	ck_assert_int_eq(ipvssvc_config_add_node_addr(cfg, &ip), 0);
	ck_assert_int_eq(ipvssvc_config_add_node_addr(cfg, &ip), 0);
	ck_assert_uint_eq(cfg->n_node_addrs, 1);
	ck_assert(ipvssvc_config_is_node_addr(cfg, &ip));
	ipvssvc_config_clear_node_addrs(cfg);
	ck_assert(!ipvssvc_config_is_node_addr(cfg, &ip));
	ipvssvc_config_free(cfg);
	free(d.text);
}
END_TEST

START_TEST(test_schedulers)
{
	static const char *const known[] = {
		"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
		"sh", "sed", "nq", "mh",  "fo",	  "ovf",   "twos",
	};
	uint32_t f = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++)
		ck_assert(ipvssvc_scheduler_is_known(known[i]));
	ck_assert(!ipvssvc_scheduler_is_known("RR"));
	ck_assert(!ipvssvc_scheduler_is_known(""));
	ck_assert(!ipvssvc_scheduler_is_known(NULL));
	ck_assert_int_eq(ipvssvc_sched_flags_parse("sh-fallback,sh-port", &f),
			 0);
	ck_assert_uint_eq(f, IPVSSVC_SVC_F_SCHED1 | IPVSSVC_SVC_F_SCHED2);
	ck_assert_int_eq(ipvssvc_sched_flags_parse("mh-port", &f), 0);
	ck_assert_uint_eq(f, IPVSSVC_SVC_F_SCHED2);
	ck_assert_int_eq(ipvssvc_sched_flags_parse("flag-1, flag-3", &f), 0);
	ck_assert_uint_eq(f, IPVSSVC_SVC_F_SCHED1 | IPVSSVC_SVC_F_SCHED3);
	ck_assert_int_eq(ipvssvc_sched_flags_parse("flag-4", &f), -EINVAL);
}
END_TEST

static Suite *objects_suite(void)
{
	Suite *s = suite_create("objects");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, test_null_and_args);
	tcase_add_test(tc, test_upsert_replace_delete);
	tcase_add_test(tc, test_many_objects_index);
	tcase_add_test(tc, test_truncated_json);
	tcase_add_test(tc, test_bad_yaml);
	tcase_add_test(tc, test_yaml_scalars);
	tcase_add_test(tc, test_typed_list_and_streams);
	tcase_add_test(tc, test_stdin);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_schedulers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(objects_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
