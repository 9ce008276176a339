/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel layer against a real kernel: what the library writes,
 * `ipvsadm -Sn` reads back, and what ipvsadm writes, the library reads.
 * Run as root inside a kernel with IPVS (tests/kernel/ipvs.ksh). Every
 * test case runs in a fresh network namespace, so it sees empty tables.
 */
#include "netlink.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

static ipvssvc_ctx *ctx;

static void setup(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	ck_assert_int_eq(ipvssvc_ctx_new(&ctx), 0);
}

static void teardown(void)
{
	ipvssvc_ctx_free(ctx);
	ctx = NULL;
}

/* The output of a shell command, malloc'ed. */
static char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	ck_assert_ptr_nonnull(f);
	for (;;) {
		if (cap - len < 4096) {
			cap += 8192;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	return buf;
}

static void sh(const char *cmd)
{
	int r = system(cmd);

	ck_assert_msg(r == 0, "command failed (%d): %s", r, cmd);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* text with its lines sorted (in place), without empty lines */
static char *sort_lines(char *text)
{
	char *lines[512], *out, *p, *save = NULL;
	size_t n = 0, i, len = 0;

	for (p = strtok_r(text, "\n", &save); p && n < ARRAY_SIZE(lines);
	     p = strtok_r(NULL, "\n", &save))
		lines[n++] = p;
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	out = calloc(1, len + 1);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	return out;
}

/* The kernel holds exactly these rules (any order), says ipvsadm. */
static void assert_rules(const char *expected)
{
	char *want_raw = strdup(expected);
	char *got_raw = run("ipvsadm -Sn");
	char *want, *got;

	ck_assert_ptr_nonnull(want_raw);
	want = sort_lines(want_raw);
	got = sort_lines(got_raw);
	ck_assert_msg(strcmp(want, got) == 0, "ipvsadm -Sn:\n%s\nwanted:\n%s",
		      got, want);
	free(want);
	free(got);
	free(want_raw);
	free(got_raw);
}

static struct ipvssvc_ip ip(const char *s)
{
	struct ipvssvc_ip a;

	ck_assert_msg(ipvssvc_ip_parse(s, &a) == 0, "bad address %s", s);
	return a;
}

static ipvssvc_service *svc_make(int proto, const char *addr, uint16_t port,
				 const char *sched)
{
	struct ipvssvc_ip a = ip(addr);
	ipvssvc_service *svc;

	ck_assert_int_eq(ipvssvc_service_new(&svc), 0);
	ck_assert_int_eq(ipvssvc_service_set_addr(svc, &a), 0);
	ck_assert_int_eq(ipvssvc_service_set_protocol(svc, proto), 0);
	ck_assert_int_eq(ipvssvc_service_set_port(svc, port), 0);
	ck_assert_int_eq(ipvssvc_service_set_scheduler(svc, sched), 0);
	return svc;
}

static ipvssvc_dest *dest_make(const char *addr, uint16_t port,
			       enum ipvssvc_fwd fwd, uint32_t weight)
{
	struct ipvssvc_ip a = ip(addr);
	ipvssvc_dest *d;

	ck_assert_int_eq(ipvssvc_dest_new(&d), 0);
	ck_assert_int_eq(ipvssvc_dest_set_addr(d, &a), 0);
	ck_assert_int_eq(ipvssvc_dest_set_port(d, port), 0);
	ck_assert_int_eq(ipvssvc_dest_set_fwd(d, fwd), 0);
	ck_assert_int_eq(ipvssvc_dest_set_weight(d, weight), 0);
	return d;
}

/* add a service and free it */
static void add_svc(ipvssvc_service *svc)
{
	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	ipvssvc_service_free(svc);
}

static void add_dest(const ipvssvc_service *svc, ipvssvc_dest *d)
{
	ck_assert_int_eq(ipvssvc_dest_add(ctx, svc, d), 0);
	ipvssvc_dest_free(d);
}

/* Info and timeouts. */

START_TEST(t_info)
{
	uint32_t version = 0, size = 0, tcp, fin, udp;
	char *out;

	ck_assert_int_eq(ipvssvc_get_info(ctx, &version, &size), 0);
	ck_assert_uint_ge(version, 0x010200); /* 1.2.0 */
	ck_assert_uint_gt(size, 0);
	ck_assert_int_eq(ipvssvc_set_timeouts(ctx, 901, 121, 301), 0);
	ck_assert_int_eq(ipvssvc_get_timeouts(ctx, &tcp, &fin, &udp), 0);
	ck_assert_uint_eq(tcp, 901);
	ck_assert_uint_eq(fin, 121);
	ck_assert_uint_eq(udp, 301);
	/* zero leaves a value alone */
	ck_assert_int_eq(ipvssvc_set_timeouts(ctx, 0, 0, 302), 0);
	out = run("ipvsadm -L --timeout");
	ck_assert_msg(strstr(out, "901 121 302"), "%s", out);
	free(out);
	ck_assert_ptr_null(ipvssvc_ctx_last_error(ctx));
}
END_TEST

/* Every descriptor of ours is close-on-exec. */
START_TEST(t_cloexec)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int sockets = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[64], link[64];
		ssize_t n;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:", 7) != 0)
			continue;
		sockets++;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC,
			      "socket fd %d without FD_CLOEXEC", fd);
	}
	closedir(d);
	ck_assert_int_eq(sockets, 2);
}
END_TEST

