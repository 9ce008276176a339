/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nftables table around IPVS. The rules are fixed; every Service only
 * adds set elements. IPVS schedules in LOCAL_IN (after the filter input
 * chain) and LOCAL_OUT, so the nat prerouting and output chains still see
 * a packet's Service address and port: they mark what must be
 * masqueraded, with kube-proxy's bit, and postrouting masquerades it
 * after IPVS has rewritten the destination.
 */
#include "internal.h"
#include "objects.h"

#include <stdio.h>

#include <nftables/libnftables.h>

/* The sets, each in an IPv4 and an IPv6 variant. */
enum {
	S_CLUSTERIP, /* ClusterIP virtual servers */
	S_MASQ_EXT, /* NodePort, external and LB ones, traffic policy Cluster */
	S_HAIRPIN, /* (endpoint, endpoint): a Pod reaching itself */
	S_NOMASQ_SRC, /* sources that reach ClusterIPs unmasqueraded */
	S_VIP, /* the Service addresses on the dummy interface */
	S_VPORT, /* their virtual servers (everything else is rejected) */
	S_LB_RESTRICTED, /* LB virtual servers with source ranges */
	S_LB_ALLOWED, /* their (virtual server, source range) pairs */
	N_SETS,
};

struct set_def {
	const char *name;
	const char *type[2]; /* IPv4, IPv6 */
	bool interval;
};

static const struct set_def set_defs[N_SETS] = {
	[S_CLUSTERIP] = {"clusterip",
			 {"ipv4_addr . inet_proto . inet_service", "ipv6_addr "
								   ". "
								   "inet_proto "
								   ". "
								   "inet_"
								   "service"},
			 false},
	[S_MASQ_EXT] = {"masq-external",
			{"ipv4_addr . inet_proto . inet_service", "ipv6_addr . "
								  "inet_proto "
								  ". "
								  "inet_"
								  "service"},
			false},
	[S_HAIRPIN] = {"hairpin",
		       {"ipv4_addr . ipv4_addr", "ipv6_addr . ipv6_addr"},
		       false},
	[S_NOMASQ_SRC] = {"nomasq-src", {"ipv4_addr", "ipv6_addr"}, true},
	[S_VIP] = {"vip", {"ipv4_addr", "ipv6_addr"}, false},
	[S_VPORT] = {"vport",
		     {"ipv4_addr . inet_proto . inet_service", "ipv6_addr . "
							       "inet_proto . "
							       "inet_service"},
		     false},
	[S_LB_RESTRICTED] = {"lb-restricted",
			     {"ipv4_addr . inet_proto . inet_service", "ipv6_"
								       "addr . "
								       "inet_"
								       "proto "
								       ". "
								       "inet_"
								       "servic"
								       "e"},
			     false},
	[S_LB_ALLOWED] = {"lb-allowed",
			  {"ipv4_addr . inet_proto . inet_service . ipv4_addr",
			   "ipv6_addr . inet_proto . inet_service . ipv6_addr"},
			  true},
};

/* The fixed chains; %1$s is "ip" or "ip6", %2$s "v4" or "v6". */
#define MASQ_MARK "0x4000"
static const char rules_input[] =
	"ip daddr . meta l4proto . th dport @lb-restricted-v4 "
	"ip daddr . meta l4proto . th dport . ip saddr != @lb-allowed-v4 "
	"drop\n"
	"ip6 daddr . meta l4proto . th dport @lb-restricted-v6 "
	"ip6 daddr . meta l4proto . th dport . ip6 saddr != @lb-allowed-v6 "
	"drop\n"
	"ct state new ip daddr @vip-v4 "
	"ip daddr . meta l4proto . th dport != @vport-v4 reject\n"
	"ct state new ip6 daddr @vip-v6 "
	"ip6 daddr . meta l4proto . th dport != @vport-v6 reject\n";
static const char rules_services[] =
	"ip daddr . meta l4proto . th dport @masq-external-v4 "
	"meta mark set meta mark | " MASQ_MARK " return\n"
	"ip6 daddr . meta l4proto . th dport @masq-external-v6 "
	"meta mark set meta mark | " MASQ_MARK " return\n"
	"ip daddr . meta l4proto . th dport @clusterip-v4 "
	"ip saddr != @nomasq-src-v4 meta mark set meta mark | " MASQ_MARK "\n"
	"ip6 daddr . meta l4proto . th dport @clusterip-v6 "
	"ip6 saddr != @nomasq-src-v6 meta mark set meta mark | " MASQ_MARK "\n";
