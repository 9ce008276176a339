/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoded Kubernetes objects, as the model reads them. Everything here is
 * validated: addresses are parsed, ports are in range, protocols known.
 * Not installed.
 */
#ifndef IPVSSVC_OBJECTS_H
#define IPVSSVC_OBJECTS_H

#include "internal.h"

#include <stdarg.h>
#include <stdbool.h>

struct cJSON;

enum k8s_kind {
	K8S_SERVICE = 0,
	K8S_ENDPOINT_SLICE,
	K8S_ENDPOINTS,
	K8S_POD,
	K8S_NODE,
	K8S_KIND_MAX,
};

const char *k8s_kind_name(enum k8s_kind kind);
int k8s_kind_from_name(const char *name); /* -1 when unknown */

/* An intrusive hash table node and a small chained hash table. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htable {
	struct hnode **buckets;
	size_t n_buckets;
	size_t n;
};

uint64_t k8s_hash_bytes(uint64_t h, const void *p, size_t len);
uint64_t k8s_hash_str(uint64_t h, const char *s);
#define K8S_HASH_SEED 0xcbf29ce484222325ULL

struct kv {
	char *key;
	char *value;
};

struct kv_list {
	struct kv *v;
	size_t n;
};

/* The value of key, or NULL. */
const char *kv_get(const struct kv_list *l, const char *key);

struct str_list {
	char **v;
	size_t n;
};

bool str_list_has(const struct str_list *l, const char *s);

enum svc_type {
	SVC_TYPE_CLUSTER_IP = 0,
	SVC_TYPE_NODE_PORT,
	SVC_TYPE_LOAD_BALANCER,
	SVC_TYPE_EXTERNAL_NAME,
};

struct svc_port {
	char *name; /* "" when unnamed */
	uint16_t protocol; /* IPPROTO_* */
	uint16_t port;
	uint16_t node_port; /* 0: none */
	uint16_t target_port; /* 0: named (target_name) or absent */
	char *target_name; /* NULL unless a named targetPort */
};

struct k8s_service {
	enum svc_type type;
	bool headless; /* clusterIP None */
	bool has_cluster_ip[2]; /* [0] IPv4, [1] IPv6 */
	struct ipvssvc_ip cluster_ip[2];
	struct ipvssvc_ip *external_ips;
	size_t n_external_ips;
	struct ipvssvc_ip *lb_ips; /* ingress ips with ipMode absent or VIP */
	size_t n_lb_ips;
	struct svc_port *ports;
	size_t n_ports;
	struct kv_list selector;
	bool has_selector;
	bool affinity_client_ip;
	uint32_t affinity_timeout;
	bool external_local; /* externalTrafficPolicy: Local */
	/* spec.loadBalancerSourceRanges (none: every source) */
	struct ipvssvc_cidr *lb_source_ranges;
	size_t n_lb_source_ranges;
	bool internal_local; /* internalTrafficPolicy: Local */
	bool alloc_lb_node_ports; /* allocateLoadBalancerNodePorts */
	bool publish_not_ready;
	char sched[IPVSSVC_SCHED_MAX]; /* "" : the configured default */
	uint32_t sched_flags;
};

struct slice_port {
	char *name;
	uint16_t protocol;
	uint16_t port; /* 0: unusable */
};

struct slice_endpoint {
	struct ipvssvc_ip addr; /* family 0: no usable address */
	bool ready;
	bool serving;
	bool terminating;
	char *node_name; /* may be NULL; interned */
	struct str_list zone_hints; /* interned names */
	struct str_list node_hints;
};

struct k8s_slice {
	char *service_name; /* label kubernetes.io/service-name, or NULL */
	int family; /* AF_INET, AF_INET6, or 0 (FQDN, unknown) */
	bool headless; /* label service.kubernetes.io/headless */
	struct slice_port *ports;
	size_t n_ports;
	struct slice_endpoint *endpoints;
	size_t n_endpoints;
};

struct ep_address {
	struct ipvssvc_ip addr;
	char *node_name; /* interned */
};

struct ep_subset {
	struct ep_address *addrs;
	size_t n_addrs;
	struct slice_port *ports;
	size_t n_ports;
};