/* Written through the library, read back with ipvsadm. */

START_TEST(t_schedulers)
{
	static const char *const scheds[] = {"rr",   "wrr",   "lc", "wlc",
					     "lblc", "lblcr", "dh", "sh",
					     "sed",  "nq",    "mh", "fo",
					     "ovf"};
	char want[4096] = "", line[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scheds); i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.0.1.%zu", i + 1);
		add_svc(svc_make(IPPROTO_TCP, addr, 80, scheds[i]));
		snprintf(line, sizeof(line), "-A -t %s:80 -s %s\n", addr,
			 scheds[i]);
		strcat(want, line);
	}
	assert_rules(want);
}
END_TEST

START_TEST(t_protocols)
{
	ipvssvc_service *svc;

	add_svc(svc_make(IPPROTO_TCP, "10.0.0.1", 80, "rr"));
	add_svc(svc_make(IPPROTO_UDP, "10.0.0.1", 53, "rr"));
	add_svc(svc_make(IPPROTO_SCTP, "10.0.0.1", 9, "rr"));
	add_svc(svc_make(IPPROTO_TCP, "fd00::1", 443, "wrr"));
	add_svc(svc_make(IPPROTO_UDP, "fd00::1", 53, "lc"));
	add_svc(svc_make(IPPROTO_SCTP, "fd00::1", 9, "sh"));
	ck_assert_int_eq(ipvssvc_service_new(&svc), 0);
	ck_assert_int_eq(ipvssvc_service_set_fwmark(svc, AF_INET, 7), 0);
	add_svc(svc);
	ck_assert_int_eq(ipvssvc_service_new(&svc), 0);
	ck_assert_int_eq(ipvssvc_service_set_fwmark(svc, AF_INET6, 8), 0);
	ck_assert_int_eq(ipvssvc_service_set_scheduler(svc, "wlc"), 0);
	add_svc(svc);
	assert_rules("-A -t 10.0.0.1:80 -s rr\n"
		     "-A -u 10.0.0.1:53 -s rr\n"
		     "-A --sctp-service 10.0.0.1:9 -s rr\n"
		     "-A -t [fd00::1]:443 -s wrr\n"
		     "-A -u [fd00::1]:53 -s lc\n"
		     "-A --sctp-service [fd00::1]:9 -s sh\n"
		     "-A -f 7 -s rr\n"
		     "-A -f 8 -6 -s wlc\n");
}
END_TEST

START_TEST(t_persistence)
{
	ipvssvc_service *svc;

	svc = svc_make(IPPROTO_TCP, "10.0.0.2", 80, "sh");
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_PERSISTENT |
					       IPVSSVC_SVC_F_SCHED1 |
					       IPVSSVC_SVC_F_SCHED2);
	ipvssvc_service_set_timeout(svc, 600);
	ck_assert_int_eq(ipvssvc_service_set_netmask(svc, 24), 0);
	add_svc(svc);

	svc = svc_make(IPPROTO_UDP, "fd00::1", 53, "mh");
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_PERSISTENT |
					       IPVSSVC_SVC_F_SCHED2);
	ipvssvc_service_set_timeout(svc, 300);
	ck_assert_int_eq(ipvssvc_service_set_netmask(svc, 64), 0);
	add_svc(svc);

	svc = svc_make(IPPROTO_TCP, "10.0.0.3", 80, "rr");
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_PERSISTENT);
	ipvssvc_service_set_timeout(svc, 10800);
	add_svc(svc);

	svc = svc_make(IPPROTO_UDP, "10.0.0.4", 53, "rr");
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_ONEPACKET);
	add_svc(svc);

	ck_assert_int_eq(ipvssvc_service_new(&svc), 0);
	ck_assert_int_eq(ipvssvc_service_set_fwmark(svc, AF_INET6, 9), 0);
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_PERSISTENT);
	ipvssvc_service_set_timeout(svc, 360);
	ck_assert_int_eq(ipvssvc_service_set_netmask(svc, 48), 0);
	add_svc(svc);

	assert_rules("-A -t 10.0.0.2:80 -s sh -p 600 -M 255.255.255.0 -b "
		     "sh-fallback,sh-port\n"
		     "-A -u [fd00::1]:53 -s mh -p 300 -M 64 -b mh-port\n"
		     "-A -t 10.0.0.3:80 -s rr -p 10800\n"
		     "-A -u 10.0.0.4:53 -s rr -o\n"
		     "-A -f 9 -6 -s rr -p 360 -M 48\n");
}
END_TEST

