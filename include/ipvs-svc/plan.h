/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner compares a desired state with the current one and makes an
 * ordered list of operations; the applier carries them out.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_PLAN_H
#define IPVS_SVC_PLAN_H

#include <ipvs-svc/ipvs-svc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_plan ipvssvc_plan;

enum ipvssvc_op {
	IPVSSVC_OP_LINK_ADD = 1, /* create the dummy interface */
	IPVSSVC_OP_ADDR_ADD,
	IPVSSVC_OP_SVC_ADD,
	IPVSSVC_OP_SVC_EDIT,
	IPVSSVC_OP_DEST_ADD,
	IPVSSVC_OP_DEST_EDIT,
	IPVSSVC_OP_DEST_DEL,
	IPVSSVC_OP_SVC_DEL,
	IPVSSVC_OP_ADDR_DEL,
	IPVSSVC_OP_LINK_DEL, /* remove the dummy interface (cleanup) */
};

/*
 * Plan the way from current to desired. Only what ipvs-svc owns is
 * edited or deleted: virtual servers on addresses of the dummy interface
 * (current) or to be bound there (desired), and NodePort virtual servers
 * that match a desired one or are listed in recorded (may be NULL).
 * Virtual servers inside cfg's exclude CIDRs are never touched.
 */
int ipvssvc_plan_build(const ipvssvc_state *desired,
		       const ipvssvc_state *current,
		       const ipvssvc_state *recorded, const ipvssvc_config *cfg,
		       ipvssvc_plan **ret);
/* Plan the removal of everything ipvs-svc owns (cleanup). */
int ipvssvc_plan_cleanup(const ipvssvc_state *current,
			 const ipvssvc_state *recorded,
			 const ipvssvc_config *cfg, ipvssvc_plan **ret);
void ipvssvc_plan_free(ipvssvc_plan *plan);

/*
 * Incremental planning, for a daemon that keeps what it programmed as
 * one state (built by the model, so with origins):
 *
 * ipvssvc_state_take_services() moves the virtual servers of the n
 * Services named (by origin) out of st into a new state *ret, which gets
 * those of st's addresses they use; st keeps all its addresses. hint
 * (may be NULL) says where they are: when only the Services' endpoints
 * changed, their virtual servers have the keys of their new desired
 * part, and passing it as hint takes them by key instead of scanning st.
 *
 * ipvssvc_plan_build_part() plans the way from current_part (taken) to
 * desired_part (ipvssvc_model_build_services()), rest being the state
 * taken from: an address of desired_part is bound unless rest has it, one
 * of current_part is unbound when neither desired_part nor a virtual
 * server of rest uses it. -EEXIST when rest has a virtual server of
 * desired_part (two Services claim it: plan the whole state instead).
 *
 * ipvssvc_state_put_services() puts part, once programmed, into st: its
 * virtual servers move (part is left without any), its addresses are
 * added, and those of old_part (may be NULL) no virtual server of st
 * uses any more are dropped. -EEXIST as above, before any change.
 */
int ipvssvc_state_take_services(ipvssvc_state *st,
				const char *const *namespaces,
				const char *const *names, size_t n,
				const ipvssvc_state *hint, ipvssvc_state **ret);
int ipvssvc_plan_build_part(const ipvssvc_state *desired_part,
			    const ipvssvc_state *current_part,
			    const ipvssvc_state *rest,
			    const ipvssvc_config *cfg, ipvssvc_plan **ret);
int ipvssvc_state_put_services(ipvssvc_state *st, ipvssvc_state *part,
			       const ipvssvc_state *old_part);

size_t ipvssvc_plan_count(const ipvssvc_plan *plan);
enum ipvssvc_op ipvssvc_plan_op(const ipvssvc_plan *plan, size_t i);
/* The operation's virtual server (NULL for address and link ops). */
const ipvssvc_service *ipvssvc_plan_op_service(const ipvssvc_plan *plan,
					       size_t i);
/* The operation's real server (NULL but for DEST ops). */
const ipvssvc_dest *ipvssvc_plan_op_dest(const ipvssvc_plan *plan, size_t i);
/* The operation's address (NULL but for ADDR ops). */
const struct ipvssvc_ip *ipvssvc_plan_op_addr(const ipvssvc_plan *plan,
					      size_t i);
/*
 * For SVC_EDIT and DEST_EDIT: the virtual or real server as the kernel
 * holds it before the edit (NULL for other operations).
 */
const ipvssvc_service *ipvssvc_plan_op_old_service(const ipvssvc_plan *plan,
						   size_t i);
const ipvssvc_dest *ipvssvc_plan_op_old_dest(const ipvssvc_plan *plan,
					     size_t i);
/* The dummy interface the plan binds addresses to. */
const char *ipvssvc_plan_ifname(const ipvssvc_plan *plan);
/* A short name of an operation kind: "add-service", "delete-server", ... */
const char *ipvssvc_op_name(enum ipvssvc_op op);
/* One line describing operation i, ipvsadm-like. */
const char *ipvssvc_plan_format_op(const ipvssvc_plan *plan, size_t i,
				   char *buf, size_t len);

/* Called after each operation with its result (0 or -errno). */
typedef void (*ipvssvc_apply_fn)(void *userdata, const ipvssvc_plan *plan,
				 size_t i, int result);
/*
 * Carry out the plan on ifname. Every operation is tried; an add that
 * finds the object there or a delete that finds it gone is success.
 * Returns the number of failed operations (0 when all succeeded).
 */
int ipvssvc_plan_apply(ipvssvc_ctx *ctx, const ipvssvc_plan *plan,
		       const char *ifname, ipvssvc_apply_fn fn, void *userdata);

#ifdef __cplusplus
}
#endif

#endif
