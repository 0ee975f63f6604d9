/* test_dkim.c — DKIM signing (dkim.c) checked by an independent verifier:
 * Debian's python3-dkim (dkimpy), with a dnsfunc serving this test's own
 * public key.  Also: the key file must be private, libopendkim that cannot
 * be loaded is a clear EX_UNAVAILABLE, the signature field is folded with
 * CRLF, From is oversigned, and a signed 8-bit message is made 7-bit first
 * so that the daemon's conversion leaves it, and its signature, intact. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "fsutil.h"
#include "smtp.h"
#include "tap.h"
#include "util.h"

#define PY "/usr/bin/python3"

static char dir[] = "/tmp/paloma-test-dkim.XXXXXX";
static char pubb64[1024];

/* A fresh 2048-bit key in path (mode 0600); its public half in pubb64. */
static int
make_key(const char *path)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	unsigned char *der = NULL;
	FILE *f;
	int n;

	if (k == NULL || (f = fopen(path, "w")) == NULL)
		return -1;
	chmod(path, 0600);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	n = i2d_PUBKEY(k, &der);
	EVP_EncodeBlock((unsigned char *)pubb64, der, n);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return 0;
}

/* Runs python3-dkim's verify on the message; "True", "False" or an error. */
static const char *
py_verify(const char *msg, size_t len, const char *record)
{
	static char res[256];
	char path[300], cmd[2048];
	FILE *f;

	snprintf(path, sizeof path, "%s/msg", dir);
	if ((f = fopen(path, "wb")) == NULL)
		return "cannot write";
	fwrite(msg, 1, len, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, PY " -c 'import dkim, sys\n"
	    "m = open(sys.argv[1], \"rb\").read()\n"
	    "rec = sys.argv[2].encode()\n"
	    "print(dkim.verify(m, dnsfunc=lambda name, timeout=5: "
	    "rec if name == b\"sel1._domainkey.example.org.\" else None))' %s '%s' 2>&1",
	    path, record);
	if ((f = popen(cmd, "r")) == NULL)
		return "cannot run python3";
	res[0] = '\0';
	if (fgets(res, sizeof res, f))
		res[strcspn(res, "\n")] = '\0';
	pclose(f);
	return res;
}

/* Every LF is preceded by CR. */
static int
crlf_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
	return 1;
}

