/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libipvs-svc: Kubernetes Services as Linux IPVS rules.
 *
 * Conventions: every function returns 0 (or a count) on success and a
 * negative errno on failure; out-parameters named ret_* are written only
 * on success; every *_free() accepts NULL. Objects are opaque. The
 * library keeps no global state, prints nothing and is safe to use from
 * several threads as long as one object is used by one thread at a time.
 */
#ifndef IPVS_SVC_IPVS_SVC_H
#define IPVS_SVC_IPVS_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An IPv4 or IPv6 address. family is AF_INET or AF_INET6. */
struct ipvssvc_ip {
	int family;
	union {
		struct in_addr in;
		struct in6_addr in6;
		uint8_t bytes[16];
	} u;
};

/* Longest textual form of an ipvssvc_ip, with its NUL. */
#define IPVSSVC_IP_STRLEN 46

/* Parse "10.0.0.1" or "fd00::1". Returns 0 or -EINVAL. */
int ipvssvc_ip_parse(const char *s, struct ipvssvc_ip *ret);
/* Format into buf (IPVSSVC_IP_STRLEN bytes). Returns buf. */
const char *ipvssvc_ip_format(const struct ipvssvc_ip *ip, char *buf,
			      size_t len);
int ipvssvc_ip_cmp(const struct ipvssvc_ip *a, const struct ipvssvc_ip *b);

/* Traffic counters of a virtual or real server. */
struct ipvssvc_stats {
	uint64_t conns;
	uint64_t inpkts;
	uint64_t outpkts;
	uint64_t inbytes;
	uint64_t outbytes;
	uint64_t cps;
	uint64_t inpps;
	uint64_t outpps;
	uint64_t inbps;
	uint64_t outbps;
};

/* Diagnostics: the library never prints; it reports through this. */
enum ipvssvc_level {
	IPVSSVC_LOG_ERR = 3,
	IPVSSVC_LOG_WARNING = 4,
	IPVSSVC_LOG_NOTICE = 5,
	IPVSSVC_LOG_INFO = 6,
	IPVSSVC_LOG_DEBUG = 7,
};
typedef void (*ipvssvc_diag_fn)(void *userdata, int level, const char *msg);

const char *ipvssvc_version(void);

#ifdef __cplusplus
}
#endif

#include <ipvs-svc/kernel.h>
#include <ipvs-svc/state.h>
#include <ipvs-svc/objects.h>
#include <ipvs-svc/plan.h>
#include <ipvs-svc/kube.h>
#include <ipvs-svc/nft.h>

#endif
