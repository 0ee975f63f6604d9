/* event.h — the daemon's one event loop: poll(2) over a handful of sockets,
 * plus timers.  No threads; every callback runs to completion quickly. */
#ifndef PALOMA_EVENT_H
#define PALOMA_EVENT_H

#include <poll.h>
#include <stdint.h>

struct pl_loop;
struct pl_timer;

typedef void (*pl_io_cb)(void *arg, int fd, int revents);
typedef void (*pl_timer_cb)(void *arg);
/* Lets another poller (c-ares) add its descriptors each round and handle them
 * after poll: prepare returns how many pollfds it filled and lowers *timeout_ms
 * when it needs to wake sooner; dispatch sees the same pollfds with revents. */
typedef int (*pl_prepare_cb)(void *arg, struct pollfd *fds, int max, int *timeout_ms);
typedef void (*pl_dispatch_cb)(void *arg, struct pollfd *fds, int n);

struct pl_loop *pl_loop_new(void);
void pl_loop_free(struct pl_loop *l);

/* Watches fd for events (POLLIN, POLLOUT); one registration per fd. */
void pl_loop_add(struct pl_loop *l, int fd, int events, pl_io_cb cb, void *arg);
void pl_loop_set_events(struct pl_loop *l, int fd, int events);
void pl_loop_del(struct pl_loop *l, int fd);

/* Calls cb once, after ms milliseconds.  The handle is valid until the timer
 * fires or is cancelled. */
struct pl_timer *pl_timer_add(struct pl_loop *l, int64_t ms, pl_timer_cb cb, void *arg);
void pl_timer_cancel(struct pl_loop *l, struct pl_timer *t);

void pl_loop_set_poller(struct pl_loop *l, pl_prepare_cb prep, pl_dispatch_cb disp, void *arg);

/* One round: waits at most max_ms (-1: until something happens), runs the
 * callbacks that are due.  Returns -1 only on a poll error other than EINTR. */
int pl_loop_once(struct pl_loop *l, int max_ms);

/* Timers count in pl_mono_ms() (util.h). */

#endif
