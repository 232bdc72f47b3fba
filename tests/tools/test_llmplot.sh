#!/usr/bin/env bash
# tests/tools/test_llmplot.sh LLMPLOT — llmplot on the hand-made runs and sweep in
# tests/tools/plot/ (no training): every SVG is well-formed XML (xmllint, from
# libxml2-utils, which tools/install-deps.sh installs) with the expected series — train
# and validation per run, lr with --lr, the axis labels of --x tokens and flops, sweep
# points and the frontier of fit.json / --law / none — names escaped, NaN losses and a
# single point drawn, malformed lines skipped with file:line, and exit codes (0 written,
# 1 bad input, 2 bad usage).
set -u
LLMPLOT="$1"
cd "$(dirname "$0")/../.."
F=tests/tools/plot
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

if ! command -v xmllint >/dev/null; then
  echo "FAIL: xmllint not found (libxml2-utils; tools/install-deps.sh installs it)"
  exit 1
fi

# expect STATUS PATTERN CMD... : runs CMD, checks exit status and that PATTERN (grep -E)
# occurs in stdout+stderr ('' to skip).
expect() {
  local want="$1" pattern="$2"
  shift 2
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    bad "$* -> exit $got, expected $want"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$TMP/out"; then
    bad "$* -> output lacks /$pattern/"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  ok
}

# well_formed SVG: parses as XML, and is an <svg> in the SVG namespace with a viewBox.
well_formed() {
  if xmllint --noout "$1" 2>"$TMP/xml"; then ok; else bad "$1 is not well-formed XML"; sed 's/^/    /' "$TMP/xml" | head; fi
  if grep -q '<svg xmlns="http://www.w3.org/2000/svg" [^>]*viewBox="0 0 [0-9]* [0-9]*"' "$1"; then ok; else bad "$1 has no <svg xmlns=... viewBox=...>"; fi
}

# has FILE PATTERN WHAT / lacks FILE PATTERN WHAT: grep -E on the SVG.
has() { if grep -Eq -- "$2" "$1"; then ok; else bad "$1 lacks $3 (/$2/)"; fi; }
lacks() { if grep -Eq -- "$2" "$1"; then bad "$1 has $3 (/$2/)"; else ok; fi; }
# count FILE PATTERN N WHAT: exactly N matches of grep -Eo.
count() {
  local n
  n=$(grep -Eo -- "$2" "$1" | wc -l)
  if [ "$n" = "$3" ]; then ok; else bad "$1: $n of $4, expected $3"; fi
}

# --- usage -------------------------------------------------------------------------
expect 0 'usage: llmplot RUN_DIR' "$LLMPLOT" --help
expect 2 "missing -o FILE.svg" "$LLMPLOT" $F/run_a
expect 2 "missing RUN_DIR" "$LLMPLOT" -o "$TMP/x.svg"
expect 2 "unknown option '--bogus'.*" "$LLMPLOT" $F/run_a -o "$TMP/x.svg" --bogus
expect 2 "Try 'llmplot --help'" "$LLMPLOT" $F/run_a -o "$TMP/x.svg" --bogus
expect 2 "needs a value" "$LLMPLOT" $F/run_a -o
expect 2 "--x needs step, tokens or flops" "$LLMPLOT" $F/run_a -o "$TMP/x.svg" --x bytes
expect 2 "--law goes with --sweep" "$LLMPLOT" $F/run_a -o "$TMP/x.svg" --law hoffmann
expect 2 "does not go with it" "$LLMPLOT" --sweep $F/sweep $F/run_a -o "$TMP/x.svg"
expect 2 "for runs, not --sweep" "$LLMPLOT" --sweep $F/sweep --lr -o "$TMP/x.svg"

# --- bad input ---------------------------------------------------------------------
expect 1 "nope: No such file" "$LLMPLOT" "$TMP/nope" -o "$TMP/x.svg"
mkdir -p "$TMP/nometrics" "$TMP/empty" "$TMP/allnan"
expect 1 "nometrics/metrics.jsonl: cannot open" "$LLMPLOT" "$TMP/nometrics" -o "$TMP/x.svg"
: >"$TMP/empty/metrics.jsonl"
expect 1 "empty/metrics.jsonl: empty" "$LLMPLOT" "$TMP/empty" -o "$TMP/x.svg"
printf '{"step":1,"loss":null}\n{"step":2,"loss":null,"val_loss":null}\n' >"$TMP/allnan/metrics.jsonl"
expect 1 "nothing to plot" "$LLMPLOT" "$TMP/allnan" -o "$TMP/x.svg"
expect 1 "not a directory" "$LLMPLOT" $F/run_a/metrics.jsonl -o "$TMP/x.svg"
expect 1 "--x flops needs .*run_a/run.json" "$LLMPLOT" $F/run_a -o "$TMP/x.svg" --x flops
expect 1 "no runs/ directory: not a sweep" "$LLMPLOT" --sweep $F/run_a -o "$TMP/x.svg"
expect 1 "neither besiroglu, hoffmann nor a fit file" "$LLMPLOT" --sweep $F/sweep --law "$TMP/nofit.json" -o "$TMP/x.svg"
expect 1 'missing key "E"' "$LLMPLOT" --sweep $F/sweep --law $F/run_b/run.json -o "$TMP/x.svg"
expect 1 "cannot create" "$LLMPLOT" $F/run_a -o "$TMP/no/such/dir/x.svg"
if [ ! -e "$TMP/x.svg" ]; then ok; else bad "a failed run wrote $TMP/x.svg"; fi

