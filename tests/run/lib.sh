# tests/run/lib.sh — sourced by tests/run/test_run_*.sh LLMRUN LLMC LLMDATA (run from the
# source dir): the tools, a temp dir $work removed on exit, a ~40 KB synthetic corpus
# sharded byte-level into $work/D, gpt2-tiny compiled with -D vocab=256 into
# $work/m.llmc, and the expect/contains/same helpers. Failures set fail=1; the test
# ends with `exit $fail`.
set -u
llmrun=$1 llmc=$2 llmdata=$3
fail=0
work=$(mktemp -d /tmp/llmc-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
: "${LLMC_CACHE_DIR:=$work/kernel-cache}" # ctest sets it to one in the build tree
export LLMC_CACHE_DIR

bad() { echo "FAIL $*"; fail=1; }

expect() { # expect WANT_RC DESCRIPTION CMD... ; its stdout+stderr in $out, its status in $rc
    local want=$1 what=$2
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want"; echo "$out" | tail -5; return 1; fi
    return 0
}
contains() { # contains DESCRIPTION TEXT: $out holds TEXT
    if ! grep -qF -- "$2" <<<"$out"; then bad "$1: output lacks '$2'"; echo "$out" | tail -5; fi
}
matches() { # matches DESCRIPTION ERE: a line of $out matches ERE
    if ! grep -qE -- "$2" <<<"$out"; then bad "$1: no output line matches /$2/"; echo "$out" | tail -5; fi
}
same() { # same DESCRIPTION FILE1 FILE2: byte-identical
    if ! cmp -s "$2" "$3"; then bad "$1: $2 and $3 differ$(cmp "$2" "$3" 2>&1 | sed 's/^/: /')"; fi
}
latest_is() { # latest_is DESCRIPTION RUN_DIR STEP
    local want got
    want=$(printf 'ckpt-%08d' "$3")
    got=$(cat "$2/latest" 2>/dev/null)
    [ "$got" = "$want" ] || bad "$1: $2/latest is '$got', expected '$want'"
}
intact() { # intact DESCRIPTION DIR COPY: DIR holds exactly what COPY does
    diff -r "$2" "$3" >/dev/null || { bad "$1: $2 changed"; diff -r "$2" "$3" | head -5; }
}
flip_byte() { # flip_byte FILE OFFSET: xor the byte at OFFSET with 0xff
    python3 -c "
import sys
p, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[at] ^= 0xff; open(p, 'wb').write(b)" "$1" "$2"
}

# a corpus of short sentences over a small vocabulary (learnable in a few dozen steps)
python3 "$(dirname "$0")/../corpus.py" "$work/corpus.txt"
"$llmdata" shard "$work/corpus.txt" --out "$work/D" >/dev/null || bad "llmdata shard: exit $?"
report=$("$llmc" models/gpt2-tiny.llm -D vocab=256 -o "$work/m.llmc" 2>&1) || { bad "llmc -o: exit $?"; echo "$report"; exit 1; }
