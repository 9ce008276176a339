/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run command's settings: kube-proxy's flags and --config file. */
#ifndef IPVS_SVC_RUN_H
#define IPVS_SVC_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* --traffic-metrics: per-kernel-object counters on /metrics, opt-in */
enum traffic_level {
	TRAFFIC_NONE,
	TRAFFIC_VIRTUAL_SERVERS,
	TRAFFIC_REAL_SERVERS,
};

struct run_settings {
	const char *config_file;
	const char *kubeconfig;
	const char *master;
	const char *hostname;
	const char *scheduler;
	const char *nodeport_addresses;
	const char *exclude_cidrs;
	const char *cluster_cidr;
	const char *service_proxy_name;
	const char *ifname;
	const char *state_dir;
	const char *healthz_bind;
	const char *metrics_bind;
	uint64_t sync_period_ms;
	uint64_t min_sync_period_ms;
	uint64_t graceful_period_ms;
	uint32_t tcp_timeout_s, tcpfin_timeout_s, udp_timeout_s;
	bool strict_arp;
	bool masquerade_all; /* iptables.masqueradeAll */
	enum traffic_level traffic_metrics;
	int verbosity;
	char *owned_hostname;
	char **strings; /* values from the config file */
	size_t n_strings;
};

/* Flags over the --config file over defaults; 0, 1 for --help, -1. */
int run_parse_args(int argc, char **argv, struct run_settings *s);
void run_settings_done(struct run_settings *s);
/* Read a KubeProxyConfiguration into s; 0 or -errno (errors logged). */
int run_load_config_file(const char *path, struct run_settings *s);
/* A Go duration ("30s", "1m30s", "500ms", "0") in milliseconds. */
int run_parse_duration(const char *str, uint64_t *ret_ms);
/* "0.0.0.0:10256", "[::]:10256", ":10256" */
int run_parse_hostport(const char *str, struct sockaddr_storage *ret);

#endif
