/* doctor.h — `paloma doctor`: will mail sent directly from this host
 * arrive?  Each check gives PASS, WARN or FAIL, one sentence on what was
 * found and why it matters, and the exact fix (the DNS record to publish,
 * the setting to change).  See paloma-doctor(1). */
#ifndef PALOMA_DOCTOR_H
#define PALOMA_DOCTOR_H

#include <stdio.h>

#include "config.h"
#include "util.h"

enum pl_doc_result { PL_DOC_PASS, PL_DOC_WARN, PL_DOC_FAIL };

struct pl_doc_item {
	char *account;		/* NULL for the checks of the host itself */
	char *check;		/* port25 address rdns fcrdns helo dnsbl transport spf
				 * dkim dmarc direct */
	enum pl_doc_result result;
	char *why;		/* what was found and why it matters */
	char *fix;		/* what to do; "" for a PASS */
};

struct pl_doc_report {
	struct pl_doc_item *v;
	size_t n;
};

/* Runs every check for the accounts of c (only that one when only is not
 * NULL).  Each DNS question and connection has its own timeout.  Returns
 * 0, or -1 with e filled when the checks cannot run at all. */
int pl_doctor_run(const struct pl_config *c, const struct pl_account *only,
    struct pl_doc_report *rep, struct pl_err *e);
/* One line per check ("PASS  spf  …") with the fix indented below, or a
 * JSON array of {account, check, result, why, fix}. */
void pl_doctor_print(const struct pl_doc_report *rep, int json, FILE *f);
/* 0 when every check passed, 1 when the worst is a WARN, 2 a FAIL. */
int pl_doctor_status(const struct pl_doc_report *rep);
void pl_doctor_free(struct pl_doc_report *rep);

#endif
