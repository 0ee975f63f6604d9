/* rfc2047.h — encoded words ("=?charset?B?…?=") in header text, decoded
 * leniently.  GMime 3.2 joins adjacent encoded words before decoding them
 * and so loses everything after a base64 word that ends in padding (a long
 * subject split by Outlook); this decoder does not, and pl_rfc2047_merge
 * rewrites a header so that GMime's address parser sees one word per run. */
#ifndef PALOMA_RFC2047_H
#define PALOMA_RFC2047_H

/* Decodes every encoded word in s (also inside quotes and words, and with
 * a charset*language) to UTF-8; white space between two encoded words is
 * dropped, and the bytes of adjacent words in one charset are joined before
 * conversion, so a character split across words survives.  Text outside
 * encoded words is taken as UTF-8 when valid, else as windows-1252.  Not
 * yet safe to show (pl_text_put is).  The caller frees the result. */
char *pl_rfc2047_decode(const char *s);

/* s with each run of adjacent encoded words replaced by one UTF-8 base64
 * encoded word holding the same text; the rest as it is. */
char *pl_rfc2047_merge(const char *s);

#endif
