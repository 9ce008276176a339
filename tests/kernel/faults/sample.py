#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sample.py PID INTERVAL OUT STOPFILE [URL...]: a process's resources.

Every INTERVAL seconds until PID exits or STOPFILE exists: appends
"t_s fds rss_kb anon_kb file_kb" (seconds since the start, open
descriptors from /proc/PID/fd, VmRSS and its anonymous and file-backed
parts from /proc/PID/status) to OUT, and fetches each URL
(the daemon's /metrics and /healthz: scrapes are part of the load);
a URL that does not answer is noted in OUT.notes. In-process, so that
sampling costs no fork and exec in a slow guest.
"""
import os
import sys
import time
import urllib.request


def main():
    pid, interval, out, stop = sys.argv[1], float(sys.argv[2]), \
        sys.argv[3], sys.argv[4]
    urls = sys.argv[5:]
    t0 = time.monotonic()
    with open(out, "w", buffering=1) as f, \
            open(out + ".notes", "w", buffering=1) as notes:
        f.write("t_s\tfds\trss_kb\tanon_kb\tfile_kb\n")
        while not os.path.exists(stop):
            try:
                fds = len(os.listdir("/proc/%s/fd" % pid))
                v = {}
                with open("/proc/%s/status" % pid) as st:
                    for line in st:
                        k = line.split(":")[0]
                        if k in ("VmRSS", "RssAnon", "RssFile"):
                            v[k] = int(line.split()[1])
            except OSError:
                break
            f.write("%.1f\t%d\t%d\t%d\t%d\n" % (
                time.monotonic() - t0, fds, v.get("VmRSS", 0),
                v.get("RssAnon", 0), v.get("RssFile", 0)))
            for u in urls:
                try:
                    with urllib.request.urlopen(u, timeout=10) as r:
                        r.read()
                except urllib.error.HTTPError:
                    pass  # answered (503 while an update is pending)
                except OSError as e:
                    notes.write("%.1f s: %s: %s\n" %
                                (time.monotonic() - t0, u, e))
            time.sleep(interval)


main()