static const char rules_postrouting[] =
	"ip saddr . ip daddr @hairpin-v4 masquerade\n"
	"ip6 saddr . ip6 daddr @hairpin-v6 masquerade\n"
	"meta mark & " MASQ_MARK " == " MASQ_MARK " meta mark set meta mark & "
	"0xffffbfff masquerade\n";

struct strv {
	char **v;
	size_t n, cap;
};

struct ipvssvc_nft {
	struct strv sets[N_SETS][2];
};

static void strv_clear(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int strv_push(struct strv *s, const char *str)
{
	char *d;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	d = strdup(str);
	if (!d)
		return -ENOMEM;
	s->v[s->n++] = d;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_sort_unique(struct strv *s)
{
	size_t i, j;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), str_cmp);
	for (i = 1, j = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[j - 1]) == 0)
			free(s->v[i]);
		else
			s->v[j++] = s->v[i];
	}
	s->n = j;
}

static bool strv_has(const struct strv *s, const char *str)
{
	return s->n && bsearch(&str, s->v, s->n, sizeof(*s->v), str_cmp);
}

static int fam(int family)
{
	return family == AF_INET6;
}

static const char *proto_name(uint16_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return NULL;
}

/* "10.0.0.0/8"; a full-length prefix is the bare address, as nft lists it. */
static void format_cidr(const struct ipvssvc_cidr *c, char *buf, size_t len)
{
	struct ipvssvc_cidr m = *c;
	unsigned max = c->ip.family == AF_INET6 ? 128 : 32, i;
	char a[IPVSSVC_IP_STRLEN];

	/* nft refuses host bits */
	for (i = m.prefixlen; i < max; i++)
		m.ip.u.bytes[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	ipvssvc_ip_format(&m.ip, a, sizeof(a));
	if (m.prefixlen == max)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, m.prefixlen);
}

/* "10.96.0.1 . tcp . 80" */
static int vs_key(const struct ipvssvc_service *svc, char *buf, size_t len)
{
	char a[IPVSSVC_IP_STRLEN];
	const char *p = proto_name(svc->protocol);

	if (!p || svc->fwmark)
		return -EINVAL;
	ipvssvc_ip_format(&svc->addr, a, sizeof(a));
	snprintf(buf, len, "%s . %s . %u", a, p, svc->port);
	return 0;
}

/*
 * nft refuses overlapping intervals: keep only the ranges that no other
 * one of the list contains.
 */
static bool cidr_covered(const struct ipvssvc_cidr *list, size_t n, size_t k)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i == k || list[i].ip.family != list[k].ip.family)
			continue;
		if (list[i].prefixlen > list[k].prefixlen ||
		    !ipvssvc_cidr_contains(&list[i], &list[k].ip))
			continue;
		/* of two equal ranges the first stays */
		if (list[i].prefixlen < list[k].prefixlen || i < k)
			return true;
	}
	return false;
}

static const struct k8s_service *find_service(const ipvssvc_objects *objs,
					      const struct ipvssvc_service *svc)
{
	const struct k8s_obj *o;

	if (!objs || !svc->origin_name)
		return NULL;
	o = objs_find(objs, K8S_SERVICE, svc->origin_ns ? svc->origin_ns : "",
		      svc->origin_name);
	return o ? &o->u.svc : NULL;
}

static int ip_cmp(const void *a, const void *b)
{
	return ipvssvc_ip_cmp(a, b);
}

static bool state_has_vip(const ipvssvc_state *st, const struct ipvssvc_ip *ip)
{
	size_t i;

	if (st->n_addrs == 0)
		return false;
	if (!st->dirty)
		return bsearch(ip, st->addrs, st->n_addrs, sizeof(*st->addrs),
			       ip_cmp);
	for (i = 0; i < st->n_addrs; i++)
		if (ipvssvc_ip_cmp(ip, &st->addrs[i]) == 0)
			return true;
	return false;
}

