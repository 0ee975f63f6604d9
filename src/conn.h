/* conn.h — one SMTP connection to one address of one MX host.
 *
 * The I/O half of the SMTP client: a non-blocking socket in the daemon's
 * event loop, TLS (tls.c) when the server offers STARTTLS, timeouts, and the
 * message streamed from its queue file.  What to say and how to read the
 * replies is smtp.c's job; this file only moves bytes and carries out what
 * the protocol machine asks for.  A connection asks its owner for jobs (one
 * message, its recipients in this domain) until there are none, then QUITs. */
#ifndef PALOMA_CONN_H
#define PALOMA_CONN_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "event.h"
#include "smtp.h"

enum pl_result { PL_RESULT_OK, PL_RESULT_TEMP, PL_RESULT_PERM };

/* What happened to one recipient, or to a whole connection. */
struct pl_outcome {
	enum pl_result result;
	char status[16];	/* RFC 3463: "2.0.0", "4.4.1", "5.1.1" */
	char reply[2048];	/* the remote's full reply, or our own reason */
	char step[16];		/* "connect", "greeting", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "final" */
};

/* One message's recipients for this domain. */
struct pl_job {
	const char *id;		/* queue id, for logs */
	const char *sender;	/* "" for <> */
	const char **rcpt;
	size_t nrcpt;
	const char *msg_path;
	long long size;
	int body_8bit;
	int smtputf8;
};

struct pl_conn;

struct pl_conn_ops {
	/* The session is ready for a transaction: the next job, or NULL to QUIT. */
	struct pl_job *(*next_job)(void *arg, struct pl_conn *c);
	/* The outcome for recipient k of job j (each recipient gets exactly one). */
	void (*rcpt_done)(void *arg, struct pl_conn *c, struct pl_job *j, size_t k,
	    const struct pl_outcome *o);
	/* Every recipient of j has its outcome. */
	void (*job_done)(void *arg, struct pl_conn *c, struct pl_job *j);
	/* The connection is over.  fail is set when it ended badly; usable says
	 * whether it ever got as far as carrying mail (else the owner tries the
	 * next address).  tls_failed: the STARTTLS handshake failed. */
	void (*closed)(void *arg, struct pl_conn *c, const struct pl_outcome *fail, int usable,
	    int tls_failed);
};

/* IMPLICIT: TLS from the first byte (smtps, port 465). */
enum pl_conn_tls { PL_CONN_TLS_NONE, PL_CONN_TLS_OPPORTUNISTIC, PL_CONN_TLS_REQUIRED,
	PL_CONN_TLS_IMPLICIT };

struct pl_conn_params {
	const char *mx;		/* MX host name, for SNI, logs and reports */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *helo;
	enum pl_conn_tls tls;
	void *tls_ctx;		/* from pl_tls_ctx_new(PL_TLS_MX), or PL_TLS_RELAY
				 * (a relay: the certificate must verify) */
	/* An MX that must authenticate (tls REQUIRED; pl_tls_authenticate):
	 * by DANE with the ntlsa records of tlsa (valid until closed()), or
	 * by PKIX for the mx name when ntlsa is 0 (MTA-STS). */
	int authenticate;
	const struct pl_tlsa *tlsa;
	size_t ntlsa;
	/* A relay login (AUTH): auth_user NULL for none.  The secret comes
	 * from secret_cmd (secret.h; auth_xoauth2: it prints an OAuth2 token),
	 * run only once TLS is up and the relay asks for the login, killed
	 * after secret_timeout_ms (0: 15 s).  It runs beside the event loop:
	 * only this connection waits for it. */
	const char *auth_user;
	const char *secret_cmd;
	int auth_xoauth2;
	int secret_timeout_ms;
	struct {
		int connect;	/* seconds; 0: 30 */
		struct pl_smtp_timeouts smtp;
	} timeouts;
};

struct pl_conn *pl_conn_start(struct pl_loop *loop, const struct pl_conn_params *p,
    const struct pl_conn_ops *ops, void *arg);
/* Drops the connection now; the current job's recipients get a temporary
 * outcome ("abandoned"), then closed() is called. */
void pl_conn_abort(struct pl_conn *c);

/* "mx1.example.test [127.0.0.2]" */
const char *pl_conn_remote(const struct pl_conn *c);
const char *pl_conn_ip(const struct pl_conn *c);
const char *pl_conn_mx(const struct pl_conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", or NULL in clear. */
const char *pl_conn_tls(const struct pl_conn *c);
/* 1 when TLS is up and the certificate verified (PKIX, or DANE); else 0
 * with why ("self-signed certificate", "no TLS"). */
int pl_conn_tls_verified(const struct pl_conn *c, const char **why);

#endif
