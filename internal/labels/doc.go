// Package labels derives ground-truth labels for the OTRF Security-Datasets
// recordings, which carry no per-event labels of their own.
//
// The evidence lives in seed files (labels/<tactic>/<recording>.yaml at the
// repository root, one per recording): what the attacker's own console
// transcript (the metadata's adversary_view) says about the attack — agent
// processes, command lines, created services and tasks, remote logons,
// dropped files — written down once, by hand, with the quote that justifies
// each seed. This package
//
//   - loads and validates seed files and verifies the archive they describe
//     (SHA-256) — LoadSeedFile, LoadSeedDir, SeedFile.VerifyArchive;
//   - seeds attacker events in a recording's NormalizedEvents and propagates
//     the label along provenance only (process tree, objects the attacker's
//     processes create, connections they open, the logon sessions, services,
//     tasks and WMI consumers a remote action creates on the target) —
//     Apply, which returns Labels with a reason chain per attack event;
//   - labels host windows attack / benign / excluded — Labels.Label,
//     Labels.Windows and EnumerateWindows;
//   - reads a recording and reports window counts — ReadRecording,
//     LabelRecording, Summarize (the `logster labels` command).
//
// docs/labels.md states the protocol, the propagation rules and the known
// limitations; read it before using the labels to measure anything.
package labels
