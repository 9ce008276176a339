/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the run command's KubeProxyConfiguration parser
 * (src/config-file.c, compiled in here: it belongs to the tool, not the
 * library). Each input is written to a file and read through
 * run_parse_args("--config FILE"), as the daemon reads it; its first
 * line is also given to the duration and address:port parsers. The
 * tool's logging is replaced by a check that each message is a string.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config-file.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

const char *program_name = "fuzz-kpconfig";
int log_verbosity;

void log_msg(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level < 0 || !*buf)
		abort();
}

static char dir[64];
static char path[128];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz-kp.XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	atexit(cleanup);
	/* -h in the input must not print the help for every run */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

static void check_settings(const struct run_settings *s)
{
	struct sockaddr_storage ss;

	/* after a successful load the bind addresses are address:port */
	if (s->healthz_bind && *s->healthz_bind &&
	    run_parse_hostport(s->healthz_bind, &ss) < 0)
		abort();
	if (s->metrics_bind && *s->metrics_bind &&
	    run_parse_hostport(s->metrics_bind, &ss) < 0)
		abort();
	if (s->min_sync_period_ms > s->sync_period_ms || !s->sync_period_ms)
		abort();
	if (s->scheduler)
		(void)strlen(s->scheduler);
	if (s->exclude_cidrs)
		(void)strlen(s->exclude_cidrs);
	if (s->nodeport_addresses)
		(void)strlen(s->nodeport_addresses);
	if (s->kubeconfig)
		(void)strlen(s->kubeconfig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = {"run", "--config", path, NULL};
	struct run_settings s;
	struct sockaddr_storage ss;
	char line[256];
	size_t n;
	uint64_t ms;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	r = run_parse_args(3, argv, &s);
	if (r == 0)
		check_settings(&s);
	run_settings_done(&s);

	/* the value parsers on the first line */
	for (n = 0; n < size && n < sizeof(line) - 1 && data[n] != '\n'; n++)
		line[n] = (char)data[n];
	line[n] = '\0';
	if (run_parse_duration(line, &ms) == 0 && ms > (uint64_t)1e15 + 1)
		abort();
	(void)run_parse_hostport(line, &ss);
	return 0;
}
