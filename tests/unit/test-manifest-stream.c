/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lists decoded item by item (lib/manifest.c): the same objects and the
 * same rules as a whole-document parse, held-back messages, nothing
 * loaded from a document that does not parse, replacement in a store
 * that is not empty.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objects.h"

struct diagbuf {
	char *text;
	size_t len;
	size_t n;
};

static void collect(void *userdata, int level, const char *msg)
{
	struct diagbuf *d = userdata;
	size_t l = strlen(msg) + 8;
	char *t = realloc(d->text, d->len + l + 2);

	ck_assert_ptr_nonnull(t);
	d->len += (size_t)snprintf(t + d->len, l + 2, "%d %s\n", level, msg);
	d->text = t;
	d->n++;
}

static ipvssvc_objects *new_objs(struct diagbuf *d)
{
	ipvssvc_objects *objs;

	ck_assert_int_eq(ipvssvc_objects_new(&objs), 0);
	ipvssvc_objects_set_diag(objs, collect, d);
	return objs;
}

/* A Service and its EndpointSlice, as List items. */
static void item_pair(char **buf, size_t *len, int i, bool with_kind)
{
	char tmp[1024];
	int n;

	n = snprintf(tmp, sizeof(tmp),
		     "%s{%s\"metadata\":{\"name\":\"s%d\",\"namespace\":\"n\"},"
		     "\"spec\":{\"clusterIP\":\"10.96.%d.%d\",\"ports\":[{"
		     "\"port\":"
		     "80,\"targetPort\":8080}]}},\n"
		     "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"s%d-"
		     "a\","
		     "\"namespace\":\"n\",\"labels\":{\"kubernetes.io/"
		     "service-name\":\"s%d\"}},\"addressType\":\"IPv4\","
		     "\"endpoints\":[{\"addresses\":[\"10.244.%d.%d\"],"
		     "\"nodeName\":\"node-1\"}],\"ports\":[{\"port\":8080}]}",
		     i ? ",\n" : "", with_kind ? "\"kind\":\"Service\"," : "",
		     i, i / 250, i % 250, i, i, i / 250, i % 250);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	ck_assert_ptr_nonnull(*buf);
	memcpy(*buf + *len, tmp, (size_t)n + 1);
	*len += (size_t)n;
}

static char *make_list(int n, bool kind_first)
{
	const char *head = kind_first ? "{\"apiVersion\":\"v1\",\"kind\":"
					"\"List\",\"items\":[\n"
				      : "{\"apiVersion\":\"v1\",\"items\":[\n";
	const char *tail = kind_first ? "],\"metadata\":{}}\n"
				      : "],\"kind\":\"List\"}\n";
	size_t len = strlen(head);
	char *buf = strdup(head);
	int i;

	for (i = 0; i < n; i++)
		item_pair(&buf, &len, i, true);
	buf = realloc(buf, len + strlen(tail) + 1);
	ck_assert_ptr_nonnull(buf);
	strcpy(buf + len, tail);
	return buf;
}

static char *rules_of(const ipvssvc_objects *objs)
{
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	char *text;

	ck_assert_int_eq(ipvssvc_config_new(&cfg), 0);
	ck_assert_int_eq(ipvssvc_model_build(objs, cfg, &st), 0);
	ck_assert_int_eq(ipvssvc_state_format_rules(st, &text), 0);
	ipvssvc_state_free(st);
	ipvssvc_config_free(cfg);
	return text;
}

