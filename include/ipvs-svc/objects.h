/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kubernetes objects (Services, EndpointSlices, Endpoints, Pods, Nodes),
 * the proxy's settings, and the model: objects and settings in, desired
 * state out. The model is a pure function.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_OBJECTS_H
#define IPVS_SVC_OBJECTS_H

#include <ipvs-svc/ipvs-svc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_objects ipvssvc_objects;
typedef struct ipvssvc_config ipvssvc_config;

int ipvssvc_objects_new(ipvssvc_objects **ret);
void ipvssvc_objects_free(ipvssvc_objects *objs);
/* Where messages about skipped objects and fields go. */
void ipvssvc_objects_set_diag(ipvssvc_objects *objs, ipvssvc_diag_fn fn,
			      void *userdata);
/*
 * Load JSON or YAML: a v1 List, a single object, a multi-document YAML
 * stream; path may be a directory (its *.json, *.yaml, *.yml files in
 * name order) or "-" for standard input. Invalid objects are reported
 * and skipped; a file that does not parse at all is -EBADMSG (and
 * reported with its name and position).
 */
int ipvssvc_objects_load_path(ipvssvc_objects *objs, const char *path);
int ipvssvc_objects_load_buffer(ipvssvc_objects *objs, const char *data,
				size_t len, const char *name);
/* Insert or replace one object given as JSON (as a watch delivers it). */
int ipvssvc_objects_upsert_json(ipvssvc_objects *objs, const char *json,
				size_t len);
/* Remove one object; -ENOENT when it is not there. */
int ipvssvc_objects_delete(ipvssvc_objects *objs, const char *kind,
			   const char *namespace_, const char *name);
/* Number of objects of a kind ("Service", "EndpointSlice", ...). */
size_t ipvssvc_objects_count(const ipvssvc_objects *objs, const char *kind);

int ipvssvc_config_new(ipvssvc_config **ret);
void ipvssvc_config_free(ipvssvc_config *cfg);
void ipvssvc_config_set_diag(ipvssvc_config *cfg, ipvssvc_diag_fn fn,
			     void *userdata);
/* Settings with kube-proxy's meaning. CIDR lists are comma-separated. */
int ipvssvc_config_set_scheduler(ipvssvc_config *cfg, const char *name);
int ipvssvc_config_set_nodeport_addresses(ipvssvc_config *cfg,
					  const char *cidrs);
int ipvssvc_config_set_exclude_cidrs(ipvssvc_config *cfg, const char *cidrs);
int ipvssvc_config_set_cluster_cidrs(ipvssvc_config *cfg, const char *cidrs);
int ipvssvc_config_set_service_proxy_name(ipvssvc_config *cfg,
					  const char *name);
int ipvssvc_config_set_interface(ipvssvc_config *cfg, const char *ifname);
const char *ipvssvc_config_get_interface(const ipvssvc_config *cfg);
int ipvssvc_config_set_node_name(ipvssvc_config *cfg, const char *name);
int ipvssvc_config_set_node_zone(ipvssvc_config *cfg, const char *zone);
/* The node's own addresses (candidates for NodePorts). */
int ipvssvc_config_add_node_addr(ipvssvc_config *cfg,
				 const struct ipvssvc_ip *addr);
void ipvssvc_config_clear_node_addrs(ipvssvc_config *cfg);
/* True when addr is inside --ipvs-exclude-cidrs. */
bool ipvssvc_config_is_excluded(const ipvssvc_config *cfg,
				const struct ipvssvc_ip *addr);
/* True when addr is one of the node's own addresses. */
bool ipvssvc_config_is_node_addr(const ipvssvc_config *cfg,
				 const struct ipvssvc_ip *addr);
/* True when name is a scheduler ipvs-svc knows ("rr", "wrr", ...). */
bool ipvssvc_scheduler_is_known(const char *name);

/* The desired state for objs under cfg. */
int ipvssvc_model_build(const ipvssvc_objects *objs, const ipvssvc_config *cfg,
			ipvssvc_state **ret);

/*
 * Called for each Service built: kube-proxy's counts of its ports (per
 * IP family) with an internal or external Local traffic policy and no
 * local endpoints while there are endpoints elsewhere.
 */
typedef void (*ipvssvc_model_service_fn)(void *userdata, const char *namespace_,
					 const char *name, unsigned internal,
					 unsigned external);
/*
 * The desired state of the n Services named (namespaces[i]/names[i]), or
 * of all when namespaces is NULL, for an incremental daemon. A conflict
 * with a Service not named is not seen (the caller checks the keys).
 * fn (may be NULL) is called for each Service named, also for one that
 * is gone (with zeros), and, when building all, for those with non-zero
 * counts.
 */
int ipvssvc_model_build_services(const ipvssvc_objects *objs,
				 const ipvssvc_config *cfg,
				 const char *const *namespaces,
				 const char *const *names, size_t n,
				 ipvssvc_model_service_fn fn, void *userdata,
				 ipvssvc_state **ret);
/*
 * A label or annotation of a stored object. *ret stays valid until the
 * object changes. -ENOENT: no such object; -ENODATA: no such key.
 */
int ipvssvc_objects_get_label(const ipvssvc_objects *objs, const char *kind,
			      const char *namespace_, const char *name,
			      const char *key, const char **ret);
int ipvssvc_objects_get_annotation(const ipvssvc_objects *objs,
				   const char *kind, const char *namespace_,
				   const char *name, const char *key,
				   const char **ret);

#ifdef __cplusplus
}
#endif

#endif