struct k8s_endpoints {
	struct ep_subset *subsets;
	size_t n_subsets;
};

struct container_port {
	char *name;
	uint16_t protocol;
	uint16_t port;
};

struct k8s_pod {
	struct ipvssvc_ip *ips; /* status.podIPs, else status.podIP */
	size_t n_ips;
	bool running;
	bool ready;
	bool terminating; /* metadata.deletionTimestamp set */
	char *node_name; /* interned */
	struct container_port *cports;
	size_t n_cports;
};

struct k8s_node {
	char *zone;
	struct ipvssvc_ip *addrs;
	size_t n_addrs;
};

struct k8s_obj {
	struct hnode node; /* by (kind, namespace, name) */
	enum k8s_kind kind;
	char *ns; /* "" for cluster-scoped objects */
	char *name;
	struct kv_list labels;
	struct kv_list annotations;
	/* all objects of a kind */
	struct k8s_obj *kprev, *knext;
	/* EndpointSlices of one Service */
	struct slice_group *group;
	struct k8s_obj *gprev, *gnext;
	union {
		struct k8s_service svc;
		struct k8s_slice slice;
		struct k8s_endpoints eps;
		struct k8s_pod pod;
		struct k8s_node nodeo;
	} u;
};

/* The EndpointSlices that name one Service (namespace, service name). */
struct slice_group {
	struct hnode node;
	char *ns;
	char *svc_name;
	struct k8s_obj *head;
	size_t n;
};

struct ipvssvc_objects {
	struct htable objs;
	struct htable groups;
	/*
	 * Interned strings (node names, hint names): never freed before the
	 * store. strings is &own_strings, or a staging store's parent's.
	 */
	struct htable own_strings;
	struct htable *strings;
	struct k8s_obj *kind_head[K8S_KIND_MAX];
	size_t kind_count[K8S_KIND_MAX];
	ipvssvc_diag_fn diag;
	void *diag_userdata;
};

/* Report through the objects' diag callback. */
void objs_diag(const struct ipvssvc_objects *objs, int level, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));

/*
 * Decode one object (a cJSON tree) and insert or replace it. kind_hint
 * names the kind when the object itself has none (items of a typed list);
 * where names the source for messages (may be NULL). Returns 1 when
 * stored, 0 when skipped (reported), -ENOMEM.
 */
int objs_upsert_tree(struct ipvssvc_objects *objs, const struct cJSON *obj,
		     const char *kind_hint, const char *where);

/*
 * Move every object of src into dst, replacing those with the same key,
 * in the order they were stored; src is left empty (or, after -ENOMEM,
 * holding what was not moved).
 */
int objs_move(struct ipvssvc_objects *dst, struct ipvssvc_objects *src);

const struct k8s_obj *objs_find(const struct ipvssvc_objects *objs,
				enum k8s_kind kind, const char *ns,
				const char *name);
const struct k8s_obj *objs_first(const struct ipvssvc_objects *objs,
				 enum k8s_kind kind);
/* The EndpointSlice group of a Service, or NULL. */
const struct slice_group *objs_slices(const struct ipvssvc_objects *objs,
				      const char *ns, const char *svc_name);

/* config.c: the settings as the model reads them. */
struct ipvssvc_config {
	char sched[IPVSSVC_SCHED_MAX];
	char ifname[IPVSSVC_IFNAME_MAX];
	struct ipvssvc_cidr *nodeport_cidrs;
	size_t n_nodeport_cidrs;
	struct ipvssvc_cidr *exclude_cidrs;
	size_t n_exclude_cidrs;
	struct ipvssvc_cidr *cluster_cidrs;
	size_t n_cluster_cidrs;
	char *proxy_name;
	char *node_name;
	char *zone;
	struct ipvssvc_ip *node_addrs;
	size_t n_node_addrs;
	ipvssvc_diag_fn diag;
	void *diag_userdata;
};

/* Scheduler flag names ("sh-port", "flag-2", ...) to IPVSSVC_SVC_F_*. */
int ipvssvc_sched_flags_parse(const char *s, uint32_t *ret);

#endif
