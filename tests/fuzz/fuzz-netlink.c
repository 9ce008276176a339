/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the IPVS generic-netlink reply parser, fed with
 * arbitrary "kernel" datagrams. The first byte picks the request the
 * datagram answers (service dump or get, real-server dump, info,
 * timeouts) and the service's family; the rest is the datagram, copied
 * to an aligned buffer as recvmmsg() would leave it. The sequence number
 * expected is the first message's, so that messages are not skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ipvssvc_reply_kind kind;
	uint32_t seq = 0;
	int family;
	void *buf;

	if (size < 1)
		return 0;
	kind = (enum ipvssvc_reply_kind)((data[0] & 0x7f) %
					 IPVSSVC_REPLY_KIND_MAX);
	family = data[0] & 0x80 ? AF_INET6 : AF_INET;
	data++;
	size--;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(struct nlmsghdr))
		seq = ((const struct nlmsghdr *)buf)->nlmsg_seq;
	ipvssvc_ipvs_parse_reply(buf, size, seq, kind, family);
	free(buf);
	return 0;
}
