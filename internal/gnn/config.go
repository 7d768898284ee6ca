package gnn

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Architecture is the only architecture string this package implements.
const Architecture = "hetero-gat-v1"

// SelfRelationName is the relation name reserved for the per-type identity
// relation the model adds internally; configured relations may not use it.
const SelfRelationName = "self"

// Relation is one edge type of the heterogeneous graph: edges go from nodes
// of type Src to nodes of type Dst.
type Relation struct {
	Src  string `json:"src"`
	Name string `json:"name"`
	Dst  string `json:"dst"`
}

// Key is the relation's name in parameter names: "src__name__dst", the same
// key PyTorch Geometric's HeteroConv uses for its ModuleDict.
func (r Relation) Key() string { return r.Src + "__" + r.Name + "__" + r.Dst }

func (r Relation) String() string { return "(" + r.Src + ", " + r.Name + ", " + r.Dst + ")" }

// Provenance records where a trained model came from. It is carried in the
// JSON config and never affects the computation.
type Provenance struct {
	DataSHA256 string             `json:"data_sha256,omitempty"` // hash of the training data set
	Created    time.Time          `json:"created,omitzero"`
	Epochs     int                `json:"epochs,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"` // e.g. val_f1, val_auc
	Notes      map[string]string  `json:"notes,omitempty"`   // free-form: split, labels, command line
}

// Config describes a model: its architecture hyper-parameters, the graph
// schema it expects, and the metadata stored beside the weights.
type Config struct {
	Architecture  string     `json:"architecture"`
	NodeTypes     []string   `json:"node_types"`
	Relations     []Relation `json:"relations"`
	FeatureDim    int        `json:"feature_dim"`
	FeatureSchema string     `json:"feature_schema"`
	Hidden        int        `json:"hidden"`
	Heads         int        `json:"heads"`
	Layers        int        `json:"layers"`
	Classes       int        `json:"classes"`
	Dropout       float64    `json:"dropout"`
	Threshold     float64    `json:"threshold"`
	Version       string     `json:"version"`
	WeightsSHA256 string     `json:"weights_sha256,omitempty"`
	Training      Provenance `json:"training,omitzero"`
}

// Validate reports the first problem that would make the config unusable.
func (c *Config) Validate() error {
	if c.Architecture != Architecture {
		return fmt.Errorf("unknown architecture %q (this build supports %q)", c.Architecture, Architecture)
	}
	if len(c.NodeTypes) == 0 {
		return errors.New("node_types is empty")
	}
	types := make(map[string]bool, len(c.NodeTypes))
	for _, t := range c.NodeTypes {
		if err := checkName("node type", t); err != nil {
			return err
		}
		if types[t] {
			return fmt.Errorf("node type %q listed twice", t)
		}
		types[t] = true
	}
	rels := make(map[Relation]bool, len(c.Relations))
	for _, r := range c.Relations {
		if !types[r.Src] {
			return fmt.Errorf("relation %s: source type %q is not a node type", r, r.Src)
		}
		if !types[r.Dst] {
			return fmt.Errorf("relation %s: destination type %q is not a node type", r, r.Dst)
		}
		if err := checkName("relation name", r.Name); err != nil {
			return fmt.Errorf("relation %s: %w", r, err)
		}
		if r.Name == SelfRelationName {
			return fmt.Errorf("relation %s: the name %q is reserved for the model's own self-loops", r, SelfRelationName)
		}
		if rels[r] {
			return fmt.Errorf("relation %s listed twice", r)
		}
		rels[r] = true
	}
	switch {
	case c.FeatureDim < 1:
		return fmt.Errorf("feature_dim %d must be positive", c.FeatureDim)
	case c.Hidden < 1:
		return fmt.Errorf("hidden %d must be positive", c.Hidden)
	case c.Heads < 1:
		return fmt.Errorf("heads %d must be positive", c.Heads)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("hidden %d is not divisible by heads %d", c.Hidden, c.Heads)
	case c.Layers < 1:
		return fmt.Errorf("layers %d must be positive", c.Layers)
	case c.Classes < 2:
		return fmt.Errorf("classes %d must be at least 2", c.Classes)
	case math.IsNaN(c.Dropout) || c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %v must be in [0, 1)", c.Dropout)
	case math.IsNaN(c.Threshold) || c.Threshold < 0 || c.Threshold > 1:
		return fmt.Errorf("threshold %v must be in [0, 1]", c.Threshold)
	}
	// Keep parameter tensors within what the safetensors loader accepts and
	// far from int overflow.
	if c.FeatureDim > 1<<16 || c.Hidden > 1<<14 || c.Layers > 64 || c.Classes > 1<<12 || len(c.Relations) > 4096 || len(c.NodeTypes) > 1024 {
		return errors.New("dimensions are implausibly large")
	}
	return nil
}

// checkName rejects names that would make parameter names ambiguous: "." is
// the path separator and "__" joins the parts of a relation key.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case strings.ContainsAny(s, ". \t\n\"\\/"):
		return fmt.Errorf("%s %q contains a '.', '/', quote or whitespace", what, s)
	case strings.Contains(s, "__"):
		return fmt.Errorf("%s %q contains \"__\"", what, s)
	}
	return nil
}

// HeadDim is the per-head width, Hidden/Heads.
func (c *Config) HeadDim() int { return c.Hidden / c.Heads }

// allRelations returns the configured relations followed by one self
// relation per node type, with src/dst as node-type indices. Index order is
// the order the model iterates relations in, in Go and in the reference.
func (c *Config) allRelations() []relIdx {
	idx := make(map[string]int, len(c.NodeTypes))
	for i, t := range c.NodeTypes {
		idx[t] = i
	}
	out := make([]relIdx, 0, len(c.Relations)+len(c.NodeTypes))
	for _, r := range c.Relations {
		out = append(out, relIdx{Relation: r, src: idx[r.Src], dst: idx[r.Dst]})
	}
	for i, t := range c.NodeTypes {
		out = append(out, relIdx{Relation: Relation{t, SelfRelationName, t}, src: i, dst: i, self: true})
	}
	return out
}

type relIdx struct {
	Relation
	src, dst int
	self     bool
}

func (c *Config) clone() Config {
	d := *c
	d.NodeTypes = append([]string(nil), c.NodeTypes...)
	d.Relations = append([]Relation(nil), c.Relations...)
	if c.Training.Metrics != nil {
		d.Training.Metrics = make(map[string]float64, len(c.Training.Metrics))
		for k, v := range c.Training.Metrics {
			d.Training.Metrics[k] = v
		}
	}
	if c.Training.Notes != nil {
		d.Training.Notes = make(map[string]string, len(c.Training.Notes))
		for k, v := range c.Training.Notes {
			d.Training.Notes[k] = v
		}
	}
	return d
}
