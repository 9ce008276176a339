/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules read (/proc/net/ip_vs and one service dump) against the
 * complete read (a netlink dump per virtual server) and `ipvsadm -Sn`,
 * on tables programmed with ipvsadm. Run as root inside a kernel with
 * IPVS (tests/kernel/read.ksh); every case runs in a fresh network
 * namespace.
 */
#include "netlink.h"

#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

static ipvssvc_ctx *ctx;

static void setup(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	ck_assert_int_eq(ipvssvc_ctx_new(&ctx), 0);
}

static void teardown(void)
{
	ipvssvc_ctx_free(ctx);
	ctx = NULL;
}

static void sh(const char *cmd)
{
	int r = system(cmd);

	ck_assert_msg(r == 0, "command failed (%d): %s", r, cmd);
}

/* Feed rules to `ipvsadm -R`. */
static void restore(const char *rules)
{
	FILE *f = popen("ipvsadm -R", "w");

	ck_assert_ptr_nonnull(f);
	fputs(rules, f);
	ck_assert_int_eq(pclose(f), 0);
}

/* The output of a shell command, malloc'ed. */
static char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	ck_assert_ptr_nonnull(f);
	for (;;) {
		if (cap - len < 4096) {
			cap += 65536;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	return buf;
}

/*
 * a (rules read) equals b (complete read) in everything /proc shows;
 * thresholds too when thresholds is true.
 */
static void assert_same(const ipvssvc_state *a, const ipvssvc_state *b,
			bool thresholds)
{
	size_t i, j;

	ck_assert_uint_eq(a->n_svcs, b->n_svcs);
	for (i = 0; i < a->n_svcs; i++) {
		const struct ipvssvc_service *x = a->svcs[i], *y = b->svcs[i];

		ck_assert_int_eq(ipvssvc_service_key_cmp(x, y), 0);
		ck_assert(ipvssvc_service_attrs_equal(x, y));
		ck_assert_msg(x->n_dests == y->n_dests,
			      "service %zu: %zu real servers, %zu by netlink",
			      i, x->n_dests, y->n_dests);
		for (j = 0; j < x->n_dests; j++) {
			const struct ipvssvc_dest *d = &x->dests[j],
						  *e = &y->dests[j];

			ck_assert_int_eq(ipvssvc_dest_key_cmp(d, e), 0);
			ck_assert_int_eq(d->addr.family, e->addr.family);
			ck_assert_int_eq(d->fwd, e->fwd);
			ck_assert_uint_eq(d->weight, e->weight);
			ck_assert_uint_eq(d->active_conns, e->active_conns);
			ck_assert_uint_eq(d->inact_conns, e->inact_conns);
			if (thresholds) {
				ck_assert_uint_eq(d->u_threshold,
						  e->u_threshold);
				ck_assert_uint_eq(d->l_threshold,
						  e->l_threshold);
			} else {
				ck_assert_uint_eq(d->u_threshold, 0);
				ck_assert_uint_eq(d->l_threshold, 0);
			}
		}
	}
}

/* The state's rules equal `ipvsadm -Sn` (both sorted). */
static void assert_ipvsadm(const ipvssvc_state *st)
{
	char *mine, *theirs;

	ck_assert_int_eq(ipvssvc_state_format_rules(st, &mine), 0);
	theirs = run("ipvsadm -Sn | sort");
	ck_assert_msg(strcmp(mine, theirs) == 0, "read:\n%s\nipvsadm -Sn:\n%s",
		      mine, theirs);
	free(mine);
	free(theirs);
}

/* Read both ways; returns the requests of the rules read. */
static uint64_t read_both(const ipvssvc_state *desired, bool thresholds,
			  ipvssvc_state **ret_rules, ipvssvc_state **ret_full)
{
	uint64_t before;

	before = ipvssvc_ctx_requests(ctx);
	ck_assert_int_eq(
		ipvssvc_state_read_rules(ctx, NULL, desired, ret_rules), 0);
	before = ipvssvc_ctx_requests(ctx) - before;
	ck_assert_int_eq(ipvssvc_state_read(ctx, NULL, ret_full), 0);
	assert_same(*ret_rules, *ret_full, thresholds);
	return before;
}

/* Every kind of virtual and real server ipvsadm can make, thresholds aside. */
static const char varied[] =
	"-A -t 10.96.0.1:80 -s rr\n"
	"-a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1\n"
	"-a -t 10.96.0.1:80 -r 10.244.0.2:8080 -m -w 0\n"
	"-a -t 10.96.0.1:80 -r 10.244.0.3:8081 -m -w 65535\n"
	"-A -u 10.96.0.2:53 -s wlc -p 300 -M 255.255.255.0\n"
	"-a -u 10.96.0.2:53 -r 10.244.1.1:53 -g -w 2\n"
	"-a -u 10.96.0.2:53 -r 10.244.1.2:53 -i -w 3\n"
	"-A --sctp-service 10.96.0.3:3868 -s sh -b sh-fallback,sh-port\n"
	"-a --sctp-service 10.96.0.3:3868 -r 10.244.2.1:3868 -m -w 1\n"
	"-A -u 10.96.0.4:514 -s rr -o\n"
	"-a -u 10.96.0.4:514 -r 10.244.3.1:514 -m -w 1\n"
	"-A -t 10.96.0.5:443 -s lc\n"
	"-A -t [fd00::1]:80 -s lc -p 60 -M 64\n"
	"-a -t [fd00::1]:80 -r [fd01::1]:8080 -m -w 1\n"
	"-a -t [fd00::1]:80 -r [fd01::2]:8080 -g -w 7\n"
	"-a -t [fd00::1]:80 -r [fd01::3]:8080 -i -w 9\n"
	"-A -u [fd00::2]:53 -s mh -b mh-port\n"
	"-a -u [fd00::2]:53 -r [fd01::1]:53 -m -w 1\n"
	"-A -f 1 -s dh\n"
	"-a -f 1 -r 10.244.4.1:0 -g -w 1\n"
	"-a -f 1 -r 10.244.4.2:0 -g -w 2\n"
	"-A -f 2 -6 -s rr -p 100\n"
	"-a -f 2 -6 -r [fd01::9]:0 -g -w 4\n"
	"-A -f 3 -s rr\n"
	"-a -f 3 -r 10.244.5.1:0 -g -w 1\n"
	"-A -f 3 -6 -s rr\n"
	"-a -f 3 -6 -r [fd01::5]:0 -g -w 1\n";

START_TEST(test_varied)
{
	ipvssvc_state *rules, *full;
	uint64_t n;

	restore(varied);
	n = read_both(NULL, false, &rules, &full);
	/* one service dump, and netlink for the two FWM 3 (ambiguous) */
	ck_assert_uint_eq(n, 3);
	assert_ipvsadm(rules);
	assert_ipvsadm(full);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

/* A real server on a local address shows as Local in both reads. */
START_TEST(test_local)
{
	ipvssvc_state *rules, *full;

	sh("ip link add rd0 type dummy && ip addr add 10.1.0.1/32 dev rd0");
	restore("-A -t 10.96.0.9:80 -s rr\n"
		"-a -t 10.96.0.9:80 -r 10.1.0.1:80 -m -w 1\n");
	read_both(NULL, false, &rules, &full);
	ck_assert_uint_eq(rules->svcs[0]->n_dests, 1);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

/* Thresholds: 0 without a desired state, exact where it asks. */
START_TEST(test_thresholds)
{
	ipvssvc_state *rules, *full, *desired;
	ipvssvc_service *svc;
	ipvssvc_dest *d;
	struct ipvssvc_ip a;
	uint64_t n;

	restore("-A -t 10.96.0.1:80 -s rr\n"
		"-a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1 -x 100 -y 50\n"
		"-a -t 10.96.0.1:80 -r 10.244.0.2:8080 -m -w 1\n"
		"-A -t 10.96.0.2:80 -s rr\n"
		"-a -t 10.96.0.2:80 -r 10.244.0.3:8080 -m -w 1\n");
	n = read_both(NULL, false, &rules, &full);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(full->svcs[0]->dests[0].u_threshold, 100);
	ck_assert_uint_eq(rules->svcs[0]->dests[0].u_threshold, 0);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);

	/* the desired state wants thresholds on the first service */
	ck_assert_int_eq(ipvssvc_state_new(&desired), 0);
	ck_assert_int_eq(ipvssvc_service_new(&svc), 0);
	ck_assert_int_eq(ipvssvc_ip_parse("10.96.0.1", &a), 0);
	ck_assert_int_eq(ipvssvc_service_set_addr(svc, &a), 0);
	ck_assert_int_eq(ipvssvc_service_set_port(svc, 80), 0);
	ck_assert_int_eq(ipvssvc_dest_new(&d), 0);
	ck_assert_int_eq(ipvssvc_ip_parse("10.244.0.1", &a), 0);
	ck_assert_int_eq(ipvssvc_dest_set_addr(d, &a), 0);
	ck_assert_int_eq(ipvssvc_dest_set_port(d, 8080), 0);
	ck_assert_int_eq(ipvssvc_dest_set_thresholds(d, 100, 50), 0);
	ck_assert_int_eq(ipvssvc_state_add_service(desired, svc), 0);
	ck_assert_int_eq(ipvssvc_state_add_dest(desired, svc, d), 0);
	n = read_both(desired, true, &rules, &full);
	ck_assert_uint_eq(n, 2);
	ipvssvc_dest_free(d);
	ipvssvc_service_free(svc);
	ipvssvc_state_free(desired);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

/* A table spanning many pages of /proc: one request, same rules. */
START_TEST(test_large)
{
	ipvssvc_state *rules, *full;
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	uint64_t n;
	int i, j;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 400; i++) {
		const char *p = i % 4 == 3 ? "-u" : "-t";

		len += (size_t)snprintf(text + len, cap - len,
					"-A %s 10.96.%d.%d:80 -s rr\n", p,
					i / 250, i % 250);
		for (j = 0; j < 10; j++)
			len += (size_t)snprintf(text + len, cap - len,
						"-a %s 10.96.%d.%d:80 -r "
						"10.244.%d.%d:%d -m "
						"-w %d\n",
						p, i / 250, i % 250, i / 250,
						i % 250, 8000 + j, j % 3);
	}
	restore(text);
	free(text);
	n = read_both(NULL, false, &rules, &full);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rules->n_svcs, 400);
	assert_ipvsadm(rules);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

/* A context of another namespace: /proc shows ours, so netlink reads. */
START_TEST(test_other_netns)
{
	ipvssvc_state *rules, *full;
	uint64_t n;

	restore(varied);
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	sh("ipvsadm -A -t 10.96.0.1:80 -s rr");
	n = read_both(NULL, false, &rules, &full);
	ck_assert_uint_eq(n, 1 + full->n_svcs);
	ck_assert_uint_eq(full->n_svcs, 11);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

/* The addresses of the dummy link come along, as in the complete read. */
START_TEST(test_link)
{
	ipvssvc_state *rules, *full;

	sh("ip link add kr0 type dummy && ip addr add 10.96.0.1/32 dev kr0");
	restore("-A -t 10.96.0.1:80 -s rr\n");
	ck_assert_int_eq(ipvssvc_state_read_rules(ctx, "kr0", NULL, &rules), 0);
	ck_assert_int_eq(ipvssvc_state_read(ctx, "kr0", &full), 0);
	ck_assert_uint_eq(rules->n_addrs, full->n_addrs);
	ck_assert_uint_eq(rules->n_addrs, 1);
	ck_assert_int_eq(rules->link, 1);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
	ck_assert_int_eq(ipvssvc_state_read_rules(ctx, "none0", NULL, &rules),
			 0);
	ck_assert_int_eq(rules->link, -1);
	ipvssvc_state_free(rules);
}
END_TEST

/* An empty table: nothing, one request. */
START_TEST(test_empty)
{
	ipvssvc_state *rules, *full;

	ck_assert_uint_eq(read_both(NULL, false, &rules, &full), 1);
	ck_assert_uint_eq(rules->n_svcs, 0);
	ipvssvc_state_free(rules);
	ipvssvc_state_free(full);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("read");
	TCase *tc = tcase_create("read");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_varied);
	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_thresholds);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_other_netns);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
