/* paths.c — XDG base directories for config, state and runtime files. */
#include "paths.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *
home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && *h)
		return h;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : "/";
}

/* $VAR/paloma[/leaf] when $VAR is an absolute path, else ~/fallback/paloma[/leaf]. */
static void
xdg(char *out, size_t len, const char *var, const char *fallback, const char *leaf)
{
	const char *v = getenv(var);

	if (v && v[0] == '/')
		snprintf(out, len, "%s/paloma%s%s", v, leaf ? "/" : "", leaf ? leaf : "");
	else
		snprintf(out, len, "%s/%s/paloma%s%s", home(), fallback, leaf ? "/" : "",
		    leaf ? leaf : "");
}

const char *
pl_config_path(void)
{
	static char p[4096];
	const char *env = getenv("PALOMA_CONFIG");

	if (env && *env)
		snprintf(p, sizeof p, "%s", env);
	else
		xdg(p, sizeof p, "XDG_CONFIG_HOME", ".config", "config");
	return p;
}

const char *
pl_state_dir(void)
{
	static char p[4096];

	xdg(p, sizeof p, "XDG_STATE_HOME", ".local/state", NULL);
	return p;
}

const char *
pl_runtime_dir(void)
{
	static char p[4096];
	const char *v = getenv("XDG_RUNTIME_DIR");

	if (v && v[0] == '/')
		snprintf(p, sizeof p, "%s/paloma", v);
	else
		snprintf(p, sizeof p, "%s", pl_state_dir());
	return p;
}

char *
pl_expand_home(const char *path)
{
	struct buf b = { 0 };

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		buf_adds(&b, home());
		buf_adds(&b, path + 1);
		return buf_steal(&b);
	}
	return xstrdup(path);
}
