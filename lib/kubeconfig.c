/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connection settings: a kubeconfig file (libyaml) or the in-cluster
 * service account. Relative paths in a kubeconfig are relative to the
 * file's directory, as client-go resolves them.
 */
#include "kube-internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

void kube_diag(const struct ipvssvc_kube *k, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!k || !k->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->diag(k->diag_userdata, level, msg);
}

void kube_warn_later(struct ipvssvc_kube *k, const char *fmt, ...)
{
	char msg[1024], *n;
	size_t ol = k->pending_warn ? strlen(k->pending_warn) : 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one message a line */
	n = realloc(k->pending_warn, ol + strlen(msg) + 2);
	if (!n)
		return;
	memcpy(n + ol, msg, strlen(msg));
	n[ol + strlen(msg)] = '\n';
	n[ol + strlen(msg) + 1] = '\0';
	k->pending_warn = n;
}

/* A file that holds a secret must not be readable by others. */
static void check_private(struct ipvssvc_kube *k, const char *what,
			  const char *path, const char *note)
{
	struct stat st;

	if (!path || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))
		kube_warn_later(k,
				"%s %s%s is readable or writable by group or "
				"others (mode %04o): chmod 600 it",
				what, path, note,
				(unsigned)(st.st_mode & 07777));
}

static void check_security(struct ipvssvc_kube *k, const char *path)
{
	if (k->insecure)
		kube_warn_later(k,
				"%s: insecure-skip-tls-verify is set: the API "
				"server %s is not authenticated, anyone on "
				"the path can feed this node its rules",
				path, k->server);
	if (k->token || k->key.data)
		check_private(k, "the kubeconfig", path,
			      " (it holds a credential)");
	check_private(k, "the token file", k->token_file, "");
	check_private(k, "the client key", k->key.path, "");
}

