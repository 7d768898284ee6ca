// Package gnn is Logster's model runtime: a pure-Go float32 heterogeneous
// Graph Attention Network ("hetero-gat-v1") with a forward pass for
// inference, reverse-mode gradients and Adam for training, and safetensors
// weights with a JSON config. tools/gnn_reference holds a plain-PyTorch
// implementation of the same function; the tests require both to agree.
//
// # Architecture
//
// Notation: node types t (Config.NodeTypes), configured relations
// r = (s, name, d) (Config.Relations), F = FeatureDim, H = Hidden,
// K = Heads, C = H/K, L = Layers. x_t is [N_t, F]. Every Linear is
// y = x·Wᵀ (+ b) with W stored [out, in], as in PyTorch.
//
//  1. Input projection per type: h⁰_t = x_t·W_in,tᵀ + b_in,t   ([N_t, H]).
//  2. The model appends one relation (t, "self", t) per type, with identity
//     edges i→i, after the configured ones. Each layer l = 0..L-1 is a
//     HeteroConv: for every relation r = (s, d) a bipartite GATConv as in
//     PyTorch Geometric (no self-loop insertion, concat heads):
//     x̂_s = h_s·W_srcᵀ, x̂_d = h_d·W_dstᵀ (both [N, H] = [N, K, C], no bias);
//     per edge j→i and head k, e_ijk = LeakyReLU_0.2(⟨a_src,k, x̂_s[j,k]⟩ +
//     ⟨a_dst,k, x̂_d[i,k]⟩); α_ijk = softmax of e over the edges of r into i;
//     out_r[i,k] = Σ_j α_ijk x̂_s[j,k]; out_r = out_r + bias_r (every node of
//     type d gets bias_r, even if r has no edges). Multi-edges each take part.
//     The layer output of type d is the sum over all relations into d; a
//     self relation's softmax is over one edge, so it contributes
//     h_d·W_srcᵀ + bias. ELU (alpha 1) follows every layer but the last; there is
//     no residual connection (the self relation plays that role).
//  3. Readout: stack the last layer's rows of every type (empty types add
//     nothing), p = [mean over rows ‖ max over rows] ([2H]);
//     logits = W₂·ReLU(W₁·p + b₁) + b₂ ([Classes]); Probs = softmax(logits).
//     Probs[1] is the attack probability. A graph with no nodes is an error.
//  4. Training only: dropout with rate Config.Dropout on every type's
//     features entering each layer (one mask per type per layer, shared by
//     all relations) and on the attention coefficients α (after softmax,
//     self relations included), both with inverted scaling 1/(1-p).
//
// Explanations (Output): EdgeAttention[r][e] is the last layer's α of edge
// e averaged over heads; NodeImportance[t][i] is the head-averaged
// last-layer attention a node receives plus sends over configured relations,
// normalised to sum to 1 over the graph (uniform when there are no edges).
//
// # Parameters
//
// Names equal the reference module's state_dict keys (PyTorch Geometric's
// HeteroConv naming), shapes [out, in]:
//
//	in_proj.{type}.weight                       [H, F]
//	in_proj.{type}.bias                         [H]
//	convs.{l}.convs.{src}__{name}__{dst}.lin_src.weight  [H, H]
//	convs.{l}.convs.{src}__{name}__{dst}.lin_dst.weight  [H, H]
//	convs.{l}.convs.{src}__{name}__{dst}.att_src         [1, K, C]
//	convs.{l}.convs.{src}__{name}__{dst}.att_dst         [1, K, C]
//	convs.{l}.convs.{src}__{name}__{dst}.bias            [H]
//	readout.lin1.weight [H, 2H]   readout.lin1.bias [H]
//	readout.lin2.weight [Classes, H]   readout.lin2.bias [Classes]
//
// with {name} = "self" and {src} = {dst} = {type} for the self relations.
// A self relation's lin_dst, att_src and att_dst exist (it is a GATConv like
// the others) but receive zero gradient, since a softmax over one edge is
// constant.
//
// # Files
//
// Save writes NAME.safetensors (8-byte little-endian header length, JSON
// header {name: {dtype: "F32", shape, data_offsets}} plus "__metadata__",
// padded with spaces to 8 bytes, then raw little-endian float32 data) and
// NAME.json (Config, including weights_sha256, the hex SHA-256 of the
// .safetensors file). Load verifies the hash, the architecture and every
// tensor's name, dtype, shape and finiteness, and fails naming the file and
// the problem. ImportPyTorch reads a torch.save'd state_dict.
//
// # Implementation
//
// Forward folds each attention vector through its projection
// (a_k·(W h)_k = h·(W_kᵀ a_k)), so lin_dst is never applied to whole rows,
// computes lin_src only for nodes that actually send a message in a
// relation, sorts edges by destination once per graph (CSR) so softmax and
// aggregation are contiguous runs, and keeps all scratch in pooled
// workspaces (a warm Forward allocates only its Output). GEMMs run in
// AVX2/FMA or AVX-512 assembly micro-kernels (6×16 / 6×32 register tiles),
// exp/ELU/axpy in AVX2, with portable Go fallbacks (build tag purego forces
// them). Large products and aggregations are split over
// runtime.GOMAXPROCS goroutines.
//
// Training: a Tape records one graph's pass and Backward adds the gradient
// of the class-weighted cross-entropy to a Grads; Adam (optionally AdamW
// weight decay) applies it. Forward may run concurrently; Adam.Step and
// SetParam must not run concurrently with passes on the same model.
package gnn