START_TEST(t_dests)
{
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.0.0.1", 80, "wrr");
	ipvssvc_service *svc6 = svc_make(IPPROTO_UDP, "fd00::1", 53, "rr");
	ipvssvc_dest *d;
	char *out;

	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	ck_assert_int_eq(ipvssvc_service_add(ctx, svc6), 0);
	add_dest(svc, dest_make("10.244.0.1", 8080, IPVSSVC_FWD_MASQ, 0));
	add_dest(svc, dest_make("10.244.0.2", 8080, IPVSSVC_FWD_MASQ, 1));
	add_dest(svc, dest_make("10.244.0.3", 8080, IPVSSVC_FWD_MASQ, 65535));
	add_dest(svc, dest_make("10.244.0.4", 8080, IPVSSVC_FWD_MASQ, 65536));
	add_dest(svc, dest_make("10.244.0.5", 8080, IPVSSVC_FWD_MASQ, 1000000));
	add_dest(svc,
		 dest_make("10.244.0.6", 8080, IPVSSVC_FWD_MASQ, INT32_MAX));
	add_dest(svc, dest_make("10.244.0.7", 80, IPVSSVC_FWD_ROUTE, 2));
	add_dest(svc, dest_make("10.244.0.8", 80, IPVSSVC_FWD_TUNNEL, 3));
	d = dest_make("10.244.0.9", 8080, IPVSSVC_FWD_MASQ, 4);
	ck_assert_int_eq(ipvssvc_dest_set_thresholds(d, 100, 50), 0);
	add_dest(svc, d);
	add_dest(svc6, dest_make("fd00::5", 5353, IPVSSVC_FWD_MASQ, 7));
	/* a weight the kernel cannot take is refused before it gets there */
	ck_assert_int_eq(ipvssvc_dest_new(&d), 0);
	ck_assert_int_eq(ipvssvc_dest_set_weight(d, (uint32_t)INT32_MAX + 1),
			 -EINVAL);
	ipvssvc_dest_free(d);

	assert_rules("-A -t 10.0.0.1:80 -s wrr\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.1:8080 -m -w 0\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.2:8080 -m -w 1\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.3:8080 -m -w 65535\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.4:8080 -m -w 65536\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.5:8080 -m -w 1000000\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.6:8080 -m -w 2147483647\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.7:80 -g -w 2\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.8:80 -i -w 3 --tun-type "
		     "ipip\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.9:8080 -m -w 4\n"
		     "-A -u [fd00::1]:53 -s rr\n"
		     "-a -u [fd00::1]:53 -r [fd00::5]:5353 -m -w 7\n");
	/* ipvsadm -S does not print thresholds; -L --thresholds does */
	out = run("ipvsadm -Ln --thresholds -t 10.0.0.1:80 | "
		  "awk '$2 == \"10.244.0.9:8080\" { print $3, $4 }'");
	ck_assert_str_eq(out, "100 50\n");
	free(out);
	ipvssvc_service_free(svc);
	ipvssvc_service_free(svc6);
}
END_TEST

/* A real server of another family: the kernel allows it for tunnels. */
START_TEST(t_dest_mixed_family)
{
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.0.0.1", 80, "rr");
	struct ipvssvc_ip want = ip("fd00::9");
	ipvssvc_dest **list;
	size_t n;

	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	add_dest(svc, dest_make("fd00::9", 80, IPVSSVC_FWD_TUNNEL, 5));
	ck_assert_int_eq(ipvssvc_dest_dump(ctx, svc, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0]->addr.family, AF_INET6);
	ck_assert_int_eq(ipvssvc_ip_cmp(&list[0]->addr, &want), 0);
	ck_assert_uint_eq(list[0]->weight, 5);
	ck_assert_int_eq(list[0]->fwd, IPVSSVC_FWD_TUNNEL);
	ipvssvc_dest_list_free(list, n);
	ipvssvc_service_free(svc);
}
END_TEST

/* Counters: one connection attempt to the virtual server is counted. */
START_TEST(t_stats)
{
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.96.0.1", 80, "rr");
	struct ipvssvc_ip vip = ip("10.96.0.1");
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
	ipvssvc_service *got, *dup;
	ipvssvc_dest **dl;
	ipvssvc_state *st;
	const ipvssvc_service *in;
	struct ipvssvc_stats ds;
	size_t nd;
	uint32_t active, inact, persist;
	int fd, i;

	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", NULL), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &vip), 0);
	sh("ip route add 10.244.0.0/16 dev ipvs0");
	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	add_dest(svc, dest_make("10.244.0.1", 8080, IPVSSVC_FWD_MASQ, 1));

	/* a SYN that nobody answers: scheduled and counted all the same */
	sin.sin_addr = vip.u.in;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);

	/* the kernel sums its per-CPU counters every two seconds */
	for (i = 0;; i++) {
		ck_assert_int_eq(ipvssvc_service_get(ctx, svc, &got), 0);
		if (got->stats.conns || i == 50)
			break;
		ipvssvc_service_free(got);
		usleep(100000);
	}
	ck_assert_uint_eq(got->stats.conns, 1);
	ck_assert_uint_ge(got->stats.inpkts, 1);
	ck_assert_uint_ge(got->stats.inbytes, 40);
	ipvssvc_service_free(got);
	ck_assert_int_eq(ipvssvc_dest_dump(ctx, svc, &dl, &nd), 0);
	ck_assert_uint_eq(nd, 1);
	ipvssvc_dest_get_stats(dl[0], &ds);
	ck_assert_uint_eq(ds.conns, 1);
	ipvssvc_dest_get_conns(dl[0], &active, &inact, &persist);
	ck_assert_uint_eq(active + inact, 1);
	ck_assert_uint_eq(persist, 0);
	ipvssvc_dest_list_free(dl, nd);
	/* the whole read keeps each real server's counters, and so does a
	 * copy of the virtual server after the state is gone */
	ck_assert_int_eq(ipvssvc_state_read(ctx, "ipvs0", &st), 0);
	in = ipvssvc_state_find(st, svc);
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_eq(ipvssvc_service_get_dest_count(in), 1);
	ck_assert_int_eq(ipvssvc_service_dup(in, &dup), 0);
	ipvssvc_state_free(st);
	ipvssvc_dest_get_stats(ipvssvc_service_get_dest(dup, 0), &ds);
	ck_assert_uint_eq(ds.conns, 1);
	ipvssvc_service_free(dup);
	ipvssvc_service_free(svc);
}
END_TEST