static int add_service(ipvssvc_nft *nft, const ipvssvc_state *desired,
		       const ipvssvc_objects *objs,
		       const struct ipvssvc_service *svc)
{
	const struct k8s_service *ks;
	char key[IPVSSVC_IP_STRLEN + 32], e[2 * IPVSSVC_IP_STRLEN + 48];
	char a[IPVSSVC_IP_STRLEN];
	int f = fam(svc->addr.family), r;
	size_t i;

	if (vs_key(svc, key, sizeof(key)) < 0)
		return 0;
	ks = find_service(objs, svc);
	for (i = 0; i < svc->n_dests; i++) {
		if (svc->dests[i].addr.family != svc->addr.family)
			continue;
		ipvssvc_ip_format(&svc->dests[i].addr, a, sizeof(a));
		snprintf(e, sizeof(e), "%s . %s", a, a);
		r = strv_push(&nft->sets[S_HAIRPIN][f], e);
		if (r < 0)
			return r;
	}
	if (state_has_vip(desired, &svc->addr)) {
		r = strv_push(&nft->sets[S_VPORT][f], key);
		if (r < 0)
			return r;
	}
	switch (svc->origin) {
	case IPVSSVC_ORIGIN_CLUSTER_IP:
		return strv_push(&nft->sets[S_CLUSTERIP][f], key);
	case IPVSSVC_ORIGIN_LOAD_BALANCER:
		/* ranges of the other family only: nothing is admitted */
		if (ks && ks->n_lb_source_ranges) {
			for (i = 0; i < ks->n_lb_source_ranges; i++) {
				char c[IPVSSVC_IP_STRLEN + 8];

				if (ks->lb_source_ranges[i].ip.family !=
					    svc->addr.family ||
				    cidr_covered(ks->lb_source_ranges,
						 ks->n_lb_source_ranges, i))
					continue;
				format_cidr(&ks->lb_source_ranges[i], c,
					    sizeof(c));
				snprintf(e, sizeof(e), "%s . %s", key, c);
				r = strv_push(&nft->sets[S_LB_ALLOWED][f], e);
				if (r < 0)
					return r;
			}
			r = strv_push(&nft->sets[S_LB_RESTRICTED][f], key);
			if (r < 0)
				return r;
		}
		/* fall through */
	case IPVSSVC_ORIGIN_NODE_PORT:
	case IPVSSVC_ORIGIN_EXTERNAL_IP:
		if (ks && ks->external_local)
			return 0;
		return strv_push(&nft->sets[S_MASQ_EXT][f], key);
	case IPVSSVC_ORIGIN_NONE:
		break;
	}
	return 0;
}

static int add_nomasq(ipvssvc_nft *nft, const ipvssvc_config *cfg,
		      unsigned flags)
{
	char c[IPVSSVC_IP_STRLEN + 8];
	size_t i;
	int r;

	if (flags & IPVSSVC_NFT_MASQUERADE_ALL)
		return 0;
	if (!cfg || cfg->n_cluster_cidrs == 0) {
		/* kube-proxy masquerades no ClusterIP traffic then */
		r = strv_push(&nft->sets[S_NOMASQ_SRC][0], "0.0.0.0/0");
		if (r == 0)
			r = strv_push(&nft->sets[S_NOMASQ_SRC][1], "::/0");
		return r;
	}
	for (i = 0; i < cfg->n_cluster_cidrs; i++) {
		const struct ipvssvc_cidr *cc = &cfg->cluster_cidrs[i];

		if (cidr_covered(cfg->cluster_cidrs, cfg->n_cluster_cidrs, i))
			continue;
		format_cidr(cc, c, sizeof(c));
		r = strv_push(&nft->sets[S_NOMASQ_SRC][fam(cc->ip.family)], c);
		if (r < 0)
			return r;
	}
	return 0;
}

