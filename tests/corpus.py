# tests/corpus.py OUT [BYTES] — the tests' small English-like corpus: short sentences over
# a 30-word vocabulary (learnable in a few dozen steps), deterministic (seed 6), at least
# BYTES bytes (default 40000). Shared by tests/run/lib.sh, tests/tools/test_llmsweep.sh
# and tools/bench_fsdp.sh.
import random
import sys

r = random.Random(6)
words = ("the quick brown fox jumps over a lazy dog while one small cat sits on the warm mat "
         "and looks at birds in the old tree near our quiet house by the river").split()
want = int(sys.argv[2]) if len(sys.argv) > 2 else 40000
out, n = [], 0
while n < want:
    s = " ".join(r.choice(words) for _ in range(r.randint(4, 12))).capitalize() + ".\n"
    out.append(s)
    n += len(s)
open(sys.argv[1], "w").write("".join(out))