/* Written with ipvsadm, read through the library. */

static const ipvssvc_service *find(ipvssvc_service **list, size_t n,
				   const ipvssvc_service *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipvssvc_service_key_cmp(list[i], key) == 0)
			return list[i];
	return NULL;
}

START_TEST(t_read_ipvsadm)
{
	ipvssvc_service **list, *key, *got;
	const ipvssvc_service *s;
	ipvssvc_dest **dl;
	size_t n, nd, i;
	uint32_t up, lo;

	sh("ipvsadm -A -t 10.0.0.2:80 -s sh -b sh-fallback,sh-port -p 600 "
	   "-M 255.255.255.0");
	sh("ipvsadm -A -u [fd00::1]:53 -s mh -b mh-port -p 300 -M 64");
	sh("ipvsadm -A -f 7 -s wlc");
	sh("ipvsadm -A -f 8 -6 -s lc -p");
	sh("ipvsadm -A --sctp-service 10.0.0.3:9 -s ovf");
	sh("ipvsadm -A -u 10.0.0.4:53 -s nq -o");
	sh("ipvsadm -a -t 10.0.0.2:80 -r 10.244.0.5:8080 -m -w 1000000 "
	   "-x 10 -y 5");
	sh("ipvsadm -a -t 10.0.0.2:80 -r 10.244.0.6 -g -w 0");
	sh("ipvsadm -a -t 10.0.0.2:80 -r 10.244.0.7 -i -w 65535");
	sh("ipvsadm -a -u [fd00::1]:53 -r [fd00::5]:5353 -m");

	ck_assert_int_eq(ipvssvc_service_dump(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 6);

	key = svc_make(IPPROTO_TCP, "10.0.0.2", 80, "rr");
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "sh");
	ck_assert_uint_eq(ipvssvc_service_get_flags(s),
			  IPVSSVC_SVC_F_PERSISTENT | IPVSSVC_SVC_F_SCHED1 |
				  IPVSSVC_SVC_F_SCHED2);
	ck_assert_uint_eq(ipvssvc_service_get_timeout(s), 600);
	ck_assert_uint_eq(ipvssvc_service_get_netmask(s), 24);
	ck_assert_uint_eq(s->netmask, htonl(0xffffff00));
	/* the same through a get of one */
	ck_assert_int_eq(ipvssvc_service_get(ctx, key, &got), 0);
	ck_assert(ipvssvc_service_attrs_equal(got, s));
	ck_assert_int_eq(ipvssvc_service_key_cmp(got, s), 0);
	ipvssvc_service_free(got);

	ck_assert_int_eq(ipvssvc_dest_dump(ctx, key, &dl, &nd), 0);
	ck_assert_uint_eq(nd, 3);
	for (i = 0; i < nd; i++) {
		char a[IPVSSVC_IP_STRLEN];
		const ipvssvc_dest *d = dl[i];

		ipvssvc_ip_format(&d->addr, a, sizeof(a));
		ipvssvc_dest_get_thresholds(d, &up, &lo);
		if (strcmp(a, "10.244.0.5") == 0) {
			ck_assert_uint_eq(d->port, 8080);
			ck_assert_int_eq(d->fwd, IPVSSVC_FWD_MASQ);
			ck_assert_uint_eq(d->weight, 1000000);
			ck_assert_uint_eq(up, 10);
			ck_assert_uint_eq(lo, 5);
		} else if (strcmp(a, "10.244.0.6") == 0) {
			ck_assert_uint_eq(d->port, 80);
			ck_assert_int_eq(d->fwd, IPVSSVC_FWD_ROUTE);
			ck_assert_uint_eq(d->weight, 0);
		} else if (strcmp(a, "10.244.0.7") == 0) {
			ck_assert_int_eq(d->fwd, IPVSSVC_FWD_TUNNEL);
			ck_assert_uint_eq(d->weight, 65535);
			ck_assert_uint_eq(up, 0);
		} else {
			ck_abort_msg("unexpected real server %s", a);
		}
		ck_assert_uint_eq(d->active_conns, 0);
		ck_assert_ptr_nonnull(d->stats);
		ck_assert_uint_eq(d->stats->conns, 0);
	}
	ipvssvc_dest_list_free(dl, nd);
	ipvssvc_service_free(key);

	key = svc_make(IPPROTO_UDP, "fd00::1", 53, "rr");
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "mh");
	ck_assert_uint_eq(ipvssvc_service_get_flags(s),
			  IPVSSVC_SVC_F_PERSISTENT | IPVSSVC_SVC_F_SCHED2);
	ck_assert_uint_eq(ipvssvc_service_get_timeout(s), 300);
	ck_assert_uint_eq(ipvssvc_service_get_netmask(s), 64);
	ck_assert_int_eq(ipvssvc_dest_dump(ctx, key, &dl, &nd), 0);
	ck_assert_uint_eq(nd, 1);
	ck_assert_int_eq(dl[0]->addr.family, AF_INET6);
	ck_assert_uint_eq(dl[0]->port, 5353);
	ck_assert_uint_eq(dl[0]->weight, 1);
	ipvssvc_dest_list_free(dl, nd);
	ipvssvc_service_free(key);

	ck_assert_int_eq(ipvssvc_service_new(&key), 0);
	ipvssvc_service_set_fwmark(key, AF_INET, 7);
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "wlc");
	ck_assert_uint_eq(ipvssvc_service_get_flags(s), 0);
	ck_assert_int_eq(ipvssvc_service_get_protocol(s), 0);
	ipvssvc_service_set_fwmark(key, AF_INET6, 8);
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ipvssvc_service_get_family(s), AF_INET6);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "lc");
	ck_assert_uint_eq(ipvssvc_service_get_flags(s),
			  IPVSSVC_SVC_F_PERSISTENT);
	ck_assert_uint_eq(ipvssvc_service_get_timeout(s), 360);
	ck_assert_uint_eq(ipvssvc_service_get_netmask(s), 128);
	ipvssvc_service_free(key);

	key = svc_make(IPPROTO_SCTP, "10.0.0.3", 9, "rr");
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "ovf");
	ipvssvc_service_free(key);

	key = svc_make(IPPROTO_UDP, "10.0.0.4", 53, "rr");
	s = find(list, n, key);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(ipvssvc_service_get_scheduler(s), "nq");
	ck_assert_uint_eq(ipvssvc_service_get_flags(s),
			  IPVSSVC_SVC_F_ONEPACKET);
	ipvssvc_service_free(key);

	ipvssvc_service_list_free(list, n);
}
END_TEST