_public_ int ipvssvc_nft_build(const ipvssvc_state *desired,
			       const ipvssvc_objects *objs,
			       const ipvssvc_config *cfg, unsigned flags,
			       ipvssvc_nft **ret)
{
	ipvssvc_nft *nft;
	size_t i;
	int r = 0, s, f;

	if (!desired || !ret)
		return -EINVAL;
	nft = calloc(1, sizeof(*nft));
	if (!nft)
		return -ENOMEM;
	for (i = 0; r == 0 && i < desired->n_svcs; i++)
		r = add_service(nft, desired, objs, desired->svcs[i]);
	for (i = 0; r == 0 && i < desired->n_addrs; i++) {
		char a[IPVSSVC_IP_STRLEN];

		ipvssvc_ip_format(&desired->addrs[i], a, sizeof(a));
		r = strv_push(&nft->sets[S_VIP][fam(desired->addrs[i].family)],
			      a);
	}
	if (r == 0)
		r = add_nomasq(nft, cfg, flags);
	if (r < 0) {
		ipvssvc_nft_free(nft);
		return r;
	}
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++)
			strv_sort_unique(&nft->sets[s][f]);
	*ret = nft;
	return 0;
}

_public_ void ipvssvc_nft_free(ipvssvc_nft *nft)
{
	int s, f;

	if (!nft)
		return;
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++)
			strv_clear(&nft->sets[s][f]);
	free(nft);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

_public_ size_t ipvssvc_nft_rule_count(const ipvssvc_nft *nft)
{
	if (!nft)
		return 0;
	/* and one jump each in prerouting and output */
	return count_lines(rules_input) + count_lines(rules_services) +
	       count_lines(rules_postrouting) + 2;
}

_public_ size_t ipvssvc_nft_element_count(const ipvssvc_nft *nft)
{
	size_t n = 0;
	int s, f;

	if (!nft)
		return 0;
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++)
			n += nft->sets[s][f].n;
	return n;
}

/* A growing text buffer; errors stick until the end. */
struct buf {
	char *p;
	size_t n, cap;
	int err;
};

static void buf_add(struct buf *b, const char *s, size_t len)
{
	if (b->err)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->n + len + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Each line of rules, indented. */
static void buf_rules(struct buf *b, const char *rules)
{
	const char *nl;

	for (; *rules; rules = nl + 1) {
		nl = strchr(rules, '\n');
		buf_puts(b, "\t\t");
		buf_add(b, rules, (size_t)(nl - rules) + 1);
	}
}

_public_ int ipvssvc_nft_format(const ipvssvc_nft *nft, char **ret_text)
{
	struct buf b = {NULL, 0, 0, 0};
	int s, f;
	size_t i;

	if (!nft || !ret_text)
		return -EINVAL;
	/* add (a no-op when it exists), delete, define: one transaction */
	buf_puts(&b, "table inet " IPVSSVC_NFT_TABLE "\n"
		     "delete table inet " IPVSSVC_NFT_TABLE "\n"
		     "table inet " IPVSSVC_NFT_TABLE " {\n"
		     "\tcomment \"managed by ipvs-svc: changed on every "
		     "sync\"\n");
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++) {
			const struct strv *v = &nft->sets[s][f];

			buf_puts(&b, "\tset ");
			buf_puts(&b, set_defs[s].name);
			buf_puts(&b,
				 f ? "-v6 {\n\t\ttype " : "-v4 {\n\t\ttype ");
			buf_puts(&b, set_defs[s].type[f]);
			buf_puts(&b, "\n");
			if (set_defs[s].interval)
				buf_puts(&b, "\t\tflags interval\n");
			for (i = 0; i < v->n; i++) {
				buf_puts(&b, i ? ",\n\t\t\t"
					       : "\t\telements = {\n\t\t\t");
				buf_puts(&b, v->v[i]);
			}
			if (v->n)
				buf_puts(&b, "\n\t\t}\n");
			buf_puts(&b, "\t}\n");
		}
	buf_puts(&b, "\tchain input {\n"
		     "\t\ttype filter hook input priority filter; "
		     "policy accept;\n");
	buf_rules(&b, rules_input);
	buf_puts(&b, "\t}\n\tchain services {\n");
	buf_rules(&b, rules_services);
	buf_puts(&b, "\t}\n\tchain prerouting {\n"
		     "\t\ttype nat hook prerouting priority dstnat; "
		     "policy accept;\n"
		     "\t\tjump services\n"
		     "\t}\n\tchain output {\n"
		     "\t\ttype nat hook output priority -100; policy accept;\n"
		     "\t\tjump services\n"
		     "\t}\n\tchain postrouting {\n"
		     "\t\ttype nat hook postrouting priority srcnat; "
		     "policy accept;\n");
	buf_rules(&b, rules_postrouting);
	buf_puts(&b, "\t}\n}\n");
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*ret_text = b.p;
	return 0;
}

