# tests/weights/st.py — safetensors helpers for test_weights.sh (plain Python, no numpy):
#   same-params A B        the params (no opt.*, step, seed, hp.*) of A and B are the same
#                          names, dtypes, shapes and bytes; metadata ignored
#   meta FILE KEY          print a __metadata__ value
#   names FILE             print the tensor names, one a line
#   nonsquare FILE         print the name of the first 2-D tensor with unequal dims
#   edit IN OUT OP [NAME]  write IN with one change: drop NAME | extra (adds "extra.w") |
#                          transpose NAME (a 2-D tensor's shape reversed, same bytes) |
#                          f64 NAME (the tensor widened to F64) | rehash (metadata
#                          model_hash of another model)
import json, struct, sys

def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    data = b[8 + n:]
    ts = {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in h.items()}
    return ts, meta

def write(path, ts, meta):
    h, blobs, off = {}, [], 0
    if meta: h["__metadata__"] = meta
    for k, (dt, shape, raw) in ts.items():
        h[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(h).encode()
    hb += b" " * (-len(hb) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))

def is_param(k):
    return not (k.startswith("opt.m.") or k.startswith("opt.v.") or k in ("step", "seed") or k.startswith("hp."))

cmd = sys.argv[1]
if cmd == "same-params":
    a, b = ({k: v for k, v in read(p)[0].items() if is_param(k)} for p in sys.argv[2:4])
    if a != b:
        diff = sorted(set(a) ^ set(b)) or [k for k in a if a[k] != b[k]]
        print(f"params differ: {sys.argv[2]} vs {sys.argv[3]}: {diff[:5]}")
        sys.exit(1)
    if not a:
        print("no params"); sys.exit(1)
elif cmd == "meta":
    print(read(sys.argv[2])[1].get(sys.argv[3], "(none)"))
elif cmd == "names":
    print("\n".join(read(sys.argv[2])[0]))
elif cmd == "nonsquare":
    print(next(k for k, (dt, shape, raw) in read(sys.argv[2])[0].items() if len(shape) == 2 and shape[0] != shape[1]))
elif cmd == "edit":
    ts, meta = read(sys.argv[2])
    op, name = sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None
    if op == "drop":
        del ts[name]
    elif op == "extra":
        ts["extra.w"] = ("F32", [2], struct.pack("<2f", 1.0, 2.0))
    elif op == "transpose":
        dt, shape, raw = ts[name]
        ts[name] = (dt, shape[::-1], raw)
    elif op == "f64":
        dt, shape, raw = ts[name]
        vals = struct.unpack(f"<{len(raw) // 4}f", raw)
        ts[name] = ("F64", shape, struct.pack(f"<{len(vals)}d", *vals))
    elif op == "rehash":
        meta["model_hash"] = "0123456789abcdef"
    write(sys.argv[3], ts, meta)
