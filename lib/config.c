/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The proxy's settings, with kube-proxy's names and defaults. */
#include "objects.h"

#include <ctype.h>
#include <stdio.h>

static const char *const known_scheds[] = {
	"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
	"sh", "sed", "nq", "mh",  "fo",	  "ovf",   "twos",
};

_public_ bool ipvssvc_scheduler_is_known(const char *name)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < ARRAY_SIZE(known_scheds); i++)
		if (strcmp(known_scheds[i], name) == 0)
			return true;
	return false;
}

int ipvssvc_sched_flags_parse(const char *s, uint32_t *ret)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} names[] = {
		{"flag-1", IPVSSVC_SVC_F_SCHED1},
		{"flag-2", IPVSSVC_SVC_F_SCHED2},
		{"flag-3", IPVSSVC_SVC_F_SCHED3},
		{"sh-fallback", IPVSSVC_SVC_F_SCHED1},
		{"sh-port", IPVSSVC_SVC_F_SCHED2},
		{"mh-fallback", IPVSSVC_SVC_F_SCHED1},
		{"mh-port", IPVSSVC_SVC_F_SCHED2},
	};
	uint32_t flags = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	while (*p) {
		size_t len, i;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		len = strcspn(p, ", \t");
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (strlen(names[i].name) == len &&
			    strncmp(names[i].name, p, len) == 0)
				break;
		if (i == ARRAY_SIZE(names))
			return -EINVAL;
		flags |= names[i].flag;
		p += len;
	}
	*ret = flags;
	return 0;
}

static void cfg_diag(const ipvssvc_config *cfg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cfg_diag(const ipvssvc_config *cfg, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!cfg->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cfg->diag(cfg->diag_userdata, level, buf);
}

_public_ int ipvssvc_config_new(ipvssvc_config **ret)
{
	ipvssvc_config *cfg;

	if (!ret)
		return -EINVAL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	strcpy(cfg->sched, "rr");
	strcpy(cfg->ifname, "kube-ipvs0");
	*ret = cfg;
	return 0;
}

_public_ void ipvssvc_config_free(ipvssvc_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->nodeport_cidrs);
	free(cfg->exclude_cidrs);
	free(cfg->cluster_cidrs);
	free(cfg->proxy_name);
	free(cfg->node_name);
	free(cfg->zone);
	free(cfg->node_addrs);
	free(cfg);
}

_public_ void ipvssvc_config_set_diag(ipvssvc_config *cfg, ipvssvc_diag_fn fn,
				      void *userdata)
{
	if (!cfg)
		return;
	cfg->diag = fn;
	cfg->diag_userdata = userdata;
}

_public_ int ipvssvc_config_set_scheduler(ipvssvc_config *cfg, const char *name)
{
	if (!cfg)
		return -EINVAL;
	if (!name || !*name)
		name = "rr";
	if (!ipvssvc_scheduler_is_known(name)) {
		cfg_diag(cfg, IPVSSVC_LOG_ERR, "unknown IPVS scheduler \"%s\"",
			 name);
		return -EINVAL;
	}
	snprintf(cfg->sched, sizeof(cfg->sched), "%s", name);
	return 0;
}

static int set_cidrs(ipvssvc_config *cfg, const char *what, const char *s,
		     struct ipvssvc_cidr **list, size_t *n)
{
	struct ipvssvc_cidr *v = NULL;
	size_t nv = 0;
	int r;

	if (!cfg)
		return -EINVAL;
	if (s && *s) {
		r = ipvssvc_cidr_list_parse(s, &v, &nv);
		if (r < 0) {
			cfg_diag(cfg, IPVSSVC_LOG_ERR,
				 "%s: \"%s\" is not a list of CIDRs", what, s);
			return r;
		}
	}
	free(*list);
	*list = v;
	*n = nv;
	return 0;
}

_public_ int ipvssvc_config_set_nodeport_addresses(ipvssvc_config *cfg,
						   const char *cidrs)
{
	return set_cidrs(cfg, "nodeport-addresses", cidrs,
			 cfg ? &cfg->nodeport_cidrs : NULL,
			 cfg ? &cfg->n_nodeport_cidrs : NULL);
}