/* --- the kernel, through libnftables -------------------------------------- */

static void report(ipvssvc_diag_fn fn, void *userdata, int level,
		   const char *text)
{
	char line[512];
	const char *nl;

	if (!fn || !text)
		return;
	for (; *text; text = nl + 1) {
		size_t len;

		nl = strchr(text, '\n');
		len = nl ? (size_t)(nl - text) : strlen(text);
		if (len) {
			snprintf(line, sizeof(line), "nftables: %.*s", (int)len,
				 text);
			fn(userdata, level, line);
		}
		if (!nl)
			break;
	}
}

/*
 * Run cmd; on success *ret_out (when not NULL) is nft's output,
 * malloc'ed. The error text goes to fn.
 */
static int nft_run(const char *cmd, char **ret_out, ipvssvc_diag_fn fn,
		   void *userdata, bool quiet_enoent)
{
	struct nft_ctx *ctx;
	const char *err;
	int r;

	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		nft_ctx_free(ctx);
		return -ENOMEM;
	}
	r = nft_run_cmd_from_buffer(ctx, cmd);
	err = nft_ctx_get_error_buffer(ctx);
	if (r != 0) {
		/* libnftables says only that it failed: tell by the text */
		if (err && strstr(err, "No such file or directory"))
			r = -ENOENT;
		else if (err && strstr(err, "Operation not permitted"))
			r = -EPERM;
		else if (err && (strstr(err, "Protocol not supported") ||
				 strstr(err, "Operation not supported")))
			r = -EOPNOTSUPP;
		else
			r = -EIO;
		/* a kernel without the inet family is the caller's to tell */
		if (!(quiet_enoent && r == -ENOENT))
			report(fn, userdata,
			       r == -EOPNOTSUPP ? IPVSSVC_LOG_DEBUG
						: IPVSSVC_LOG_ERR,
			       err);
	} else if (ret_out) {
		const char *out = nft_ctx_get_output_buffer(ctx);

		*ret_out = strdup(out ? out : "");
		if (!*ret_out)
			r = -ENOMEM;
	}
	nft_ctx_free(ctx);
	return r;
}

/*
 * Can the kernel hold an inet table? Checked in nft's dry-run mode, which
 * sends the batch and has the kernel abort it: nothing changes. A batch
 * that fails on the family reports only its later errors (the table
 * does not exist), so this is asked first.
 */
static int nft_probe(void)
{
	struct nft_ctx *ctx;
	const char *err;
	int r;

	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		nft_ctx_free(ctx);
		return -ENOMEM;
	}
	nft_ctx_set_dry_run(ctx, true);
	r = nft_run_cmd_from_buffer(ctx,
				    "add table inet " IPVSSVC_NFT_TABLE "\n");
	err = nft_ctx_get_error_buffer(ctx);
	if (r != 0 && err &&
	    (strstr(err, "Operation not supported") || strstr(err, "Protocol "
								   "not "
								   "supporte"
								   "d")))
		r = -EOPNOTSUPP;
	else
		r = 0; /* anything else shows in the real request */
	nft_ctx_free(ctx);
	return r;
}

_public_ int ipvssvc_nft_apply(const ipvssvc_nft *nft, ipvssvc_diag_fn fn,
			       void *userdata)
{
	char *text;
	int r;

	r = nft_probe();
	if (r < 0)
		return r;
	r = ipvssvc_nft_format(nft, &text);
	if (r < 0)
		return r;
	r = nft_run(text, NULL, fn, userdata, false);
	free(text);
	return r;
}

/*
 * One "VERB element" command for set (s, f) with the elements of a that
 * o lacks (both sorted): nothing when there are none. Their number.
 */
static size_t put_missing(struct buf *b, const char *verb, int s, int f,
			  const struct strv *a, const struct strv *o)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < a->n; i++) {
		while (j < o->n && strcmp(o->v[j], a->v[i]) < 0)
			j++;
		if (j < o->n && strcmp(o->v[j], a->v[i]) == 0)
			continue;
		if (n++ == 0) {
			buf_puts(b, verb);
			buf_puts(b, " element inet " IPVSSVC_NFT_TABLE " ");
			buf_puts(b, set_defs[s].name);
			buf_puts(b, f ? "-v6 { " : "-v4 { ");
		} else {
			buf_puts(b, ", ");
		}
		buf_puts(b, a->v[i]);
	}
	if (n)
		buf_puts(b, " }\n");
	return n;
}