/* Edits keep established state. */
START_TEST(t_edit)
{
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.0.0.1", 80, "rr");
	ipvssvc_dest *d;
	ipvssvc_dest **dl;
	size_t nd;

	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	add_dest(svc, dest_make("10.244.0.1", 8080, IPVSSVC_FWD_MASQ, 1));
	add_dest(svc, dest_make("10.244.0.2", 8080, IPVSSVC_FWD_MASQ, 1));
	add_dest(svc, dest_make("10.244.0.3", 8080, IPVSSVC_FWD_MASQ, 1));

	ipvssvc_service_set_scheduler(svc, "wlc");
	ipvssvc_service_set_flags(svc, IPVSSVC_SVC_F_PERSISTENT);
	ipvssvc_service_set_timeout(svc, 120);
	ck_assert_int_eq(ipvssvc_service_edit(ctx, svc), 0);
	d = dest_make("10.244.0.2", 8080, IPVSSVC_FWD_MASQ, 9);
	ipvssvc_dest_set_thresholds(d, 7, 3);
	ck_assert_int_eq(ipvssvc_dest_edit(ctx, svc, d), 0);
	ipvssvc_dest_free(d);

	assert_rules("-A -t 10.0.0.1:80 -s wlc -p 120\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.1:8080 -m -w 1\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.2:8080 -m -w 9\n"
		     "-a -t 10.0.0.1:80 -r 10.244.0.3:8080 -m -w 1\n");
	ck_assert_int_eq(ipvssvc_dest_dump(ctx, svc, &dl, &nd), 0);
	ck_assert_uint_eq(nd, 3);
	ipvssvc_dest_list_free(dl, nd);

	/* and the other way: an edit back to no persistence */
	ipvssvc_service_set_flags(svc, 0);
	ipvssvc_service_set_timeout(svc, 0);
	ipvssvc_service_set_scheduler(svc, "mh");
	ck_assert_int_eq(ipvssvc_service_edit(ctx, svc), 0);
	ck_assert_int_eq(ipvssvc_dest_dump(ctx, svc, &dl, &nd), 0);
	ck_assert_uint_eq(nd, 3);
	ipvssvc_dest_list_free(dl, nd);

	ck_assert_int_eq(ipvssvc_service_del(ctx, svc), 0);
	assert_rules("");
	ipvssvc_service_free(svc);
}
END_TEST

