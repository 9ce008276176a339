/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instance lock: one ipvs-svc at a time changes an interface's IPVS. */
#ifndef IPVS_SVC_LOCK_H
#define IPVS_SVC_LOCK_H

/*
 * Take <state_dir>/<ifname>.lock (the directory is made 0755 if missing):
 * an exclusive flock, never waited for, with "PID WHAT" written in the
 * file for the next one to name. Returns the descriptor, held until exit
 * (close-on-exec; the kernel drops the lock when the process dies, even
 * by SIGKILL). -EBUSY: another process holds it (logged with its PID);
 * the caller refuses to go on. Other -errno: there is no lock file to
 * take (logged as a warning), and the caller goes on without it.
 */
int lock_instance(const char *state_dir, const char *ifname, const char *what);

#endif