# --- runs: loss against step, train and validation, a color each -------------------
S="$TMP/runs.svg"
expect 0 "wrote $S" "$LLMPLOT" $F/run_a $F/run_b -o "$S" --title 'Two runs'
well_formed "$S"
has "$S" '<path class="series train" data-run="run_a"' "run_a's train curve"
has "$S" '<path class="series val" data-run="run_a"' "run_a's validation curve"
has "$S" '<g class="markers val" data-run="run_a"' "run_a's validation markers"
# run_b is named by its run.json
has "$S" '<path class="series train" data-run="dim=64,layers=2"' "run_b's train curve, by its run.json name"
has "$S" '<path class="series val" data-run="dim=64,layers=2"' "run_b's validation curve"
count "$S" '<path class="series train"' 2 "train curves"
count "$S" 'class="series [a-z-]*"[^>]*stroke="#1f77b4"' 2 "run_a's series in its color"
count "$S" 'class="series [a-z-]*"[^>]*stroke="#ff7f0e"' 2 "run_b's series in its color"
# run_a validates every 10 of 40 steps, run_b every 6 of 36: 4 + 6 markers (the
# legend's circles carry their own fill)
count "$S" '<circle [^>]*r="[0-9.]*"/>' 10 "validation markers"
lacks "$S" 'class="series lr"' "an lr series without --lr"
has "$S" '<text [^>]*class="axis-title x"[^>]*>step</text>' "the x axis title"
has "$S" '<text [^>]*class="axis-title y"[^>]*>loss</text>' "the y axis title"
has "$S" 'class="tick-label x"[^>]*>40</text>' "the x tick label 40"
has "$S" 'class="title"[^>]*>Two runs</text>' "the title"
has "$S" 'class="legend-label"[^>]*>run_a</text>' "run_a in the legend"
has "$S" 'class="legend-label"[^>]*>validation</text>' "validation in the legend"
lacks "$S" ' (d|cx|cy)="[^"]*(nan|inf)' "nan or inf coordinates"
# deterministic
"$LLMPLOT" $F/run_a $F/run_b -o - --title 'Two runs' >"$TMP/stdout.svg" 2>/dev/null
if cmp -s "$S" "$TMP/stdout.svg"; then ok; else bad "-o - differs from -o FILE (or the output is not deterministic)"; fi

# --- --lr and --x tokens: a second panel, SI tick labels ----------------------------
S="$TMP/lr.svg"
expect 0 "" "$LLMPLOT" $F/run_a $F/run_b -o "$S" --lr --x tokens
well_formed "$S"
has "$S" '<path class="series lr" data-run="run_a"' "run_a's lr curve"
has "$S" '<path class="series lr" data-run="dim=64,layers=2"' "run_b's lr curve"
has "$S" 'id="panel-1"' "the lr panel"
has "$S" '<text [^>]*class="axis-title x"[^>]*>tokens</text>' "the x axis title tokens"
has "$S" 'class="tick-label x"[^>]*>[0-9]+k</text>' "tick labels in thousands of tokens (20k, ...)"
has "$S" 'class="axis-title y"[^>]*>learning rate</text>' "the lr axis title"
has "$S" 'class="tick-label y"[^>]*>[0-9.]+e-4</text>' "lr tick labels like 2e-4"
count "$S" 'class="axis-title x"' 1 "x axis titles (one, under the lower panel)"

# --- --x flops (run.json's flops_per_step), log axes ---------------------------------
S="$TMP/flops.svg"
expect 0 "" "$LLMPLOT" $F/run_b -o "$S" --x flops --log-x --log-y
well_formed "$S"
has "$S" '<path class="series train" data-run="dim=64,layers=2"' "the train curve on log axes"
has "$S" 'class="axis-title x"[^>]*>training FLOPs</text>' "the x axis title"
has "$S" 'class="tick-label x"[^>]*>10G</text>' "a decade tick label 10G"

# --- robustness: NaN, one point, malformed lines, names to escape -------------------
mkdir -p "$TMP/nan" "$TMP/one" "$TMP/badlines"
sed -e 's/"step":5,"loss":[0-9.]*/"step":5,"loss":null/' -e 's/"step":6,"loss":[0-9.]*/"step":6,"loss":null/' \
  $F/run_a/metrics.jsonl >"$TMP/nan/metrics.jsonl"
