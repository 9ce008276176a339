/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nftables generator, a pure function: the table for a fixture
 * (tests/data/nft/basic: objects.yaml and expected.nft; set
 * IPVSSVC_UPDATE_GOLDEN=1 to rewrite expected.nft), traffic policies,
 * source ranges, the cluster CIDR settings, and a rule count that does
 * not grow with the number of Services.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objects.h"

struct diagbuf {
	char text[8192];
};

static void collect(void *userdata, int level, const char *msg)
{
	struct diagbuf *d = userdata;
	size_t l = strlen(d->text);

	snprintf(d->text + l, sizeof(d->text) - l, "%s\n", msg);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* objects, config and model for a buffer of manifests */
struct fix {
	ipvssvc_objects *objs;
	ipvssvc_config *cfg;
	ipvssvc_state *st;
	struct diagbuf diag;
};

static void fix_load(struct fix *fx, const char *data, size_t len,
		     const char *cluster_cidrs)
{
	struct ipvssvc_ip node;

	memset(fx, 0, sizeof(*fx));
	ck_assert_int_eq(ipvssvc_objects_new(&fx->objs), 0);
	ipvssvc_objects_set_diag(fx->objs, collect, &fx->diag);
	ck_assert_int_eq(ipvssvc_config_new(&fx->cfg), 0);
	ck_assert_int_eq(ipvssvc_config_set_node_name(fx->cfg, "node-1"), 0);
	ck_assert_int_eq(ipvssvc_ip_parse("192.168.1.10", &node), 0);
	ck_assert_int_eq(ipvssvc_config_add_node_addr(fx->cfg, &node), 0);
	if (cluster_cidrs)
		ck_assert_int_eq(ipvssvc_config_set_cluster_cidrs(
					 fx->cfg, cluster_cidrs),
				 0);
	ck_assert_int_ge(
		ipvssvc_objects_load_buffer(fx->objs, data, len, "test"), 0);
	ck_assert_int_eq(ipvssvc_model_build(fx->objs, fx->cfg, &fx->st), 0);
}

static void fix_load_file(struct fix *fx, const char *cluster_cidrs)
{
	char *data = read_file(TEST_DATA_DIR "/nft/basic/objects.yaml");

	ck_assert_ptr_nonnull(data);
	fix_load(fx, data, strlen(data), cluster_cidrs);
	free(data);
}

static void fix_done(struct fix *fx)
{
	ipvssvc_state_free(fx->st);
	ipvssvc_config_free(fx->cfg);
	ipvssvc_objects_free(fx->objs);
}

static char *table_text(const struct fix *fx, const ipvssvc_objects *objs,
			unsigned flags)
{
	ipvssvc_nft *nft;
	char *text;

	ck_assert_int_eq(ipvssvc_nft_build(fx->st, objs, fx->cfg, flags, &nft),
			 0);
	ck_assert_int_eq(ipvssvc_nft_format(nft, &text), 0);
	ipvssvc_nft_free(nft);
	return text;
}

/* The element lines of set name in text ("" when none), as one string. */
static char *set_elements(const char *text, const char *name)
{
	char head[64], *out;
	const char *p, *end;
	size_t n = 0;

	snprintf(head, sizeof(head), "\tset %s {\n", name);
	p = strstr(text, head);
	ck_assert_msg(p != NULL, "no set %s", name);
	end = strstr(p, "\n\t}\n");
	ck_assert_ptr_nonnull(end);
	out = calloc(1, (size_t)(end - p) + 2);
	ck_assert_ptr_nonnull(out);
	p = strstr(p, "elements = {\n");
	if (!p || p > end)
		return out;
	p += strlen("elements = {\n");
	while (p < end) {
		const char *nl = strchr(p, '\n');

		while (*p == '\t')
			p++;
		if (*p == '}')
			break;
		memcpy(out + n, p, (size_t)(nl - p) + 1);
		n += (size_t)(nl - p) + 1;
		if (out[n - 2] == ',') {
			out[n - 2] = '\n';
			n--;
		}
		p = nl + 1;
	}
	out[n] = '\0';
	return out;
}

static bool has_line(const char *elems, const char *line)
{
	size_t l = strlen(line);
	const char *p = elems;

	while ((p = strstr(p, line))) {
		if ((p == elems || p[-1] == '\n') && p[l] == '\n')
			return true;
		p += l;
	}
	return false;
}

#define ASSERT_ELEM(text, set, line, want)                                   \
	do {                                                                 \
		char *e_ = set_elements(text, set);                          \
		ck_assert_msg(has_line(e_, line) == (want),                  \
			      "set %s: %s expected %s; has:\n%s", set, line, \
			      (want) ? "present" : "absent", e_);            \
		free(e_);                                                    \
	} while (0)

/* Rules: lines inside chains that are neither the hook line nor braces. */
static size_t count_rules(const char *text)
{
	const char *p = strstr(text, "\tchain ");
	size_t n = 0;

	ck_assert_ptr_nonnull(p);
	for (; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "\t\t", 2) == 0 && strncmp(p, "\t\ttype ", 7))
			n++;
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

START_TEST(test_fixture_golden)
{
	const char *path = TEST_DATA_DIR "/nft/basic/expected.nft";
	struct fix fx;
	char *text, *want;

	fix_load_file(&fx, "10.244.0.0/16,fd00:244::/64");
	text = table_text(&fx, fx.objs, 0);
	if (getenv("IPVSSVC_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "we");

		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
	}
	want = read_file(path);
	ck_assert_ptr_nonnull(want);
	ck_assert_str_eq(text, want);
	/* the bad range was reported with its place, the rest kept */
	ck_assert_msg(strstr(fx.diag.text, "loadBalancerSourceRanges[5]"),
		      "diag: %s", fx.diag.text);
	free(want);
	free(text);
	fix_done(&fx);
}
END_TEST

START_TEST(test_traffic_policy)
{
	struct fix fx;
	char *text;

	fix_load_file(&fx, "10.244.0.0/16");
	text = table_text(&fx, fx.objs, 0);
	/* Cluster: NodePort and external IP masqueraded */
	ASSERT_ELEM(text, "masq-external-v4", "192.168.1.10 . tcp . 30080",
		    true);
	ASSERT_ELEM(text, "masq-external-v4", "203.0.113.20 . tcp . 80", true);
	/* Local: neither the LB IP nor its NodePort */
	ASSERT_ELEM(text, "masq-external-v4", "203.0.113.30 . tcp . 443",
		    false);
	ASSERT_ELEM(text, "masq-external-v4", "192.168.1.10 . tcp . 31443",
		    false);
	/* ClusterIPs are in their own set, never in the external one */
	ASSERT_ELEM(text, "clusterip-v4", "10.96.0.30 . tcp . 443", true);
	ASSERT_ELEM(text, "clusterip-v4", "10.96.0.10 . udp . 53", true);
	ASSERT_ELEM(text, "masq-external-v4", "10.96.0.30 . tcp . 443", false);
	ASSERT_ELEM(text, "clusterip-v6", "fd00:96::40 . tcp . 80", true);
	/* hairpin pairs for every endpoint */
	ASSERT_ELEM(text, "hairpin-v4", "10.244.2.5 . 10.244.2.5", true);
	ASSERT_ELEM(text, "hairpin-v4", "10.244.1.5 . 10.244.1.5", true);
	ASSERT_ELEM(text, "hairpin-v6", "fd00:244::5 . fd00:244::5", true);
	/* Service addresses and ports; NodePorts are on node addresses */
	ASSERT_ELEM(text, "vip-v4", "10.96.0.20", true);
	ASSERT_ELEM(text, "vip-v4", "192.168.1.10", false);
	ASSERT_ELEM(text, "vport-v4", "10.96.0.20 . tcp . 80", true);
	ASSERT_ELEM(text, "vport-v4", "192.168.1.10 . tcp . 30080", false);
	free(text);

	/* without the objects every Service counts as Cluster */
	text = table_text(&fx, NULL, 0);
	ASSERT_ELEM(text, "masq-external-v4", "203.0.113.30 . tcp . 443", true);
	free(text);
	fix_done(&fx);
}
END_TEST

START_TEST(test_source_ranges)
{
	struct fix fx;
	char *text;

	fix_load_file(&fx, NULL);
	text = table_text(&fx, fx.objs, 0);
	ASSERT_ELEM(text, "lb-restricted-v4", "203.0.113.30 . tcp . 443", true);
	/* only the LB IP is restricted, not the ClusterIP or NodePort */
	ASSERT_ELEM(text, "lb-restricted-v4", "10.96.0.30 . tcp . 443", false);
	ASSERT_ELEM(text, "lb-allowed-v4",
		    "203.0.113.30 . tcp . 443 . 198.51.100.0/24", true);
	/* contained in the /24: nft refuses overlapping intervals */
	ASSERT_ELEM(text, "lb-allowed-v4",
		    "203.0.113.30 . tcp . 443 . 198.51.100.128/25", false);
	/* a host is its bare address, host bits are cleared */
	ASSERT_ELEM(text, "lb-allowed-v4",
		    "203.0.113.30 . tcp . 443 . 192.0.2.7", false);
	ASSERT_ELEM(text, "lb-allowed-v4",
		    "203.0.113.30 . tcp . 443 . 192.0.0.0/16", true);
	/* the IPv6 range does not apply to an IPv4 address */
	{
		char *e = set_elements(text, "lb-allowed-v6");

		ck_assert_str_eq(e, "");
		free(e);
	}
	free(text);
	fix_done(&fx);
}
END_TEST

START_TEST(test_cluster_cidr_settings)
{
	struct fix fx;
	char *text;

	/* no cluster CIDR: kube-proxy masquerades no ClusterIP traffic */
	fix_load_file(&fx, NULL);
	text = table_text(&fx, fx.objs, 0);
	ASSERT_ELEM(text, "nomasq-src-v4", "0.0.0.0/0", true);
	ASSERT_ELEM(text, "nomasq-src-v6", "::/0", true);
	free(text);
	/* --masquerade-all: no source is exempt */
	text = table_text(&fx, fx.objs, IPVSSVC_NFT_MASQUERADE_ALL);
	{
		char *e = set_elements(text, "nomasq-src-v4");

		ck_assert_str_eq(e, "");
		free(e);
	}
	free(text);
	fix_done(&fx);

	fix_load_file(&fx, "10.244.0.0/16,10.244.3.0/24");
	text = table_text(&fx, fx.objs, 0);
	ASSERT_ELEM(text, "nomasq-src-v4", "10.244.0.0/16", true);
	ASSERT_ELEM(text, "nomasq-src-v4", "10.244.3.0/24", false);
	free(text);
	fix_done(&fx);
}
END_TEST

/* n Services of type LoadBalancer with source ranges, each with a Pod. */
static char *many_services(size_t n)
{
	size_t cap = n * 900 + 64, len = 0, i;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	len += (size_t)snprintf(buf + len, cap - len,
				"{\"kind\":\"List\",\"items\":[");
	for (i = 0; i < n; i++) {
		unsigned a = (unsigned)(i / 250), b = (unsigned)(i % 250) + 1;

		len += (size_t)snprintf(
			buf + len, cap - len,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Service\","
			"\"metadata\":{\"name\":\"s%zu\",\"namespace\":\"ns\"},"
			"\"spec\":{\"type\":\"LoadBalancer\","
			"\"clusterIP\":\"10.96.%u.%u\","
			"\"externalTrafficPolicy\":\"%s\","
			"\"loadBalancerSourceRanges\":[\"192.0.2.0/24\"],"
			"\"ports\":[{\"port\":80,\"nodePort\":%zu}]},"
			"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
			"\"198.18.%u.%u\"}]}}},"
			"{\"apiVersion\":\"discovery.k8s.io/v1\","
			"\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":"
			"\"s%zu\",\"namespace\":\"ns\",\"labels\":{"
			"\"kubernetes.io/service-name\":\"s%zu\"}},"
			"\"addressType\":\"IPv4\",\"endpoints\":[{"
			"\"addresses\":"
			"[\"10.244.%u.%u\"],\"nodeName\":\"node-1\"}],"
			"\"ports\":[{\"port\":8080}]}",
			i ? "," : "", i, a, b, i % 2 ? "Local" : "Cluster",
			20000 + i, a, b, i, i, a, b);
	}
	len += (size_t)snprintf(buf + len, cap - len, "]}");
	ck_assert_uint_lt(len, cap);
	return buf;
}

START_TEST(test_rules_constant)
{
	static const size_t sizes[] = {10, 10000};
	size_t rules[2], elems[2], i;

	for (i = 0; i < 2; i++) {
		char *data = many_services(sizes[i]), *text;
		struct fix fx;
		ipvssvc_nft *nft;

		fix_load(&fx, data, strlen(data), "10.244.0.0/16");
		free(data);
		/* ClusterIP, NodePort and LB IP each */
		ck_assert_uint_eq(ipvssvc_state_service_count(fx.st),
				  sizes[i] * 3);
		ck_assert_int_eq(
			ipvssvc_nft_build(fx.st, fx.objs, fx.cfg, 0, &nft), 0);
		ck_assert_int_eq(ipvssvc_nft_format(nft, &text), 0);
		rules[i] = count_rules(text);
		ck_assert_uint_eq(rules[i], ipvssvc_nft_rule_count(nft));
		elems[i] = ipvssvc_nft_element_count(nft);
		free(text);
		ipvssvc_nft_free(nft);
		fix_done(&fx);
	}
	ck_assert_uint_eq(rules[0], rules[1]);
	ck_assert_uint_gt(elems[1], elems[0] * 500);
}
END_TEST

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0;
	const char *p;

	for (p = text; *p; p = strchr(p, '\n') + 1) {
		n += strncmp(p, prefix, strlen(prefix)) == 0;
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

static ipvssvc_nft *nft_of(size_t services, const char *cidrs)
{
	char *data = many_services(services);
	ipvssvc_nft *nft;
	struct fix fx;

	fix_load(&fx, data, strlen(data), cidrs);
	free(data);
	ck_assert_int_eq(ipvssvc_nft_build(fx.st, fx.objs, fx.cfg, 0, &nft), 0);
	fix_done(&fx);
	return nft;
}

/* The daemon's update: only the elements that differ, deletions first. */
START_TEST(test_update_script)
{
	ipvssvc_nft *a = nft_of(3, "10.244.0.0/16");
	ipvssvc_nft *b = nft_of(4, "10.244.0.0/16");
	ipvssvc_nft *c = nft_of(4, "10.245.0.0/16");
	size_t na = ipvssvc_nft_element_count(a);
	size_t nb = ipvssvc_nft_element_count(b), changed = 99;
	const char *del, *add;
	char *text;

	/* nothing differs: nothing to send */
	ck_assert_int_eq(ipvssvc_nft_update_script(a, a, &text, &changed), 0);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(changed, 0);
	free(text);

	/* one more Service: its elements are added, nothing deleted */
	ck_assert_uint_gt(nb, na);
	ck_assert_int_eq(ipvssvc_nft_update_script(a, b, &text, &changed), 0);
	ck_assert_uint_eq(changed, nb - na);
	ck_assert_uint_eq(count_prefix(text, "delete "), 0);
	ck_assert_uint_gt(count_prefix(text, "add element inet ipvs-svc "), 0);
	ck_assert_ptr_nonnull(strstr(text, "add element inet ipvs-svc "
					   "hairpin-v4 { 10.244.0.4 . "
					   "10.244.0.4 }\n"));
	ck_assert_ptr_null(strstr(text, "10.244.0.3 . 10.244.0.3"));
	free(text);

	/* and back: the same elements deleted */
	ck_assert_int_eq(ipvssvc_nft_update_script(b, a, &text, &changed), 0);
	ck_assert_uint_eq(changed, nb - na);
	ck_assert_uint_eq(count_prefix(text, "add "), 0);
	ck_assert_ptr_nonnull(strstr(text, "delete element inet ipvs-svc "
					   "hairpin-v4 { 10.244.0.4 . "
					   "10.244.0.4 }\n"));
	free(text);

	/* an interval set's range replaced: deleted before the new is added */
	ck_assert_int_eq(ipvssvc_nft_update_script(b, c, &text, &changed), 0);
	ck_assert_uint_eq(changed, 2);
	del = strstr(text, "delete element inet ipvs-svc nomasq-src-v4 { "
			   "10.244.0.0/16 }\n");
	add = strstr(text, "add element inet ipvs-svc nomasq-src-v4 { "
			   "10.245.0.0/16 }\n");
	ck_assert_ptr_nonnull(del);
	ck_assert_ptr_nonnull(add);
	ck_assert(del < add);
	free(text);

	ck_assert_int_eq(ipvssvc_nft_update(a, NULL, NULL, NULL, NULL),
			 -EINVAL);
	ipvssvc_nft_free(a);
	ipvssvc_nft_free(b);
	ipvssvc_nft_free(c);
}
END_TEST

START_TEST(test_null_and_free)
{
	ipvssvc_nft *nft = (ipvssvc_nft *)0x1;
	ipvssvc_state *st;
	char *text;

	ipvssvc_nft_free(NULL);
	ipvssvc_nft_lines_free(NULL, 0);
	ck_assert_int_eq(ipvssvc_nft_build(NULL, NULL, NULL, 0, &nft), -EINVAL);
	ck_assert_ptr_eq(nft, (ipvssvc_nft *)0x1);
	ck_assert_int_eq(ipvssvc_nft_format(NULL, &text), -EINVAL);
	ck_assert_uint_eq(ipvssvc_nft_rule_count(NULL), 0);
	/* an empty state still makes the whole table */
	ck_assert_int_eq(ipvssvc_state_new(&st), 0);
	ck_assert_int_eq(ipvssvc_nft_build(st, NULL, NULL, 0, &nft), 0);
	ck_assert_uint_eq(ipvssvc_nft_element_count(nft), 2); /* 0.0.0.0/0 */
	ck_assert_int_eq(ipvssvc_nft_format(nft, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "delete table inet ipvs-svc\n"));
	ck_assert_uint_eq(count_rules(text), ipvssvc_nft_rule_count(nft));
	free(text);
	ipvssvc_nft_free(nft);
	ipvssvc_state_free(st);
}
END_TEST

static Suite *nft_suite(void)
{
	Suite *s = suite_create("nft");
	TCase *tc = tcase_create("generator");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fixture_golden);
	tcase_add_test(tc, test_traffic_policy);
	tcase_add_test(tc, test_source_ranges);
	tcase_add_test(tc, test_cluster_cidr_settings);
	tcase_add_test(tc, test_rules_constant);
	tcase_add_test(tc, test_update_script);
	tcase_add_test(tc, test_null_and_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nft_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
