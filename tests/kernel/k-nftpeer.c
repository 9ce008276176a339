/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * k-nftpeer: a server that tells each client the source address it sees,
 * and clients for it, for the nftables data-path suite (nft.ksh).
 *
 *   k-nftpeer -s NAME PORT
 *	serve TCP and UDP on PORT (all IPv4 addresses): each TCP connection
 *	and each UDP datagram gets "NAME/SOURCE\n".
 *   k-nftpeer [-u] [-b SRC] [-t MS] ADDR PORT
 *	one request; prints the answer; exit 0, or 1 without an answer.
 *   k-nftpeer -S -i MS -T SECONDS [-b SRC] ADDR PORT
 *	UDP from one socket (one source port): a datagram every MS for
 *	SECONDS, printing every answer as it comes, one per line.
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

static void usage(void)
{
	fprintf(stderr, "usage: k-nftpeer -s NAME PORT\n"
			"       k-nftpeer [-u] [-b SRC] [-t MS] ADDR PORT\n"
			"       k-nftpeer -S -i MS -T SECONDS [-b SRC] ADDR "
			"PORT\n");
	exit(2);
}

static void make_addr(const char *ip, const char *port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
		usage();
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int serve(const char *name, const char *port)
{
	struct sockaddr_in a;
	int one = 1, t, u;

	make_addr("0.0.0.0", port, &a);
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t < 0 || u < 0)
		return 1;
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(t, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(t, 64) < 0 ||
	    bind(u, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("k-nftpeer: bind");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = {{t, POLLIN, 0}, {u, POLLIN, 0}};
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		char buf[256], src[INET_ADDRSTRLEN], out[320];
		int c, n;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			c = accept4(t, (struct sockaddr *)&peer, &len,
				    SOCK_CLOEXEC);
			if (c >= 0) {
				inet_ntop(AF_INET, &peer.sin_addr, src,
					  sizeof(src));
				n = snprintf(out, sizeof(out), "%s/%s\n", name,
					     src);
				if (write(c, out, (size_t)n) < 0)
					perror("k-nftpeer: write");
				close(c);
			}
		}
		if (p[1].revents & POLLIN) {
			len = sizeof(peer);
			if (recvfrom(u, buf, sizeof(buf), 0,
				     (struct sockaddr *)&peer, &len) >= 0) {
				inet_ntop(AF_INET, &peer.sin_addr, src,
					  sizeof(src));
				n = snprintf(out, sizeof(out), "%s/%s\n", name,
					     src);
				sendto(u, out, (size_t)n, 0,
				       (struct sockaddr *)&peer, len);
			}
		}
	}
}

static int open_client(int type, const char *src)
{
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a;

	if (s < 0)
		return -1;
	if (src) {
		make_addr(src, "0", &a);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("k-nftpeer: bind");
			close(s);
			return -1;
		}
	}
	return s;
}

/* Wait up to ms for s to be readable; then read a line into buf. */
static int read_answer(int s, int ms, char *buf, size_t len)
{
	struct pollfd p = {s, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	n = recv(s, buf, len - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int request(int udp, const char *src, int ms, const char *ip,
		   const char *port)
{
	struct sockaddr_in a;
	char buf[256];
	int s, r;

	make_addr(ip, port, &a);
	s = open_client(udp ? SOCK_DGRAM : SOCK_STREAM, src);
	if (s < 0)
		return 1;
	if (udp) {
		r = (int)sendto(s, "?\n", 2, 0, (struct sockaddr *)&a,
				sizeof(a));
	} else {
		struct pollfd p = {s, POLLOUT, 0};

		/* a dropped SYN must not wait for the kernel's timeout */
		fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
		r = connect(s, (struct sockaddr *)&a, sizeof(a));
		if (r < 0 && errno == EINPROGRESS && poll(&p, 1, ms) == 1) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
			r = err ? -1 : 0;
		}
	}
	if (r < 0 || read_answer(s, ms, buf, sizeof(buf)) < 0) {
		printf("(no-answer)\n");
		close(s);
		return 1;
	}
	printf("%s\n", buf);
	close(s);
	return 0;
}

static int stream(const char *src, int interval, int seconds, const char *ip,
		  const char *port)
{
	struct sockaddr_in a;
	long end = now_ms() + seconds * 1000L, next = 0;
	char buf[256];
	int s;

	make_addr(ip, port, &a);
	s = open_client(SOCK_DGRAM, src);
	if (s < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (now_ms() < end) {
		long t = now_ms();

		if (t >= next) {
			sendto(s, "?\n", 2, 0, (struct sockaddr *)&a,
			       sizeof(a));
			next = t + interval;
		}
		if (read_answer(s, (int)(next - t), buf, sizeof(buf)) == 0)
			printf("%s\n", buf);
	}
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *src = NULL, *name = NULL;
	int opt, udp = 0, ms = 3000, str = 0, interval = 100, seconds = 10;

	while ((opt = getopt(argc, argv, "s:ub:t:Si:T:")) != -1) {
		switch (opt) {
		case 's':
			name = optarg;
			break;
		case 'u':
			udp = 1;
			break;
		case 'b':
			src = optarg;
			break;
		case 't':
			ms = atoi(optarg);
			break;
		case 'S':
			str = 1;
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'T':
			seconds = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (name) {
		if (optind + 1 != argc)
			usage();
		return serve(name, argv[optind]);
	}
	if (optind + 2 != argc)
		usage();
	if (str)
		return stream(src, interval, seconds, argv[optind],
			      argv[optind + 1]);
	return request(udp, src, ms, argv[optind], argv[optind + 1]);
}
