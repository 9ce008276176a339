/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel layer: IPVS over generic netlink, and the dummy interface
 * and its addresses over rtnetlink. One context owns one socket of each
 * kind for its whole life.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_KERNEL_H
#define IPVS_SVC_KERNEL_H

#include <ipvs-svc/ipvs-svc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_ctx ipvssvc_ctx;
typedef struct ipvssvc_service ipvssvc_service;
typedef struct ipvssvc_dest ipvssvc_dest;

/* Virtual server flags (values of the kernel's IP_VS_SVC_F_*). */
#define IPVSSVC_SVC_F_PERSISTENT 0x0001
#define IPVSSVC_SVC_F_HASHED 0x0002 /* kernel-internal, stripped on read */
#define IPVSSVC_SVC_F_ONEPACKET 0x0004
#define IPVSSVC_SVC_F_SCHED1 0x0008 /* sh-fallback, mh-fallback */
#define IPVSSVC_SVC_F_SCHED2 0x0010 /* sh-port, mh-port */
#define IPVSSVC_SVC_F_SCHED3 0x0020

/* Forwarding methods of a real server (IP_VS_CONN_F_*). */
enum ipvssvc_fwd {
	IPVSSVC_FWD_MASQ = 0,
	IPVSSVC_FWD_LOCAL = 1,
	IPVSSVC_FWD_TUNNEL = 2,
	IPVSSVC_FWD_ROUTE = 3,
};

/*
 * Open a context: resolves the "IPVS" generic netlink family. Returns
 * -EPROTONOSUPPORT when the kernel has no IPVS.
 */
int ipvssvc_ctx_new(ipvssvc_ctx **ret);
void ipvssvc_ctx_free(ipvssvc_ctx *ctx);
/* The kernel's extended-ack message of the last failed request, or NULL. */
const char *ipvssvc_ctx_last_error(const ipvssvc_ctx *ctx);
/* Number of netlink requests sent through this context so far. */
uint64_t ipvssvc_ctx_requests(const ipvssvc_ctx *ctx);

int ipvssvc_get_info(ipvssvc_ctx *ctx, uint32_t *ret_version,
		     uint32_t *ret_conn_tab_size);
int ipvssvc_get_timeouts(ipvssvc_ctx *ctx, uint32_t *ret_tcp,
			 uint32_t *ret_tcp_fin, uint32_t *ret_udp);
/* A zero value leaves that timeout as it is. */
int ipvssvc_set_timeouts(ipvssvc_ctx *ctx, uint32_t tcp, uint32_t tcp_fin,
			 uint32_t udp);
/* Remove every virtual server of the kernel: tests and explicit use only. */
int ipvssvc_flush(ipvssvc_ctx *ctx);

/* Virtual servers. A new one is TCP, IPv4 0.0.0.0:0, scheduler "rr". */
int ipvssvc_service_new(ipvssvc_service **ret);
int ipvssvc_service_dup(const ipvssvc_service *svc, ipvssvc_service **ret);
void ipvssvc_service_free(ipvssvc_service *svc);
int ipvssvc_service_set_addr(ipvssvc_service *svc,
			     const struct ipvssvc_ip *addr);
int ipvssvc_service_set_protocol(ipvssvc_service *svc, int protocol);
int ipvssvc_service_set_port(ipvssvc_service *svc, uint16_t port);
/* A firewall-mark service of the given family (protocol and port 0). */
int ipvssvc_service_set_fwmark(ipvssvc_service *svc, int family,
			       uint32_t fwmark);
int ipvssvc_service_set_scheduler(ipvssvc_service *svc, const char *name);
int ipvssvc_service_set_flags(ipvssvc_service *svc, uint32_t flags);
int ipvssvc_service_set_timeout(ipvssvc_service *svc, uint32_t seconds);
/* IPv4: a prefix length 0..32, stored as the kernel's mask; IPv6: 0..128. */
int ipvssvc_service_set_netmask(ipvssvc_service *svc, unsigned prefixlen);
void ipvssvc_service_get_addr(const ipvssvc_service *svc,
			      struct ipvssvc_ip *ret);
int ipvssvc_service_get_family(const ipvssvc_service *svc);
int ipvssvc_service_get_protocol(const ipvssvc_service *svc);
uint16_t ipvssvc_service_get_port(const ipvssvc_service *svc);
uint32_t ipvssvc_service_get_fwmark(const ipvssvc_service *svc);
const char *ipvssvc_service_get_scheduler(const ipvssvc_service *svc);
uint32_t ipvssvc_service_get_flags(const ipvssvc_service *svc);
uint32_t ipvssvc_service_get_timeout(const ipvssvc_service *svc);
unsigned ipvssvc_service_get_netmask(const ipvssvc_service *svc);
void ipvssvc_service_get_stats(const ipvssvc_service *svc,
			       struct ipvssvc_stats *ret);
size_t ipvssvc_service_get_dest_count(const ipvssvc_service *svc);
const ipvssvc_dest *ipvssvc_service_get_dest(const ipvssvc_service *svc,
					     size_t i);