/* Errors are the kernel's own. */
START_TEST(t_errors)
{
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.0.0.1", 80, "rr");
	ipvssvc_service *missing = svc_make(IPPROTO_UDP, "10.0.0.9", 80, "rr");
	ipvssvc_service *got = NULL;
	ipvssvc_dest *d = dest_make("10.244.0.1", 8080, IPVSSVC_FWD_MASQ, 1);
	ipvssvc_dest *nod = dest_make("10.244.0.2", 8080, IPVSSVC_FWD_MASQ, 1);
	ipvssvc_ctx *bad = NULL;
	const char *msg;

	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	ck_assert_ptr_null(ipvssvc_ctx_last_error(ctx));
	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), -EEXIST);
	ck_assert_int_eq(ipvssvc_service_del(ctx, missing), -ESRCH);
	ck_assert_int_eq(ipvssvc_service_edit(ctx, missing), -ESRCH);
	ck_assert_int_eq(ipvssvc_service_get(ctx, missing, &got), -ESRCH);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(ipvssvc_dest_add(ctx, missing, d), -ESRCH);
	ck_assert_int_eq(ipvssvc_dest_add(ctx, svc, d), 0);
	ck_assert_int_eq(ipvssvc_dest_add(ctx, svc, d), -EEXIST);
	ck_assert_int_eq(ipvssvc_dest_del(ctx, svc, nod), -ENOENT);
	ck_assert_int_eq(ipvssvc_dest_edit(ctx, svc, nod), -ENOENT);

	ipvssvc_service_set_scheduler(missing, "foo");
	ck_assert_int_eq(ipvssvc_service_add(ctx, missing), -ENOENT);
	msg = ipvssvc_ctx_last_error(ctx);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "foo"), "message: %s", msg);
	ipvssvc_service_set_scheduler(svc, "nosuch");
	ck_assert_int_eq(ipvssvc_service_edit(ctx, svc), -ENOENT);
	msg = ipvssvc_ctx_last_error(ctx);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "nosuch"), "message: %s", msg);
	/* a later success clears the message */
	ck_assert_int_eq(ipvssvc_dest_del(ctx, svc, d), 0);
	ck_assert_ptr_null(ipvssvc_ctx_last_error(ctx));
	/* nothing of the failures reached the kernel */
	assert_rules("-A -t 10.0.0.1:80 -s rr\n");

	/* bad arguments never reach the kernel */
	ck_assert_int_eq(ipvssvc_service_add(NULL, svc), -EINVAL);
	ck_assert_int_eq(ipvssvc_service_add(ctx, NULL), -EINVAL);
	ck_assert_int_eq(ipvssvc_dest_add(ctx, svc, NULL), -EINVAL);

	/* a kernel without the family: a clear error */
	ck_assert_int_eq(ipvssvc_ctx_new_family("IPVS_NOPE", &bad),
			 -EPROTONOSUPPORT);
	ck_assert_ptr_null(bad);

	ipvssvc_dest_free(d);
	ipvssvc_dest_free(nod);
	ipvssvc_service_free(svc);
	ipvssvc_service_free(missing);
}
END_TEST

START_TEST(t_flush)
{
	ipvssvc_service **list;
	size_t n;
	ipvssvc_service *svc = svc_make(IPPROTO_TCP, "10.0.0.1", 80, "rr");

	ck_assert_int_eq(ipvssvc_service_add(ctx, svc), 0);
	add_dest(svc, dest_make("10.244.0.1", 8080, IPVSSVC_FWD_MASQ, 1));
	add_svc(svc_make(IPPROTO_UDP, "fd00::1", 53, "rr"));
	ck_assert_int_eq(ipvssvc_flush(ctx), 0);
	assert_rules("");
	ck_assert_int_eq(ipvssvc_service_dump(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	ipvssvc_service_list_free(list, n);
	ipvssvc_service_free(svc);
}
END_TEST

/* Many virtual servers: a dump that spans several netlink messages. */
START_TEST(t_many)
{
	ipvssvc_service **list;
	size_t n, i;
	uint64_t before;

	for (i = 0; i < 2000; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.%zu.%zu.1", 1 + i / 250,
			 i % 250);
		add_svc(svc_make(IPPROTO_TCP, addr, (uint16_t)(1000 + i),
				 "rr"));
	}
	before = ipvssvc_ctx_requests(ctx);
	ck_assert_int_eq(ipvssvc_service_dump(ctx, &list, &n), 0);
	ck_assert_uint_eq(ipvssvc_ctx_requests(ctx) - before, 1);
	ck_assert_uint_eq(n, 2000);
	ipvssvc_service_list_free(list, n);
}
END_TEST

/* The kernel's own words about a failure come through (extended ack). */
START_TEST(t_ext_ack)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg =
		nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info;
	const char *text;

	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO),
			 0);
	ck_assert_int_eq(nla_put_string(msg, IFLA_IFNAME, "bogus0"), 0);
	info = nla_nest_start(msg, IFLA_LINKINFO);
	ck_assert_ptr_nonnull(info);
	ck_assert_int_eq(nla_put_string(msg, IFLA_INFO_KIND, "nosuchkind"), 0);
	nla_nest_end(msg, info);
	ck_assert_int_eq(ipvssvc_nl_request(ctx, ctx->rtnl, msg, NULL, NULL),
			 -EOPNOTSUPP);
	text = ipvssvc_ctx_last_error(ctx);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "Unknown device type");
}
END_TEST

/* The dummy link and its addresses. */

