#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""notify.py SOCKET LOG SNAPSHOT: systemd's side of sd_notify, for tests.

Binds the datagram socket SOCKET (what NOTIFY_SOCKET names; "@name" is
in the abstract namespace), creates LOG once bound, and appends
every message to LOG, one line per assignment, prefixed with the
monotonic time in ms. When READY=1 arrives it saves `ipvsadm -Sn` to
SNAPSHOT at once: what the kernel held when the daemon said it was
ready. Exits when its parent goes away.
"""
import os
import socket
import subprocess
import sys
import time


def main():
    path, log, snap = sys.argv[1:4]
    parent = os.getppid()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if path.startswith("@"):
        # abstract: a file system shared over 9p (qemu) cannot hold sockets
        s.bind("\0" + path[1:])
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s.bind(path)
    s.settimeout(0.5)
    # the log exists once the socket is bound
    with open(log, "a", buffering=1) as out:
        while os.getppid() == parent:
            try:
                msg = s.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                continue
            now = int(time.monotonic() * 1000)
            ready = False
            for line in msg.split("\n"):
                if line:
                    out.write("%d %s\n" % (now, line))
                    ready = ready or line == "READY=1"
            if ready and not os.path.exists(snap):
                rules = subprocess.run(["ipvsadm", "-Sn"],
                                       stdout=subprocess.PIPE).stdout
                with open(snap + ".tmp", "wb") as f:
                    f.write(rules)
                os.rename(snap + ".tmp", snap)


main()
