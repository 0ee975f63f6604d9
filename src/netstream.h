/* netstream.h — TCP connections and libetpan streams over paloma's own TLS.
 *
 * libetpan (IMAP, POP3) reads and writes through a `mailstream`; Debian's
 * libetpan does its TLS with GnuTLS and does not verify servers.  These
 * streams put libetpan on top of src/tls.c instead (OpenSSL, one policy for
 * all of paloma): chain and host name are verified before a byte of the
 * protocol, let alone a password, goes over the connection.
 *
 * Sockets stay non-blocking; the stream driver waits with poll() on the
 * socket and on the stream's cancel pipe (mailstream_cancel), so that a
 * server cannot hold the program (see "How long a server may take" below).
 * A timed-out call fails like a broken connection (MAILIMAP_ERROR_STREAM,
 * MAILPOP3_ERROR_STREAM).
 *
 * TLS writes may raise SIGPIPE when the server has gone: programs using
 * these streams ignore SIGPIPE.  Never call mailimap_compress on them. */
#ifndef PALOMA_NETSTREAM_H
#define PALOMA_NETSTREAM_H

#include <libetpan/mailstream.h>

#include "util.h"

/* ---- How long a server may take ----
 *
 * The dialogue goes in phases: the TLS handshake, the writing of a command
 * (up to the first read after it), the reading of an answer (up to the next
 * write).  A stream's timeout (seconds, mailstream_low_set_timeout) bounds
 * each wait for the socket, and each phase as a whole: the handshake must be
 * over within it, and a command or an answer within it plus one second for
 * every PL_STREAM_PACE bytes it brings.  So a silent server ends a call
 * after the timeout, and one that trickles a byte now and then, each wait
 * short, still cannot hold it for ever: its answer fails at its deadline
 * with "the server is too slow: 12 bytes of its answer in 60 s (…)".  A
 * large answer on a slow link is fine as long as it keeps PL_STREAM_PACE.
 * Waiting between commands (IMAP IDLE polls the socket itself) is not a
 * phase and has no deadline. */

/* Seconds a stream's waits and phases get unless told otherwise. */
#define PL_STREAM_TIMEOUT 60

/* Bytes per second that earn a phase one more second. */
#define PL_STREAM_PACE 4096

/* Seconds a connection may take at most, whatever the stream's timeout. */
#define PL_CONNECT_TIMEOUT 30

/* A connected TCP socket (non-blocking, close-on-exec) to host:port, trying
 * each address getaddrinfo gives in turn, each within timeout_s seconds
 * (at most PL_CONNECT_TIMEOUT; 0: that); -1 with e naming the host and the
 * last failure. */
int pl_net_connect(const char *host, int port, long timeout_s, struct pl_err *e);

/* A stream over a connected socket, without TLS, with a timeout of
 * timeout_s seconds (0: PL_STREAM_TIMEOUT).  The stream owns fd from here on
 * (mailstream_close closes it). NULL only when out of memory. */
mailstream *pl_stream_plain(int fd, int timeout_s);

/* A stream over TLS on a connected socket (implicit TLS: IMAPS, POP3S),
 * with a timeout as above: the handshake is done (within timeout_s) and the
 * certificate verified against ca_file (NULL: the system's CAs) and host
 * before it returns.  On failure: NULL, fd is
 * closed, and e says which host and what was wrong, with the certificate's
 * SHA-256 fingerprint when one was shown, e.g.
 *   "imap.example.test: certificate not trusted: self-signed certificate
 *    (SHA-256 AB:CD:…); add it with ca_file or fix the server" */
mailstream *pl_stream_tls(int fd, const char *host, const char *ca_file, int timeout_s,
    struct pl_err *e);

/* Upgrades a plain stream to TLS after the server accepted STARTTLS (IMAP,
 * mailimap_starttls) or STLS (POP3, mailpop3_stls): verified handshake as
 * above on fd (the stream's socket), then the stream reads and writes
 * through TLS.  0, or -1 with e (the stream is left as it was: close it).
 * Refuses when the server sent anything after its reply to STARTTLS (those
 * bytes would be taken as if protected by TLS: a known injection). */
int pl_stream_starttls(mailstream *s, int fd, const char *host, const char *ca_file,
    struct pl_err *e);

/* ---- What a server may send ----
 *
 * libetpan keeps what it reads until a command's answer is complete: every
 * untagged IMAP response until the tagged one, a line until its end, and
 * it reserves an IMAP literal's announced size before reading it.  So that
 * a hostile or broken server cannot make a client grow without end, each
 * answer (the bytes read after a command is written, up to the next one) has
 * a budget; the read that crosses it fails the stream like a broken
 * connection, and pl_stream_error says so ("the server sent more than
 * 16 MiB in answer to one command"). */

/* The budget of an answer unless pl_stream_budget said otherwise. */
#define PL_STREAM_BUDGET ((size_t)16 << 20)

/* The answer to the next command written on s may be at most bytes long
 * (0: PL_STREAM_BUDGET), with lines of at most line_max bytes (0: the
 * stream's default, SIZE_MAX: none but the budget).  Applies to that one
 * answer: the one after gets the defaults again. */
void pl_stream_budget(mailstream *s, size_t bytes, size_t line_max);

/* Settings of the whole stream, kept across STARTTLS: the longest line of an
 * answer (0: no limit but the budget); imap: watch for IMAP literal
 * announcements ("{N}" at the end of a line) and fail the stream when N is
 * more than what is left of the budget, before libetpan, which has only
 * seen the line without its end yet, reserves N bytes for it. */
void pl_stream_limits(mailstream *s, size_t line_max, int imap);

/* The IMAP greeting line (line[0..len), its CRLF included) without its
 * response code unless that is CAPABILITY, in place; returns the new length
 * (never more than len).  libetpan parses the greeting without a parser
 * context and crashes on a code holding a string ("* OK [BADCHARSET (x)]").
 * An IMAP stream (pl_stream_limits with imap set before anything is read)
 * applies it to the greeting by itself. */
size_t pl_imap_greeting_clean(char *line, size_t len);

/* 1 when the stream failed because the server sent more than allowed. */
int pl_stream_exceeded(mailstream *s);

/* The last low-level failure of a stream ("timed out after 60 s waiting
 * for the server", "connection reset by peer", "TLS read failed: …"), or ""
 * when none or not one of these streams; for messages after libetpan says
 * only "stream error". */
const char *pl_stream_error(mailstream *s);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384", or "" for a plain stream. */
void pl_stream_describe(mailstream *s, char *out, size_t len);

#endif