_public_ int ipvssvc_config_set_exclude_cidrs(ipvssvc_config *cfg,
					      const char *cidrs)
{
	return set_cidrs(cfg, "ipvs-exclude-cidrs", cidrs,
			 cfg ? &cfg->exclude_cidrs : NULL,
			 cfg ? &cfg->n_exclude_cidrs : NULL);
}

_public_ int ipvssvc_config_set_cluster_cidrs(ipvssvc_config *cfg,
					      const char *cidrs)
{
	return set_cidrs(cfg, "cluster-cidr", cidrs,
			 cfg ? &cfg->cluster_cidrs : NULL,
			 cfg ? &cfg->n_cluster_cidrs : NULL);
}

static int set_str(char **dst, const char *s)
{
	char *d = NULL;

	if (s && *s) {
		d = strdup(s);
		if (!d)
			return -ENOMEM;
	}
	free(*dst);
	*dst = d;
	return 0;
}

_public_ int ipvssvc_config_set_service_proxy_name(ipvssvc_config *cfg,
						   const char *name)
{
	return cfg ? set_str(&cfg->proxy_name, name) : -EINVAL;
}

_public_ int ipvssvc_config_set_interface(ipvssvc_config *cfg,
					  const char *ifname)
{
	if (!cfg)
		return -EINVAL;
	if (!ifname || !*ifname)
		ifname = "kube-ipvs0";
	if (strlen(ifname) >= IPVSSVC_IFNAME_MAX || strchr(ifname, '/') ||
	    strchr(ifname, ' ')) {
		cfg_diag(cfg, IPVSSVC_LOG_ERR,
			 "\"%s\" is not a valid interface name", ifname);
		return -EINVAL;
	}
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", ifname);
	return 0;
}

_public_ const char *ipvssvc_config_get_interface(const ipvssvc_config *cfg)
{
	return cfg ? cfg->ifname : "kube-ipvs0";
}

_public_ int ipvssvc_config_set_node_name(ipvssvc_config *cfg, const char *name)
{
	char *p;
	int r;

	if (!cfg)
		return -EINVAL;
	/* as kube-proxy reads --hostname-override: trimmed, lower case */
	while (name && isspace((unsigned char)*name))
		name++;
	r = set_str(&cfg->node_name, name);
	if (r < 0 || !cfg->node_name)
		return r;
	for (p = cfg->node_name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	while (p > cfg->node_name && isspace((unsigned char)p[-1]))
		*--p = '\0';
	return 0;
}

_public_ int ipvssvc_config_set_node_zone(ipvssvc_config *cfg, const char *zone)
{
	return cfg ? set_str(&cfg->zone, zone) : -EINVAL;
}

_public_ int ipvssvc_config_add_node_addr(ipvssvc_config *cfg,
					  const struct ipvssvc_ip *addr)
{
	struct ipvssvc_ip *v;
	size_t i;

	if (!cfg || !addr ||
	    (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	for (i = 0; i < cfg->n_node_addrs; i++)
		if (ipvssvc_ip_cmp(&cfg->node_addrs[i], addr) == 0)
			return 0;
	v = realloc(cfg->node_addrs, (cfg->n_node_addrs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[cfg->n_node_addrs++] = *addr;
	cfg->node_addrs = v;
	return 0;
}

_public_ void ipvssvc_config_clear_node_addrs(ipvssvc_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->node_addrs);
	cfg->node_addrs = NULL;
	cfg->n_node_addrs = 0;
}

_public_ bool ipvssvc_config_is_excluded(const ipvssvc_config *cfg,
					 const struct ipvssvc_ip *addr)
{
	if (!cfg || !addr)
		return false;
	return ipvssvc_cidr_list_contains(cfg->exclude_cidrs,
					  cfg->n_exclude_cidrs, addr);
}

_public_ bool ipvssvc_config_is_node_addr(const ipvssvc_config *cfg,
					  const struct ipvssvc_ip *addr)
{
	size_t i;

	if (!cfg || !addr)
		return false;
	for (i = 0; i < cfg->n_node_addrs; i++)
		if (ipvssvc_ip_cmp(&cfg->node_addrs[i], addr) == 0)
			return true;
	return false;
}
