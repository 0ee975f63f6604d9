/* event.c — poll(2) loop with timers for the daemon. */
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define POLLER_MAX 64

struct watch {
	int fd;
	int events;
	pl_io_cb cb;
	void *arg;
};

struct pl_timer {
	int64_t when;
	pl_timer_cb cb;
	void *arg;
	struct pl_timer *next;
};

struct pl_loop {
	struct watch *w;
	size_t nw, capw;
	struct pl_timer *timers;	/* sorted by when */
	pl_prepare_cb prep;
	pl_dispatch_cb disp;
	void *parg;
	struct pollfd *pfd;
	size_t cappfd;
};

struct pl_loop *
pl_loop_new(void)
{
	return xcalloc(1, sizeof(struct pl_loop));
}

void
pl_loop_free(struct pl_loop *l)
{
	while (l->timers) {
		struct pl_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	free(l->w);
	free(l->pfd);
	free(l);
}

static struct watch *
find(struct pl_loop *l, int fd)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd)
			return &l->w[i];
	return NULL;
}

void
pl_loop_add(struct pl_loop *l, int fd, int events, pl_io_cb cb, void *arg)
{
	struct watch *w = find(l, fd);

	if (w == NULL) {
		if (l->nw == l->capw) {
			l->capw = l->capw ? l->capw * 2 : 16;
			l->w = xrealloc(l->w, l->capw * sizeof *l->w);
		}
		w = &l->w[l->nw++];
	}
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
}

void
pl_loop_set_events(struct pl_loop *l, int fd, int events)
{
	struct watch *w = find(l, fd);

	if (w)
		w->events = events;
}

void
pl_loop_del(struct pl_loop *l, int fd)
{
	struct watch *w = find(l, fd);

	/* Mark only: the dispatch loop may be iterating over l->w. */
	if (w)
		w->fd = -1;
}

struct pl_timer *
pl_timer_add(struct pl_loop *l, int64_t ms, pl_timer_cb cb, void *arg)
{
	struct pl_timer *t = xcalloc(1, sizeof *t), **pp;

	t->when = pl_mono_ms() + (ms > 0 ? ms : 0);
	t->cb = cb;
	t->arg = arg;
	for (pp = &l->timers; *pp && (*pp)->when <= t->when; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

void
pl_timer_cancel(struct pl_loop *l, struct pl_timer *t)
{
	for (struct pl_timer **pp = &l->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
}

void
pl_loop_set_poller(struct pl_loop *l, pl_prepare_cb prep, pl_dispatch_cb disp, void *arg)
{
	l->prep = prep;
	l->disp = disp;
	l->parg = arg;
}

static void
compact(struct pl_loop *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd >= 0)
			l->w[j++] = l->w[i];
	l->nw = j;
}

int
pl_loop_once(struct pl_loop *l, int max_ms)
{
	int timeout = max_ms, nextra = 0, n;
	size_t nw;

	compact(l);
	nw = l->nw;
	if (l->cappfd < nw + POLLER_MAX) {
		l->cappfd = nw + POLLER_MAX;
		l->pfd = xrealloc(l->pfd, l->cappfd * sizeof *l->pfd);
	}
	for (size_t i = 0; i < nw; i++) {
		l->pfd[i].fd = l->w[i].fd;
		l->pfd[i].events = (short)l->w[i].events;
		l->pfd[i].revents = 0;
	}
	if (l->timers) {
		int64_t d = l->timers->when - pl_mono_ms();
		if (d < 0)
			d = 0;
		if (timeout < 0 || d < timeout)
			timeout = (int)(d > 3600000 ? 3600000 : d);
	}
	if (l->prep)
		nextra = l->prep(l->parg, l->pfd + nw, POLLER_MAX, &timeout);
	n = poll(l->pfd, nw + (size_t)nextra, timeout);
	if (n < 0 && errno != EINTR)
		return -1;
	if (n > 0) {
		for (size_t i = 0; i < nw; i++) {
			struct watch *w = &l->w[i];
			if (l->pfd[i].revents && w->fd == l->pfd[i].fd && w->fd >= 0)
				w->cb(w->arg, w->fd, l->pfd[i].revents);
		}
	}
	if (l->disp)
		l->disp(l->parg, l->pfd + nw, nextra);
	/* Timers that are due, including ones added by callbacks meanwhile. */
	for (int64_t now = pl_mono_ms(); l->timers && l->timers->when <= now; ) {
		struct pl_timer *t = l->timers;
		l->timers = t->next;
		t->cb(t->arg);
		free(t);
	}
	return 0;
}
