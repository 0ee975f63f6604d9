/* test_fuzz_corpus.c — replays every seed in tests/fuzz/corpus/TARGET/
 * through its fuzz target, so that each input a fuzzer once crashed on stays
 * a regression test.  The targets are compiled in from tests/fuzz/; each file
 * runs in a child process, so that a crash (or a failed CHECK, which aborts)
 * is one failed test named after the file.  The source tree is the parent of
 * $PALOMA_BUILD (set by tests/run), else the current directory. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_addr_entry
#include "../fuzz/fuzz_addr.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_message_entry
#include "../fuzz/fuzz_message.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_config_entry
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_envelope_entry
#include "../fuzz/fuzz_envelope.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_smtp_reply_entry
#include "../fuzz/fuzz_smtp_reply.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_syncstate_entry
#include "../fuzz/fuzz_syncstate.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_mime_entry
#include "../fuzz/fuzz_mime.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_spf_entry
#include "../fuzz/fuzz_spf.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_pop3_entry
#include "../fuzz/fuzz_pop3.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_dns_entry
#include "../fuzz/fuzz_dns.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_imap_entry
#include "../fuzz/fuzz_imap.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_report_entry
#include "../fuzz/fuzz_report.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_queuefiles_entry
#include "../fuzz/fuzz_queuefiles.c"
#undef LLVMFuzzerTestOneInput
#undef CHECK
#define LLVMFuzzerTestOneInput fuzz_mtasts_entry
#include "../fuzz/fuzz_mtasts.c"
#undef LLVMFuzzerTestOneInput

typedef int (*entry_fn)(const uint8_t *, size_t);

static const struct {
	const char *name;
	entry_fn fn;
} targets[] = {
	{ "fuzz_addr", fuzz_addr_entry },
	{ "fuzz_message", fuzz_message_entry },
	{ "fuzz_config", fuzz_config_entry },
	{ "fuzz_envelope", fuzz_envelope_entry },
	{ "fuzz_smtp_reply", fuzz_smtp_reply_entry },
	{ "fuzz_syncstate", fuzz_syncstate_entry },
	{ "fuzz_mime", fuzz_mime_entry },
	{ "fuzz_spf", fuzz_spf_entry },
	{ "fuzz_pop3", fuzz_pop3_entry },
	{ "fuzz_dns", fuzz_dns_entry },
	{ "fuzz_imap", fuzz_imap_entry },
	{ "fuzz_report", fuzz_report_entry },
	{ "fuzz_queuefiles", fuzz_queuefiles_entry },
	{ "fuzz_mtasts", fuzz_mtasts_entry },
};

static int
read_all(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	*data = (uint8_t *)buf_steal(&b);
	return 0;
}

/* Runs fn on the file in a child; 0 when it returned normally. */
static int
replay(entry_fn fn, const char *path, char *why, size_t whylen)
{
	uint8_t *data;
	size_t len;
	pid_t pid;
	int st;

	if (read_all(path, &data, &len) < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		free(data);
		return -1;
	}
	if (pid == 0) {
		/* A copy of exactly len bytes, so that ASan sees any overread. */
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, data, len);
		fn(copy, len);
		free(copy);
		free(data);
		_exit(0);
	}
	free(data);
	if (waitpid(pid, &st, 0) < 0) {
		snprintf(why, whylen, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(st)) {
		snprintf(why, whylen, "killed by signal %d", WTERMSIG(st));
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(why, whylen, "exit status %d", WEXITSTATUS(st));
		return -1;
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file names in dir, sorted; NULL when dir cannot be read. */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof *v, name_cmp);
	return v ? v : xcalloc(1, sizeof *v);
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
main(void)
{
	const char *build = getenv("PALOMA_BUILD");
	char top[4096], corpus[4300];
	char **dirs;
	size_t ndirs, nknown = 0;

	if (build && *build)
		snprintf(top, sizeof top, "%s/..", build);
	else
		snprintf(top, sizeof top, ".");
	snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus", top);
	dirs = list_dir(corpus, &ndirs);
	OK(dirs != NULL && ndirs > 0, "corpus directory %s found", corpus);
	if (dirs == NULL)
		return tap_done();
	for (size_t i = 0; i < ndirs; i++) {
		char dir[4600], path[4900], why[256];
		entry_fn fn = NULL;
		char **files;
		size_t nfiles;

		for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++)
			if (strcmp(targets[t].name, dirs[i]) == 0)
				fn = targets[t].fn;
		if (fn == NULL) {
			printf("ok %d - corpus %s # SKIP no target compiled into this test\n", ++tap_n,
			    dirs[i]);
			continue;
		}
		nknown++;
		snprintf(dir, sizeof dir, "%s/%s", corpus, dirs[i]);
		files = list_dir(dir, &nfiles);
		OK(files != NULL && nfiles > 0, "corpus %s has seeds", dirs[i]);
		for (size_t k = 0; files && k < nfiles; k++) {
			int rc;

			snprintf(path, sizeof path, "%s/%s", dir, files[k]);
			why[0] = '\0';
			rc = replay(fn, path, why, sizeof why);
			OK(rc == 0, "%s/%s replays cleanly%s%s", dirs[i], files[k], *why ? ": " : "",
			    why);
		}
		if (files)
			free_list(files, nfiles);
	}
	OK(nknown >= 4, "the address, message, config and envelope corpora were replayed");
	free_list(dirs, ndirs);
	return tap_done();
}
