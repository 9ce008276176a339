/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nftables table and UDP conntrack cleanup, as sync, diff, cleanup
 * and run drive them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs-svc.h"

/*
 * What the daemon applied last: later syncs send only the set elements
 * that differ from it. Unsupported: the kernel has no inet family; asked
 * again on each full sync only.
 */
static ipvssvc_nft *last_nft;
static bool unsupported, warned_unsupported;

static void sysctl_on(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs("1", f) < 0) {
		log_warn("cannot set %s to 1: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return;
	}
	if (fclose(f) != 0)
		log_warn("cannot set %s to 1: %s", path, strerror(errno));
}

int nft_build(const ipvssvc_state *desired, const ipvssvc_objects *objs,
	      const ipvssvc_config *cfg, const struct options *o,
	      ipvssvc_nft **ret)
{
	int r = ipvssvc_nft_build(
		desired, objs, cfg,
		o->masquerade_all ? IPVSSVC_NFT_MASQUERADE_ALL : 0, ret);

	if (r < 0)
		log_err("cannot build the nftables table: %s", strerror(-r));
	return r;
}

static void no_inet_family(void)
{
	/* UML and small kernels: IPVS alone still works */
	if (!warned_unsupported)
		log_warn("the kernel has no nftables inet family: no "
			 "masquerade, hairpin or Service address filtering");
	warned_unsupported = true;
	unsupported = true;
}

int nft_apply(const ipvssvc_nft *nft)
{
	int r;

	/* IPVS's masquerade needs conntrack for the nat chains to see it */
	sysctl_on("/proc/sys/net/ipv4/vs/conntrack");
	r = ipvssvc_nft_apply(nft, diag_to_log, NULL);
	if (r == -EOPNOTSUPP) {
		no_inet_family();
		return 0;
	}
	if (r < 0) {
		log_err("cannot load the nftables table inet %s: %s",
			IPVSSVC_NFT_TABLE, strerror(-r));
		return r;
	}
	unsupported = false;
	log_info("nftables: table inet %s loaded: %zu rules, %zu set "
		 "elements",
		 IPVSSVC_NFT_TABLE, ipvssvc_nft_rule_count(nft),
		 ipvssvc_nft_element_count(nft));
	return 0;
}

/* The daemon's: the elements that changed since last_nft, or all. */
static int nft_update(const ipvssvc_nft *nft, bool whole)
{
	size_t changed = 0;
	int r;

	if (whole || !last_nft)
		return nft_apply(nft);
	r = ipvssvc_nft_update(last_nft, nft, &changed, diag_to_log, NULL);
	if (r == -EOPNOTSUPP) {
		no_inet_family();
		return -EOPNOTSUPP;
	}
	if (r < 0) {
		log_err("cannot update the nftables table inet %s: %s",
			IPVSSVC_NFT_TABLE, strerror(-r));
		return r;
	}
	if (changed)
		log_info("nftables: table inet %s updated: %zu set elements "
			 "changed",
			 IPVSSVC_NFT_TABLE, changed);
	return 0;
}

int nft_diff_lines(const ipvssvc_nft *nft, char ***ret_lines, size_t *ret_n)
{
	int r = ipvssvc_nft_diff(nft, ret_lines, ret_n, diag_to_log, NULL);

	if (r == -EOPNOTSUPP) {
		log_info("the kernel has no nftables inet family");
		*ret_lines = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		log_err("cannot read the nftables table inet %s: %s",
			IPVSSVC_NFT_TABLE, strerror(-r));
	return r;
}

int nft_print_diff(const ipvssvc_nft *nft, FILE *f, const char *header)
{
	char **lines;
	size_t i, n;
	int r;

	r = nft_diff_lines(nft, &lines, &n);
	if (r < 0)
		return r;
	if (n && header)
		fprintf(f, "%s", header);
	for (i = 0; i < n; i++)
		fprintf(f, "  %s\n", lines[i]);
	ipvssvc_nft_lines_free(lines, n);
	return (int)(n > 0 ? n : 0);
}

void conntrack_after_plan(const ipvssvc_plan *plan,
			  const ipvssvc_state *current)
{
	int r = ipvssvc_conntrack_cleanup(plan, current, diag_to_log, NULL);

	if (r < 0)
		log_warn("conntrack: cannot delete stale UDP entries: %s",
			 strerror(-r));
	else if (r > 0)
		log_info("conntrack: deleted %d stale UDP entries", r);
}

void nft_after_sync(const ipvssvc_state *desired, const ipvssvc_objects *objs,
		    const ipvssvc_config *cfg, const struct options *o,
		    bool full)
{
	ipvssvc_nft *nft;

	if (unsupported && !full)
		return;
	if (nft_build(desired, objs, cfg, o, &nft) < 0)
		return;
	if (nft_update(nft, full) < 0 || unsupported) {
		/* unknown what the kernel holds: the next load is whole */
		ipvssvc_nft_free(nft);
		nft = NULL;
	}
	ipvssvc_nft_free(last_nft);
	last_nft = nft;
}

int nft_cleanup(bool dry_run)
{
	int r;

	if (dry_run)
		return 0;
	r = ipvssvc_nft_delete(diag_to_log, NULL);
	if (r == -EOPNOTSUPP)
		r = 0;
	if (r < 0)
		log_err("cannot delete the nftables table inet %s: %s",
			IPVSSVC_NFT_TABLE, strerror(-r));
	ipvssvc_nft_free(last_nft);
	last_nft = NULL;
	return r;
}
