/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * k-podserver: the server a test Pod runs. It listens on one port for TCP
 * and UDP and answers with its name: every UDP datagram gets "NAME\n"; every
 * TCP connection gets "NAME\n" at once and then, for as long as the client
 * keeps it open, each line it sends echoed back as "NAME: LINE\n" (so one
 * connection can be held across a re-sync and proven alive afterwards).
 *
 *   k-podserver [-b ADDR] [-p PORT] [-d] [-P PIDFILE] NAME
 *
 * -b binds one address (IPv4 or IPv6; default 0.0.0.0, "::" is dual-stack),
 * -d returns only once both sockets listen and the server runs in the
 * background, -P writes its pid. Plain C, no dependencies: the kernel
 * tests must not need socat, ncat or python.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* A held connection that goes quiet this long is dropped. */
#define IDLE_SECONDS 600

static void usage(void)
{
	fprintf(stderr, "usage: k-podserver [-b ADDR] [-p PORT] [-d] "
			"[-P PIDFILE] NAME\n");
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

static int open_socket(const struct sockaddr_storage *ss, socklen_t len,
		       int type)
{
	int fd, one = 1, zero = 0;

	fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "::" serves both families, whatever the sysctl default is. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One TCP connection, in its own process: name first, then echo lines. */
static void serve_tcp(int fd, const char *name)
{
	char line[512], out[1024];
	size_t used = 0;
	int n;

	n = snprintf(out, sizeof(out), "%s\n", name);
	if (write_all(fd, out, (size_t)n) < 0)
		_exit(1);
	for (;;) {
		ssize_t r;
		char *nl;

		alarm(IDLE_SECONDS);
		r = read(fd, line + used, sizeof(line) - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
		line[used] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			n = snprintf(out, sizeof(out), "%s: %s\n", name, line);
			if (write_all(fd, out, (size_t)n) < 0)
				_exit(1);
			used -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, used + 1);
		}
		if (used == sizeof(line) - 1)
			used = 0; /* an endless line: drop it */
	}
	_exit(0);
}

static void serve_udp(int fd, const char *name)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char buf[2048], out[512];
	ssize_t r;
	int n;

	r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
		     (struct sockaddr *)&peer, &plen);
	if (r < 0)
		return;
	n = snprintf(out, sizeof(out), "%s\n", name);
	sendto(fd, out, (size_t)n, 0, (struct sockaddr *)&peer, plen);
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		fprintf(stderr, "k-podserver: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "%ld\n", (long)pid);
	return fclose(f) == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	const char *bind_addr = "0.0.0.0", *pidfile = NULL, *name;
	struct sockaddr_storage ss;
	struct pollfd pfd[2];
	unsigned long port = 9376;
	int daemonize = 0, opt;
	socklen_t len;
	char *end;

	while ((opt = getopt(argc, argv, "b:p:dP:h")) != -1) {
		switch (opt) {
		case 'b':
			bind_addr = optarg;
			break;
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || port == 0 || port > 65535)
				usage();
			break;
		case 'd':
			daemonize = 1;
			break;
		case 'P':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	name = argv[optind];

	if (parse_addr(bind_addr, (unsigned short)port, &ss, &len) < 0) {
		fprintf(stderr, "k-podserver: bad address '%s'\n", bind_addr);
		return 2;
	}
	pfd[0].fd = open_socket(&ss, len, SOCK_STREAM);
	pfd[1].fd = open_socket(&ss, len, SOCK_DGRAM);
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		fprintf(stderr,
			"k-podserver: cannot listen on %s port %lu: %s\n",
			bind_addr, port,
			strerror(-(pfd[0].fd < 0 ? pfd[0].fd : pfd[1].fd)));
		return 1;
	}
	pfd[0].events = pfd[1].events = POLLIN;

	/* Children are never waited for. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (daemonize) {
		pid_t pid = fork();
		int devnull;

		if (pid < 0)
			return 1;
		if (pid > 0) {
			/* The pid file is there when the caller goes on. */
			if (pidfile && write_pidfile(pidfile, pid) < 0)
				return 1;
			_exit(0);
		}
		setsid();
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			close(devnull);
		}
	} else if (pidfile && write_pidfile(pidfile, getpid()) < 0) {
		return 1;
	}

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			serve_udp(pfd[1].fd, name);
		if (pfd[0].revents & POLLIN) {
			int c = accept4(pfd[0].fd, NULL, NULL, SOCK_CLOEXEC);
			pid_t pid;

			if (c < 0)
				continue;
			pid = fork();
			if (pid == 0) {
				close(pfd[0].fd);
				close(pfd[1].fd);
				signal(SIGALRM, SIG_DFL);
				serve_tcp(c, name);
			}
			close(c);
		}
	}
}
