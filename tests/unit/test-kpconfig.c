/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run command's settings: kube-proxy's --config file and flags. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../src/ipvs-svc.h"
#include "../../src/run.h"

static struct run_settings s;

static void teardown(void)
{
	run_settings_done(&s);
}

static int parse(int argc, const char **argv)
{
	return run_parse_args(argc, (char **)argv, &s);
}

START_TEST(test_duration)
{
	uint64_t ms;

	ck_assert_int_eq(run_parse_duration("30s", &ms), 0);
	ck_assert_uint_eq(ms, 30000);
	ck_assert_int_eq(run_parse_duration("1m30s", &ms), 0);
	ck_assert_uint_eq(ms, 90000);
	ck_assert_int_eq(run_parse_duration("500ms", &ms), 0);
	ck_assert_uint_eq(ms, 500);
	ck_assert_int_eq(run_parse_duration("1.5h", &ms), 0);
	ck_assert_uint_eq(ms, 5400000);
	ck_assert_int_eq(run_parse_duration("0", &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(run_parse_duration("0s", &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(run_parse_duration("", &ms), -EINVAL);
	ck_assert_int_eq(run_parse_duration("30", &ms), -EINVAL);
	ck_assert_int_eq(run_parse_duration("s", &ms), -EINVAL);
	ck_assert_int_eq(run_parse_duration("-1s", &ms), -EINVAL);
	ck_assert_int_eq(run_parse_duration("3x", &ms), -EINVAL);
}
END_TEST

START_TEST(test_hostport)
{
	struct sockaddr_storage ss;

	ck_assert_int_eq(run_parse_hostport("0.0.0.0:10256", &ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(run_parse_hostport("[::1]:9100", &ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(run_parse_hostport(":10249", &ss), 0);
	ck_assert_int_eq(run_parse_hostport("0.0.0.0", &ss), -EINVAL);
	ck_assert_int_eq(run_parse_hostport("1.2.3.4:70000", &ss), -EINVAL);
	ck_assert_int_eq(run_parse_hostport("host:80", &ss), -EINVAL);
}
END_TEST

START_TEST(test_defaults)
{
	const char *argv[] = {"run", NULL};

	ck_assert_int_eq(parse(1, argv), 0);
	ck_assert_uint_eq(s.sync_period_ms, 30000);
	ck_assert_uint_eq(s.min_sync_period_ms, 0);
	ck_assert_str_eq(s.healthz_bind, "0.0.0.0:10256");
	ck_assert_str_eq(s.metrics_bind, "127.0.0.1:10249");
	ck_assert_str_eq(s.ifname, "kube-ipvs0");
	ck_assert(!s.strict_arp);
	ck_assert(!s.masquerade_all);
	/* per-object counters are opt-in: 550,000 series at 10k Services */
	ck_assert_int_eq(s.traffic_metrics, TRAFFIC_NONE);
}
END_TEST

START_TEST(test_traffic_metrics)
{
	const char *vs[] = {"run", "--traffic-metrics", "virtual-servers",
			    NULL};
	const char *rs[] = {"run", "--traffic-metrics=real-servers", NULL};
	const char *none[] = {"run", "--traffic-metrics", "none", NULL};
	const char *bad[] = {"run", "--traffic-metrics", "all", NULL};

	ck_assert_int_eq(parse(3, vs), 0);
	ck_assert_int_eq(s.traffic_metrics, TRAFFIC_VIRTUAL_SERVERS);
	run_settings_done(&s);
	ck_assert_int_eq(parse(2, rs), 0);
	ck_assert_int_eq(s.traffic_metrics, TRAFFIC_REAL_SERVERS);
	run_settings_done(&s);
	ck_assert_int_eq(parse(3, none), 0);
	ck_assert_int_eq(s.traffic_metrics, TRAFFIC_NONE);
	run_settings_done(&s);
	ck_assert_int_lt(parse(3, bad), 0);
}
END_TEST

START_TEST(test_kubeadm)
{
	const char *argv[] = {"run", "--config",
			      TEST_DATA_DIR "/kpconfig/kubeadm.yaml", NULL};

	ck_assert_int_eq(parse(3, argv), 0);
	ck_assert_str_eq(s.kubeconfig, "/var/lib/kube-proxy/kubeconfig.conf");
	ck_assert_str_eq(s.hostname, "node-1");
	ck_assert_str_eq(s.cluster_cidr, "10.244.0.0/16");
	ck_assert_str_eq(s.nodeport_addresses, "192.168.7.0/24");
	ck_assert_uint_eq(s.sync_period_ms, 30000);
	ck_assert_str_eq(s.healthz_bind, "0.0.0.0:10256");
	ck_assert_ptr_null(s.scheduler); /* "" is the default */
	ck_assert_ptr_null(s.exclude_cidrs); /* null */
}
END_TEST

START_TEST(test_full)
{
	const char *argv[] = {"run", "--config",
			      TEST_DATA_DIR "/kpconfig/full.yaml", NULL};

	ck_assert_int_eq(parse(3, argv), 0);
	ck_assert_str_eq(s.kubeconfig, "/etc/kube/kubeconfig");
	ck_assert_str_eq(s.hostname, "node-7");
	ck_assert_str_eq(s.scheduler, "lc");
	ck_assert_uint_eq(s.sync_period_ms, 90000);
	ck_assert_uint_eq(s.min_sync_period_ms, 500);
	ck_assert_uint_eq(s.tcp_timeout_s, 900);
	ck_assert_uint_eq(s.tcpfin_timeout_s, 30);
	ck_assert_uint_eq(s.udp_timeout_s, 5);
	ck_assert(s.strict_arp);
	ck_assert(s.masquerade_all);
	ck_assert_str_eq(s.exclude_cidrs, "10.1.0.0/16,10.2.0.0/16");
	ck_assert_str_eq(s.nodeport_addresses, "192.168.0.0/16,fd00::/64");
	/* an address without a port takes kube-proxy's default port */
	ck_assert_str_eq(s.healthz_bind, "0.0.0.0:10256");
	ck_assert_str_eq(s.metrics_bind, "[::1]:9100");
}
END_TEST

START_TEST(test_flags_win)
{
	const char *argv[] = {"run",
			      "--ipvs-scheduler",
			      "wrr",
			      "--config",
			      TEST_DATA_DIR "/kpconfig/full.yaml",
			      "--ipvs-sync-period=10s",
			      "--ipvs-strict-arp=false",
			      "--hostname-override",
			      "other",
			      NULL};

	ck_assert_int_eq(parse(9, argv), 0);
	ck_assert_str_eq(s.scheduler, "wrr");
	ck_assert_uint_eq(s.sync_period_ms, 10000);
	ck_assert(!s.strict_arp);
	ck_assert_str_eq(s.hostname, "other");
	ck_assert_uint_eq(s.min_sync_period_ms, 500);
}
END_TEST

START_TEST(test_errors)
{
	const char *bad_mode[] = {"run", "--config",
				  TEST_DATA_DIR "/kpconfig/bad-mode.yaml",
				  NULL};
	const char *bad_dur[] = {"run", "--config",
				 TEST_DATA_DIR "/kpconfig/bad-duration.yaml",
				 NULL};
	const char *not_yaml[] = {"run", "--config",
				  TEST_DATA_DIR "/kpconfig/not-yaml.yaml",
				  NULL};
	const char *missing[] = {"run", "--config", "/nonexistent.yaml", NULL};
	const char *bad_flag[] = {"run", "--ipvs-sync-period", "often", NULL};
	const char *unknown[] = {"run", "--proxy-mode", "ipvs", NULL};
	const char *min_gt[] = {"run", "--ipvs-sync-period",
				"1s",  "--ipvs-min-sync-period",
				"2s",  NULL};
	const char *bad_bind[] = {"run", "--metrics-bind-address", "x:1", NULL};

	ck_assert_int_lt(parse(3, bad_mode), 0);
	run_settings_done(&s);
	ck_assert_int_lt(parse(3, bad_dur), 0);
	run_settings_done(&s);
	ck_assert_int_lt(parse(3, not_yaml), 0);
	run_settings_done(&s);
	ck_assert_int_lt(parse(3, missing), 0);
	run_settings_done(&s);
	ck_assert_int_lt(parse(3, bad_flag), 0);
	ck_assert_int_lt(parse(3, unknown), 0);
	ck_assert_int_lt(parse(5, min_gt), 0);
	ck_assert_int_lt(parse(3, bad_bind), 0);
}
END_TEST

static Suite *kpconfig_suite(void)
{
	Suite *su = suite_create("kpconfig");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_hostport);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_traffic_metrics);
	tcase_add_test(tc, test_kubeadm);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_flags_win);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(kpconfig_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
