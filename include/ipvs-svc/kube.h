/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes API client: a connection (kubeconfig, in-cluster or
 * --master) and a cache of Services, EndpointSlices and this node's Node
 * kept by list and watch, the way client-go's reflector does. Changes go
 * into an ipvssvc_objects and are announced through a callback.
 */
/* ipvs-svc.h first: it includes every header, in dependency order. */
#include <ipvs-svc/ipvs-svc.h>
#ifndef IPVS_SVC_KUBE_H
#define IPVS_SVC_KUBE_H

#include <ipvs-svc/ipvs-svc.h>
#include <ipvs-svc/objects.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipvssvc_kube ipvssvc_kube;
typedef struct ipvssvc_kube_watch ipvssvc_kube_watch;

/*
 * A connection from a kubeconfig file: context NULL means the file's
 * current-context. An exec or auth-provider user is -EOPNOTSUPP; a file
 * that does not parse or lacks what is needed is -EINVAL. The reason is
 * in *ret_error (malloc'ed, may be NULL) when ret_error is not NULL.
 */
int ipvssvc_kube_new_from_kubeconfig(const char *path, const char *context,
				     ipvssvc_kube **ret, char **ret_error);
/*
 * In-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and
 * token and ca.crt in sa_dir (NULL: the standard service-account
 * directory). -ENOENT when not in a cluster.
 */
int ipvssvc_kube_new_in_cluster(const char *sa_dir, ipvssvc_kube **ret,
				char **ret_error);
/* Only a server URL, no credentials (as kube-proxy with --master only). */
int ipvssvc_kube_new_from_master(const char *url, ipvssvc_kube **ret);
/*
 * kube-proxy's choice: the kubeconfig when given (master, when given,
 * overrides its server), else master alone, else in-cluster.
 */
int ipvssvc_kube_new_default(const char *kubeconfig, const char *context,
			     const char *master, ipvssvc_kube **ret,
			     char **ret_error);
void ipvssvc_kube_free(ipvssvc_kube *kube);

/* Replace the server URL ("https://host:port"); -EINVAL if not http(s). */
int ipvssvc_kube_set_master(ipvssvc_kube *kube, const char *url);
void ipvssvc_kube_set_diag(ipvssvc_kube *kube, ipvssvc_diag_fn fn,
			   void *userdata);
/* Watch this node's Node (none when unset). */
int ipvssvc_kube_set_node_name(ipvssvc_kube *kube, const char *name);
/* Select Services labelled service.kubernetes.io/service-proxy-name=NAME. */
int ipvssvc_kube_set_service_proxy_name(ipvssvc_kube *kube, const char *name);
/* Objects per list page (default 500; 0: no paging). */
void ipvssvc_kube_set_page_size(ipvssvc_kube *kube, unsigned limit);
/*
 * Retry delays: first delay, cap, and the slow delay after 401 and 403
 * (defaults 800 ms, 30 s, 60 s). Jitter is added to each.
 */
void ipvssvc_kube_set_backoff(ipvssvc_kube *kube, unsigned initial_ms,
			      unsigned max_ms, unsigned auth_ms);
/* timeoutSeconds of watches, chosen at random in [min_s, max_s]. */
void ipvssvc_kube_set_watch_timeout(ipvssvc_kube *kube, unsigned min_s,
				    unsigned max_s);
/* The server URL in use. */
const char *ipvssvc_kube_get_server(const ipvssvc_kube *kube);
/* A description of the credentials, never the secrets themselves. */
const char *ipvssvc_kube_get_auth_info(const ipvssvc_kube *kube);

/*
 * List Services, EndpointSlices and (when a node name is set) the Node
 * once, page by page, into objs. Transient errors are retried a few
 * times; -EACCES on 401/403, -EPROTO when TLS verification fails,
 * -ETIMEDOUT, -ECONNREFUSED, -EIO otherwise. The reasons go to the
 * diag callback.
 */
int ipvssvc_kube_list_into(ipvssvc_kube *kube, ipvssvc_objects *objs);

/* A change applied to the cache. */
enum ipvssvc_kube_event {
	IPVSSVC_KUBE_ADDED = 1,
	IPVSSVC_KUBE_MODIFIED,
	IPVSSVC_KUBE_DELETED,
};
const char *ipvssvc_kube_event_name(enum ipvssvc_kube_event ev);
typedef void (*ipvssvc_kube_change_fn)(void *userdata, const char *kind,
				       const char *namespace_, const char *name,
				       enum ipvssvc_kube_event ev);

/*
 * A watcher keeps objs equal to the server's Services, EndpointSlices
 * and Node: each kind is listed, then watched from the list's
 * resourceVersion; 410 Gone relists and turns the difference into
 * changes. fn (may be NULL) is called after each change is applied,
 * from within process(); it must not free the watcher. The watcher
 * borrows kube and objs (objs may be NULL: the cache alone), which must
 * outlive it.
 */
int ipvssvc_kube_watch_new(ipvssvc_kube *kube, ipvssvc_objects *objs,
			   ipvssvc_kube_change_fn fn, void *userdata,
			   ipvssvc_kube_watch **ret);
void ipvssvc_kube_watch_free(ipvssvc_kube_watch *w);
/*
 * For an event loop: poll get_fd() for POLLIN with get_timeout() (ms,
 * -1 for none), then call process(). process() never blocks.
 */
int ipvssvc_kube_watch_get_fd(const ipvssvc_kube_watch *w);
int ipvssvc_kube_watch_get_timeout(ipvssvc_kube_watch *w);
/* Returns the number of changes applied, or -errno. */
int ipvssvc_kube_watch_process(ipvssvc_kube_watch *w);
/* Wait at most timeout_ms (-1: forever) for something, then process. */
int ipvssvc_kube_watch_step(ipvssvc_kube_watch *w, int timeout_ms);
/*
 * Run until *stop becomes true or timeout_ms passes (-1: no limit).
 * Returns 0 (stopped), -ETIMEDOUT, or -errno.
 */
int ipvssvc_kube_watch_run(ipvssvc_kube_watch *w, const volatile int *stop,
			   int timeout_ms);
/* True once every kind has been listed completely at least once. */
bool ipvssvc_kube_watch_synced(const ipvssvc_kube_watch *w);
/* The last resourceVersion seen for kind ("Service", ...), or NULL. */
const char *ipvssvc_kube_watch_resource_version(const ipvssvc_kube_watch *w,
						const char *kind);
/* Number of objects of kind in the cache. */
size_t ipvssvc_kube_watch_count(const ipvssvc_kube_watch *w, const char *kind);
/*
 * The i-th object of kind in (namespace, name) order. Returns 0 or
 * -ERANGE; the strings stay valid until the next process().
 */
int ipvssvc_kube_watch_get(const ipvssvc_kube_watch *w, const char *kind,
			   size_t i, const char **ret_namespace,
			   const char **ret_name,
			   const char **ret_resource_version);

#ifdef __cplusplus
}
#endif

#endif
