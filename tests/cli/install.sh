# make install and install-sendmail into a private prefix: the files land,
# and the installed front end finds its helper programs and works as sendmail.
. "$(dirname "$0")/../lib.sh"
unset PALOMA_LIBEXEC
top=$(cd "$TESTS_DIR/.." && pwd)
B=$(basename "$PALOMA_BUILD")
P="$T/prefix"
make -s -C "$top" B="$B" PREFIX="$P" install install-sendmail >"$T/make.out" 2>&1
expect_eq "make install install-sendmail succeeds" "$?" 0
for f in bin/paloma libexec/paloma/paloma-daemon libexec/paloma/paloma-index \
	libexec/paloma/paloma-sync share/man/man1/paloma-sync.1 \
	libexec/paloma/paloma-doctor share/man/man1/paloma-doctor.1 \
	share/man/man1/paloma.1 \
	share/man/man1/paloma-daemon.1 share/man/man5/paloma.conf.5 \
	share/paloma/paloma.conf.sample share/paloma/systemd/paloma.service \
	share/bash-completion/completions/paloma; do
	check "installed: $f" test -s "$P/$f"
done
expect_eq "sendmail is a link to paloma" "$(readlink "$P/bin/sendmail")" "paloma"
expect_match "the systemd unit runs the installed paloma" "$(cat "$P/share/paloma/systemd/paloma.service")" "^ExecStart=$P/bin/paloma daemon --foreground$"
out=$("$P/bin/paloma" daemon --no-such-flag 2>&1); rc=$?
expect_eq "the installed front end runs its installed daemon helper" "$rc/$out" "64/usage: paloma [-c FILE] daemon [--foreground] [--once]"
write_config "autostart = no"
printf 'Subject: x\n\nbody\n' | "$P/bin/sendmail" -oi a@example.test
expect_eq "the installed sendmail queues" "$?/$(queue_count)" "0/1"
if command -v man >/dev/null 2>&1; then
	for m in man1/paloma.1 man1/paloma-daemon.1 man1/paloma-sync.1 man1/paloma-doctor.1 man5/paloma.conf.5; do
		n=$(MANWIDTH=80 man -l "$P/share/man/$m" 2>"$T/man.err" | wc -l)
		check "man page $m renders ($n lines, no warnings)" test "$n" -gt 50 -a ! -s "$T/man.err"
	done
else
	skip "man pages render" "man is not installed"
fi
