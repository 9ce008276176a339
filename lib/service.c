/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Virtual-server and real-server values: construction and accessors. */
#include "internal.h"

#include <stdio.h>

_public_ int ipvssvc_service_new(ipvssvc_service **ret)
{
	ipvssvc_service *svc;

	if (!ret)
		return -EINVAL;
	svc = malloc(sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	ipvssvc_service_init(svc);
	*ret = svc;
	return 0;
}

_public_ int ipvssvc_service_dup(const ipvssvc_service *svc,
				 ipvssvc_service **ret)
{
	ipvssvc_service *c;
	size_t i;

	if (!svc || !ret)
		return -EINVAL;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *svc;
	c->origin_ns = c->origin_name = c->origin_port = NULL;
	c->dests = NULL;
	c->dest_stats = NULL;
	c->n_dests = c->cap_dests = 0;
	if (ipvssvc_service_set_origin(c, svc->origin, svc->origin_ns,
				       svc->origin_name, svc->origin_port) < 0)
		goto oom;
	if (svc->n_dests) {
		c->dests = malloc(svc->n_dests * sizeof(*c->dests));
		if (!c->dests)
			goto oom;
		memcpy(c->dests, svc->dests, svc->n_dests * sizeof(*c->dests));
		c->n_dests = c->cap_dests = svc->n_dests;
		for (i = 0; i < c->n_dests; i++)
			c->dests[i].stats = NULL;
	}
	/* the stats stay with svc's storage: copy it, repoint the dests */
	if (svc->dest_stats && svc->n_dests) {
		c->dest_stats = malloc(svc->n_dests * sizeof(*c->dest_stats));
		if (!c->dest_stats)
			goto oom;
		for (i = 0; i < c->n_dests; i++) {
			ipvssvc_dest_get_stats(&svc->dests[i],
					       &c->dest_stats[i]);
			c->dests[i].stats = &c->dest_stats[i];
		}
	}
	*ret = c;
	return 0;
oom:
	ipvssvc_service_free(c);
	return -ENOMEM;
}

_public_ void ipvssvc_service_free(ipvssvc_service *svc)
{
	if (!svc)
		return;
	ipvssvc_service_clear(svc);
	free(svc);
}

static unsigned mask_to_prefix(uint32_t be_mask)
{
	uint32_t m = ntohl(be_mask);
	unsigned n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return n;
}

_public_ int ipvssvc_service_set_addr(ipvssvc_service *svc,
				      const struct ipvssvc_ip *addr)
{
	if (!svc || !addr ||
	    (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	if (addr->family != svc->addr.family) {
		/* the netmask's meaning depends on the family: reset it */
		svc->addr = *addr;
		ipvssvc_service_set_netmask(svc, addr->family == AF_INET6 ? 128
									  : 32);
	}
	svc->addr = *addr;
	return 0;
}

_public_ int ipvssvc_service_set_protocol(ipvssvc_service *svc, int protocol)
{
	if (!svc || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP &&
		     protocol != IPPROTO_SCTP))
		return -EINVAL;
	svc->protocol = (uint16_t)protocol;
	svc->fwmark = 0;
	return 0;
}

_public_ int ipvssvc_service_set_port(ipvssvc_service *svc, uint16_t port)
{
	if (!svc)
		return -EINVAL;
	svc->port = port;
	return 0;
}

_public_ int ipvssvc_service_set_fwmark(ipvssvc_service *svc, int family,
					uint32_t fwmark)
{
	struct ipvssvc_ip any;

	if (!svc || fwmark == 0 || (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	memset(&any, 0, sizeof(any));
	any.family = family;
	ipvssvc_service_set_addr(svc, &any);
	svc->fwmark = fwmark;
	svc->protocol = 0;
	svc->port = 0;
	return 0;
}

_public_ int ipvssvc_service_set_scheduler(ipvssvc_service *svc,
					   const char *name)
{
	if (!svc || !name || !*name || strlen(name) >= IPVSSVC_SCHED_MAX)
		return -EINVAL;
	strcpy(svc->sched, name);
	return 0;
}

_public_ int ipvssvc_service_set_flags(ipvssvc_service *svc, uint32_t flags)
{
	if (!svc)
		return -EINVAL;
	svc->flags = flags & ~(uint32_t)IPVSSVC_SVC_F_HASHED;
	return 0;
}

_public_ int ipvssvc_service_set_timeout(ipvssvc_service *svc, uint32_t seconds)
{
	if (!svc)
		return -EINVAL;
	svc->timeout = seconds;
	return 0;
}

_public_ int ipvssvc_service_set_netmask(ipvssvc_service *svc,
					 unsigned prefixlen)
{
	if (!svc)
		return -EINVAL;
	if (svc->addr.family == AF_INET6) {
		if (prefixlen > 128)
			return -EINVAL;
		svc->netmask = prefixlen;
	} else {
		if (prefixlen > 32)
			return -EINVAL;
		svc->netmask =
			prefixlen ? htonl(0xffffffffu << (32 - prefixlen)) : 0;
	}
	return 0;
}

_public_ void ipvssvc_service_get_addr(const ipvssvc_service *svc,
				       struct ipvssvc_ip *ret)
{
	*ret = svc->addr;
}

_public_ int ipvssvc_service_get_family(const ipvssvc_service *svc)
{
	return svc->addr.family;
}

_public_ int ipvssvc_service_get_protocol(const ipvssvc_service *svc)
{
	return svc->protocol;
}

_public_ uint16_t ipvssvc_service_get_port(const ipvssvc_service *svc)
{
	return svc->port;
}

_public_ uint32_t ipvssvc_service_get_fwmark(const ipvssvc_service *svc)
{
	return svc->fwmark;
}

_public_ const char *ipvssvc_service_get_scheduler(const ipvssvc_service *svc)
{
	return svc->sched;
}

_public_ uint32_t ipvssvc_service_get_flags(const ipvssvc_service *svc)
{
	return svc->flags;
}

_public_ uint32_t ipvssvc_service_get_timeout(const ipvssvc_service *svc)
{
	return svc->timeout;
}

_public_ unsigned ipvssvc_service_get_netmask(const ipvssvc_service *svc)
{
	return svc->addr.family == AF_INET6 ? svc->netmask
					    : mask_to_prefix(svc->netmask);
}

_public_ void ipvssvc_service_get_stats(const ipvssvc_service *svc,
					struct ipvssvc_stats *ret)
{
	*ret = svc->stats;
}

_public_ size_t ipvssvc_service_get_dest_count(const ipvssvc_service *svc)
{
	return svc->n_dests;
}

_public_ const ipvssvc_dest *
ipvssvc_service_get_dest(const ipvssvc_service *svc, size_t i)
{
	return i < svc->n_dests ? &svc->dests[i] : NULL;
}

_public_ enum ipvssvc_origin
ipvssvc_service_get_origin(const ipvssvc_service *svc,
			   const char **ret_namespace, const char **ret_name,
			   const char **ret_port_name)
{
	if (ret_namespace)
		*ret_namespace = svc->origin_ns;
	if (ret_name)
		*ret_name = svc->origin_name;
	if (ret_port_name)
		*ret_port_name = svc->origin_port;
	return svc->origin;
}

_public_ const char *ipvssvc_origin_name(enum ipvssvc_origin origin)
{
	switch (origin) {
	case IPVSSVC_ORIGIN_CLUSTER_IP:
		return "ClusterIP";
	case IPVSSVC_ORIGIN_EXTERNAL_IP:
		return "ExternalIP";
	case IPVSSVC_ORIGIN_LOAD_BALANCER:
		return "LoadBalancer";
	case IPVSSVC_ORIGIN_NODE_PORT:
		return "NodePort";
	default:
		return "unknown";
	}
}

static const char *proto_name(int protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	default:
		return "?";
	}
}

_public_ const char *ipvssvc_service_format_key(const ipvssvc_service *svc,
						char *buf, size_t len)
{
	char ip[IPVSSVC_IP_STRLEN];

	if (svc->fwmark)
		snprintf(buf, len, "FWM %u%s", svc->fwmark,
			 svc->addr.family == AF_INET6 ? " IPv6" : "");
	else if (svc->addr.family == AF_INET6)
		snprintf(buf, len, "%s [%s]:%u", proto_name(svc->protocol),
			 ipvssvc_ip_format(&svc->addr, ip, sizeof(ip)),
			 svc->port);
	else
		snprintf(buf, len, "%s %s:%u", proto_name(svc->protocol),
			 ipvssvc_ip_format(&svc->addr, ip, sizeof(ip)),
			 svc->port);
	return buf;
}

_public_ int ipvssvc_dest_new(ipvssvc_dest **ret)
{
	ipvssvc_dest *d;

	if (!ret)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->addr.family = AF_INET;
	d->fwd = IPVSSVC_FWD_MASQ;
	d->weight = 1;
	*ret = d;
	return 0;
}

_public_ void ipvssvc_dest_free(ipvssvc_dest *dest)
{
	free(dest);
}

_public_ int ipvssvc_dest_set_addr(ipvssvc_dest *dest,
				   const struct ipvssvc_ip *addr)
{
	if (!dest || !addr ||
	    (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	dest->addr = *addr;
	return 0;
}

_public_ int ipvssvc_dest_set_port(ipvssvc_dest *dest, uint16_t port)
{
	if (!dest)
		return -EINVAL;
	dest->port = port;
	return 0;
}

_public_ int ipvssvc_dest_set_fwd(ipvssvc_dest *dest, enum ipvssvc_fwd fwd)
{
	if (!dest || (unsigned)fwd > IPVSSVC_FWD_ROUTE)
		return -EINVAL;
	dest->fwd = fwd;
	return 0;
}

_public_ int ipvssvc_dest_set_weight(ipvssvc_dest *dest, uint32_t weight)
{
	/* the kernel takes a signed 32-bit weight */
	if (!dest || weight > INT32_MAX)
		return -EINVAL;
	dest->weight = weight;
	return 0;
}

_public_ int ipvssvc_dest_set_thresholds(ipvssvc_dest *dest, uint32_t upper,
					 uint32_t lower)
{
	if (!dest)
		return -EINVAL;
	dest->u_threshold = upper;
	dest->l_threshold = lower;
	return 0;
}

_public_ void ipvssvc_dest_get_addr(const ipvssvc_dest *dest,
				    struct ipvssvc_ip *ret)
{
	*ret = dest->addr;
}

_public_ uint16_t ipvssvc_dest_get_port(const ipvssvc_dest *dest)
{
	return dest->port;
}

_public_ enum ipvssvc_fwd ipvssvc_dest_get_fwd(const ipvssvc_dest *dest)
{
	return dest->fwd;
}

_public_ uint32_t ipvssvc_dest_get_weight(const ipvssvc_dest *dest)
{
	return dest->weight;
}

_public_ void ipvssvc_dest_get_thresholds(const ipvssvc_dest *dest,
					  uint32_t *upper, uint32_t *lower)
{
	if (upper)
		*upper = dest->u_threshold;
	if (lower)
		*lower = dest->l_threshold;
}

_public_ void ipvssvc_dest_get_conns(const ipvssvc_dest *dest, uint32_t *active,
				     uint32_t *inactive, uint32_t *persistent)
{
	if (active)
		*active = dest->active_conns;
	if (inactive)
		*inactive = dest->inact_conns;
	if (persistent)
		*persistent = dest->persist_conns;
}

_public_ void ipvssvc_dest_get_stats(const ipvssvc_dest *dest,
				     struct ipvssvc_stats *ret)
{
	static const struct ipvssvc_stats none;

	*ret = dest->stats ? *dest->stats : none;
}