/*
 * What turns the table old into nft: set elements only, since the rules
 * are fixed. Deletions come first, so that an interval set never holds
 * the old and the new range at once (nft refuses overlaps). *ret_text is
 * empty when nothing differs.
 */
int ipvssvc_nft_update_script(const ipvssvc_nft *old, const ipvssvc_nft *nft,
			      char **ret_text, size_t *ret_changed)
{
	struct buf b = {NULL, 0, 0, 0};
	size_t changed = 0;
	int s, f;

	buf_add(&b, "", 0);
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++)
			changed += put_missing(&b, "delete", s, f,
					       &old->sets[s][f],
					       &nft->sets[s][f]);
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++)
			changed += put_missing(&b, "add", s, f,
					       &nft->sets[s][f],
					       &old->sets[s][f]);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*ret_text = b.p;
	*ret_changed = changed;
	return 0;
}

_public_ int ipvssvc_nft_update(const ipvssvc_nft *old, const ipvssvc_nft *nft,
				size_t *ret_changed, ipvssvc_diag_fn fn,
				void *userdata)
{
	size_t changed = 0;
	char *text = NULL;
	int r;

	if (!nft)
		return -EINVAL;
	if (old) {
		r = ipvssvc_nft_update_script(old, nft, &text, &changed);
		if (r < 0)
			return r;
		/* quiet: a failure here is repaired below, and told then */
		r = *text ? nft_run(text, NULL, NULL, NULL, true) : 0;
		free(text);
		if (r == 0) {
			if (ret_changed)
				*ret_changed = changed;
			return 0;
		}
		if (r == -EOPNOTSUPP)
			return r;
		/* changed behind our back (deleted, edited): load it whole */
	}
	r = ipvssvc_nft_apply(nft, fn, userdata);
	if (r < 0)
		return r;
	if (ret_changed)
		*ret_changed = ipvssvc_nft_element_count(nft);
	return 0;
}

_public_ int ipvssvc_nft_delete(ipvssvc_diag_fn fn, void *userdata)
{
	int r;

	/* "destroy" is newer than nft 1.0.6: tolerate the absence */
	r = nft_run("delete table inet " IPVSSVC_NFT_TABLE "\n", NULL, fn,
		    userdata, true);
	return r == -ENOENT ? 0 : r;
}

/* --- what differs ---------------------------------------------------------- */

static int set_index(const char *name, int *ret_f)
{
	size_t len;
	int s;

	for (s = 0; s < N_SETS; s++) {
		len = strlen(set_defs[s].name);
		if (strncmp(name, set_defs[s].name, len) == 0 &&
		    (strcmp(name + len, "-v4") == 0 ||
		     strcmp(name + len, "-v6") == 0)) {
			*ret_f = name[len + 2] == '6';
			return s;
		}
	}
	return -1;
}

/* "+ set NAME ELEMENT" and the like */
static int push_line(struct strv *out, const char *what, const char *a,
		     const char *b)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s%s%s%s", what, a, *b ? " " : "", b);
	return strv_push(out, line);
}

/* The text from p up to the first of stop, trimmed, into a new string. */
static char *trimmed(const char *p, const char *end)
{
	char *r;

	while (p < end && strchr(" \t\n", *p))
		p++;
	while (end > p && strchr(" \t\n", end[-1]))
		end--;
	r = malloc((size_t)(end - p) + 1);
	if (r) {
		memcpy(r, p, (size_t)(end - p));
		r[end - p] = '\0';
	}
	return r;
}

/*
 * The kernel's table, from nft's listing (text: libnftables' JSON output
 * goes through jansson, whose global names a program may shadow), read
 * into cur; *ret_rules its number of rules. Sets are "\tset NAME {"
 * blocks with "elements = { A, B }"; rules are the lines of chain blocks
 * but their "type ..." line.
 */
