/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IP addresses and CIDRs. */
#include "internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

_public_ int ipvssvc_ip_parse(const char *s, struct ipvssvc_ip *ret)
{
	struct ipvssvc_ip ip;

	if (!s || !ret)
		return -EINVAL;
	memset(&ip, 0, sizeof(ip));
	if (inet_pton(AF_INET, s, &ip.u.in) == 1)
		ip.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &ip.u.in6) == 1)
		ip.family = AF_INET6;
	else
		return -EINVAL;
	*ret = ip;
	return 0;
}

_public_ const char *ipvssvc_ip_format(const struct ipvssvc_ip *ip, char *buf,
				       size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (!ip || !inet_ntop(ip->family, &ip->u, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static size_t ip_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

_public_ int ipvssvc_ip_cmp(const struct ipvssvc_ip *a,
			    const struct ipvssvc_ip *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->u.bytes, b->u.bytes, ip_len(a->family));
}

int ipvssvc_ip_is_zero(const struct ipvssvc_ip *ip)
{
	static const uint8_t zero[16];

	return memcmp(ip->u.bytes, zero, ip_len(ip->family)) == 0;
}

int ipvssvc_cidr_parse(const char *s, struct ipvssvc_cidr *ret)
{
	char buf[IPVSSVC_IP_STRLEN + 8];
	struct ipvssvc_cidr c;
	const char *slash;
	unsigned max;
	char *end;
	unsigned long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(s, '/');
	memcpy(buf, s, slash ? (size_t)(slash - s) : strlen(s));
	buf[slash ? (size_t)(slash - s) : strlen(s)] = '\0';
	if (ipvssvc_ip_parse(buf, &c.ip) < 0)
		return -EINVAL;
	max = c.ip.family == AF_INET ? 32 : 128;
	if (!slash) {
		c.prefixlen = max;
	} else {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > max)
			return -EINVAL;
		c.prefixlen = (unsigned)len;
	}
	*ret = c;
	return 0;
}

int ipvssvc_cidr_contains(const struct ipvssvc_cidr *c,
			  const struct ipvssvc_ip *ip)
{
	unsigned full, rest;

	if (c->ip.family != ip->family)
		return 0;
	full = c->prefixlen / 8;
	rest = c->prefixlen % 8;
	if (memcmp(c->ip.u.bytes, ip->u.bytes, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((c->ip.u.bytes[full] & mask) != (ip->u.bytes[full] & mask))
			return 0;
	}
	return 1;
}

int ipvssvc_cidr_list_parse(const char *s, struct ipvssvc_cidr **ret,
			    size_t *ret_n)
{
	struct ipvssvc_cidr *list = NULL;
	size_t n = 0;
	char *copy, *tok, *save = NULL;
	int r = 0;

	if (!s)
		return -EINVAL;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		struct ipvssvc_cidr c, *tmp;

		r = ipvssvc_cidr_parse(tok, &c);
		if (r < 0)
			break;
		tmp = realloc(list, (n + 1) * sizeof(*list));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		list = tmp;
		list[n++] = c;
	}
	free(copy);
	if (r < 0) {
		free(list);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

int ipvssvc_cidr_list_contains(const struct ipvssvc_cidr *list, size_t n,
			       const struct ipvssvc_ip *ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipvssvc_cidr_contains(&list[i], ip))
			return 1;
	return 0;
}

_public_ const char *ipvssvc_version(void)
{
	return PACKAGE_VERSION;
}