int
main(void)
{
	char key[300], record[1200], *pem = NULL;
	size_t pemlen;
	struct pl_err e;
	struct buf sig = { 0 }, msg = { 0 };
	struct pl_account a = { 0 };
	const char *m1 = "From: Me <me@example.org>\r\nTo: you@example.net\r\n"
	    "Subject: a test\r\nDate: Mon, 23 Nov 2026 08:16:19 +0100\r\n"
	    "Message-ID: <1@example.org>\r\nX-Unsigned: yes\r\n\r\nHello,\r\n\r\nbye.\r\n";

	if (access(PY, X_OK) != 0 || system(PY " -c 'import dkim' 2>/dev/null") != 0) {
		printf("1..0 # SKIP python3-dkim is not installed\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(key, sizeof key, "%s/k.pem", dir);
	OK(make_key(key) == 0, "made a test key");
	snprintf(record, sizeof record, "v=DKIM1; k=rsa; p=%s", pubb64);

	/* the key must be private */
	OK(pl_dkim_read_key(key, &pem, &pemlen, &e) == 0, "a 0600 key is read");
	chmod(key, 0640);
	free(pem);
	pem = NULL;
	OK(pl_dkim_read_key(key, &pem, &pemlen, &e) < 0 && e.code == EX_CONFIG &&
	    strstr(e.msg, "mode 0640") && strstr(e.msg, "chmod 600"),
	    "a group-readable key is refused with the chmod that fixes it: %s", e.msg);
	chmod(key, 0604);
	OK(pl_dkim_read_key(key, &pem, &pemlen, &e) < 0, "a world-readable key is refused");
	chmod(key, 0600);
	OK(pl_dkim_read_key("/nonexistent/k.pem", &pem, &pemlen, &e) < 0 &&
	    strstr(e.msg, "paloma dkim keygen"), "a missing key says how to make one");
	OK(pl_dkim_read_key(key, &pem, &pemlen, &e) == 0, "the key, private again, is read");

	/* libopendkim missing: EX_UNAVAILABLE, nothing signed */
	setenv("PALOMA_DKIM_LIBRARY", "libopendkim-missing.so.0", 1);
	OK(pl_dkim_sign(pem, pemlen, "sel1", "example.org", m1, strlen(m1), &sig, &e) < 0 &&
	    e.code == EX_UNAVAILABLE && strstr(e.msg, "install libopendkim11"),
	    "no libopendkim: EX_UNAVAILABLE, says what to install: %s", e.msg);
	OK(sig.len == 0, "... and nothing was signed");
	unsetenv("PALOMA_DKIM_LIBRARY");

	/* a signature python3-dkim verifies */
	OK(pl_dkim_sign(pem, pemlen, "sel1", "example.org", m1, strlen(m1), &sig, &e) == 0,
	    "signed a message");
	OK(sig.p && strncmp(sig.p, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.org; s=sel1;", 63) == 0, "rsa-sha256, relaxed/relaxed, d= and s=");
	OK(sig.p && crlf_only(sig.p, sig.len) && sig.len > 2 && sig.p[sig.len - 1] == '\n',
	    "the field is folded with CRLF and ends in CRLF");
	{
		char *h = sig.p, hl[512] = "";
		size_t j = 0;
		/* the h= tag, not the end of bh= */
		while (h && (h = strstr(h + 1, "h=")) && !strchr(" \t;", h[-1]))
			;
		if (h)
			for (h += 2; *h && *h != ';' && j + 1 < sizeof hl; h++)
				if (!strchr(" \t\r\n", *h))
					hl[j++] = *h;
		hl[j] = '\0';
		STREQ(hl, "From:To:Subject:Date:Message-ID:From",
		    "h= names the usual fields present, From oversigned, not X-Unsigned");
	}
	buf_add(&msg, sig.p, sig.len);
	buf_adds(&msg, m1);
	STREQ(py_verify(msg.p, msg.len, record), "True", "python3-dkim verifies it");
	{
		char *t = xstrdup(msg.p);
		*strstr(t, "bye.") = 'B';
		STREQ(py_verify(t, msg.len, record), "False", "... and fails a changed body");
		free(t);
	}
	{
		struct buf t = { 0 };
		buf_add(&t, msg.p, msg.len);
		/* a second From added after signing: oversigning makes it fail */
		buf_free(&t);
		buf_adds(&t, "From: Evil <evil@example.net>\r\n");
		buf_add(&t, msg.p, msg.len);
		STREQ(py_verify(t.p, t.len, record), "False", "... and fails an added From");
		buf_free(&t);
	}
	buf_free(&sig);
	buf_free(&msg);

	/* what `paloma send` does: 7-bit first, then signed */
	a.name = "me";
	a.address = "me@example.org";
	a.dkim_key = key;
	a.dkim_selector = "sel1";
	buf_adds(&msg, "From: Me <me@example.org>\r\nTo: you@example.net\r\nSubject: \303\274ber\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
	    "--xx\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "Gr\303\274\303\237e\r\n");
	for (int i = 0; i < 1200; i++)
		buf_addc(&msg, 'L');
	buf_adds(&msg, "\r\n--xx\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--xx--\r\n");
	OK(pl_dkim_sign_message(&a, &msg, &e) == 0, "signed an 8-bit message with a long line");
	OK(strncmp(msg.p, "DKIM-Signature: ", 16) == 0, "the signature comes first");
	OK(strstr(msg.p, "Subject: \303\274ber\r\n") && strstr(msg.p, "Gr=C3=BC=C3=9Fe"),
	    "the 8-bit header kept, the 8-bit body made quoted-printable");
	STREQ(py_verify(msg.p, msg.len, record), "True", "python3-dkim verifies it");
	{
		struct buf d = { 0 };
		int n = pl_smtp_to_7bit(msg.p, msg.len, &d);
		OK(n == 0 && d.len == msg.len && memcmp(d.p, msg.p, d.len) == 0,
		    "the daemon's 7-bit conversion leaves the signed message as it is");
		buf_free(&d);
	}
	buf_free(&msg);

	/* a group-readable key: send refuses, the message is left alone */
	chmod(key, 0640);
	buf_adds(&msg, m1);
	OK(pl_dkim_sign_message(&a, &msg, &e) < 0 && strcmp(msg.p, m1) == 0,
	    "a group-readable key: not signed, the message unchanged");
	buf_free(&msg);

	free(pem);
	unlink(key);
	{
		char p[300];
		snprintf(p, sizeof p, "%s/msg", dir);
		unlink(p);
	}
	rmdir(dir);
	return tap_done();
}
