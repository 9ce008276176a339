/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the Kubernetes API client, shared by kubeconfig.c,
 * kube.c and the unit tests. Not installed.
 */
#ifndef IPVSSVC_KUBE_INTERNAL_H
#define IPVSSVC_KUBE_INTERNAL_H

#include "internal.h"

#include <stdbool.h>
#include <sys/stat.h>

#include <ipvs-svc/kube.h>

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Input limits (no legitimate object comes near them: etcd takes ~1.5 MB). */
#define KUBE_MAX_OBJECT_DEFAULT (32u << 20)
#define KUBE_MAX_ENDPOINTS_DEFAULT 100000u

/* Credentials are either a file path or inline bytes (-data, decoded). */
struct kube_blob {
	char *path;
	char *data;
	size_t len;
};

struct ipvssvc_kube {
	char *server; /* "https://host:port", no trailing slash */
	char *tls_server_name;
	bool insecure;
	struct kube_blob ca;
	struct kube_blob cert;
	struct kube_blob key;
	char *token; /* static token */
	char *token_file; /* re-read when it changes */
	char *file_token;
	struct stat token_st;
	char *auth_info; /* "token from file /x", never a secret */

	char *node_name;
	char *proxy_name;
	unsigned page_size;
	unsigned backoff_initial_ms;
	unsigned backoff_max_ms;
	unsigned backoff_auth_ms;
	unsigned watch_min_s;
	unsigned watch_max_s;
	size_t max_object; /* bytes of one object (a watch event: a bit more) */
	unsigned max_endpoints; /* endpoints of one Service, all its slices */
	char *pending_warn; /* warnings of the load, given to the first diag */

	ipvssvc_diag_fn diag;
	void *diag_userdata;
};

/* kubeconfig.c */
void kube_blob_clear(struct kube_blob *b);
/* Decode base64 (whitespace ignored); *ret is malloc'ed and NUL-ended. */
int kube_base64_decode(const char *s, char **ret, size_t *ret_len);
int kube_config_load(struct ipvssvc_kube *k, const char *path,
		     const char *context, char **ret_error);
int kube_config_in_cluster(struct ipvssvc_kube *k, const char *sa_dir,
			   char **ret_error);
/* The bearer token to send now (NULL: none); re-reads a token file. */
int kube_current_token(struct ipvssvc_kube *k, const char **ret);
void kube_diag(const struct ipvssvc_kube *k, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Keep a warning for the diag callback, which is not set during a load. */
void kube_warn_later(struct ipvssvc_kube *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Incremental framing of a stream of JSON objects (a watch body): bytes
 * go in as they arrive, whole top-level objects come out. Whitespace
 * (newlines) between objects is skipped; anything else is garbage.
 */
struct kube_framer {
	char *buf;
	size_t len; /* bytes held */
	size_t cap;
	size_t start; /* start of the current object in buf */
	size_t scan; /* bytes of buf already scanned */
	size_t max; /* largest object accepted */
	unsigned depth;
	bool in_str;
	bool esc;
};
typedef int (*kube_frame_fn)(void *userdata, const char *frame, size_t len);
void kube_framer_init(struct kube_framer *f, size_t max);
void kube_framer_reset(struct kube_framer *f);
void kube_framer_free(struct kube_framer *f);
/*
 * Feed len bytes; fn is called for each complete object. Returns 0,
 * -EBADMSG on garbage, -E2BIG past max, -ENOMEM, or fn's negative result.
 */
int kube_framer_feed(struct kube_framer *f, const char *data, size_t len,
		     kube_frame_fn fn, void *userdata);
/* True when a partial object is held. */
bool kube_framer_partial(const struct kube_framer *f);

/* Backoff: a delay for the n-th consecutive failure, jittered. */
unsigned kube_backoff_ms(unsigned initial_ms, unsigned max_ms,
			 unsigned failures, uint64_t *rng);

#endif
