#!/usr/bin/env bash
# tests/lower/test_emit_bf16.sh LLMC — what `llmc --emit` shows under precision = bf16
# (-D precision=bf16), on llama-tiny (GQA, fused attention, untied head), gpt2-tiny (tied
# head, biases) and moe-tiny (router and batched experts):
#   --emit=forward   the record says precision=bf16; each matmul but the MoE router's
#                    reads two `cast(...) : bf16[...]` values and gives f32; every cast is
#                    such an operand; the router and attention read no cast. Without -D:
#                    no bf16 anywhere.
#   --emit=train     @micro has bf16 matmuls (forward and backward), @update no bf16
#                    value; each grad.* output is f32.
#   --emit=logits    the same casts as @forward; --emit=fused exits 0.
set -u
llmc=$1
fail=0
bad() { echo "FAIL $*"; fail=1; }

# check STAGE < llir: the rules above (python; graphs split at "graph @")
check() {
    python3 -c '
import re, sys
stage = sys.argv[1]
text = sys.stdin.read()
graphs = {}
for block in re.split(r"^graph @", text, flags=re.M)[1:]:
    name = block.split(None, 1)[0]
    graphs[name] = block
node = re.compile(r"^  %(\d+) = (\w+)\(([^)]*)\)(.*) : (\w+)\[", re.M)
errors = []
routers = set()
def parse(block):
    nodes = {}
    for m in node.finditer(block):
        ops = [int(x) for x in re.findall(r"%(\d+)", m.group(3))]
        nodes[int(m.group(1))] = (m.group(2), ops, m.group(5))
        if m.group(2) == "input" and re.search(r"name=\"[^\"]*\.router\"", m.group(4)):
            routers.add(int(m.group(1)))
    return nodes
def forward_rules(name, block):
    nodes = parse(block)
    users = {}
    for i, (op, ops, dt) in nodes.items():
        for o in ops: users.setdefault(o, []).append(op)
    mm = [n for n in nodes.values() if n[0] == "matmul" and n[1][1] not in routers]
    routed = [n for n in nodes.values() if n[0] == "matmul" and n[1][1] in routers]
    if not mm: errors.append(f"@{name}: no matmul")
    for op, ops, dt in routed:
        if any(nodes[o][2] != "f32" for o in ops) or dt != "f32": errors.append(f"@{name}: the router is not f32")
    for op, ops, dt in mm:
        a, b = (nodes[o] for o in ops)
        if not (a[0] == "cast" and a[2] == "bf16" and b[0] == "cast" and b[2] == "bf16" and dt == "f32"):
            errors.append(f"@{name}: a matmul of {a[0]}:{a[2]} and {b[0]}:{b[2]} gives {dt}")
    casts = [i for i, n in nodes.items() if n[0] == "cast" and n[2] == "bf16"]
    if len(casts) != 2 * len(mm): errors.append(f"@{name}: {len(casts)} bf16 casts for {len(mm)} matmuls")
    for i in casts:
        if set(users.get(i, [])) != {"matmul"}: errors.append(f"@{name}: cast %{i} feeds {users.get(i)}")
    for op, ops, dt in nodes.values():
        if op == "attention" and any(nodes[o][0] == "cast" or nodes[o][2] != "f32" for o in ops):
            errors.append(f"@{name}: attention reads a cast")
    print(f"@{name}: {len(mm)} bf16 matmuls, {len(casts)} casts to bf16, {len(routed)} f32 routers")
if stage in ("forward", "logits"):
    g = "forward" if stage == "forward" else "logits"
    if g not in graphs: errors.append(f"no graph @{g}")
    else:
        if stage == "forward" and "precision=bf16" not in graphs[g]:
            errors.append("the train record does not say precision=bf16")
        forward_rules(g, graphs[g])
elif stage == "train":
    micro, update = parse(graphs.get("micro", "")), graphs.get("update", "")
    n = sum(1 for op, ops, dt in micro.values() if op == "matmul" and all(micro[o][2] == "bf16" for o in ops))
    if n == 0: errors.append("@micro has no bf16 matmul")
    if re.search(r" : bf16\[", update): errors.append("@update holds a bf16 value")
    for out, i in re.findall(r"^  output \"(grad\.[^\"]+)\" = %(\d+)", graphs.get("micro", ""), re.M):
        if micro[int(i)][2] != "f32": errors.append(f"{out} is {micro[int(i)][2]}")
    print(f"@micro: {n} bf16 matmuls; @update: no bf16")
for e in errors: print("FAIL", e)
sys.exit(1 if errors else 0)
' "$1"
}

for m in llama-tiny gpt2-tiny moe-tiny; do
    f=models/$m.llm
    for stage in forward train logits; do
        out=$("$llmc" "$f" -D precision=bf16 --emit=$stage 2>&1) || { bad "$m --emit=$stage: exit $?"; echo "$out" | tail -3; continue; }
        res=$(check $stage <<<"$out") || bad "$m --emit=$stage"
        if [ $m = moe-tiny ] && [ $stage != train ] && ! grep -q ' 2 f32 routers' <<<"$res"; then
            bad "$m --emit=$stage: not 2 f32 routers"
        fi
        echo "$m --emit=$stage: $res"
    done
    out=$("$llmc" "$f" --emit=forward 2>&1) || bad "$m --emit=forward (fp32): exit $?"
    if grep -qE 'bf16' <<<"$out"; then bad "$m: fp32 shows bf16"; fi
    "$llmc" "$f" -D precision=bf16 --emit=fused >/dev/null 2>&1 || bad "$m --emit=fused: exit $?"
done
# the compile report says where the bf16 matmuls run
tmpdir=$(mktemp -d)
out=$("$llmc" models/gpt2-tiny.llm -D precision=bf16 -o "$tmpdir/m.llmc" 2>&1) || bad "llmc -o (bf16): exit $?"
grep -qE '^precision +bf16 matmuls, on (vdpbf16ps|f32 FMA kernels)' <<<"$out" || bad "llmc -o (bf16): no precision line"
out=$("$llmc" models/gpt2-tiny.llm -o "$tmpdir/m.llmc" 2>&1) || bad "llmc -o (fp32): exit $?"
grep -q '^precision' <<<"$out" && bad "llmc -o (fp32): a precision line"
rm -rf "$tmpdir"
exit $fail