static int parse_current(const char *text, ipvssvc_nft *cur, size_t *ret_rules)
{
	const char *p = text;
	size_t rules = 0;
	int r;

	while (*p) {
		const char *nl = strchr(p, '\n'), *e, *close;
		char name[64];
		int s, f;

		if (!nl)
			nl = p + strlen(p);
		if (strncmp(p, "\tchain ", 7) == 0) {
			for (p = *nl ? nl + 1 : nl;
			     *p && strncmp(p, "\t}", 2);) {
				nl = strchr(p, '\n');
				if (!nl)
					nl = p + strlen(p);
				if (strncmp(p, "\t\t", 2) == 0 &&
				    strncmp(p + 2, "type ", 5))
					rules++;
				p = *nl ? nl + 1 : nl;
			}
			continue;
		}
		if (sscanf(p, "\tset %63s {", name) != 1 ||
		    (s = set_index(name, &f)) < 0) {
			p = *nl ? nl + 1 : nl;
			continue;
		}
		close = strstr(p, "\n\t}");
		if (!close)
			return -EBADMSG;
		e = strstr(p, "elements = {");
		if (e && e < close) {
			e += strlen("elements = {");
			while (*e && *e != '}') {
				const char *stop = e + strcspn(e, ",}");
				char *v = trimmed(e, stop);

				if (!v)
					return -ENOMEM;
				r = *v ? strv_push(&cur->sets[s][f], v) : 0;
				free(v);
				if (r < 0)
					return r;
				e = *stop == ',' ? stop + 1 : stop;
			}
		}
		strv_sort_unique(&cur->sets[s][f]);
		p = close + 1;
	}
	*ret_rules = rules;
	return 0;
}

_public_ void ipvssvc_nft_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
}

_public_ int ipvssvc_nft_diff(const ipvssvc_nft *nft, char ***ret_lines,
			      size_t *ret_n, ipvssvc_diag_fn fn, void *userdata)
{
	struct strv out = {NULL, 0, 0};
	ipvssvc_nft *cur = NULL;
	char *listing = NULL;
	size_t rules = 0, i;
	int r, s, f;

	if (!nft || !ret_lines || !ret_n)
		return -EINVAL;
	r = nft_run("list table inet " IPVSSVC_NFT_TABLE "\n", &listing, fn,
		    userdata, true);
	if (r == -ENOENT && nft_probe() == -EOPNOTSUPP)
		r = -EOPNOTSUPP;
	if (r == -ENOENT) {
		char line[128];

		snprintf(line, sizeof(line),
			 "+ table inet %s: %zu rules, %zu set elements",
			 IPVSSVC_NFT_TABLE, ipvssvc_nft_rule_count(nft),
			 ipvssvc_nft_element_count(nft));
		r = strv_push(&out, line);
		goto done;
	}
	if (r < 0)
		return r;
	cur = calloc(1, sizeof(*cur));
	if (!cur) {
		r = -ENOMEM;
		goto done;
	}
	r = parse_current(listing, cur, &rules);
	if (r < 0)
		goto done;
	if (rules != ipvssvc_nft_rule_count(nft)) {
		char a[64];

		snprintf(a, sizeof(a), "%zu -> %zu", rules,
			 ipvssvc_nft_rule_count(nft));
		r = push_line(&out, "~ rules: ", a, "");
		if (r < 0)
			goto done;
	}
	for (s = 0; s < N_SETS; s++)
		for (f = 0; f < 2; f++) {
			const struct strv *want = &nft->sets[s][f];
			const struct strv *have = &cur->sets[s][f];
			char name[48];

			snprintf(name, sizeof(name), "%s-v%c", set_defs[s].name,
				 f ? '6' : '4');
			for (i = 0; r == 0 && i < have->n; i++)
				if (!strv_has(want, have->v[i]))
					r = push_line(&out, "- set ", name,
						      have->v[i]);
			for (i = 0; r == 0 && i < want->n; i++)
				if (!strv_has(have, want->v[i]))
					r = push_line(&out, "+ set ", name,
						      want->v[i]);
		}
done:
	free(listing);
	ipvssvc_nft_free(cur);
	if (r < 0) {
		strv_clear(&out);
		return r;
	}
	*ret_lines = out.v;
	*ret_n = out.n;
	return 0;
}