START_TEST(t_dummy)
{
	struct ipvssvc_ip a4 = ip("10.96.0.1"), a6 = ip("fd00::10"), *v;
	int idx1 = 0, idx2 = 0;
	size_t n;
	char *out;

	ck_assert_int_eq(ipvssvc_link_addrs(ctx, "ipvs0", &v, &n), -ENODEV);
	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", &idx1), 0);
	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", &idx2), 0);
	ck_assert_int_gt(idx1, 0);
	ck_assert_int_eq(idx1, idx2);
	out = run("ip -o link show ipvs0");
	ck_assert_msg(strstr(out, "<BROADCAST,NOARP,UP,LOWER_UP>"), "%s", out);
	free(out);
	out = run("ip -d -o link show ipvs0");
	ck_assert_msg(strstr(out, "dummy"), "%s", out);
	free(out);

	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a4), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a4), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a6), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a6), 0);
	out = run("ip -o addr show dev ipvs0 | awk '{ print $3, $4 }'");
	ck_assert_msg(strstr(out, "inet 10.96.0.1/32\n"), "%s", out);
	ck_assert_msg(strstr(out, "inet6 fd00::10/128\n"), "%s", out);
	free(out);
	ck_assert_int_eq(ipvssvc_link_addrs(ctx, "ipvs0", &v, &n), 0);
	/* not the kernel's own link-local address */
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ipvssvc_ip_cmp(&v[0], &a4), 0);
	ck_assert_int_eq(ipvssvc_ip_cmp(&v[1], &a6), 0);
	free(v);

	ck_assert_int_eq(ipvssvc_link_addr_del(ctx, "ipvs0", &a4), 0);
	ck_assert_int_eq(ipvssvc_link_addr_del(ctx, "ipvs0", &a4), 0);
	ck_assert_int_eq(ipvssvc_link_addr_del(ctx, "ipvs0", &a6), 0);
	ck_assert_int_eq(ipvssvc_link_addr_del(ctx, "ipvs0", &a6), 0);
	out = run("ip -o addr show dev ipvs0 scope global");
	ck_assert_str_eq(out, "");
	free(out);

	ck_assert_int_eq(ipvssvc_link_delete(ctx, "ipvs0"), 0);
	ck_assert_int_eq(ipvssvc_link_delete(ctx, "ipvs0"), -ENODEV);
	out = run("ip -o link show");
	ck_assert_msg(!strstr(out, "ipvs0"), "%s", out);
	free(out);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a4), -ENODEV);
	/* too long a name is refused here, not by the kernel */
	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "a-name-too-long-0",
						   NULL),
			 -EINVAL);
}
END_TEST

START_TEST(t_ensure_down_link)
{
	int idx;
	char *out;

	sh("ip link add ipvs0 type dummy");
	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", &idx), 0);
	out = run("ip -o link show ipvs0");
	ck_assert_msg(strstr(out, ",UP"), "%s", out);
	free(out);
}
END_TEST

