/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ipvs-svc: Kubernetes Services as Linux IPVS rules. Command dispatch. */
#include "config.h"

#include <string.h>

#include "ipvs-svc.h"

static const struct command *const commands[] = {
	&cmd_sync, &cmd_diff, &cmd_status, &cmd_cleanup, &cmd_run,
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s COMMAND [OPTIONS]\n"
		"\n"
		"Kubernetes Services as Linux IPVS rules: a drop-in for\n"
		"kube-proxy's IPVS mode, one command at a time.\n"
		"\n"
		"Commands:\n",
		program_name);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -h, --help     show this help\n"
		"  --version      show the version\n"
		"\n"
		"Run '%s COMMAND --help' for a command's options.\n",
		program_name);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct options o;
	int r;

	if (argc < 2) {
		log_err("no command given; run '%s --help' for the commands",
			program_name);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("ipvs-svc %s (libipvs-svc %s)\n", PACKAGE_VERSION,
		       ipvssvc_version());
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (!cmd) {
			log_err("unknown command '%s'; run '%s --help' for the "
				"commands",
				argv[2], program_name);
			return EXIT_USAGE;
		}
		if (cmd->main) {
			char *hargv[] = {argv[2], (char *)"--help", NULL};

			return cmd->main(2, hargv);
		}
		print_command_help(cmd, stdout);
		return EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		if (argv[1][0] == '-')
			log_err("'%s' before a command; run '%s --help' for "
				"the commands",
				argv[1], program_name);
		else
			log_err("unknown command '%s'; run '%s --help' for "
				"the commands",
				argv[1], program_name);
		return EXIT_USAGE;
	}
	if (cmd->main)
		return cmd->main(argc - 1, argv + 1);
	r = parse_options(cmd, argc - 1, argv + 1, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	return cmd->run(&o);
}
