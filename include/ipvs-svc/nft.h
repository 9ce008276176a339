/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data path around IPVS: one nftables table, "inet ipvs-svc", for
 * source NAT (masquerade), hairpin traffic and filtering of Service
 * addresses, built from a desired state and replaced whole in one
 * transaction; and the deletion of UDP conntrack entries that point at
 * removed real servers. Everything per Service is a set element: the
 * number of rules does not grow with the number of Services.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_NFT_H
#define IPVS_SVC_NFT_H

#include <ipvs-svc/ipvs-svc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_nft ipvssvc_nft;

/* The table's family and name. */
#define IPVSSVC_NFT_TABLE "ipvs-svc"

/* Masquerade all traffic to ClusterIPs (kube-proxy's --masquerade-all). */
#define IPVSSVC_NFT_MASQUERADE_ALL 0x1

/*
 * The table for desired (as ipvssvc_model_build() made it from objs and
 * cfg): objs tells each Service's externalTrafficPolicy and
 * loadBalancerSourceRanges (NULL: Cluster, no ranges), cfg the cluster
 * CIDRs (NULL: none). A pure function.
 */
int ipvssvc_nft_build(const ipvssvc_state *desired, const ipvssvc_objects *objs,
		      const ipvssvc_config *cfg, unsigned flags,
		      ipvssvc_nft **ret);
void ipvssvc_nft_free(ipvssvc_nft *nft);
/*
 * The nft script that replaces the table whole (whether it exists or
 * not) in one transaction; *ret_text is malloc'ed.
 */
int ipvssvc_nft_format(const ipvssvc_nft *nft, char **ret_text);
size_t ipvssvc_nft_rule_count(const ipvssvc_nft *nft);
size_t ipvssvc_nft_element_count(const ipvssvc_nft *nft);

/*
 * Replace the kernel's table with nft's, atomically. nftables' own error
 * messages go to fn (may be NULL). -EOPNOTSUPP when the kernel has no
 * nftables or no inet family.
 */
int ipvssvc_nft_apply(const ipvssvc_nft *nft, ipvssvc_diag_fn fn,
		      void *userdata);
/*
 * Turn the kernel's table from old (what was applied last) into nft by
 * adding and deleting set elements only, in one transaction: at scale a
 * changed endpoint costs one element, not a reload of every set. Nothing
 * is sent when nothing differs. When old is NULL, or the table is not
 * what old says (deleted or edited by someone), the table is replaced
 * whole. *ret_changed (may be NULL) gets the number of elements sent.
 */
int ipvssvc_nft_update(const ipvssvc_nft *old, const ipvssvc_nft *nft,
		       size_t *ret_changed, ipvssvc_diag_fn fn, void *userdata);
/* Delete the table; 0 when it was not there. Nothing else is touched. */
int ipvssvc_nft_delete(ipvssvc_diag_fn fn, void *userdata);
/*
 * What ipvssvc_nft_apply() would change, one line per difference:
 * "+ table inet ipvs-svc", "+ set NAME ELEMENT", "- set NAME ELEMENT",
 * "~ rules" (the chains differ). *ret_lines is a malloc'ed array of
 * malloc'ed strings, *ret_n its length (0: in sync).
 */
int ipvssvc_nft_diff(const ipvssvc_nft *nft, char ***ret_lines, size_t *ret_n,
		     ipvssvc_diag_fn fn, void *userdata);
void ipvssvc_nft_lines_free(char **lines, size_t n);

/*
 * UDP conntrack cleanup for a plan about to be (or just) applied:
 * entries of each UDP virtual server that loses a real server whose
 * reply comes from that real server, and all entries of each UDP
 * virtual server that had no real server in current and gets one.
 * Returns the number of entries deleted or -errno.
 */
int ipvssvc_conntrack_cleanup(const ipvssvc_plan *plan,
			      const ipvssvc_state *current, ipvssvc_diag_fn fn,
			      void *userdata);

#ifdef __cplusplus
}
#endif

#endif
