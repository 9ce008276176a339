/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * one-service: program one IPVS virtual server with one real server
 * through libipvs-svc, read it back, and remove it.
 *
 *   cc one-service.c $(pkg-config --cflags --libs libipvs-svc)
 *   ./one-service 10.10.10.10 80 10.20.0.1 8080
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipvs-svc/ipvs-svc.h>

static int die(const char *what, int r, ipvssvc_ctx *ctx)
{
	const char *detail = ctx ? ipvssvc_ctx_last_error(ctx) : NULL;

	fprintf(stderr, "one-service: %s: %s%s%s\n", what, strerror(-r),
		detail ? ": " : "", detail ? detail : "");
	return 1;
}

int main(int argc, char **argv)
{
	struct ipvssvc_ip vip, rip;
	ipvssvc_ctx *ctx = NULL;
	ipvssvc_service *svc = NULL;
	ipvssvc_dest *dest = NULL;
	ipvssvc_dest **dests = NULL;
	size_t n = 0, i;
	char line[256];
	int r, keep = argc > 5 && strcmp(argv[5], "--keep") == 0;

	if (argc < 5 || ipvssvc_ip_parse(argv[1], &vip) < 0 ||
	    ipvssvc_ip_parse(argv[3], &rip) < 0) {
		fprintf(stderr, "usage: one-service VIP PORT RIP RPORT "
				"[--keep]\n");
		return 2;
	}
	r = ipvssvc_ctx_new(&ctx);
	if (r < 0)
		return die("cannot open IPVS", r, NULL);

	if ((r = ipvssvc_service_new(&svc)) < 0 ||
	    (r = ipvssvc_service_set_addr(svc, &vip)) < 0 ||
	    (r = ipvssvc_service_set_port(svc, (uint16_t)atoi(argv[2]))) < 0 ||
	    (r = ipvssvc_service_set_scheduler(svc, "rr")) < 0)
		return die("virtual server", r, ctx);
	if ((r = ipvssvc_dest_new(&dest)) < 0 ||
	    (r = ipvssvc_dest_set_addr(dest, &rip)) < 0 ||
	    (r = ipvssvc_dest_set_port(dest, (uint16_t)atoi(argv[4]))) < 0)
		return die("real server", r, ctx);

	r = ipvssvc_service_add(ctx, svc);
	if (r < 0 && r != -EEXIST)
		return die("add virtual server", r, ctx);
	r = ipvssvc_dest_add(ctx, svc, dest);
	if (r < 0 && r != -EEXIST)
		return die("add real server", r, ctx);

	r = ipvssvc_dest_dump(ctx, svc, &dests, &n);
	if (r < 0)
		return die("dump real servers", r, ctx);
	ipvssvc_service_format_rule(svc, line, sizeof(line));
	printf("%s\n", line);
	for (i = 0; i < n; i++) {
		ipvssvc_dest_format_rule(svc, dests[i], line, sizeof(line));
		printf("%s\n", line);
	}
	ipvssvc_dest_list_free(dests, n);

	if (!keep) {
		r = ipvssvc_service_del(ctx, svc);
		if (r < 0)
			return die("delete virtual server", r, ctx);
	}
	ipvssvc_dest_free(dest);
	ipvssvc_service_free(svc);
	ipvssvc_ctx_free(ctx);
	return 0;
}
