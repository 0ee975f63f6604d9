# DANE (RFC 7672) toward MX hosts: a TLSA 3 1 1 record that matches the
# receiver's key → delivered over TLS and logged tls_policy=dane; one that
# does not match → deferred with a clear reason, nothing sent (not even in
# clear), the mail still queued; a server without STARTTLS under DANE →
# deferred, nothing in clear; TLSA records none of which is usable → TLS
# required but not authenticated (tls_policy=encrypt), never clear text; a
# failing TLSA lookup → that MX is not used.
# Without authenticated answers (dns_assume_ad = no: dnsmasq does not
# validate) the same records are ignored: opportunistic TLS.
# dns_assume_ad = yes is the test-only switch that makes the loopback
# resolver's answers count as DNSSEC-authenticated.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
PLOG="$XDG_STATE_HOME/paloma/daemon.log"

make_cert match mx.match.test
make_cert nomatch mx.nomatch.test
# spki_sha256 NAME: the TLSA 3 1 1 association data of a certificate's key
spki_sha256() {
	openssl x509 -in "$T/certs/$1.crt" -noout -pubkey |
		openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
good=$(spki_sha256 match)
# the hash of another key: a TLSA record nobody's certificate matches
bad=$(spki_sha256 nomatch | tr '0-9a-f' '1-9a-f0')
dead=$(free_port)

# Zones: MX host mx.NAME.test at 127.0.0.N, with its TLSA record
# (usage 3, selector 1, matching type 1: rdata 030101 + SHA-256).
dns_args="--mx-host=match.test,mx.match.test,10 --host-record=mx.match.test,127.0.0.2
--dns-rr=_25._tcp.mx.match.test,52,030101$good
--mx-host=nomatch.test,mx.nomatch.test,10 --host-record=mx.nomatch.test,127.0.0.3
--dns-rr=_25._tcp.mx.nomatch.test,52,030101$bad
--mx-host=notls.test,mx.notls.test,10 --host-record=mx.notls.test,127.0.0.4
--dns-rr=_25._tcp.mx.notls.test,52,030101$good
--mx-host=pkix.test,mx.pkix.test,10 --host-record=mx.pkix.test,127.0.0.5
--dns-rr=_25._tcp.mx.pkix.test,52,010101$bad
--mx-host=pkixclear.test,mx.pkixclear.test,10 --host-record=mx.pkixclear.test,127.0.0.7
--dns-rr=_25._tcp.mx.pkixclear.test,52,010101$bad
--mx-host=sfail.test,mx.sfail.test,10 --host-record=mx.sfail.test,127.0.0.6
--server=/_tcp.mx.sfail.test/127.0.0.1#$dead"
# shellcheck disable=SC2086
start_dns $dns_args

# the same key for both certificates would make "nomatch" match: they differ
start_smtpd match 127.0.0.2 --tls-cert "$T/certs/match.crt" --tls-key "$T/certs/match.key"
start_smtpd nomatch 127.0.0.3 --tls-cert "$T/certs/nomatch.crt" --tls-key "$T/certs/nomatch.key"
start_smtpd notls 127.0.0.4
start_smtpd pkix 127.0.0.5 --tls-cert "$T/certs/nomatch.crt" --tls-key "$T/certs/nomatch.key"
start_smtpd pkixclear 127.0.0.7
start_smtpd sfail 127.0.0.6 --tls-cert "$T/certs/match.crt" --tls-key "$T/certs/match.key"


# --- authenticated answers (test-only dns_assume_ad) ---------------------------
write_config "$(delivery_config)
autostart = no
dane = yes
mta_sts = no
dns_assume_ad = yes
timeout_command = 5"
printf 'From: me@example.org\nTo: a@match.test, b@nomatch.test, c@notls.test, d@pkix.test, e@sfail.test, g@pkixclear.test\nSubject: dane\n\nsecret body\n' |
	"$PALOMA" send -t
id=$(ls "$QUEUE/entries")
timeout 60 "$PALOMA" daemon --once >"$T/once1.out" 2>&1
expect_eq "daemon --once exits 0" "$?" 0

expect_eq "matching TLSA: one message received" "$(received_count match)" 1
expect_eq "matching TLSA: over TLS" "$(msg_meta "$(received match)" tls)" true
expect_match "matching TLSA: delivery log says tls_policy=dane" "$(last_log a@match.test)" \
	"id=$id rcpt=<a@match.test> result=delivered status=2.0.0 mx=mx.match.test ip=127.0.0.2 tls=\"TLSv1\\.[23] .* tls_policy=dane\$"
expect_match "matching TLSA: daemon.log says the certificate matched" "$(cat "$PLOG")" \
	'mx\.match\.test \[127\.0\.0\.2\]: TLS TLSv1\.[23] [A-Z0-9_-]+, certificate matches its TLSA records \(DANE\)'
expect_eq "matching TLSA: the recipient's state in the queue keeps the policy" \
	"$(rcpt_policy "$id" a@match.test)" dane
expect_eq "TLSA mismatch: so does the deferred one's" "$(rcpt_policy "$id" b@nomatch.test)" dane
expect_eq "queue show names the policy of the last attempt" \
	"$("$PALOMA" queue show "$id" | awk '/^Recipient:  <b@nomatch.test>/ { f = 1 } f && /policy:/ { print; exit }')" \
	"  policy:   dane"

expect_eq "TLSA mismatch: nothing received" "$(received_count nomatch)" 0
expect_eq "TLSA mismatch: no MAIL FROM, not even in clear" \
	"$(grep -c 'MAIL FROM' "$(smtpd_log nomatch)")" 0
expect_eq "TLSA mismatch: one connection only (no retry in clear)" \
	"$(grep -c '\* connect' "$(smtpd_log nomatch)")" 1
expect_match "TLSA mismatch: deferred with 4.7.5 and a clear reason" "$(last_log b@nomatch.test)" \
	"rcpt=<b@nomatch.test> result=deferred status=4\\.7\\.5 mx=mx\\.nomatch\\.test ip=127\\.0\\.0\\.3 tls=none reply=\"paloma: DANE: the TLSA records of _25\\._tcp\\.mx\\.nomatch\\.test require TLS authenticated by them: the TLS handshake failed: TLS certificate not trusted: [^\"]*DANE[^\"]*\" tls_policy=dane\$"
expect_eq "TLSA mismatch: no retry in clear logged" \
	"$(grep -c 'nomatch.test: TLS handshake .* trying it again in clear' "$PLOG")" 0

expect_eq "DANE, no STARTTLS: nothing received" "$(received_count notls)" 0
expect_eq "DANE, no STARTTLS: no MAIL FROM" "$(grep -c 'MAIL FROM' "$(smtpd_log notls)")" 0
expect_match "DANE, no STARTTLS: deferred 4.7.4, DANE named" "$(last_log c@notls.test)" \
	'result=deferred status=4\.7\.4 .*reply="paloma: DANE: .*does not offer STARTTLS" tls_policy=dane$'

# PKIX-EE(1) records are unusable for SMTP (RFC 7672 3.1.3): TLS is still
# required, but not authenticated
expect_eq "unusable TLSA (PKIX-EE): received" "$(received_count pkix)" 1
expect_eq "unusable TLSA (PKIX-EE): over TLS" "$(msg_meta "$(received pkix)" tls)" true
expect_match "unusable TLSA (PKIX-EE): logged encrypt (required, unauthenticated)" \
	"$(last_log d@pkix.test)" 'result=delivered .* tls_policy=encrypt$'
expect_eq "unusable TLSA, no STARTTLS: nothing received" "$(received_count pkixclear)" 0
expect_match "unusable TLSA, no STARTTLS: deferred 4.7.4, never in clear" "$(last_log g@pkixclear.test)" \
	'result=deferred status=4\.7\.4 .*reply="paloma: DANE: _25\._tcp\.mx\.pkixclear\.test has TLSA records \(none usable\), so TLS is required: .*STARTTLS.*" tls_policy=encrypt$'

expect_eq "TLSA lookup failure: the MX is not used" "$(grep -c '\* connect' "$(smtpd_log sfail)")" 0
expect_match "TLSA lookup failure: deferred, the lookup named" "$(last_log e@sfail.test)" \
	'result=deferred status=4\.7\.5 .*reply="paloma: the TLSA lookup of _25\._tcp\.mx\.sfail\.test failed: '

show=$("$PALOMA" queue list)
expect_match "the mail is still queued for the deferred recipients" "$show" \
	"b@nomatch.test \\(deferred.*c@notls.test \\(deferred.*e@sfail.test \\(deferred"

# --- answers not authenticated: no DANE ------------------------------------------
write_config "$(delivery_config)
autostart = no
dane = yes
mta_sts = no
dns_assume_ad = no
timeout_command = 5"
printf 'From: me@example.org\nTo: f@nomatch.test\nSubject: no ad\n\nbody\n' | "$PALOMA" send -t
timeout 60 "$PALOMA" daemon --once >"$T/once2.out" 2>&1
expect_eq "no AD: daemon --once exits 0" "$?" 0
expect_eq "no AD: the TLSA records are ignored, delivered" "$(received_count nomatch)" 1
expect_match "no AD: logged opportunistic" "$(last_log f@nomatch.test)" \
	'result=delivered status=2\.0\.0 mx=mx\.nomatch\.test .*tls_policy=opportunistic$'
