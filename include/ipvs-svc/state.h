/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A state: a set of virtual servers, each with its real servers, and the
 * set of addresses on the dummy interface. The model builds the desired
 * state; ipvssvc_state_read() reads the current one from the kernel.
 * Iteration is in canonical order (family, protocol, address, port,
 * fwmark; real servers by address and port), so that two states compare
 * and print deterministically.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_STATE_H
#define IPVS_SVC_STATE_H

#include <ipvs-svc/ipvs-svc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_state ipvssvc_state;

int ipvssvc_state_new(ipvssvc_state **ret);
void ipvssvc_state_free(ipvssvc_state *st);

size_t ipvssvc_state_service_count(const ipvssvc_state *st);
const ipvssvc_service *ipvssvc_state_service(const ipvssvc_state *st, size_t i);
size_t ipvssvc_state_addr_count(const ipvssvc_state *st);
const struct ipvssvc_ip *ipvssvc_state_addr(const ipvssvc_state *st, size_t i);
/* The virtual server with the same key as key, or NULL. */
const ipvssvc_service *ipvssvc_state_find(const ipvssvc_state *st,
					  const ipvssvc_service *key);

/*
 * Add a copy of svc (with its real servers). -EEXIST when a virtual
 * server with the same key is already there.
 */
int ipvssvc_state_add_service(ipvssvc_state *st, const ipvssvc_service *svc);
/* Add a real server to the state's virtual server with svc's key. */
int ipvssvc_state_add_dest(ipvssvc_state *st, const ipvssvc_service *svc,
			   const ipvssvc_dest *dest);
int ipvssvc_state_add_addr(ipvssvc_state *st, const struct ipvssvc_ip *addr);

/*
 * The state's rules as `ipvsadm -Sn | sort` would print them, one per
 * line; *ret_text is malloc'ed.
 */
int ipvssvc_state_format_rules(const ipvssvc_state *st, char **ret_text);

/*
 * Read the kernel: every virtual server with its real servers and
 * counters, and the addresses of ifname (none when it does not exist).
 */
int ipvssvc_state_read(ipvssvc_ctx *ctx, const char *ifname,
		       ipvssvc_state **ret);
/*
 * Read the kernel's rules for a reconciler, at a fraction of the cost:
 * real servers come from /proc/net/ip_vs in one read, not one netlink
 * dump per virtual server. Counters and persistent connections are 0;
 * thresholds are read where desired (may be NULL) has non-zero ones and
 * are 0 elsewhere. Falls back to netlink where /proc cannot tell.
 */
int ipvssvc_state_read_rules(ipvssvc_ctx *ctx, const char *ifname,
			     const ipvssvc_state *desired, ipvssvc_state **ret);

#ifdef __cplusplus
}
#endif

#endif
