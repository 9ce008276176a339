/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * k-nft: load only the nftables table for manifests, without IPVS (so that
 * 10,000 Services load quickly in a slow guest).
 *
 *   k-nft MANIFESTS [CLUSTER_CIDRS]
 *
 * Prints "rules N elements M"; exit 0, or 1 with the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipvs-svc/ipvs-svc.h>

static void diag(void *userdata, int level, const char *msg)
{
	if (level <= IPVSSVC_LOG_WARNING)
		fprintf(stderr, "k-nft: %s\n", msg);
}

int main(int argc, char **argv)
{
	ipvssvc_objects *objs = NULL;
	ipvssvc_config *cfg = NULL;
	ipvssvc_state *st = NULL;
	ipvssvc_nft *nft = NULL;
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: k-nft MANIFESTS [CLUSTER_CIDRS]\n");
		return 2;
	}
	if (ipvssvc_objects_new(&objs) < 0 || ipvssvc_config_new(&cfg) < 0)
		return 1;
	ipvssvc_config_set_node_name(cfg, "node-1");
	if (argc == 3 && ipvssvc_config_set_cluster_cidrs(cfg, argv[2]) < 0)
		return 2;
	r = ipvssvc_objects_load_path(objs, argv[1]);
	if (r >= 0)
		r = ipvssvc_model_build(objs, cfg, &st);
	if (r >= 0)
		r = ipvssvc_nft_build(st, objs, cfg, 0, &nft);
	if (r >= 0)
		r = ipvssvc_nft_apply(nft, diag, NULL);
	if (r < 0) {
		fprintf(stderr, "k-nft: %s\n", strerror(-r));
	} else {
		printf("rules %zu elements %zu\n", ipvssvc_nft_rule_count(nft),
		       ipvssvc_nft_element_count(nft));
	}
	ipvssvc_nft_free(nft);
	ipvssvc_state_free(st);
	ipvssvc_config_free(cfg);
	ipvssvc_objects_free(objs);
	return r < 0;
}
