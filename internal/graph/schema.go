// Package graph turns one endpoint window of NormalizedEvents into the
// heterogeneous temporal graph the GNN scores: typed nodes (process, file,
// script, network, syscall) de-duplicated within the window, typed edges
// (spawned, wrote, executed, connected_to, performed) each with the event
// time that created it, node features under a versioned feature schema, and
// the bookkeeping that explains a score (node -> event ids).
//
// ModelConfig is the single source of the model's graph schema: the
// training command and the inference service both take it from here, and
// CheckModel refuses a model built for anything else.
//
// See docs/inference.md for the event -> graph mapping table and the feature
// layout.
package graph

import (
	"fmt"
	"slices"

	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/schema"
)

// NodeType indexes NodeTypes.
type NodeType uint8

const (
	Process NodeType = iota
	File
	Script
	Network
	// Syscall nodes are operations: Linux system calls, and on Windows the
	// actions that have no entity of their own (logons, service and task
	// installs, WMI, share access, process access, ...).
	Syscall
	numNodeTypes
)

// NodeTypes are the node type names in model order (SPEC §4).
var NodeTypes = []string{"process", "file", "script", "network", "syscall"}

func (t NodeType) String() string {
	if int(t) < len(NodeTypes) {
		return NodeTypes[t]
	}
	return fmt.Sprintf("nodetype(%d)", t)
}

// Edge type names (SPEC §4; "connected-to" is spelled connected_to on the
// wire, as schema.ExplainedEdge documents).
const (
	Spawned     = "spawned"
	Wrote       = "wrote"
	Executed    = "executed"
	ConnectedTo = "connected_to"
	Performed   = "performed"
)

// Rel indexes Relations.
type Rel uint8

// The forward relations. Every edge the builder creates has one of these.
const (
	RelSpawned         Rel = iota // process -> process: parent created child
	RelWrote                      // process -> file: created, wrote, deleted, renamed, time-stomped; registry keys; pipes
	RelExecutedFile               // process -> file: the process's image, a loaded image
	RelExecutedScript             // process -> script: PowerShell script block / pipeline
	RelConnectedTo                // process -> network: connection, accept, DNS query
	RelPerformed                  // process -> syscall: an operation the process performed
	RelOpExecuted                 // syscall -> file: program an operation installs or runs (service, task)
	RelPeerConnectedTo            // network -> syscall: remote peer behind an operation (logon source, share client)
	numForward
)

type relDef struct {
	src  NodeType
	name string
	dst  NodeType
}

var forwardDefs = [numForward]relDef{
	RelSpawned:         {Process, Spawned, Process},
	RelWrote:           {Process, Wrote, File},
	RelExecutedFile:    {Process, Executed, File},
	RelExecutedScript:  {Process, Executed, Script},
	RelConnectedTo:     {Process, ConnectedTo, Network},
	RelPerformed:       {Process, Performed, Syscall},
	RelOpExecuted:      {Syscall, Executed, File},
	RelPeerConnectedTo: {Network, ConnectedTo, Syscall},
}

// ReversePrefix names the reverse relations: each forward relation has a
// reverse twin so that messages flow both ways (a process hears about the
// files it wrote, not only the files about their writer). They carry the
// same edges, swapped; explanations report the forward relation.
const ReversePrefix = "rev_"

// Relations returns the model's relations: the forward ones, then their
// reverses, in model order.
func Relations() []gnn.Relation {
	out := make([]gnn.Relation, 0, 2*numForward)
	for _, d := range forwardDefs {
		out = append(out, gnn.Relation{Src: NodeTypes[d.src], Name: d.name, Dst: NodeTypes[d.dst]})
	}
	for _, d := range forwardDefs {
		out = append(out, gnn.Relation{Src: NodeTypes[d.dst], Name: ReversePrefix + d.name, Dst: NodeTypes[d.src]})
	}
	return out
}

// Feature schema versions. A model names the schema its features were
// built with; CheckModel refuses a model whose schema differs.
const (
	SchemaWindows = "windows-v1"
	SchemaLinux   = "linux-v1"
)

// FeatureSchema returns the builder's feature schema for a platform.
func FeatureSchema(p schema.Platform) (string, error) {
	switch p {
	case schema.PlatformWindows:
		return SchemaWindows, nil
	case schema.PlatformLinux:
		return SchemaLinux, nil
	}
	return "", fmt.Errorf("graph: no feature schema for platform %q", p)
}

// Architecture hyper-parameters of the production model (SPEC §4: 3 layers,
// 128 hidden dimensions, 4 heads, 2 classes).
const (
	Hidden  = 128
	Heads   = 4
	Layers  = 3
	Classes = 2
)

// ModelConfig returns the canonical model configuration for a platform's
// graphs. Training starts from it (setting Version, Threshold, Dropout and
// provenance as it sees fit); inference checks loaded models against it.
func ModelConfig(p schema.Platform) (gnn.Config, error) {
	fs, err := FeatureSchema(p)
	if err != nil {
		return gnn.Config{}, err
	}
	return gnn.Config{
		Architecture:  gnn.Architecture,
		NodeTypes:     slices.Clone(NodeTypes),
		Relations:     Relations(),
		FeatureDim:    FeatureDim,
		FeatureSchema: fs,
		Hidden:        Hidden,
		Heads:         Heads,
		Layers:        Layers,
		Classes:       Classes,
		Dropout:       0.1,
		Threshold:     0.5,
	}, nil
}

// CheckModel reports why a model cannot score this builder's graphs for
// platform p: another feature schema, node types, relations, feature width
// or class count. Hidden size, heads and layers are the model's own
// business and are not checked.
func CheckModel(cfg gnn.Config, p schema.Platform) error {
	want, err := ModelConfig(p)
	if err != nil {
		return err
	}
	switch {
	case cfg.FeatureSchema != want.FeatureSchema:
		return fmt.Errorf("feature schema %q does not match this build's %s graph builder (%q)", cfg.FeatureSchema, p, want.FeatureSchema)
	case !slices.Equal(cfg.NodeTypes, want.NodeTypes):
		return fmt.Errorf("node types %v do not match the graph builder's %v", cfg.NodeTypes, want.NodeTypes)
	case !slices.Equal(cfg.Relations, want.Relations):
		return fmt.Errorf("relations %v do not match the graph builder's %v", cfg.Relations, want.Relations)
	case cfg.FeatureDim != want.FeatureDim:
		return fmt.Errorf("feature_dim %d does not match the graph builder's %d", cfg.FeatureDim, want.FeatureDim)
	case cfg.Classes != Classes:
		return fmt.Errorf("%d classes, want %d (benign, attack)", cfg.Classes, Classes)
	}
	return nil
}
