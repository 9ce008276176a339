/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rules in the text form of `ipvsadm -Sn`, so that what ipvs-svc plans,
 * prints and tests compares directly with the independent tool's view of
 * the kernel.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <stdio.h>

static const char *proto_opt(const struct ipvssvc_service *svc)
{
	switch (svc->protocol) {
	case IPPROTO_UDP:
		return "-u";
	case IPPROTO_SCTP:
		return "--sctp-service";
	default:
		return "-t";
	}
}

/* "-t 10.0.0.1:80", "-u [fd00::1]:53", "-f 7" (+ " -6") */
static int format_vaddr(const struct ipvssvc_service *svc, char *buf,
			size_t len)
{
	char ip[IPVSSVC_IP_STRLEN];

	if (svc->fwmark)
		return snprintf(buf, len, "-f %u%s", svc->fwmark,
				svc->addr.family == AF_INET6 ? " -6" : "");
	ipvssvc_ip_format(&svc->addr, ip, sizeof(ip));
	if (svc->addr.family == AF_INET6)
		return snprintf(buf, len, "%s [%s]:%u", proto_opt(svc), ip,
				svc->port);
	return snprintf(buf, len, "%s %s:%u", proto_opt(svc), ip, svc->port);
}

static const char *sched_flag_name(const char *sched, int bit)
{
	static const char *const sh[] = {"sh-fallback", "sh-port"};
	static const char *const mh[] = {"mh-fallback", "mh-port"};
	static const char *const generic[] = {"flag-1", "flag-2", "flag-3"};

	if (bit < 2 && strcmp(sched, "sh") == 0)
		return sh[bit];
	if (bit < 2 && strcmp(sched, "mh") == 0)
		return mh[bit];
	return generic[bit];
}

_public_ int ipvssvc_service_format_rule(const ipvssvc_service *svc, char *buf,
					 size_t len)
{
	static const uint32_t sched_bits[] = {IPVSSVC_SVC_F_SCHED1,
					      IPVSSVC_SVC_F_SCHED2,
					      IPVSSVC_SVC_F_SCHED3};
	char vaddr[80];
	size_t n = 0;
	int i, first = 1;

	if (!svc || !buf)
		return -EINVAL;
#define ADD(...)                                                       \
	do {                                                           \
		int _w = snprintf(buf + (n < len ? n : len),           \
				  n < len ? len - n : 0, __VA_ARGS__); \
		if (_w > 0)                                            \
			n += (size_t)_w;                               \
	} while (0)
	format_vaddr(svc, vaddr, sizeof(vaddr));
	ADD("-A %s -s %s", vaddr, svc->sched);
	if (svc->flags & IPVSSVC_SVC_F_PERSISTENT) {
		ADD(" -p %u", svc->timeout);
		if (svc->addr.family == AF_INET && svc->netmask != 0xffffffff) {
			struct in_addr m = {.s_addr = svc->netmask};
			char mask[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &m, mask, sizeof(mask));
			ADD(" -M %s", mask);
		} else if (svc->addr.family == AF_INET6 &&
			   svc->netmask != 128) {
			ADD(" -M %u", svc->netmask);
		}
	}
	if (svc->flags & IPVSSVC_SVC_F_ONEPACKET)
		ADD(" -o");
	for (i = 0; i < 3; i++) {
		if (!(svc->flags & sched_bits[i]))
			continue;
		ADD("%s%s", first ? " -b " : ",",
		    sched_flag_name(svc->sched, i));
		first = 0;
	}
	return (int)n;
}

static const char *fwd_opt(enum ipvssvc_fwd fwd)
{
	switch (fwd) {
	case IPVSSVC_FWD_TUNNEL:
		return "-i";
	case IPVSSVC_FWD_ROUTE:
	case IPVSSVC_FWD_LOCAL:
		return "-g";
	default:
		return "-m";
	}
}

_public_ int ipvssvc_dest_format_rule(const ipvssvc_service *svc,
				      const ipvssvc_dest *dest, char *buf,
				      size_t len)
{
	char vaddr[80], ip[IPVSSVC_IP_STRLEN];
	size_t n = 0;

	if (!svc || !dest || !buf)
		return -EINVAL;
	format_vaddr(svc, vaddr, sizeof(vaddr));
	ipvssvc_ip_format(&dest->addr, ip, sizeof(ip));
	if (dest->addr.family == AF_INET6)
		ADD("-a %s -r [%s]:%u", vaddr, ip, dest->port);
	else
		ADD("-a %s -r %s:%u", vaddr, ip, dest->port);
	ADD(" %s -w %u", fwd_opt(dest->fwd), dest->weight);
	if (dest->fwd == IPVSSVC_FWD_TUNNEL)
		ADD(" --tun-type ipip");
#undef ADD
	return (int)n;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

_public_ int ipvssvc_state_format_rules(const ipvssvc_state *st,
					char **ret_text)
{
	char **lines = NULL, *text = NULL, *p;
	size_t n = 0, cap = 0, total = 1, i, j;
	int r = -ENOMEM;

	if (!st || !ret_text)
		return -EINVAL;
	for (i = 0; i < ipvssvc_state_service_count(st); i++) {
		const ipvssvc_service *svc = ipvssvc_state_service(st, i);

		for (j = 0; j <= svc->n_dests; j++) {
			char buf[256];
			int w = j == 0 ? ipvssvc_service_format_rule(
						 svc, buf, sizeof(buf))
				       : ipvssvc_dest_format_rule(
						 svc, &svc->dests[j - 1], buf,
						 sizeof(buf));

			if (w < 0) {
				r = w;
				goto out;
			}
			if (n == cap) {
				char **v;

				cap = cap ? cap * 2 : 64;
				v = realloc(lines, cap * sizeof(*v));
				if (!v)
					goto out;
				lines = v;
			}
			lines[n] = strdup(buf);
			if (!lines[n])
				goto out;
			total += strlen(buf) + 1;
			n++;
		}
	}
	/* the order of `LC_ALL=C sort`, as the tests compare */
	if (n)
		qsort(lines, n, sizeof(*lines), line_cmp);
	text = malloc(total);
	if (!text)
		goto out;
	p = text;
	for (i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);

		memcpy(p, lines[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	*p = '\0';
	*ret_text = text;
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return r;
}
