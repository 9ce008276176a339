/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared internals of libipvs-svc. Not installed. The structures here are
 * the contract between the kernel layer, the model, the planner and the
 * applier.
 */
#ifndef IPVSSVC_INTERNAL_H
#define IPVSSVC_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ipvs-svc/ipvs-svc.h>

#define _public_ __attribute__((visibility("default")))
#define _unused_ __attribute__((unused))

#define IPVSSVC_SCHED_MAX 16 /* IP_VS_SCHEDNAME_MAXLEN */
#define IPVSSVC_IFNAME_MAX 16 /* IFNAMSIZ */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A real server. Ports are in host byte order. Kept small: a daemon at
 * scale holds one per endpoint, several times over while it plans.
 */
struct ipvssvc_dest {
	struct ipvssvc_ip addr;
	uint16_t port;
	uint8_t fwd; /* enum ipvssvc_fwd */
	uint32_t weight;
	uint32_t u_threshold;
	uint32_t l_threshold;
	/* read from the kernel only */
	uint32_t active_conns;
	uint32_t inact_conns;
	uint32_t persist_conns;
	/*
	 * Netlink dumps only; NULL otherwise. Points into storage of the
	 * container that holds the dest (a service's dest_stats, a dumped
	 * list's element), so a copy into any other container drops it.
	 */
	const struct ipvssvc_stats *stats;
};

/*
 * A virtual server. The key is (addr.family, protocol, addr, port) or,
 * when fwmark is not 0, (addr.family, fwmark). For IPv4 netmask is the
 * kernel's network-order mask (0xffffffff for /32), for IPv6 a prefix
 * length, exactly as IPVS_SVC_ATTR_NETMASK carries it.
 */
struct ipvssvc_service {
	struct ipvssvc_ip addr;
	uint16_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0 */
	uint16_t port;
	uint32_t fwmark;
	char sched[IPVSSVC_SCHED_MAX];
	uint32_t flags; /* IPVSSVC_SVC_F_*, never HASHED */
	uint32_t timeout;
	uint32_t netmask;
	struct ipvssvc_stats stats;

	/* origin (desired states only); strings owned by the service */
	enum ipvssvc_origin origin;
	char *origin_ns;
	char *origin_name;
	char *origin_port;
	/* ipvssvc_origin_hash(origin_ns, origin_name); 0: not computed */
	uint64_t origin_hash;

	/* real servers, kept sorted by (addr, port) by the state */
	struct ipvssvc_dest *dests;
	size_t n_dests;
	size_t cap_dests;
	/* the counters dests[].stats point to (kernel dumps only) */
	struct ipvssvc_stats *dest_stats;
};

struct ipvssvc_state {
	struct ipvssvc_service **svcs; /* sorted by key when !dirty */
	size_t n_svcs;
	size_t cap_svcs;
	struct ipvssvc_ip *addrs; /* sorted, unique when !dirty */
	size_t n_addrs;
	size_t cap_addrs;
	int dirty;
	/*
	 * Current states (ipvssvc_state_read): 1 when the dummy interface
	 * exists, -1 when it does not, 0 when unknown. The planner creates
	 * the link when it is not known to exist and addresses are bound.
	 */
	int link;
};

/* addr.c */
int ipvssvc_ip_is_zero(const struct ipvssvc_ip *ip);
/* A CIDR: address and prefix length. */
struct ipvssvc_cidr {
	struct ipvssvc_ip ip;
	unsigned prefixlen;
};
int ipvssvc_cidr_parse(const char *s, struct ipvssvc_cidr *ret);
int ipvssvc_cidr_contains(const struct ipvssvc_cidr *c,
			  const struct ipvssvc_ip *ip);
/* Parse "a,b,c" (spaces allowed); *ret is malloc'ed. */
int ipvssvc_cidr_list_parse(const char *s, struct ipvssvc_cidr **ret,
			    size_t *ret_n);
int ipvssvc_cidr_list_contains(const struct ipvssvc_cidr *list, size_t n,
			       const struct ipvssvc_ip *ip);

/*
 * A Service's name hashed (FNV-1a of "ns/name", never 0): the model
 * stores it in each virtual server so that a daemon's incremental sync
 * finds a Service's virtual servers without reading their strings.
 */
static inline uint64_t ipvssvc_origin_hash(const char *ns, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	const char *p;

	for (p = ns ? ns : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (p = name ? name : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ? h : 1;
}

/* nft.c: the commands that turn the table old into nft (for tests) */
struct ipvssvc_nft;
int ipvssvc_nft_update_script(const struct ipvssvc_nft *old,
			      const struct ipvssvc_nft *nft, char **ret_text,
			      size_t *ret_changed);

/* state.c */
/* Room for element n of *v (cap elements of size bytes), doubling. */
int ipvssvc_grow(void **v, size_t *cap, size_t n, size_t size);
void ipvssvc_service_init(struct ipvssvc_service *svc);
/* Frees what svc owns (origin strings, dests), not svc itself. */
void ipvssvc_service_clear(struct ipvssvc_service *svc);
/* Compare the keys of two virtual servers / real servers (canonical order). */
int ipvssvc_service_key_cmp(const struct ipvssvc_service *a,
			    const struct ipvssvc_service *b);
int ipvssvc_dest_key_cmp(const struct ipvssvc_dest *a,
			 const struct ipvssvc_dest *b);
/* True when the editable attributes (scheduler, flags, timeout, netmask) match. */
int ipvssvc_service_attrs_equal(const struct ipvssvc_service *a,
				const struct ipvssvc_service *b);
int ipvssvc_service_set_origin(struct ipvssvc_service *svc,
			       enum ipvssvc_origin origin, const char *ns,
			       const char *name, const char *port_name);
/* Append a real server, without its stats; keeps order lazily. */
int ipvssvc_service_push_dest(struct ipvssvc_service *svc,
			      const struct ipvssvc_dest *dest);
/* Make room for n more real servers, exactly. */
int ipvssvc_service_reserve_dests(struct ipvssvc_service *svc, size_t n);
/* Drop the real servers (and their stats), keeping the array. */
void ipvssvc_service_reset_dests(struct ipvssvc_service *svc);
void ipvssvc_service_sort_dests(struct ipvssvc_service *svc);
const struct ipvssvc_dest *
ipvssvc_service_find_dest(const struct ipvssvc_service *svc,
			  const struct ipvssvc_dest *key);
/* Take ownership of svc (allocated with malloc) into st. */
int ipvssvc_state_take_service(struct ipvssvc_state *st,
			       struct ipvssvc_service *svc);
/* Sort services, dests and addresses; drop duplicate addresses. */
void ipvssvc_state_sort(struct ipvssvc_state *st);

#endif