/* Streamed (kind first) and whole (kind last) give the same rules. */
START_TEST(test_same_as_whole)
{
	struct diagbuf d1 = {0}, d2 = {0};
	ipvssvc_objects *a = new_objs(&d1), *b = new_objs(&d2);
	char *la = make_list(600, true), *lb = make_list(600, false);
	char *ra, *rb;

	ck_assert_int_eq(ipvssvc_objects_load_buffer(a, la, strlen(la), "a"),
			 0);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(b, lb, strlen(lb), "b"),
			 0);
	ck_assert_uint_eq(ipvssvc_objects_count(a, "Service"), 600);
	ck_assert_uint_eq(ipvssvc_objects_count(a, "EndpointSlice"), 600);
	ra = rules_of(a);
	rb = rules_of(b);
	ck_assert_str_eq(ra, rb);
	ck_assert_ptr_nonnull(strstr(ra, "10.244.2.99:8080"));
	ck_assert_uint_eq(d1.n, d2.n);
	free(ra);
	free(rb);
	free(la);
	free(lb);
	free(d1.text);
	free(d2.text);
	ipvssvc_objects_free(a);
	ipvssvc_objects_free(b);
}
END_TEST

/* A typed list's items take its kind; a bad item is skipped, reported. */
START_TEST(test_typed_and_bad_item)
{
	static const char list[] =
		"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":["
		"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":"
		"\"10.96.0.1\",\"ports\":[{\"port\":80}]}},"
		"{\"metadata\":{},\"spec\":{}},"
		"{\"metadata\":{\"name\":\"b\"},\"spec\":{\"clusterIP\":"
		"\"10.96.0.2\",\"ports\":[{\"port\":80}]}}]}";
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);

	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(objs, list, strlen(list), "t"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_uint_eq(d.n, 1); /* missing name, skipped */
	ck_assert_ptr_nonnull(strstr(d.text, "metadata.name: missing"));
	free(d.text);
	ipvssvc_objects_free(objs);
}
END_TEST

/* Cut in the middle of the items: nothing loaded, one message. */
START_TEST(test_truncated)
{
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	char *l = make_list(50, true);
	size_t cut = strlen(l) * 2 / 3;

	/* a bad item before the cut: its message is held back too */
	memcpy(strstr(l, "\"name\":\"s1\""), "\"nome\"", 6);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, l, cut, "cut"),
			 -EBADMSG);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "EndpointSlice"), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(strstr(d.text, "cut:"));
	ck_assert_ptr_nonnull(strstr(d.text, "truncated JSON"));
	/* and a syntax error after the items */
	free(d.text);
	memset(&d, 0, sizeof(d));
	strcpy(strstr(l, "],\"metadata\""), "],\"metadata\":{]}");
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, l, strlen(l), "x"),
			 -EBADMSG);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_msg(strstr(d.text, "x:") && strstr(d.text, "JSON"), "%s",
		      d.text);
	free(d.text);
	free(l);
	ipvssvc_objects_free(objs);
}
END_TEST

/* Into a store that has objects: same keys replaced, others kept. */
START_TEST(test_into_nonempty)
{
	static const char one[] =
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s0\","
		"\"namespace\":\"n\"},\"spec\":{\"clusterIP\":\"10.1.1.1\","
		"\"ports\":[{\"port\":80}]}}\n"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"other\","
		"\"namespace\":\"n\"},\"spec\":{\"clusterIP\":\"10.1.1.2\","
		"\"ports\":[{\"port\":80}]}}";
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	char *l = make_list(3, true), *r;

	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(objs, one, strlen(one), "one"), 0);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, l, strlen(l), "l"),
			 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 4);
	r = rules_of(objs);
	ck_assert_ptr_null(strstr(r, "10.1.1.1"));
	ck_assert_ptr_nonnull(strstr(r, "10.1.1.2"));
	ck_assert_ptr_nonnull(strstr(r, "10.96.0.0:80"));
	free(r);
	free(l);
	free(d.text);
	ipvssvc_objects_free(objs);
}
END_TEST

/* Empty items, a nested List, and a document after the list. */
START_TEST(test_shapes)
{
	static const char text[] =
		"{\"kind\":\"List\",\"items\":[]}\n"
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"List\",\"items\":["
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"x\"},\"spec\":"
		"{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"port\":1}]}}]}],"
		"\"metadata\":{\"resourceVersion\":\"1\"}}"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"y\"},\"spec\":"
		"{\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":1}]}}";
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);

	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(objs, text, strlen(text), "s"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_uint_eq(d.n, 0);
	free(d.text);
	ipvssvc_objects_free(objs);
}
END_TEST

