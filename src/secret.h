/* secret.h — runs the account's password_command or oauth2_token_command and
 * hands back what it prints, without a shell and without logging it. */
#ifndef PALOMA_SECRET_H
#define PALOMA_SECRET_H

#include "util.h"

/* The most a secret command may print. */
#define PL_SECRET_MAX (64 * 1024)

/* Splits cmd into words the way a shell would, but with nothing else of a
 * shell: no variables, no globbing, no ~, no pipes, no ';' or redirections
 * (those are plain characters).  Rules:
 *   - blanks (space, tab, newline) separate words;
 *   - '…' keeps everything up to the next ' as is;
 *   - "…" keeps everything up to the next unescaped ", where \" and \\ stand
 *     for " and \ and any other backslash is kept;
 *   - outside quotes, a backslash makes the next character plain;
 *   - quoted parts join the word around them: a'b c'd is one word, "" an
 *     empty one.
 * An open quote, a final lone backslash or no word at all is an error
 * (EX_CONFIG).  *argv is NULL-terminated; free it with pl_free_words. */
int pl_split_words(const char *cmd, char ***argv, struct pl_err *e);
void pl_free_words(char **argv);

/* Runs cmd (split as above, found through PATH) with stdin from /dev/null,
 * its stderr passed through and its stdout captured; *out (the caller
 * frees it, after clearing it) gets the output without one trailing newline.
 * Errors name the program and why (exit status, signal, timeout, not found,
 * more than PL_SECRET_MAX bytes, a NUL byte, nothing printed), never the
 * output.  The program is killed after timeout_ms milliseconds. */
int pl_run_secret_command_timeout(const char *cmd, int timeout_ms, char **out,
    struct pl_err *e);
/* The same with a 30 second timeout. */
int pl_run_secret_command(const char *cmd, char **out, struct pl_err *e);

/* ---- The same without waiting, for an event loop (the daemon) ----
 *
 *   pl_secret_start(cmd, &r, e)     spawns it
 *   then, whenever pl_secret_fd(r) is readable (or, when it is -1, the
 *   command has printed all and has yet to exit: a little later),
 *   pl_secret_step(r, &out, e)      0: not done, wait again;
 *                                   1: *out as above; -1: e says why
 *   pl_secret_abort(r, ms, e)       at the deadline, or to give up
 * After 1, -1 or pl_secret_abort, r is freed (its buffer cleared) and the
 * command reaped. */
struct pl_secret_run;
int pl_secret_start(const char *cmd, struct pl_secret_run **r, struct pl_err *e);
int pl_secret_fd(const struct pl_secret_run *r);
int pl_secret_step(struct pl_secret_run *r, char **out, struct pl_err *e);
/* Kills and reaps the command; e (may be NULL) gets "CMD: no answer
 * within MS ms, killed".  r may be NULL. */
void pl_secret_abort(struct pl_secret_run *r, int timeout_ms, struct pl_err *e);

struct pl_account;
/* The account's password (password_command) or XOAUTH2 token
 * (oauth2_token_command; *is_oauth set to 1): *secret to clear and free.
 * EX_CONFIG when the account has neither command. */
int pl_account_secret(const struct pl_account *a, char **secret, int *is_oauth,
    struct pl_err *e);

#endif
