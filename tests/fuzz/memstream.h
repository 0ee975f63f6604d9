/* memstream.h — a libetpan stream that reads a fuzz input from memory, for
 * the targets that drive libetpan and our code on a server's bytes
 * (fuzz_pop3, fuzz_imap).  Reads return at most `chunk` bytes at a time, so
 * that lines and literals also cross the stream's buffer.  At the end of
 * the input a read fails, as netstream.c's reads do when the server has
 * closed the connection (a read of 0 would make libetpan's readers wait for
 * ever).  What is written (our commands) is counted and dropped. */
#ifndef PALOMA_FUZZ_MEMSTREAM_H
#define PALOMA_FUZZ_MEMSTREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include <libetpan/libetpan.h>

struct fz_mem {
	const uint8_t *p;
	size_t n, off, chunk;
	size_t written;
};

static ssize_t
fz_mem_read(mailstream_low *low, void *buf, size_t len)
{
	struct fz_mem *m = low->data;
	size_t k = m->n - m->off;

	if (k == 0)
		return -1;
	if (k > len)
		k = len;
	if (k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static ssize_t
fz_mem_write(mailstream_low *low, const void *buf, size_t len)
{
	struct fz_mem *m = low->data;

	(void)buf;
	m->written += len;
	return (ssize_t)len;
}

static int
fz_mem_close(mailstream_low *low)
{
	(void)low;
	return 0;
}

static int
fz_mem_fd(mailstream_low *low)
{
	(void)low;
	return -1;
}

static void
fz_mem_free(mailstream_low *low)
{
	free(low);
}

static void
fz_mem_cancel(mailstream_low *low)
{
	(void)low;
}

static struct mailstream_cancel *
fz_mem_get_cancel(mailstream_low *low)
{
	(void)low;
	return NULL;
}

static mailstream_low_driver fz_mem_driver = {
	.mailstream_read = fz_mem_read,
	.mailstream_write = fz_mem_write,
	.mailstream_close = fz_mem_close,
	.mailstream_get_fd = fz_mem_fd,
	.mailstream_free = fz_mem_free,
	.mailstream_cancel = fz_mem_cancel,
	.mailstream_get_cancel = fz_mem_get_cancel,
};

/* A stream over m (which must outlive it); mailstream_close frees it. */
static mailstream *
fz_mem_stream(struct fz_mem *m)
{
	mailstream_low *low = mailstream_low_new(m, &fz_mem_driver);

	if (low == NULL)
		abort();
	return mailstream_new(low, 8192);
}

#endif
