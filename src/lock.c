/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instance lock. Two processes programming the same table undo each
 * other's work (each deletes what it did not plan), so `run` and a
 * writing `sync --once` take a lock under the state directory first and
 * the second one refuses. flock(2), not a PID file: the kernel releases it
 * when the holder dies however it dies, so nothing is ever stale.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "ipvs-svc.h"
#include "lock.h"

/* mkdir -p, each missing level 0755. */
static int make_dirs(const char *dir)
{
	char *p, *s = strdup(dir);
	int r = 0;

	if (!s)
		return -ENOMEM;
	for (p = s + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(s, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	return r;
}

/* The holder's PID from /proc/locks, by the lock file's inode. */
static long holder_from_proc(int fd)
{
	char line[256];
	struct stat st;
	long pid = 0;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned long maj, min, ino;
		char type[16];
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %ld %lx:%lx:%lu", type, &p,
			   &maj, &min, &ino) != 5 ||
		    strcmp(type, "FLOCK") != 0)
			continue;
		if (ino == (unsigned long)st.st_ino &&
		    maj == (unsigned long)major(st.st_dev) &&
		    min == (unsigned long)minor(st.st_dev))
			pid = p;
	}
	fclose(f);
	return pid;
}

/* Who holds it: "PID WHAT" as the holder wrote it, or the kernel's PID. */
static void describe_holder(int fd, char *buf, size_t len)
{
	char text[64], what[32] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	long pid = 0, k;

	if (n > 0) {
		text[n] = '\0';
		if (sscanf(text, "%ld %31s", &pid, what) < 1)
			pid = 0;
	}
	/* the kernel knows better: the text may be a dead holder's */
	k = holder_from_proc(fd);
	if (k > 0 && k != pid) {
		pid = k;
		what[0] = '\0';
	}
	if (pid > 0 && what[0])
		snprintf(buf, len, "PID %ld, ipvs-svc %s", pid, what);
	else if (pid > 0)
		snprintf(buf, len, "PID %ld", pid);
	else
		snprintf(buf, len, "PID unknown");
}

int lock_instance(const char *state_dir, const char *ifname, const char *what)
{
	size_t n = strlen(state_dir) + strlen(ifname) + 8;
	char *path = malloc(n), text[64], holder[96];
	int fd, r;

	if (!path)
		return -ENOMEM;
	snprintf(path, n, "%s/%s.lock", state_dir, ifname);
	r = make_dirs(state_dir);
	if (r < 0) {
		log_warn("no instance lock: cannot create %s: %s", state_dir,
			 strerror(-r));
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		log_warn("no instance lock: cannot open %s: %s", path,
			 strerror(-r));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (r == -EBUSY) {
			describe_holder(fd, holder, sizeof(holder));
			log_err("another ipvs-svc (%s) holds %s and programs "
				"%s: not starting a second one",
				holder, path, ifname);
		} else {
			log_warn("no instance lock: %s: %s", path,
				 strerror(-r));
		}
		close(fd);
		goto out;
	}
	/* for the next one's message; the lock does not depend on it */
	snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(), what);
	if (ftruncate(fd, 0) < 0 ||
	    pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text))
		log_debug("cannot write the PID into %s", path);
	log_debug("holding %s", path);
	r = fd;
out:
	free(path);
	return r;
}
