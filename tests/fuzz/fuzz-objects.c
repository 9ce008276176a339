/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the manifest loader and object decoder (JSON and
 * YAML), then the model built from what was decoded. The input is the
 * manifest itself, so fixtures are seeds as they are; the settings vary
 * with the input's length. Loading the same manifest twice must give the
 * same desired state (replacing objects must not change the model).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void diag(void *userdata, int level, const char *msg)
{
	size_t *n = userdata;

	/* every message is a whole, terminated string */
	if (!msg || strlen(msg) > 1 << 20)
		abort();
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "diag %d: %s\n", level, msg);
	(*n)++;
}

static const char *const node_ips[] = {
	"192.168.1.10", "10.0.0.5", "127.0.0.1", "fe80::1", "2001:db8::10",
};

static ipvssvc_config *make_config(size_t variant, size_t *ndiag)
{
	ipvssvc_config *cfg = NULL;
	size_t i;

	if (ipvssvc_config_new(&cfg) < 0)
		return NULL;
	ipvssvc_config_set_diag(cfg, diag, ndiag);
	ipvssvc_config_set_node_name(cfg, "node-1");
	for (i = 0; i < sizeof(node_ips) / sizeof(node_ips[0]); i++) {
		struct ipvssvc_ip ip;

		if (ipvssvc_ip_parse(node_ips[i], &ip) == 0)
			ipvssvc_config_add_node_addr(cfg, &ip);
	}
	switch (variant) {
	case 1:
		ipvssvc_config_set_nodeport_addresses(cfg, "192.168.1.0/"
							   "24,2001:db8::/64");
		ipvssvc_config_set_node_zone(cfg, "zone-a");
		break;
	case 2:
		ipvssvc_config_set_exclude_cidrs(cfg, "10.96.5.0/24,fd00::/8");
		ipvssvc_config_set_scheduler(cfg, "mh");
		ipvssvc_config_set_service_proxy_name(cfg, "ipvs-svc");
		break;
	case 3:
		ipvssvc_config_set_cluster_cidrs(cfg, "10.244.0.0/16");
		ipvssvc_config_set_nodeport_addresses(cfg, "0.0.0.0/0");
		ipvssvc_config_set_scheduler(cfg, "wlc");
		break;
	default:
		break;
	}
	return cfg;
}

/* Load, build, format. Returns the rules text (NULL on failure). */
static char *run(const uint8_t *data, size_t size, const ipvssvc_config *cfg,
		 int times, size_t *ndiag)
{
	ipvssvc_objects *objs = NULL;
	ipvssvc_state *st = NULL;
	char *text = NULL;
	int i;

	if (ipvssvc_objects_new(&objs) < 0)
		return NULL;
	ipvssvc_objects_set_diag(objs, diag, ndiag);
	for (i = 0; i < times; i++)
		ipvssvc_objects_load_buffer(objs, (const char *)data, size,
					    "fuzz");
	if (ipvssvc_model_build(objs, cfg, &st) == 0) {
		if (ipvssvc_state_format_rules(st, &text) < 0)
			text = NULL;
		ipvssvc_state_free(st);
	}
	ipvssvc_objects_free(objs);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipvssvc_config *cfg;
	size_t ndiag = 0;
	char *once, *twice;

	cfg = make_config(size % 4, &ndiag);
	if (!cfg)
		return 0;
	once = run(data, size, cfg, 1, &ndiag);
	twice = run(data, size, cfg, 2, &ndiag);
	if (once && twice && strcmp(once, twice) != 0) {
		fprintf(stderr,
			"model differs after loading twice:\n%s\n--\n%s", once,
			twice);
		abort();
	}
	free(once);
	free(twice);
	ipvssvc_config_free(cfg);
	return 0;
}
