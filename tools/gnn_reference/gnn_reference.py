#!/usr/bin/env python3
"""Plain-PyTorch reference implementation of Logster's hetero-gat-v1 model.

It exists to prove the Go runtime (internal/gnn) computes the same function:
the Go tests run it on random models and graphs and compare the outputs.
It needs only torch and numpy (Debian: python3-torch); torch_geometric and
the safetensors package are deliberately not used.

The module and parameter names reproduce PyTorch Geometric's layout
(HeteroConv -> ModuleDict keyed "src__rel__dst" of GATConv with lin_src,
lin_dst, att_src, att_dst, bias), so state_dict() names equal the tensor
names in the .safetensors file.

Usage:
  gnn_reference.py run CASES.json        # CASES: [{"model": path, "graph": path,
                                         #          "label": int?, "class_weights": [..]?}]
                                         # prints a JSON list of results
  gnn_reference.py export-pt MODEL.safetensors OUT.pt   # state_dict for .pt import
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as Fn
from torch import nn

ARCHITECTURE = "hetero-gat-v1"


def read_safetensors(path):
    """Minimal safetensors reader: 8-byte LE header length, JSON, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}")
        b, e = info["data_offsets"]
        arr = np.frombuffer(blob, dtype="<f4", count=(e - b) // 4, offset=base + b)
        tensors[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return tensors


def config_path(weights_path):
    dot = weights_path.rfind(".")
    slash = weights_path.rfind("/")
    stem = weights_path[:dot] if dot > slash else weights_path
    return stem + ".json"


def rel_key(r):
    return f"{r['src']}__{r['name']}__{r['dst']}"


class GATConv(nn.Module):
    """Bipartite GATConv as in PyTorch Geometric (concat heads, no self-loop
    insertion, LeakyReLU 0.2, softmax over each destination's incoming edges,
    bias added after aggregation)."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.ch = heads, hidden // heads
        self.lin_src = nn.Linear(hidden, hidden, bias=False)
        self.lin_dst = nn.Linear(hidden, hidden, bias=False)
        self.att_src = nn.Parameter(torch.zeros(1, heads, self.ch))
        self.att_dst = nn.Parameter(torch.zeros(1, heads, self.ch))
        self.bias = nn.Parameter(torch.zeros(hidden))

    def forward(self, x_src, x_dst, src, dst, attn_dropout=0.0):
        K, C = self.heads, self.ch
        n_dst = x_dst.size(0)
        xs = self.lin_src(x_src).view(-1, K, C)
        xd = self.lin_dst(x_dst).view(-1, K, C)
        a_s = (xs * self.att_src).sum(-1)  # [Ns, K]
        a_d = (xd * self.att_dst).sum(-1)  # [Nd, K]
        e = Fn.leaky_relu(a_s[src] + a_d[dst], 0.2)  # [E, K]
        idx = dst.view(-1, 1).expand(-1, K)
        emax = e.new_zeros((n_dst, K)).scatter_reduce(0, idx, e, reduce="amax", include_self=False)
        ex = (e - emax[dst]).exp()
        den = e.new_zeros((n_dst, K)).index_add(0, dst, ex)
        alpha = ex / den[dst]
        alpha_used = Fn.dropout(alpha, attn_dropout, self.training)
        msg = xs[src] * alpha_used.unsqueeze(-1)  # [E, K, C]
        out = x_dst.new_zeros((n_dst, K, C)).index_add(0, dst, msg)
        return out.reshape(n_dst, K * C) + self.bias, alpha


class HeteroLayer(nn.Module):
    def __init__(self, keys, hidden, heads):
        super().__init__()
        self.convs = nn.ModuleDict({k: GATConv(hidden, heads) for k in keys})


class Readout(nn.Module):
    def __init__(self, hidden, classes):
        super().__init__()
        self.lin1 = nn.Linear(2 * hidden, hidden)
        self.lin2 = nn.Linear(hidden, classes)


class HeteroGAT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg["architecture"] != ARCHITECTURE:
            raise ValueError(f"unknown architecture {cfg['architecture']!r}")
        self.cfg = cfg
        self.types = cfg["node_types"]
        H, F = cfg["hidden"], cfg["feature_dim"]
        # Configured relations first, then one self relation per node type.
        self.rels = [(self.types.index(r["src"]), self.types.index(r["dst"]), rel_key(r))
                     for r in cfg["relations"]]
        self.rels += [(i, i, f"{t}__self__{t}") for i, t in enumerate(self.types)]
        self.in_proj = nn.ModuleDict({t: nn.Linear(F, H) for t in self.types})
        self.convs = nn.ModuleList(
            [HeteroLayer([k for _, _, k in self.rels], H, cfg["heads"]) for _ in range(cfg["layers"])])
        self.readout = Readout(H, cfg["classes"])

    def forward(self, xs, edges):
        """xs: per node type [N_t, F]; edges: per configured relation (src, dst)
        LongTensors. Returns logits, and the last layer's attention per
        configured relation [E, K]."""
        p = self.cfg.get("dropout", 0.0) if self.training else 0.0
        n = [x.size(0) for x in xs]
        h = [self.in_proj[t](xs[i]) for i, t in enumerate(self.types)]
        alphas = []
        L = len(self.convs)
        for li, layer in enumerate(self.convs):
            hin = [Fn.dropout(v, p, self.training) for v in h]
            out = [hin[i].new_zeros((n[i], self.cfg["hidden"])) for i in range(len(n))]
            alphas = []
            for ri, (s, d, key) in enumerate(self.rels):
                if ri < len(edges):
                    src, dst = edges[ri]
                else:  # self relation: identity edges
                    src = dst = torch.arange(n[s], dtype=torch.long)
                o, alpha = layer.convs[key](hin[s], hin[d], src, dst, p)
                out[d] = out[d] + o
                alphas.append(alpha)
            if li < L - 1:
                out = [Fn.elu(v) for v in out]
            h = out
        allh = torch.cat(h, 0)
        pooled = torch.cat([allh.mean(0), allh.max(0).values])
        z = torch.relu(self.readout.lin1(pooled))
        logits = self.readout.lin2(z)
        return logits, alphas[:len(edges)]


def load_model(weights_path):
    with open(config_path(weights_path)) as f:
        cfg = json.load(f)
    model = HeteroGAT(cfg)
    tensors = read_safetensors(weights_path)
    want = model.state_dict()
    if set(want) != set(tensors):
        raise ValueError(f"tensor names differ: missing {sorted(set(want) - set(tensors))[:5]}, "
                         f"extra {sorted(set(tensors) - set(want))[:5]}")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model


def load_graph(path_or_obj, model):
    g = path_or_obj
    if isinstance(g, str):
        with open(g) as f:
            g = json.load(f)
    F = model.cfg["feature_dim"]
    xs = [torch.tensor(np.asarray(x if x is not None else [], dtype=np.float32).reshape(n, F))
          for x, n in zip(g["X"], g["N"])]
    edges = [(torch.tensor(e["Src"] or [], dtype=torch.long), torch.tensor(e["Dst"] or [], dtype=torch.long))
             for e in g["Edges"]]
    return xs, edges


def explain(model, xs, edges, alphas):
    """Node importance and edge attention exactly as the Go runtime defines
    them: head-averaged last-layer attention, mass sent plus received."""
    imp = [torch.zeros(x.size(0), dtype=torch.float64) for x in xs]
    edge_att = []
    mass = 0.0
    for ri, (src, dst) in enumerate(edges):
        s, d, _ = model.rels[ri]
        a = alphas[ri].mean(1).double()
        edge_att.append(a.float().tolist())
        imp[s].index_add_(0, src, a)
        imp[d].index_add_(0, dst, a)
        mass += 2 * float(a.sum())
    total = sum(x.size(0) for x in xs)
    if mass > 0:
        imp = [v / mass for v in imp]
    else:
        imp = [torch.full((x.size(0),), 1.0 / total, dtype=torch.float64) for x in xs]
    return [v.float().tolist() for v in imp], edge_att


def run_case(case, cache):
    model = cache.get(case["model"])
    if model is None:
        model = cache[case["model"]] = load_model(case["model"])
    xs, edges = load_graph(case["graph"], model)
    res = {}
    if "label" in case:
        # Gradient of the class-weighted cross-entropy of one graph:
        # loss = -w[label] * log softmax(logits)[label] (no averaging).
        model.zero_grad()
        logits, alphas = model(xs, edges)
        w = torch.tensor(case.get("class_weights") or [1.0] * logits.numel())
        loss = -w[case["label"]] * torch.log_softmax(logits, 0)[case["label"]]
        loss.backward()
        res["loss"] = float(loss)
        res["grads"] = {k: p.grad.reshape(-1).tolist() for k, p in model.named_parameters()}
    with torch.no_grad():
        logits, alphas = model(xs, edges)
        probs = torch.softmax(logits, 0)
        imp, ea = explain(model, xs, edges, alphas)
    res.update(logits=logits.tolist(), probs=probs.tolist(), node_importance=imp, edge_attention=ea)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("cases")
    e = sub.add_parser("export-pt")
    e.add_argument("weights")
    e.add_argument("out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "run":
        with open(args.cases) as f:
            cases = json.load(f)
        cache = {}
        json.dump([run_case(c, cache) for c in cases], sys.stdout)
    elif args.cmd == "export-pt":
        torch.save(load_model(args.weights).state_dict(), args.out)


if __name__ == "__main__":
    main()
