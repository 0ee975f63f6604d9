/* paths.h — where paloma keeps its files (XDG base directories). */
#ifndef PALOMA_PATHS_H
#define PALOMA_PATHS_H

/* $XDG_CONFIG_HOME/paloma/config, or $PALOMA_CONFIG.  Static storage. */
const char *pl_config_path(void);
/* $XDG_STATE_HOME/paloma (default ~/.local/state/paloma).  Static storage. */
const char *pl_state_dir(void);
/* $XDG_RUNTIME_DIR/paloma, or the state directory when there is no runtime dir. */
const char *pl_runtime_dir(void);
/* Expands a leading ~/ to $HOME.  Returns a new string. */
char *pl_expand_home(const char *path);

#endif
