package alerting

import (
	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/schema"
)

// Severity mapping (docs/alerts.md, "Severity"):
//
//	base from attack_prob:  < 0.70 low, < 0.90 medium, >= 0.90 high
//	+1 credential access    (T1003.*, T1558.*, T1550.*)
//	+1 lateral movement     (T1021.*, T1570, or an inbound remote-execution/logon link)
//	+1 defense impairment   (T1070.001 log clearing, T1562.002/.004)
//	at most +2 in total, capped at critical;
//	confidence < 0.60 caps the result at medium (the model is unsure).
//
// Lateral-movement incidents are at least high; critical when the chain
// spans three or more endpoints, carries credential access, or links a
// critical endpoint alert.
//
// An alert's severity never decreases while it stays open: merges take the
// maximum of the stored and the recomputed value.
const (
	probHigh      = 0.90
	probMedium    = 0.70
	minConfidence = 0.60
)

// endpointSeverity computes the severity of an endpoint alert from its
// highest probability, its confidence and what its windows contained.
func endpointSeverity(prob, confidence float64, techniques []string, links []schema.EvidenceLink) schema.Severity {
	rank := 1
	switch {
	case prob >= probHigh:
		rank = 3
	case prob >= probMedium:
		rank = 2
	}
	var cred, lateral, evasion bool
	for _, t := range techniques {
		cred = cred || attack.IsCredentialAccess(t)
		lateral = lateral || attack.IsLateralMovement(t)
		evasion = evasion || attack.IsDefenseImpairment(t)
	}
	for _, l := range links {
		if l.Direction == attack.DirInbound && attack.IsStrongLink(l.Kind) && l.Kind != schema.LinkRemoteLogon {
			lateral = true
		}
	}
	bump := 0
	for _, b := range []bool{cred, lateral, evasion} {
		if b {
			bump++
		}
	}
	rank += min(bump, 2)
	if confidence < minConfidence {
		rank = min(rank, 2)
	}
	return rankSeverity(rank)
}

// incidentSeverity computes the severity of a lateral-movement incident.
func incidentSeverity(endpoints int, techniques []string, linked []schema.Severity) schema.Severity {
	rank := 3
	cred := false
	for _, t := range techniques {
		cred = cred || attack.IsCredentialAccess(t)
	}
	crit := false
	for _, s := range linked {
		crit = crit || s == schema.SeverityCritical
	}
	if endpoints >= 3 || cred || crit {
		rank = 4
	}
	return rankSeverity(rank)
}

func rankSeverity(rank int) schema.Severity {
	rank = max(1, min(rank, len(schema.AllSeverities)))
	return schema.AllSeverities[rank-1]
}

func maxSeverity(a, b schema.Severity) schema.Severity {
	if a.Rank() >= b.Rank() {
		return a
	}
	return b
}