void kube_blob_clear(struct kube_blob *b)
{
	free(b->path);
	if (b->data) {
		/* may be a private key */
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->path = NULL;
	b->data = NULL;
	b->len = 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int kube_base64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s), o = 0;
	unsigned acc = 0, bits = 0;
	char *out;

	out = malloc(n / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;
	for (; *s; s++) {
		int v;

		if (*s == '=' || *s == ' ' || *s == '\n' || *s == '\r' ||
		    *s == '\t')
			continue;
		v = b64_value((unsigned char)*s);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
}

static int read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		     struct stat *ret_st)
{
	struct stat st;
	size_t len = 0, cap = 4096;
	char *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= max) {
				r = -EFBIG;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	if (ret_st)
		*ret_st = st;
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int kube_current_token(struct ipvssvc_kube *k, const char **ret)
{
	struct stat st;
	char *data, *t;
	int r;

	if (!k->token_file) {
		*ret = k->token;
		return 0;
	}
	/* Projected tokens rotate: re-read when the file changes. */
	if (stat(k->token_file, &st) < 0) {
		if (k->file_token) {
			*ret = k->file_token;
			return 0;
		}
		return -errno;
	}
	if (k->file_token && st.st_ino == k->token_st.st_ino &&
	    st.st_dev == k->token_st.st_dev &&
	    st.st_size == k->token_st.st_size &&
	    st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec) {
		*ret = k->file_token;
		return 0;
	}
	r = read_file(k->token_file, 1 << 20, &data, NULL, &st);
	if (r < 0) {
		if (k->file_token) {
			*ret = k->file_token;
			return 0;
		}
		return r;
	}
	t = strdup(trim(data));
	explicit_bzero(data, strlen(data));
	free(data);
	if (!t)
		return -ENOMEM;
	if (k->file_token) {
		explicit_bzero(k->file_token, strlen(k->file_token));
		free(k->file_token);
	}
	k->file_token = t;
	k->token_st = st;
	*ret = t;
	return 0;
}

/* libyaml document helpers */

static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map,
			    const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *map_str(yaml_document_t *doc, yaml_node_t *map,
			   const char *key)
{
	const char *s = scalar(map_get(doc, map, key));

	return s && *s ? s : NULL;
}

/* The "sub" mapping of the entry of list named name (clusters, users). */
static yaml_node_t *named(yaml_document_t *doc, yaml_node_t *root,
			  const char *list, const char *name, const char *sub)
{
	yaml_node_t *seq = map_get(doc, root, list);
	yaml_node_item_t *i;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top; i++) {
		yaml_node_t *e = yaml_document_get_node(doc, *i);
		const char *n = map_str(doc, e, "name");

		if (n && strcmp(n, name) == 0)
			return map_get(doc, e, sub);
	}
	return NULL;
}

static int set_error(char **ret_error, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int set_error(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return 0;
	free(*ret_error);
	*ret_error = NULL;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return 0;
}

static char *resolve_path(const char *base_dir, const char *p)
{
	char *r;

	if (p[0] == '/' || !base_dir)
		return strdup(p);
	if (asprintf(&r, "%s/%s", base_dir, p) < 0)
		return NULL;
	return r;
}

/* Fill b from key-data (base64) or key (a path); neither is fine. */
static int load_blob(yaml_document_t *doc, yaml_node_t *map, const char *key,
		     const char *base_dir, struct kube_blob *b,
		     char **ret_error)
{
	char datakey[64];
	const char *s;
	int r;

	snprintf(datakey, sizeof(datakey), "%s-data", key);
	s = map_str(doc, map, datakey);
	if (s) {
		r = kube_base64_decode(s, &b->data, &b->len);
		if (r < 0) {
			set_error(ret_error, "%s is not valid base64", datakey);
			return r;
		}
		return 0;
	}
	s = map_str(doc, map, key);
	if (s) {
		b->path = resolve_path(base_dir, s);
		if (!b->path)
			return -ENOMEM;
		if (access(b->path, R_OK) < 0) {
			r = -errno;
			set_error(ret_error, "%s %s: %s", key, b->path,
				  strerror(-r));
			return r;
		}
	}
	return 0;
}

static int set_auth_info(struct ipvssvc_kube *k, const char *user)
{
	char *s = NULL;
	int r;

	if (k->token_file)
		r = asprintf(&s, "user \"%s\": token from file %s%s",
			     user ? user : "", k->token_file,
			     k->cert.path || k->cert.data ? " and client "
							    "certificate"
							  : "");
	else if (k->token)
		r = asprintf(&s, "user \"%s\": token%s", user ? user : "",
			     k->cert.path || k->cert.data ? " and client "
							    "certificate"
							  : "");
	else if (k->cert.path)
		r = asprintf(&s, "user \"%s\": client certificate %s",
			     user ? user : "", k->cert.path);
	else if (k->cert.data)
		r = asprintf(&s, "user \"%s\": client certificate (inline)",
			     user ? user : "");
	else
		r = asprintf(&s, "user \"%s\": no credentials",
			     user ? user : "");
	if (r < 0)
		return -ENOMEM;
	free(k->auth_info);
	k->auth_info = s;
	return 0;
}

static int load_doc(struct ipvssvc_kube *k, yaml_document_t *doc,
		    const char *path, const char *context, char **ret_error)
{
	yaml_node_t *root, *ctx, *cluster, *user = NULL;
	const char *cname, *clname, *uname, *s;
	char *base_dir = NULL, *slash;
	int r;

	root = yaml_document_get_root_node(doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		set_error(ret_error, "%s: not a kubeconfig", path);
		return -EINVAL;
	}
	cname = context ? context : map_str(doc, root, "current-context");
	if (!cname) {
		set_error(ret_error, "%s: no current-context and no --context",
			  path);
		return -EINVAL;
	}
	ctx = named(doc, root, "contexts", cname, "context");
	if (!ctx) {
		set_error(ret_error, "%s: context \"%s\" not found", path,
			  cname);
		return -EINVAL;
	}
	clname = map_str(doc, ctx, "cluster");
	cluster = clname ? named(doc, root, "clusters", clname, "cluster")
			 : NULL;
	if (!cluster) {
		set_error(ret_error,
			  "%s: cluster \"%s\" of context \"%s\" not found",
			  path, clname ? clname : "", cname);
		return -EINVAL;
	}
	uname = map_str(doc, ctx, "user");
	if (uname) {
		user = named(doc, root, "users", uname, "user");
		if (!user) {
			set_error(ret_error,
				  "%s: user \"%s\" of context \"%s\" not found",
				  path, uname, cname);
			return -EINVAL;
		}
	}

	base_dir = strdup(path);
	if (!base_dir)
		return -ENOMEM;
	slash = strrchr(base_dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(base_dir, ".");

	s = map_str(doc, cluster, "server");
	if (!s) {
		set_error(ret_error, "%s: cluster \"%s\" has no server", path,
			  clname);
		r = -EINVAL;
		goto out;
	}
	r = ipvssvc_kube_set_master(k, s);
	if (r < 0) {
		set_error(ret_error, "%s: cluster \"%s\": bad server URL %s",
			  path, clname, s);
		goto out;
	}
	s = map_str(doc, cluster, "tls-server-name");
	if (s && !(k->tls_server_name = strdup(s))) {
		r = -ENOMEM;
		goto out;
	}
	s = map_str(doc, cluster, "insecure-skip-tls-verify");
	k->insecure = s &&
		      (strcasecmp(s, "true") == 0 ||
		       strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0);
	r = load_blob(doc, cluster, "certificate-authority", base_dir, &k->ca,
		      ret_error);
	if (r < 0)
		goto out;

	if (user) {
		if (map_get(doc, user, "exec")) {
			set_error(ret_error,
				  "%s: user \"%s\": exec credential plugins "
				  "are not supported",
				  path, uname);
			r = -EOPNOTSUPP;
			goto out;
		}
		if (map_get(doc, user, "auth-provider")) {
			set_error(ret_error,
				  "%s: user \"%s\": auth-provider is not "
				  "supported",
				  path, uname);
			r = -EOPNOTSUPP;
			goto out;
		}
		if (map_str(doc, user, "username") ||
		    map_str(doc, user, "password")) {
			set_error(ret_error,
				  "%s: user \"%s\": basic authentication is "
				  "not supported",
				  path, uname);
			r = -EOPNOTSUPP;
			goto out;
		}
		s = map_str(doc, user, "token");
		if (s && !(k->token = strdup(s))) {
			r = -ENOMEM;
			goto out;
		}
		s = map_str(doc, user, "tokenFile");
		if (s && !k->token) {
			const char *t;

			k->token_file = resolve_path(base_dir, s);
			if (!k->token_file) {
				r = -ENOMEM;
				goto out;
			}
			r = kube_current_token(k, &t);
			if (r < 0) {
				set_error(ret_error, "%s: tokenFile %s: %s",
					  path, k->token_file, strerror(-r));
				goto out;
			}
		}
		r = load_blob(doc, user, "client-certificate", base_dir,
			      &k->cert, ret_error);
		if (r < 0)
			goto out;
		r = load_blob(doc, user, "client-key", base_dir, &k->key,
			      ret_error);
		if (r < 0)
			goto out;
		if ((k->cert.path || k->cert.data) !=
		    (k->key.path || k->key.data)) {
			set_error(ret_error,
				  "%s: user \"%s\": client-certificate and "
				  "client-key go together",
				  path, uname);
			r = -EINVAL;
			goto out;
		}
	}
	r = set_auth_info(k, uname);
out:
	free(base_dir);
	return r;
}

int kube_config_load(struct ipvssvc_kube *k, const char *path,
		     const char *context, char **ret_error)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t len;
	char *data;
	int r;

	r = read_file(path, 16 << 20, &data, &len, NULL);
	if (r < 0) {
		set_error(ret_error, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(data);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_error(ret_error, "%s:%zu:%zu: %s", path,
			  parser.problem_mark.line + 1,
			  parser.problem_mark.column + 1,
			  parser.problem ? parser.problem : "bad YAML");
		yaml_parser_delete(&parser);
		explicit_bzero(data, len);
		free(data);
		return -EINVAL;
	}
	r = load_doc(k, &doc, path, context, ret_error);
	if (r >= 0)
		check_security(k, path);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	/* the file may hold a token or a key */
	explicit_bzero(data, len);
	free(data);
	return r;
}

int kube_config_in_cluster(struct ipvssvc_kube *k, const char *sa_dir,
			   char **ret_error)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *url = NULL;
	const char *t;
	int r;

	if (!sa_dir)
		sa_dir = KUBE_SA_DIR;
	if (!host || !*host || !port || !*port) {
		set_error(ret_error, "not in a cluster: "
				     "KUBERNETES_SERVICE_HOST and "
				     "KUBERNETES_SERVICE_PORT are not set");
		return -ENOENT;
	}
	if (asprintf(&url,
		     strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
		     host, port) < 0)
		return -ENOMEM;
	r = ipvssvc_kube_set_master(k, url);
	free(url);
	if (r < 0) {
		set_error(ret_error, "bad KUBERNETES_SERVICE_HOST/PORT");
		return r;
	}
	if (asprintf(&k->token_file, "%s/token", sa_dir) < 0) {
		k->token_file = NULL;
		return -ENOMEM;
	}
	if (asprintf(&k->ca.path, "%s/ca.crt", sa_dir) < 0) {
		k->ca.path = NULL;
		return -ENOMEM;
	}
	r = kube_current_token(k, &t);
	if (r < 0) {
		set_error(ret_error, "service account token %s: %s",
			  k->token_file, strerror(-r));
		return r;
	}
	if (access(k->ca.path, R_OK) < 0) {
		r = -errno;
		set_error(ret_error, "service account CA %s: %s", k->ca.path,
			  strerror(-r));
		return r;
	}
	free(k->auth_info);
	if (asprintf(&k->auth_info, "service account token from file %s",
		     k->token_file) < 0) {
		k->auth_info = NULL;
		return -ENOMEM;
	}
	return 0;
}