/* YAML: the same list in flow style, streamed and whole, as JSON. */
START_TEST(test_yaml_same)
{
	struct diagbuf d1 = {0}, d2 = {0}, d3 = {0};
	ipvssvc_objects *a = new_objs(&d1), *b = new_objs(&d2),
			*c = new_objs(&d3);
	char *json = make_list(300, true), *last = make_list(300, false);
	size_t len = strlen(json) + 5;
	char *ya = malloc(len), *yb = malloc(strlen(last) + 5);
	char *ra, *rb, *rc;

	ck_assert_ptr_nonnull(ya);
	ck_assert_ptr_nonnull(yb);
	snprintf(ya, len, "---\n%s", json);
	snprintf(yb, strlen(last) + 5, "---\n%s", last);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(a, ya, strlen(ya), "a"),
			 0);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(b, yb, strlen(yb), "b"),
			 0);
	ck_assert_int_eq(
		ipvssvc_objects_load_buffer(c, json, strlen(json), "c"), 0);
	ck_assert_uint_eq(ipvssvc_objects_count(a, "Service"), 300);
	ra = rules_of(a);
	rb = rules_of(b);
	rc = rules_of(c);
	ck_assert_str_eq(ra, rb);
	ck_assert_str_eq(ra, rc);
	free(ra);
	free(rb);
	free(rc);
	free(ya);
	free(yb);
	free(json);
	free(last);
	free(d1.text);
	free(d2.text);
	free(d3.text);
	ipvssvc_objects_free(a);
	ipvssvc_objects_free(b);
	ipvssvc_objects_free(c);
}
END_TEST

/* YAML block style: anchors across items, a typed list, a cut list. */
START_TEST(test_yaml_block)
{
	static const char text[] = "apiVersion: v1\n"
				   "kind: ServiceList\n"
				   "items:\n"
				   "- metadata: {name: a}\n"
				   "  spec: &spec\n"
				   "    clusterIP: 10.96.0.1\n"
				   "    ports: [{port: 80}]\n"
				   "- metadata: {name: b}\n"
				   "  spec:\n"
				   "    <<: *spec\n"
				   "    clusterIP: 10.96.0.2\n"
				   "- metadata: {}\n"
				   "---\n"
				   "kind: List\n"
				   "items:\n"
				   "- kind: Service\n"
				   "  metadata: {name: c}\n"
				   "  spec: {clusterIP: 10.96.0.3, ports: [\n";
	struct diagbuf d = {0};
	ipvssvc_objects *objs = new_objs(&d);
	char *r;

	/* the first document alone */
	ck_assert_int_eq(ipvssvc_objects_load_buffer(
				 objs, text, strstr(text, "---") - text, "y"),
			 0);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_uint_eq(d.n, 1);
	r = rules_of(objs);
	ck_assert_ptr_nonnull(strstr(r, "-A -t 10.96.0.2:80"));
	free(r);
	ipvssvc_objects_free(objs);
	free(d.text);

	/* both: the second is cut, so only the first is loaded */
	memset(&d, 0, sizeof(d));
	objs = new_objs(&d);
	ck_assert_int_eq(ipvssvc_objects_load_buffer(objs, text, strlen(text),
						     "y"),
			 -EBADMSG);
	ck_assert_uint_eq(ipvssvc_objects_count(objs, "Service"), 2);
	ck_assert_ptr_nonnull(strstr(d.text, "not valid YAML"));
	free(d.text);
	ipvssvc_objects_free(objs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("manifest-stream");
	TCase *tc = tcase_create("stream");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_same_as_whole);
	tcase_add_test(tc, test_typed_and_bad_item);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_into_nonempty);
	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_yaml_same);
	tcase_add_test(tc, test_yaml_block);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