START_TEST(t_node_addrs)
{
	struct ipvssvc_ip a4 = ip("10.96.0.1"), *v;
	char buf[IPVSSVC_IP_STRLEN], got[1024] = "";
	size_t n, i;

	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", NULL), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a4), 0);
	sh("ip link add eth9 type dummy && ip link set eth9 up && "
	   "ip addr add 192.168.7.7/24 dev eth9 && "
	   "ip addr add 2001:db8::7/64 dev eth9 nodad && "
	   "ip addr add fe80::7/64 dev eth9 nodad && "
	   "ip addr add 127.0.0.2/8 dev lo");
	ck_assert_int_eq(ipvssvc_node_addrs(ctx, "ipvs0", &v, &n), 0);
	for (i = 0; i < n; i++) {
		strcat(got, ipvssvc_ip_format(&v[i], buf, sizeof(buf)));
		strcat(got, " ");
	}
	ck_assert_str_eq(got, "192.168.7.7 2001:db8::7 ");
	free(v);
	/* without an exclusion the dummy's address counts */
	ck_assert_int_eq(ipvssvc_node_addrs(ctx, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	free(v);
	/* an excluded link that does not exist excludes nothing */
	ck_assert_int_eq(ipvssvc_node_addrs(ctx, "nope0", &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	free(v);
}
END_TEST

/* The state: what was written comes back, in few requests. */
START_TEST(t_state_read)
{
	struct ipvssvc_ip a4 = ip("10.96.0.1"), a6 = ip("fd00::10");
	ipvssvc_service *s1 = svc_make(IPPROTO_TCP, "10.96.0.1", 80, "rr");
	ipvssvc_service *s2 = svc_make(IPPROTO_UDP, "fd00::10", 53, "wrr");
	ipvssvc_service *s3;
	ipvssvc_state *st, *want;
	uint64_t before;
	size_t i, j;

	ck_assert_int_eq(ipvssvc_service_new(&s3), 0);
	ipvssvc_service_set_fwmark(s3, AF_INET, 77);
	ipvssvc_service_set_flags(s2, IPVSSVC_SVC_F_PERSISTENT);
	ipvssvc_service_set_timeout(s2, 100);
	ipvssvc_service_set_netmask(s2, 96);
	ck_assert_int_eq(ipvssvc_state_new(&want), 0);

	/* no link, no services: an empty state */
	ck_assert_int_eq(ipvssvc_state_read(ctx, "ipvs0", &st), 0);
	ck_assert_uint_eq(ipvssvc_state_service_count(st), 0);
	ck_assert_uint_eq(ipvssvc_state_addr_count(st), 0);
	ipvssvc_state_free(st);

	ck_assert_int_eq(ipvssvc_service_add(ctx, s1), 0);
	ck_assert_int_eq(ipvssvc_service_add(ctx, s2), 0);
	ck_assert_int_eq(ipvssvc_service_add(ctx, s3), 0);
	ck_assert_int_eq(ipvssvc_state_add_service(want, s1), 0);
	ck_assert_int_eq(ipvssvc_state_add_service(want, s2), 0);
	ck_assert_int_eq(ipvssvc_state_add_service(want, s3), 0);
	for (i = 0; i < 5; i++) {
		char a[32];
		ipvssvc_dest *d;

		snprintf(a, sizeof(a), "10.244.0.%zu", 10 - i);
		d = dest_make(a, 8080, IPVSSVC_FWD_MASQ, (uint32_t)i);
		ck_assert_int_eq(ipvssvc_dest_add(ctx, s1, d), 0);
		ck_assert_int_eq(ipvssvc_state_add_dest(want, s1, d), 0);
		ck_assert_int_eq(ipvssvc_dest_add(ctx, s3, d), 0);
		ck_assert_int_eq(ipvssvc_state_add_dest(want, s3, d), 0);
		ipvssvc_dest_free(d);
	}
	{
		ipvssvc_dest *d =
			dest_make("fd00::99", 5353, IPVSSVC_FWD_MASQ, 3);

		ck_assert_int_eq(ipvssvc_dest_add(ctx, s2, d), 0);
		ck_assert_int_eq(ipvssvc_state_add_dest(want, s2, d), 0);
		ipvssvc_dest_free(d);
	}
	ck_assert_int_eq(ipvssvc_link_ensure_dummy(ctx, "ipvs0", NULL), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a6), 0);
	ck_assert_int_eq(ipvssvc_link_addr_add(ctx, "ipvs0", &a4), 0);
	ck_assert_int_eq(ipvssvc_state_add_addr(want, &a4), 0);
	ck_assert_int_eq(ipvssvc_state_add_addr(want, &a6), 0);

	before = ipvssvc_ctx_requests(ctx);
	ck_assert_int_eq(ipvssvc_state_read(ctx, "ipvs0", &st), 0);
	/* one dump of services, one per service, link and addresses */
	ck_assert_uint_eq(ipvssvc_ctx_requests(ctx) - before, 1 + 3 + 2);

	ck_assert_uint_eq(ipvssvc_state_service_count(st), 3);
	for (i = 0; i < 3; i++) {
		const ipvssvc_service *g = ipvssvc_state_service(st, i);
		const ipvssvc_service *w = ipvssvc_state_service(want, i);

		ck_assert_int_eq(ipvssvc_service_key_cmp(g, w), 0);
		ck_assert(ipvssvc_service_attrs_equal(g, w));
		ck_assert_uint_eq(g->n_dests, w->n_dests);
		for (j = 0; j < g->n_dests; j++) {
			ck_assert_int_eq(ipvssvc_dest_key_cmp(&g->dests[j],
							      &w->dests[j]),
					 0);
			ck_assert_uint_eq(g->dests[j].weight,
					  w->dests[j].weight);
			ck_assert_int_eq(g->dests[j].fwd, w->dests[j].fwd);
		}
	}
	/* not the kernel's own link-local address of the dummy link */
	ck_assert_uint_eq(ipvssvc_state_addr_count(st), 2);
	ck_assert_int_eq(ipvssvc_ip_cmp(ipvssvc_state_addr(st, 0), &a4), 0);
	ck_assert_int_eq(ipvssvc_ip_cmp(ipvssvc_state_addr(st, 1), &a6), 0);
	ipvssvc_state_free(st);
	ipvssvc_state_free(want);
	ipvssvc_service_free(s1);
	ipvssvc_service_free(s2);
	ipvssvc_service_free(s3);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kernel-ipvs");
	TCase *tc;

#define CASE(name)                                              \
	do {                                                    \
		tc = tcase_create(#name);                       \
		tcase_add_checked_fixture(tc, setup, teardown); \
		tcase_set_timeout(tc, 120);                     \
		tcase_add_test(tc, name);                       \
		suite_add_tcase(s, tc);                         \
	} while (0)

	CASE(t_info);
	CASE(t_cloexec);
	CASE(t_schedulers);
	CASE(t_protocols);
	CASE(t_persistence);
	CASE(t_dests);
	CASE(t_dest_mixed_family);
	CASE(t_stats);
	CASE(t_read_ipvsadm);
	CASE(t_edit);
	CASE(t_errors);
	CASE(t_flush);
	CASE(t_many);
	CASE(t_ext_ack);
	CASE(t_dummy);
	CASE(t_ensure_down_link);
	CASE(t_node_addrs);
	CASE(t_state_read);
#undef CASE
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
