#!/usr/bin/env python3
"""Times the PyTorch reference forward pass on the benchmark graphs that
`go test ./internal/gnn -run TestExportBenchFixtures` writes (see bench.sh).

Single-threaded (torch.set_num_threads(1)), inference mode, median wall
time of several runs after warm-up, and mean process CPU time per run. Prints one JSON object per graph size.
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gnn_reference as ref  # noqa: E402


def time_forward(model, xs, edges, min_time=2.0, min_runs=5):
    with torch.inference_mode():
        for _ in range(3):
            model(xs, edges)
        times = []
        start = time.perf_counter()
        cpu0 = time.process_time()
        while len(times) < min_runs or time.perf_counter() - start < min_time:
            t0 = time.perf_counter()
            model(xs, edges)
            times.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / len(times)
    # Process CPU time per run is reported too: on a shared machine the wall
    # clock mostly measures the neighbours.
    return statistics.median(times) * 1e3, cpu * 1e3, len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir", help="directory with model.safetensors and graph-N.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=2.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = ref.load_model(os.path.join(args.dir, "model.safetensors"))
    graphs = sorted(glob.glob(os.path.join(args.dir, "graph-*.json")),
                    key=lambda p: int(re.search(r"graph-(\d+)", p).group(1)))
    for path in graphs:
        xs, edges = ref.load_graph(path, model)
        ms, cpu_ms, runs = time_forward(model, xs, edges, args.min_time)
        print(json.dumps({
            "nodes": sum(x.size(0) for x in xs),
            "edges": sum(int(s.numel()) for s, _ in edges),
            "torch": torch.__version__, "threads": args.threads,
            "ms": round(ms, 4), "cpu_ms": round(cpu_ms, 4), "runs": runs,
        }), flush=True)


if __name__ == "__main__":
    main()
