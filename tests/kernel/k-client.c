/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * k-client: the test client for k-podserver, through IPVS.
 *
 *   k-client [-u] [-s SRC] [-t MS] [-n COUNT] ADDR PORT
 *   k-client -H STOPFILE [-i MS] [-T SECONDS] [-s SRC] [-t MS] ADDR PORT
 *
 * One request (a TCP connection, or with -u a UDP datagram) prints the
 * answer, the server's name. -n makes COUNT requests, each from a new socket
 * (so a new source port, a new IPVS connection), and prints "NAME COUNT" per
 * answer, sorted, with "(no-answer) COUNT" for the ones that failed.
 * -s binds the source address (a client IP, for session affinity).
 *
 * -H holds one TCP connection: prints the name, then sends a line every
 * -i MS (default 200) and checks its echo, until STOPFILE exists (or -T
 * SECONDS pass, default 120); prints "held NAME PINGS" and exits 0, or
 * "lost ..." and exits 1 as soon as one echo fails.
 *
 * Exit status: 0 when every request was answered, 1 otherwise, 2 on usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64
#define NO_ANSWER "(no-answer)"

struct opts {
	struct sockaddr_storage dst, src;
	socklen_t dst_len, src_len;
	int udp;
	int timeout_ms;
};

struct tally {
	char name[MAX_NAMES][128];
	unsigned count[MAX_NAMES];
	int n;
};

static void usage(void)
{
	fprintf(stderr, "usage: k-client [-u] [-s SRC] [-t MS] [-n COUNT] ADDR "
			"PORT\n"
			"       k-client -H STOPFILE [-i MS] [-T SECONDS] [-s "
			"SRC] "
			"[-t MS] ADDR PORT\n");
	exit(2);
}

static int parse_addr(const char *s, unsigned short port,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* A connected socket (TCP, or UDP with its peer fixed), or -errno. */
static int open_conn(const struct opts *o)
{
	int type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd, r, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(o->dst.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (o->src_len &&
	    bind(fd, (const struct sockaddr *)&o->src, o->src_len) < 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)&o->dst, o->dst_len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	r = wait_fd(fd, POLLOUT, o->timeout_ms);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		goto fail;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* Read up to one line (without its newline) within the timeout. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	size_t used = 0;

	while (used < size - 1) {
		long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = wait_fd(fd, POLLIN, (int)left);
		if (r < 0)
			return r;
		n = recv(fd, buf + used, size - 1 - used, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (memchr(buf, '\n', used))
			break;
	}
	buf[used] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return used ? 0 : -ECONNRESET;
}

static int request(const struct opts *o, char *answer, size_t size)
{
	int fd, r;

	fd = open_conn(o);
	if (fd < 0)
		return fd;
	if (o->udp && send(fd, "hello\n", 6, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = read_line(fd, answer, size, o->timeout_ms);
	close(fd);
	return r;
}

static void tally_add(struct tally *t, const char *name)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->name[i], name) == 0)
			break;
	if (i == t->n) {
		if (t->n == MAX_NAMES)
			return;
		snprintf(t->name[i], sizeof(t->name[i]), "%s", name);
		t->count[i] = 0;
		t->n++;
	}
	t->count[i]++;
}

static int many(const struct opts *o, unsigned long count)
{
	struct tally *t = calloc(1, sizeof(*t));
	char answer[128];
	unsigned long i;
	int failed = 0, k;

	if (!t)
		return 1;
	for (i = 0; i < count; i++) {
		if (request(o, answer, sizeof(answer)) < 0) {
			tally_add(t, NO_ANSWER);
			failed = 1;
		} else {
			tally_add(t, answer);
		}
	}
	/* Names sorted (selection sort: a handful of names), counts beside. */
	for (k = 0; k < t->n; k++) {
		int j, min = k;

		for (j = k + 1; j < t->n; j++)
			if (strcmp(t->name[j], t->name[min]) < 0)
				min = j;
		printf("%s %u\n", t->name[min], t->count[min]);
		if (min != k) {
			char tmp[128];
			unsigned c = t->count[k];

			memcpy(tmp, t->name[k], sizeof(tmp));
			memcpy(t->name[k], t->name[min], sizeof(tmp));
			memcpy(t->name[min], tmp, sizeof(tmp));
			t->count[k] = t->count[min];
			t->count[min] = c;
		}
	}
	free(t);
	return failed;
}

static int hold(const struct opts *o, const char *stopfile, int interval_ms,
		long max_s)
{
	long deadline = now_ms() + max_s * 1000L;
	char name[128], line[256], want[300], ping[64];
	unsigned long pings = 0;
	int fd, r, n;

	fd = open_conn(o);
	if (fd < 0) {
		printf("lost: connect: %s\n", strerror(-fd));
		return 1;
	}
	r = read_line(fd, name, sizeof(name), o->timeout_ms);
	if (r < 0) {
		printf("lost: no name: %s\n", strerror(-r));
		return 1;
	}
	printf("%s\n", name);
	fflush(stdout);
	for (;;) {
		int stop = access(stopfile, F_OK) == 0;

		/* One more ping after the stop file: alive at the end too. */
		n = snprintf(ping, sizeof(ping), "ping %lu\n", pings + 1);
		if (send(fd, ping, (size_t)n, MSG_NOSIGNAL) != n) {
			printf("lost %s after %lu pings: send: %s\n", name,
			       pings, strerror(errno));
			return 1;
		}
		r = read_line(fd, line, sizeof(line), o->timeout_ms);
		snprintf(want, sizeof(want), "%s: ping %lu", name, pings + 1);
		if (r < 0 || strcmp(line, want) != 0) {
			printf("lost %s after %lu pings: %s\n", name, pings,
			       r < 0 ? strerror(-r) : line);
			return 1;
		}
		pings++;
		if (stop || now_ms() > deadline)
			break;
		usleep((useconds_t)interval_ms * 1000);
	}
	close(fd);
	printf("held %s %lu\n", name, pings);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.timeout_ms = 2000};
	char answer[128];
	const char *src = NULL, *stopfile = NULL;
	unsigned long count = 0, port;
	int opt, r, interval_ms = 200;
	long max_s = 120;
	char *end;

	while ((opt = getopt(argc, argv, "us:t:n:H:i:T:h")) != -1) {
		switch (opt) {
		case 'u':
			o.udp = 1;
			break;
		case 's':
			src = optarg;
			break;
		case 't':
			o.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || o.timeout_ms <= 0)
				usage();
			break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end || count == 0)
				usage();
			break;
		case 'H':
			stopfile = optarg;
			break;
		case 'i':
			interval_ms = (int)strtol(optarg, &end, 10);
			if (*end || interval_ms < 0)
				usage();
			break;
		case 'T':
			max_s = strtol(optarg, &end, 10);
			if (*end || max_s <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 2 || (stopfile && o.udp))
		usage();
	port = strtoul(argv[optind + 1], &end, 10);
	if (*end || port == 0 || port > 65535)
		usage();
	if (parse_addr(argv[optind], (unsigned short)port, &o.dst, &o.dst_len) <
		    0 ||
	    (src && parse_addr(src, 0, &o.src, &o.src_len) < 0)) {
		fprintf(stderr, "k-client: bad address\n");
		return 2;
	}

	if (stopfile)
		return hold(&o, stopfile, interval_ms, max_s);
	if (count)
		return many(&o, count);

	r = request(&o, answer, sizeof(answer));
	if (r < 0) {
		fprintf(stderr, "k-client: %s port %lu: %s\n", argv[optind],
			port, strerror(-r));
		return 1;
	}
	printf("%s\n", answer);
	return 0;
}
