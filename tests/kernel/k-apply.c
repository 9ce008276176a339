/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The applier against a kernel that moved between the read and the
 * apply: an add that finds its object there and a delete that finds it
 * gone count as success, and a failed operation does not stop the
 * others. Run as root in a kernel with IPVS (from tests/kernel/sync.ksh).
 * Exit 0 pass, 1 fail, 99 setup error.
 */
#include "internal.h"

#include <stdio.h>

#define IFNAME "kapply0"

static int failures;

static void check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static struct ipvssvc_ip ip(const char *s)
{
	struct ipvssvc_ip a;

	if (ipvssvc_ip_parse(s, &a) < 0)
		exit(99);
	return a;
}

static ipvssvc_service *svc_new(const char *addr, uint16_t port,
				const char *sched)
{
	struct ipvssvc_ip a = ip(addr);
	ipvssvc_service *s;

	if (ipvssvc_service_new(&s) < 0 ||
	    ipvssvc_service_set_addr(s, &a) < 0 ||
	    ipvssvc_service_set_port(s, port) < 0 ||
	    ipvssvc_service_set_scheduler(s, sched) < 0)
		exit(99);
	return s;
}

static ipvssvc_dest *dest_new(const char *addr, uint16_t port)
{
	struct ipvssvc_ip a = ip(addr);
	ipvssvc_dest *d;

	if (ipvssvc_dest_new(&d) < 0 || ipvssvc_dest_set_addr(d, &a) < 0 ||
	    ipvssvc_dest_set_port(d, port) < 0)
		exit(99);
	return d;
}

struct results {
	size_t n, failed;
	int last[64];
};

static void on_op(void *userdata, const ipvssvc_plan *plan, size_t i,
		  int result)
{
	struct results *r = userdata;
	char line[256];

	printf("  %s -> %d\n",
	       ipvssvc_plan_format_op(plan, i, line, sizeof(line)), result);
	if (i < 64)
		r->last[i] = result;
	r->n++;
	if (result < 0)
		r->failed++;
}

int main(void)
{
	ipvssvc_ctx *ctx;
	ipvssvc_state *desired, *current, *empty;
	ipvssvc_service *a = svc_new("10.99.0.1", 80, "wrr");
	ipvssvc_service *b = svc_new("10.99.0.2", 80, "rr");
	ipvssvc_service *bad = svc_new("10.99.0.3", 80, "no-such-sched");
	ipvssvc_dest *d1 = dest_new("10.244.9.1", 8080);
	ipvssvc_dest *d2 = dest_new("10.244.9.2", 8080);
	struct ipvssvc_ip va = ip("10.99.0.1"), vb = ip("10.99.0.2");
	struct ipvssvc_ip vc = ip("10.99.0.3");
	ipvssvc_plan *plan;
	ipvssvc_service *got;
	struct results res;
	int r;

	if (ipvssvc_ctx_new(&ctx) < 0)
		return 99;
	ipvssvc_flush(ctx);
	ipvssvc_link_delete(ctx, IFNAME);

	/* desired: a with d1, d2; b; and one the kernel refuses */
	if (ipvssvc_state_new(&desired) < 0 ||
	    ipvssvc_state_new(&current) < 0 || ipvssvc_state_new(&empty) < 0)
		return 99;
	ipvssvc_state_add_service(desired, a);
	ipvssvc_state_add_dest(desired, a, d1);
	ipvssvc_state_add_dest(desired, a, d2);
	ipvssvc_state_add_service(desired, bad);
	ipvssvc_state_add_service(desired, b);
	ipvssvc_state_add_addr(desired, &va);
	ipvssvc_state_add_addr(desired, &vb);
	ipvssvc_state_add_addr(desired, &vc);
	current->link = -1;
	r = ipvssvc_plan_build(desired, current, NULL, NULL, &plan);
	check(r == 0, "plan from an empty kernel");

	/* the kernel moves: the link, an address, a and d1 appear */
	ipvssvc_link_ensure_dummy(ctx, IFNAME, &r);
	ipvssvc_link_addr_add(ctx, IFNAME, &va);
	ipvssvc_service_set_scheduler(a, "rr");
	ipvssvc_service_add(ctx, a);
	ipvssvc_dest_add(ctx, a, d1);
	ipvssvc_service_set_scheduler(a, "wrr");

	memset(&res, 0, sizeof(res));
	r = ipvssvc_plan_apply(ctx, plan, IFNAME, on_op, &res);
	check(r == 1 && res.failed == 1, "only the refused scheduler fails; "
					 "adds that find their "
					 "object succeed");
	check(res.n == ipvssvc_plan_count(plan), "every operation was tried");
	check(ipvssvc_service_get(ctx, b, &got) == 0, "b created after the "
						      "failed one");
	ipvssvc_service_free(got);
	check(ipvssvc_service_get(ctx, a, &got) == 0 &&
		      strcmp(ipvssvc_service_get_scheduler(got), "wrr") == 0,
	      "a found there is brought to the planned scheduler");
	ipvssvc_service_free(got);
	ipvssvc_plan_free(plan);

	/* remove all of it, from a read taken before b and d2 go */
	ipvssvc_state_free(current);
	if (ipvssvc_state_read(ctx, IFNAME, &current) < 0)
		return 99;
	r = ipvssvc_plan_build(empty, current, NULL, NULL, &plan);
	check(r == 0 && ipvssvc_plan_count(plan) >= 4, "plan the removal");
	ipvssvc_service_del(ctx, b);
	ipvssvc_dest_del(ctx, a, d2);
	ipvssvc_link_addr_del(ctx, IFNAME, &vb);
	memset(&res, 0, sizeof(res));
	r = ipvssvc_plan_apply(ctx, plan, IFNAME, on_op, &res);
	check(r == 0, "deletes that find their object gone succeed");
	check(ipvssvc_service_get(ctx, a, &got) == -ESRCH, "a is gone");
	ipvssvc_plan_free(plan);

	/* cleanup twice: the second finds everything gone */
	ipvssvc_state_free(current);
	if (ipvssvc_state_read(ctx, IFNAME, &current) < 0)
		return 99;
	current->link = 1;
	r = ipvssvc_plan_cleanup(current, NULL, NULL, &plan);
	check(r == 0, "plan the cleanup");
	check(ipvssvc_plan_apply(ctx, plan, IFNAME, NULL, NULL) == 0, "cleanu"
								      "p");
	check(ipvssvc_plan_apply(ctx, plan, IFNAME, NULL, NULL) == 0,
	      "cleanup again: link already gone is success");
	ipvssvc_plan_free(plan);

	ipvssvc_state_free(current);
	ipvssvc_state_free(desired);
	ipvssvc_state_free(empty);
	ipvssvc_service_free(a);
	ipvssvc_service_free(b);
	ipvssvc_service_free(bad);
	ipvssvc_dest_free(d1);
	ipvssvc_dest_free(d2);
	ipvssvc_ctx_free(ctx);
	return failures ? 1 : 0;
}
