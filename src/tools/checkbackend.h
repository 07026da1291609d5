/*
 * `signpost check-backend`: checks a webapp against the protocol of
 * docs/backend-api.md, through the configuration Signpost would use, and
 * prints a report per endpoint that says what is wrong and how to fix it.
 */
#ifndef SIGNPOST_TOOLS_CHECKBACKEND_H
#define SIGNPOST_TOOLS_CHECKBACKEND_H

/* Environment variable the probe user's password may come from, so that
 * it need not appear on a command line (and so in ps). */
#define CHECKBACKEND_PASSWORD_ENV "SIGNPOST_PROBE_PASSWORD"

/*
 * Runs the command; argv[0] is "check-backend". Returns the exit status:
 * 0 when no check failed (warnings allowed), 1 when one did or the
 * configuration has errors, 2 for a usage error.
 */
int checkbackend_main(int argc, char **argv);

#endif
