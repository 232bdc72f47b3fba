# tests/extern/test_extern_run.sh LLMRUN LLMC LLMDATA LIBDIR — extern functions through
# the tools (run from the source dir): llmc compiles tests/extern/gpt2-swish-tiny.llm
# into a bundle without the library (the compiler never opens it); llmrun refuses to
# start without it, naming the library, and trains with it on LD_LIBRARY_PATH, from the
# bundle and from the .llm, bit-identically on 1 and 2 threads; a missing function and a
# missing backward are each named before the first step.
set -u
llmrun=$1 llmc=$2 llmdata=$3 libdir=$4
fail=0
work=$(mktemp -d /tmp/llmc-extern-XXXXXX)
trap 'rm -rf "$work"' EXIT
: "${LLMC_CACHE_DIR:=$work/kernel-cache}"
export LLMC_CACHE_DIR
unset LD_LIBRARY_PATH
bad() { echo "FAIL $*"; fail=1; }
expect() { # expect WANT_RC DESCRIPTION CMD... ; output in $out
    local want=$1 what=$2
    shift 2
    out=$("$@" 2>&1)
    local rc=$?
    if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want"; echo "$out" | tail -5; fi
}
contains() { grep -qF -- "$2" <<<"$out" || { bad "$1: output lacks '$2'"; echo "$out" | tail -5; }; }

python3 - "$work/corpus.txt" <<'PY'
import random, sys
r = random.Random(7)
words = "the quick brown fox jumps over a lazy dog while one small cat sits on the mat".split()
open(sys.argv[1], "w").write("".join(" ".join(r.choice(words) for _ in range(8)) + ".\n" for _ in range(1500)))
PY
"$llmdata" shard "$work/corpus.txt" --out "$work/D" >/dev/null || bad "llmdata shard"
model=tests/extern/gpt2-swish-tiny.llm

expect 0 "llmc -o without the library" "$llmc" $model -D vocab=256 -o "$work/m.llmc"
expect 1 "llmrun without the library" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/R0" --steps 2
contains "missing library" "extern 'libllmc_test_act.so:swish': cannot load library 'libllmc_test_act.so'"
[ -e "$work/R0/metrics.jsonl" ] && bad "a run without its library wrote metrics"

export LD_LIBRARY_PATH=$libdir
expect 0 "llmrun bundle, 1 thread" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/R1" --steps 4 --threads 1
contains "bundle run" "done at step 4"
expect 0 "llmrun bundle, 2 threads" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/R2" --steps 4 --threads 2
[ -d "$work/R1/ckpt-00000004" ] || bad "no checkpoint at step 4"
for f in $(cd "$work/R1/ckpt-00000004" && ls *.safetensors); do
    cmp -s "$work/R1/ckpt-00000004/$f" "$work/R2/ckpt-00000004/$f" || bad "1 vs 2 threads: $f differs"
done
expect 0 "llmrun .llm" "$llmrun" $model -D vocab=256 --data "$work/D" --out "$work/R3" --steps 4 --threads 2
contains ".llm run" "done at step 4"

sed 's/backward swish_grad(x: f32\[same\], dy: f32\[same\]) -> f32\[same\]//; s/^    backward.*//' $model >"$work/nobwd.llm"
expect 1 "llmrun without a backward" "$llmrun" "$work/nobwd.llm" -D vocab=256 --data "$work/D" --out "$work/R4" --steps 1
contains "no backward" "extern 'libllmc_test_act.so:swish'"
contains "no backward" "has no backward"
sed 's/fn swish(/fn swish_missing(/; s/swish(layernorm/swish_missing(layernorm/' $model >"$work/nofn.llm"
expect 1 "llmrun with a missing function" "$llmrun" "$work/nofn.llm" -D vocab=256 --data "$work/D" --out "$work/R5" --steps 1
contains "missing function" "library 'libllmc_test_act.so' has no function 'swish_missing'"
exit $fail