S="$TMP/nan.svg"
expect 0 "" "$LLMPLOT" "$TMP/nan" -o "$S" --log-y
well_formed "$S"
has "$S" '<path class="series train" data-run="nan"' "the train curve around NaN losses"
lacks "$S" ' (d|cx|cy)="[^"]*(nan|inf)' "nan or inf coordinates"
echo '{"step":1,"loss":9.04,"lr":2e-05,"tokens":2048}' >"$TMP/one/metrics.jsonl"
S="$TMP/one.svg"
expect 0 "" "$LLMPLOT" "$TMP/one" -o "$S"
well_formed "$S"
has "$S" '<g class="markers train" data-run="one"' "a single point drawn as a marker"
{ echo 'garbage'; head -5 $F/run_a/metrics.jsonl; echo '{"loss":3}'; printf '{"step":9,"loss":3.3,'; } >"$TMP/badlines/metrics.jsonl"
expect 0 'badlines/metrics.jsonl:1:1: expected a value' "$LLMPLOT" "$TMP/badlines" -o "$TMP/bad.svg"
expect 0 'badlines/metrics.jsonl:7: expected an object with a numeric "step"' "$LLMPLOT" "$TMP/badlines" -o "$TMP/bad.svg"
expect 0 'badlines/metrics.jsonl:8:[0-9]+: .*line skipped' "$LLMPLOT" "$TMP/badlines" -o "$TMP/bad.svg"
well_formed "$TMP/bad.svg"
NAME="a&b<c>\"d'"
mkdir -p "$TMP/$NAME"
cp $F/run_a/metrics.jsonl "$TMP/$NAME/"
S="$TMP/escape.svg"
expect 0 "" "$LLMPLOT" "$TMP/$NAME" -o "$S" --title 'x < y & "z"'
well_formed "$S"
has "$S" 'data-run="a&amp;b&lt;c&gt;&quot;d&apos;"' "the escaped run name"
has "$S" '>x &lt; y &amp; &quot;z&quot;</text>' "the escaped title"

# --- sweep: final loss against FLOPs, colored by size, with the frontier ------------
S="$TMP/sweep.svg"
expect 0 "5 of 6 runs plotted" "$LLMPLOT" --sweep $F/sweep -o "$S"
expect 0 'steps=400: not finished' "$LLMPLOT" --sweep $F/sweep -o "$S"
well_formed "$S"
# 3 sizes, 5 finished runs (the running one is left out), runs of one size joined
count "$S" '<g class="series points" data-params="[^"]*"' 3 "point groups (model sizes)"
has "$S" '<g class="series points" data-params="110k"' "the 110k group"
count "$S" '<circle [^>]*><title>' 5 "sweep points"
count "$S" '<path class="series iso-n"' 2 "lines joining the runs of one size"
has "$S" '<title>dim=32,layers=1,steps=100: N = 30k' "a point's tooltip"
lacks "$S" 'dim=128,layers=2,steps=400' "the unfinished run"
has "$S" '<path class="series frontier"[^>]* d="M' "the frontier"
has "$S" 'class="legend-note"[^>]*>law: fit.json, 5 runs</text>' "the law's source in the legend"
has "$S" 'class="axis-title x"[^>]*>training FLOPs \(C\)</text>' "the x axis title"
has "$S" 'class="axis-title y"[^>]*>final validation loss</text>' "the y axis title"
has "$S" 'class="tick-label x"[^>]*>100G</text>' "a tick label 100G"
S="$TMP/hoffmann.svg"
expect 0 "" "$LLMPLOT" --sweep $F/sweep -o "$S" --law hoffmann --title 'sweep'
well_formed "$S"
has "$S" '<path class="series frontier"' "the frontier of --law hoffmann"
has "$S" '>law: Hoffmann et al. 2022</text>' "the law named in the legend"
# without fit.json: no frontier, a note in the legend
mkdir -p "$TMP/nofit"
cp -r $F/sweep/runs "$TMP/nofit/"
S="$TMP/nofit.svg"
expect 0 "" "$LLMPLOT" --sweep "$TMP/nofit" -o "$S"
well_formed "$S"
lacks "$S" 'class="series frontier"' "a frontier without a law"
has "$S" 'class="legend-note"[^>]*>no scaling law: no frontier</text>' "the no-law note"
expect 0 "" "$LLMPLOT" --sweep "$TMP/nofit" -o "$TMP/f2.svg" --law $F/sweep/fit.json
has "$TMP/f2.svg" '<path class="series frontier"' "the frontier of --law FILE"
# a sweep with nothing finished
mkdir -p "$TMP/unfinished/runs"
cp -r "$F/sweep/runs/dim=128,layers=2,steps=400" "$TMP/unfinished/runs/"
expect 1 "no finished run to plot" "$LLMPLOT" --sweep "$TMP/unfinished" -o "$TMP/x.svg"

echo "test_llmplot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
