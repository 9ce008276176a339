/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the kubeconfig parser. The library reads kubeconfigs
 * by path only, so each input is written to a file in a private
 * directory that also holds a token file, a CA and a client key pair, so
 * that relative references resolve. Standard input is /dev/null: a
 * tokenFile naming it must not block.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char path[128];

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void cleanup(void)
{
	static const char *const names[] = {"kubeconfig", "tokfile", "ca.crt",
					    "client.crt", "client.key"};
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(dir, sizeof(dir), "%s/fuzz-kc.XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	put("tokfile", "fuzz-token\n");
	put("ca.crt", "-----BEGIN CERTIFICATE-----\n");
	put("client.crt", "-----BEGIN CERTIFICATE-----\n");
	put("client.key", "-----BEGIN PRIVATE KEY-----\n");
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	return 0;
}

static void diag(void *userdata, int level, const char *msg)
{
	if (!msg)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipvssvc_kube *k = NULL;
	char *err = NULL;
	const char *t;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	/* with the current context, and with a named one */
	r = ipvssvc_kube_new_from_kubeconfig(path, size % 2 ? "wrong" : NULL,
					     &k, &err);
	if (r == 0) {
		ipvssvc_kube_set_diag(k, diag, NULL);
		if (!ipvssvc_kube_get_server(k) ||
		    strlen(ipvssvc_kube_get_server(k)) > size + 64)
			abort();
		if (ipvssvc_kube_get_auth_info(k))
			(void)strlen(ipvssvc_kube_get_auth_info(k));
		kube_current_token(k, &t);
		ipvssvc_kube_free(k);
	} else if (err) {
		(void)strlen(err);
	}
	free(err);
	return 0;
}
