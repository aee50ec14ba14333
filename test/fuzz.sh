#!/usr/bin/env bash
# Runs every native fuzz target (func FuzzXxx) of the repository for SECONDS each (default 10),
# one target at a time, and prints the executions of each. A crash leaves its input under the
# package's testdata/fuzz/FuzzXxx/ (the Go toolchain writes it there), so committing that file
# adds it to the seed corpus; the script then exits 1.
#
#   test/fuzz.sh [SECONDS] [PACKAGE-PATTERN...]     e.g. test/fuzz.sh 30 ./canonical/...
#
# FUZZ_PARALLEL sets the fuzzing workers per target (default 1: the machine is shared).
set -uo pipefail
cd "$(dirname "$0")/.."

secs="${1:-10}"
shift || true
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)
parallel="${FUZZ_PARALLEL:-1}"
case "$secs" in '' | *[!0-9]*)
  echo "test/fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2
  exit 2
  ;;
esac

logdir="$(mktemp -d "${TMPDIR:-/tmp}/lienthong-fuzz.XXXXXX")"
targets=()
broken=()
while read -r dir pkg; do
  # Only packages with a fuzz function in a test file: -list compiles (and runs TestMain of)
  # every package it is given, which for test/e2e and test/fault means building binaries.
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  # A package that does not build is reported, not skipped silently.
  if ! out="$(go test -list '^Fuzz' "$pkg" 2>&1)"; then
    broken+=("$pkg")
    echo "test/fuzz.sh: cannot list fuzz targets of $pkg:" >&2
    echo "$out" | head -20 >&2
    continue
  fi
  while read -r name; do
    [[ "$name" == Fuzz* ]] && targets+=("$pkg $name")
  done <<<"$out"
done < <(go list -f '{{.Dir}} {{.ImportPath}}' "${patterns[@]}")

if [ ${#targets[@]} -eq 0 ]; then
  echo "test/fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
echo "test/fuzz.sh: ${#targets[@]} targets, ${secs}s each, ${parallel} worker(s); logs in $logdir"

crashed=()
printf '%-58s %-26s %12s %10s  %s\n' PACKAGE TARGET EXECS PER_SEC RESULT
for entry in "${targets[@]}"; do
  pkg="${entry% *}"
  name="${entry#* }"
  log="$logdir/$(echo "$pkg" | tr '/.' '__')_$name.log"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -parallel "$parallel" "$pkg" >"$log" 2>&1
  rc=$?
  # The last progress line: "fuzz: elapsed: 10s, execs: 123456 (12345/sec), new interesting: ..."
  last="$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1)"
  execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")"
  elapsed="$(sed -nE 's/^fuzz: elapsed: ([0-9]+)s.*/\1/p' <<<"$last")"
  rate="-"
  if [ -n "$execs" ] && [ -n "$elapsed" ] && [ "$elapsed" -gt 0 ]; then rate=$((execs / elapsed)); fi
  result=ok
  if [ $rc -ne 0 ]; then
    new="$(grep -Eo 'testdata/fuzz/[^ ]+' "$log" | head -1)"
    if [ -z "$new" ] && grep -q 'context deadline exceeded' "$log" && ! grep -qE '^panic:|Failing input' "$log"; then
      # The Go fuzzing engine sometimes ends a run at -fuzztime with this error while a
      # worker is busy; no input failed, nothing is written to the corpus.
      result="ok (engine stopped at the time limit: context deadline exceeded)"
    else
      result="CRASH (see $log)"
      [ -n "$new" ] && result="CRASH, input $new (see $log)"
      crashed+=("$pkg $name")
    fi
  fi
  printf '%-58s %-26s %12s %10s  %s\n' "${pkg#github.com/lienthong/lienthong/}" "$name" "${execs:-?}" "$rate" "$result"
done

if [ ${#broken[@]} -gt 0 ]; then
  echo "test/fuzz.sh: packages whose tests did not build: ${broken[*]}" >&2
fi
if [ ${#crashed[@]} -gt 0 ]; then
  echo "test/fuzz.sh: ${#crashed[@]} target(s) crashed: ${crashed[*]}" >&2
  exit 1
fi
[ ${#broken[@]} -gt 0 ] && exit 1
exit 0
