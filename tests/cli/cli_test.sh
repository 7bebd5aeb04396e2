#!/usr/bin/env bash
# End-to-end checks of the `mugai` command line: every documented mode, exit statuses, and the
# one-line errors a user sees. Usage: cli_test.sh MUGAI_BINARY FIXTURES_CORPUS_DIR
set -uo pipefail
MUGAI=$1
CORPUS=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() {  # expected-rc description command...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else fail "$what: exit $rc, wanted $want; stderr: $(head -c 300 "$work/err")"; fi
}
expect_grep() {  # file pattern description
  if grep -q -- "$2" "$1"; then ok; else fail "$3: '$2' not in $(basename "$1"): $(head -c 300 "$1")"; fi
}

# --help documents every command and option.
expect_rc 0 "--help" "$MUGAI" --help
for word in "sanitize IN.eml" "--dir IN --out OUT" "--report" "--config" "verify" "config-check" "limits" "--timings" "Exit status"; do
  expect_grep "$work/out" "$word" "--help mentions $word"
done

# Usage errors: exit 2 and one line starting with "mugai: ".
expect_rc 2 "no command" "$MUGAI"
expect_rc 2 "unknown command" "$MUGAI" frobnicate
expect_grep "$work/err" "mugai: unknown command 'frobnicate'" "unknown command message"
expect_rc 2 "unknown option" "$MUGAI" sanitize --bogus x.eml
expect_rc 2 "--dir without --out" "$MUGAI" sanitize --dir "$CORPUS"
[ "$(wc -l <"$work/err")" -eq 1 ] && ok || fail "usage error is one line"

# Unreadable input: exit 1, one line naming the file.
expect_rc 1 "missing input" "$MUGAI" sanitize "$work/nope.eml"
expect_grep "$work/err" "mugai: $work/nope.eml: cannot open for reading" "missing input message"

# Bad config: exit 2 with file and line.
printf 'notice = on\nbogus_key = 1\n' >"$work/bad.conf"
expect_rc 2 "bad config" "$MUGAI" sanitize --config "$work/bad.conf" "$CORPUS/01-utf8-plain.eml"
expect_grep "$work/err" "bad.conf:2: unknown key 'bogus_key'" "config error names file and line"
expect_rc 2 "config-check bad" "$MUGAI" config-check "$work/bad.conf"
# A relay key is checked by config-check too: the pipeline skips them, the relay's loader does not.
printf 'notice = on\nrelay.acept_domains = example.jp\n' >"$work/badrelay.conf"
expect_rc 2 "config-check misspelt relay key" "$MUGAI" config-check "$work/badrelay.conf"
expect_grep "$work/err" "badrelay.conf:2: unknown key 'relay.acept_domains'" "relay key error names the line"
printf 'subject_tag = "[無害化] "\nlimit.max_parts = 50\nrelay.accept_domains = example.jp\n' >"$work/good.conf"
expect_rc 0 "config-check good" "$MUGAI" config-check "$work/good.conf"
expect_rc 0 "limits with config" "$MUGAI" limits --config "$work/good.conf"
expect_grep "$work/out" "max_parts = 50" "limits shows the configured value"

# One message: stdout by default, -o and --report to files, '-' for stdin.
expect_rc 0 "sanitize to stdout" "$MUGAI" sanitize "$CORPUS/37-exe-attachment.eml"
expect_grep "$work/out" "X-Mugai-Status: sanitized" "rebuilt message on stdout"
expect_rc 0 "sanitize -o --report" "$MUGAI" sanitize "$CORPUS/37-exe-attachment.eml" -o "$work/a.eml" --report "$work/a.json"
expect_grep "$work/a.json" '"reason": "type.executable"' "report names the removal"
cmp -s "$work/a.eml" <("$MUGAI" sanitize - <"$CORPUS/37-exe-attachment.eml") && ok || fail "stdin gives the same bytes"
expect_rc 0 "verify own output" "$MUGAI" verify "$work/a.eml"
expect_rc 1 "verify rejects the raw input" "$MUGAI" verify "$CORPUS/30-html-only-hostile.eml"
expect_rc 0 "subject tag" "$MUGAI" sanitize --config "$work/good.conf" "$CORPUS/01-utf8-plain.eml" -o "$work/t.eml"
python3 - "$work/t.eml" <<'PY' && ok || fail "subject_tag prepended"
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
sys.exit(0 if str(m['Subject']).startswith('[無害化] ') else 1)
PY

# A held message: exit 0, no .eml written, the report says why, stderr says "held".
printf 'limit.max_message_bytes = 100\n' >"$work/tiny.conf"
expect_rc 0 "held is not an error" "$MUGAI" sanitize --config "$work/tiny.conf" "$CORPUS/37-exe-attachment.eml" -o "$work/h.eml" --report "$work/h.json"
[ ! -e "$work/h.eml" ] && ok || fail "held message must not be written"
expect_grep "$work/h.json" '"status": "held"' "held report"
expect_grep "$work/err" "held: limit.message_bytes" "held line on stderr"

# A folder: one .eml per delivered message, one .json per message, a summary table.
mkdir -p "$work/in/sub"
cp "$CORPUS/01-utf8-plain.eml" "$CORPUS/37-exe-attachment.eml" "$work/in/"
cp "$CORPUS/30-html-only-hostile.eml" "$work/in/sub/"
expect_rc 0 "--dir" "$MUGAI" sanitize --dir "$work/in" --out "$work/out-dir"
for f in 01-utf8-plain.eml 37-exe-attachment.eml sub/30-html-only-hostile.eml; do
  [ -s "$work/out-dir/$f" ] && [ -s "$work/out-dir/$f.json" ] && ok || fail "--dir output for $f"
done
expect_grep "$work/out" "messages: 3 (delivered 3, held 0)" "summary counts"
expect_grep "$work/out" "parts by disposition:" "summary dispositions"
expect_grep "$work/out" "findings by kind:" "summary findings"
expect_grep "$work/out" "removed: type.executable" "summary names removals"
expect_rc 0 "--dir with held" "$MUGAI" sanitize --config "$work/tiny.conf" --dir "$work/in" --out "$work/out-held"
[ ! -e "$work/out-held/01-utf8-plain.eml" ] && [ -s "$work/out-held/01-utf8-plain.eml.json" ] && ok || fail "held in --dir: report only"
expect_grep "$work/out" "held 3" "summary counts held"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
