#!/usr/bin/env bash
# Single-core forward-pass latency of internal/gnn against the PyTorch
# reference on the same model and graphs (100, 1,000 and 10,000 nodes).
#
#   tools/gnn_reference/bench.sh            # Go vs PyTorch as installed
#   BLAS_DIR=/path/to/openblas tools/gnn_reference/bench.sh
#       # also time PyTorch with another libblas.so.3 (LD_LIBRARY_PATH), e.g.
#       # an unpacked Debian libopenblas0-pthread: Debian's python3-torch
#       # links the reference BLAS, which is slow at GEMM.
#
# Env: PYTHON (default: the first python3 that imports torch), BENCHTIME (Go, default 3s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

py=${PYTHON:-}
if [ -z "$py" ]; then
  for c in python3 /usr/bin/python3; do
    if "$c" -c 'import torch' 2>/dev/null; then py=$c; break; fi
  done
fi
[ -n "$py" ] || { echo "no python3 with torch (apt-get install python3-torch)" >&2; exit 1; }

cd "$root"
LOGSTER_GNN_BENCH_DIR="$work" go test -count=1 -run '^TestExportBenchFixtures$' ./internal/gnn/ >/dev/null
GOMAXPROCS=1 go test -run '^$' -bench '^Benchmark(Forward|Backward)$' -benchmem -cpu 1 \
  -benchtime "${BENCHTIME:-3s}" -count 3 ./internal/gnn/ | tee "$work/go.txt" >&2
"$py" "$here/bench.py" "$work" 2>/dev/null | tee "$work/torch.jsonl" >&2
if [ -n "${BLAS_DIR:-}" ]; then
  LD_LIBRARY_PATH="$BLAS_DIR" OPENBLAS_NUM_THREADS=1 "$py" "$here/bench.py" "$work" 2>/dev/null \
    | tee "$work/torch_blas.jsonl" >&2
fi

"$py" - "$work" <<'PY'
import json, os, re, sys
w = sys.argv[1]
go = {}  # (kind, nodes) -> dict(ms, cpu, allocs), best of the repeated runs
for line in open(os.path.join(w, "go.txt")):
    m = re.match(r"Benchmark(Forward|Backward)/nodes=(\d+)\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) cpu-ms/op\s+\d+ B/op\s+(\d+) allocs/op", line)
    if not m:
        continue
    key = (m.group(1), int(m.group(2)))
    r = dict(ms=float(m.group(3)) / 1e6, cpu=float(m.group(4)), allocs=int(m.group(5)))
    old = go.get(key)
    go[key] = r if old is None else dict(ms=min(old["ms"], r["ms"]), cpu=min(old["cpu"], r["cpu"]), allocs=r["allocs"])
def load(name):
    p = os.path.join(w, name)
    return {r["nodes"]: r for r in map(json.loads, open(p))} if os.path.exists(p) else {}
runs = [("PyTorch", load("torch.jsonl")), ("PyTorch+OpenBLAS", load("torch_blas.jsonl"))]
runs = [(n, d) for n, d in runs if d]
hdr = "| nodes | Go fwd ms (cpu) | allocs |"
sep = "|---:|---:|---:|"
for name, _ in runs:
    hdr += f" {name} ms (cpu) | ratio wall / cpu |"
    sep += "---:|---:|"
hdr += " Go train fwd+bwd ms (cpu) |"
sep += "---:|"
print(hdr); print(sep)
for n in sorted(k[1] for k in go if k[0] == "Forward"):
    f, b = go[("Forward", n)], go.get(("Backward", n))
    row = f"| {n} | {f['ms']:.3f} ({f['cpu']:.3f}) | {f['allocs']} |"
    for _, d in runs:
        t = d.get(n)
        row += f" {t['ms']:.2f} ({t['cpu_ms']:.2f}) | {t['ms'] / f['ms']:.1f}x / {t['cpu_ms'] / f['cpu']:.1f}x |" if t else " - | - |"
    row += f" {b['ms']:.2f} ({b['cpu']:.2f}) |" if b else " - |"
    print(row)
PY
