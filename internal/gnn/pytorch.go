package gnn

import (
	"fmt"
	"strings"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// ImportPyTorch builds a model from a PyTorch state_dict saved with
// torch.save (the zip or legacy format; not TorchScript) and the config that
// describes it. Parameter names are the reference implementation's
// (tools/gnn_reference), which equal ours; the prefixes "module." (from
// DataParallel) and "_orig_mod." (from torch.compile) are stripped, and a
// checkpoint dict holding the weights under "state_dict" or
// "model_state_dict" is unwrapped. Every tensor must be float32 and the set
// of names and shapes must match exactly, as for Load. The returned model's
// WeightsSHA256 is empty until it is saved.
func ImportPyTorch(ptPath string, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gnn: import %s: invalid config: %w", ptPath, err)
	}
	obj, err := pytorch.Load(ptPath)
	if err != nil {
		return nil, fmt.Errorf("gnn: import %s: %w", ptPath, err)
	}
	entries, err := dictEntries(obj)
	if err != nil {
		return nil, fmt.Errorf("gnn: import %s: %w", ptPath, err)
	}
	for _, key := range []string{"state_dict", "model_state_dict"} {
		if inner, ok := entries[key]; ok {
			if entries, err = dictEntries(inner); err != nil {
				return nil, fmt.Errorf("gnn: import %s: %s: %w", ptPath, key, err)
			}
			break
		}
	}
	tensors := make(map[string]stTensor, len(entries))
	for name, v := range entries {
		t, ok := v.(*pytorch.Tensor)
		if !ok {
			return nil, fmt.Errorf("gnn: import %s: entry %q is a %T, not a tensor", ptPath, name, v)
		}
		st, err := denseFloat32(t)
		if err != nil {
			return nil, fmt.Errorf("gnn: import %s: tensor %s: %w", ptPath, name, err)
		}
		name = strings.TrimPrefix(strings.TrimPrefix(name, "module."), "_orig_mod.")
		tensors[name] = st
	}
	cfg = cfg.clone()
	cfg.WeightsSHA256 = ""
	m, err := fromTensors(cfg, tensors)
	if err != nil {
		return nil, fmt.Errorf("gnn: import %s: %w", ptPath, err)
	}
	return m, nil
}

// dictEntries flattens the dict types gopickle produces into a string map.
func dictEntries(obj any) (map[string]any, error) {
	out := map[string]any{}
	add := func(k, v any) error {
		ks, ok := k.(string)
		if !ok {
			return fmt.Errorf("dict key %v is a %T, not a string", k, k)
		}
		out[ks] = v
		return nil
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			ent := e.Value.(*types.OrderedDictEntry)
			if err := add(ent.Key, ent.Value); err != nil {
				return nil, err
			}
		}
	case *types.Dict:
		for _, ent := range *d {
			if err := add(ent.Key, ent.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("top-level object is a %T, not a state_dict", obj)
	}
	return out, nil
}

// denseFloat32 copies a (possibly strided or offset) float32 tensor into a
// contiguous row-major slice.
func denseFloat32(t *pytorch.Tensor) (stTensor, error) {
	fs, ok := t.Source.(*pytorch.FloatStorage)
	if !ok {
		return stTensor{}, fmt.Errorf("storage is %T, only float32 tensors are supported", t.Source)
	}
	if len(t.Stride) != len(t.Size) {
		return stTensor{}, fmt.Errorf("size %v and stride %v differ in rank", t.Size, t.Stride)
	}
	n := 1
	for _, d := range t.Size {
		if d < 0 {
			return stTensor{}, fmt.Errorf("negative size %v", t.Size)
		}
		n *= d
	}
	out := make([]float32, n)
	idx := make([]int, len(t.Size))
	for i := range out {
		off := t.StorageOffset
		for d, x := range idx {
			off += x * t.Stride[d]
		}
		if off < 0 || off >= len(fs.Data) {
			return stTensor{}, fmt.Errorf("element %d at storage offset %d outside the %d-element storage", i, off, len(fs.Data))
		}
		out[i] = fs.Data[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return stTensor{shape: append([]int(nil), t.Size...), data: out}, nil
}
