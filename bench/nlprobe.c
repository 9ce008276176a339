/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nlprobe.so: an LD_PRELOAD probe that counts what a program asks of the
 * kernel over netlink, so that ipvs-svc and ipvsadm are counted the same
 * way (ipvs-svc calls sendto, ipvsadm's libnl sendmsg). At exit it
 * appends one line to $NLPROBE_OUT (else standard error):
 *
 *   genl_req=R rtnl_req=R other_req=R nl_msgs=M nl_writes=W nl_recv=C
 *   utime=S stime=S minflt=F hwm_kb=K
 *
 * genl_req/rtnl_req: send calls on generic/route netlink sockets (one
 * request each unless a program batches); nl_msgs: netlink messages in
 * them; nl_writes: those that change the kernel (IPVS commands other
 * than GET_*, rtnetlink NEW/DEL/SET); nl_recv: receive calls on netlink
 * sockets; CPU times in seconds; minflt: page faults (costly in UML);
 * hwm_kb: the peak resident set (VmHWM).
 *
 * NLPROBE_TRACE=FILE appends "req=R ms=T" every 1000 requests (T since
 * the program started): whether the cost per request stays flat.
 *
 * NLPROBE_BALLAST_MB=N makes the program touch N MiB more at start and
 * keep them: the experiment that shows what a process's resident size
 * alone costs per system call in User-mode Linux (BENCHMARKS.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FD 4096

/* per descriptor: 0 unknown, 1 not netlink, 2 + netlink protocol */
static unsigned char kind[MAX_FD];
static unsigned long long genl_req, rtnl_req, other_req, nl_msgs, nl_writes,
	nl_recv;

static ssize_t (*real_sendto)(int, const void *, size_t, int,
			      const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
				socklen_t *);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int,
			    struct timespec *);
static int (*real_close)(int);

static int fd_kind(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (fd < 0 || fd >= MAX_FD)
		return 1;
	if (kind[fd])
		return kind[fd];
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
	    v != AF_NETLINK)
		kind[fd] = 1;
	else if (len = sizeof(v),
		 getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0)
		kind[fd] = 1;
	else
		kind[fd] = (unsigned char)(2 + (v & 0x1f));
	return kind[fd];
}

/*
 * Does this request change the kernel? IPVS commands (linux/ip_vs.h):
 * GET_SERVICE 4, GET_DEST 8, GET_DAEMON 11, GET_CONFIG 13, GET_INFO 15
 * read; every other one writes. rtnetlink: RTM_GET* read.
 */
static int is_write(int k, const struct nlmsghdr *h)
{
	if (k == 2 + NETLINK_ROUTE)
		return h->nlmsg_type >= RTM_BASE &&
		       (h->nlmsg_type - RTM_BASE) % 4 != 2;
	if (k == 2 + NETLINK_GENERIC) {
		const struct genlmsghdr *g = NLMSG_DATA(h);

		if (h->nlmsg_type == GENL_ID_CTRL ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*g)))
			return 0;
		switch (g->cmd) {
		case 4:
		case 8:
		case 11:
		case 13:
		case 15:
			return 0;
		default:
			return 1;
		}
	}
	return 0;
}

static void count_msgs(int k, const void *buf, size_t len)
{
	const struct nlmsghdr *h = buf;
	int left = (int)len;

	for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		nl_msgs++;
		if (is_write(k, h))
			nl_writes++;
	}
}

static FILE *trace;
static struct timespec start;

static void trace_point(void)
{
	struct timespec t;
	unsigned long long n = genl_req + rtnl_req + other_req;

	if (!trace || n % 1000)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(trace, "req=%llu ms=%.1f\n", n,
		(double)(t.tv_sec - start.tv_sec) * 1e3 +
			(double)(t.tv_nsec - start.tv_nsec) / 1e6);
}

static void count_send(int fd, const void *buf, size_t len)
{
	int k = fd_kind(fd);

	if (k < 2)
		return;
	trace_point();
	if (k == 2 + NETLINK_GENERIC)
		genl_req++;
	else if (k == 2 + NETLINK_ROUTE)
		rtnl_req++;
	else
		other_req++;
	if (buf)
		count_msgs(k, buf, len);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	count_send(fd, buf, len);
	return real_sendto(fd, buf, len, flags, to, tolen);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	count_send(fd, buf, len);
	return real_send(fd, buf, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	/* libnl sends one buffer per request */
	count_send(fd, msg && msg->msg_iovlen ? msg->msg_iov[0].iov_base : NULL,
		   msg && msg->msg_iovlen ? msg->msg_iov[0].iov_len : 0);
	return real_sendmsg(fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (fd_kind(fd) >= 2)
		nl_recv++;
	return real_recvmsg(fd, msg, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *from, socklen_t *fromlen)
{
	if (fd_kind(fd) >= 2)
		nl_recv++;
	return real_recvfrom(fd, buf, len, flags, from, fromlen);
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
	     struct timespec *t)
{
	if (fd_kind(fd) >= 2)
		nl_recv++;
	return real_recvmmsg(fd, v, n, flags, t);
}

int close(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		kind[fd] = 0;
	return real_close(fd);
}

static long hwm_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static void *ballast;

__attribute__((constructor)) static void probe_init(void)
{
	const char *mb = getenv("NLPROBE_BALLAST_MB");
	const char *tr = getenv("NLPROBE_TRACE");

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (tr && *tr)
		trace = fopen(tr, "ae");
	if (mb && atol(mb) > 0) {
		size_t len = (size_t)atol(mb) << 20;

		ballast = malloc(len);
		if (ballast)
			memset(ballast, 1, len);
	}
	real_sendto = dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real_send = dlsym(RTLD_NEXT, "send");
	real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	real_recvfrom = dlsym(RTLD_NEXT, "recvfrom");
	real_recvmmsg = dlsym(RTLD_NEXT, "recvmmsg");
	real_close = dlsym(RTLD_NEXT, "close");
}

__attribute__((destructor)) static void probe_report(void)
{
	const char *path = getenv("NLPROBE_OUT");
	struct rusage ru;
	FILE *f = NULL;

	getrusage(RUSAGE_SELF, &ru);
	if (path && *path)
		f = fopen(path, "ae");
	fprintf(f ? f : stderr,
		"genl_req=%llu rtnl_req=%llu other_req=%llu nl_msgs=%llu "
		"nl_writes=%llu nl_recv=%llu utime=%ld.%06ld stime=%ld.%06ld "
		"minflt=%ld hwm_kb=%ld\n",
		genl_req, rtnl_req, other_req, nl_msgs, nl_writes, nl_recv,
		(long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
		(long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
		ru.ru_minflt, hwm_kb());
	if (f)
		fclose(f);
	if (trace)
		fclose(trace);
}