/* Where a virtual server of a desired state came from. */
enum ipvssvc_origin {
	IPVSSVC_ORIGIN_NONE = 0,
	IPVSSVC_ORIGIN_CLUSTER_IP,
	IPVSSVC_ORIGIN_EXTERNAL_IP,
	IPVSSVC_ORIGIN_LOAD_BALANCER,
	IPVSSVC_ORIGIN_NODE_PORT,
};
/* Any of the strings may be NULL when the origin is unknown. */
enum ipvssvc_origin ipvssvc_service_get_origin(const ipvssvc_service *svc,
					       const char **ret_namespace,
					       const char **ret_name,
					       const char **ret_port_name);
const char *ipvssvc_origin_name(enum ipvssvc_origin origin);

/* "TCP 10.0.0.1:80", "UDP [fd00::1]:53", "FWM 7" into buf. */
const char *ipvssvc_service_format_key(const ipvssvc_service *svc, char *buf,
				       size_t len);

/*
 * The rule as `ipvsadm -Sn` prints it: "-A -t 10.0.0.1:80 -s rr -p 600"
 * and, for a real server of svc, "-a -t 10.0.0.1:80 -r 10.244.0.5:80 -m -w 1".
 * Returns the length (truncated when >= len) or -EINVAL.
 */
int ipvssvc_service_format_rule(const ipvssvc_service *svc, char *buf,
				size_t len);
int ipvssvc_dest_format_rule(const ipvssvc_service *svc,
			     const ipvssvc_dest *dest, char *buf, size_t len);

int ipvssvc_service_add(ipvssvc_ctx *ctx, const ipvssvc_service *svc);
int ipvssvc_service_edit(ipvssvc_ctx *ctx, const ipvssvc_service *svc);
int ipvssvc_service_del(ipvssvc_ctx *ctx, const ipvssvc_service *svc);
/* Look up by key (protocol, address, port or fwmark); -ESRCH if absent. */
int ipvssvc_service_get(ipvssvc_ctx *ctx, const ipvssvc_service *key,
			ipvssvc_service **ret);
/* All virtual servers in one dump request, without real servers. */
int ipvssvc_service_dump(ipvssvc_ctx *ctx, ipvssvc_service ***ret_list,
			 size_t *ret_n);
void ipvssvc_service_list_free(ipvssvc_service **list, size_t n);

/* Real servers. A new one is masquerade, weight 1. */
int ipvssvc_dest_new(ipvssvc_dest **ret);
void ipvssvc_dest_free(ipvssvc_dest *dest);
int ipvssvc_dest_set_addr(ipvssvc_dest *dest, const struct ipvssvc_ip *addr);
int ipvssvc_dest_set_port(ipvssvc_dest *dest, uint16_t port);
int ipvssvc_dest_set_fwd(ipvssvc_dest *dest, enum ipvssvc_fwd fwd);
int ipvssvc_dest_set_weight(ipvssvc_dest *dest, uint32_t weight);
int ipvssvc_dest_set_thresholds(ipvssvc_dest *dest, uint32_t upper,
				uint32_t lower);
void ipvssvc_dest_get_addr(const ipvssvc_dest *dest, struct ipvssvc_ip *ret);
uint16_t ipvssvc_dest_get_port(const ipvssvc_dest *dest);
enum ipvssvc_fwd ipvssvc_dest_get_fwd(const ipvssvc_dest *dest);
uint32_t ipvssvc_dest_get_weight(const ipvssvc_dest *dest);
void ipvssvc_dest_get_thresholds(const ipvssvc_dest *dest, uint32_t *upper,
				 uint32_t *lower);
void ipvssvc_dest_get_conns(const ipvssvc_dest *dest, uint32_t *active,
			    uint32_t *inactive, uint32_t *persistent);
void ipvssvc_dest_get_stats(const ipvssvc_dest *dest,
			    struct ipvssvc_stats *ret);

int ipvssvc_dest_add(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
		     const ipvssvc_dest *dest);
int ipvssvc_dest_edit(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
		      const ipvssvc_dest *dest);
int ipvssvc_dest_del(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
		     const ipvssvc_dest *dest);
int ipvssvc_dest_dump(ipvssvc_ctx *ctx, const ipvssvc_service *svc,
		      ipvssvc_dest ***ret_list, size_t *ret_n);
void ipvssvc_dest_list_free(ipvssvc_dest **list, size_t n);

/* The dummy interface and its addresses (host routes: /32 and /128). */
int ipvssvc_link_ensure_dummy(ipvssvc_ctx *ctx, const char *ifname,
			      int *ret_ifindex);
/* -ENODEV when there is no such link. */
int ipvssvc_link_delete(ipvssvc_ctx *ctx, const char *ifname);
int ipvssvc_link_addrs(ipvssvc_ctx *ctx, const char *ifname,
		       struct ipvssvc_ip **ret_addrs, size_t *ret_n);
int ipvssvc_link_addr_add(ipvssvc_ctx *ctx, const char *ifname,
			  const struct ipvssvc_ip *addr);
int ipvssvc_link_addr_del(ipvssvc_ctx *ctx, const char *ifname,
			  const struct ipvssvc_ip *addr);
/*
 * The node's own addresses for NodePorts: every address of every link
 * except loopback addresses, IPv6 link-local addresses and the addresses
 * of exclude_ifname (the dummy interface).
 */
int ipvssvc_node_addrs(ipvssvc_ctx *ctx, const char *exclude_ifname,
		       struct ipvssvc_ip **ret_addrs, size_t *ret_n);

#ifdef __cplusplus
}
#endif

#endif
