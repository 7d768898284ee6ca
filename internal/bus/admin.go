package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/config"
)

// TopicAction says what InitTopics did with one topic.
type TopicAction struct {
	Topic      string
	Partitions int32
	Action     string // created, exists, partitions-added
	Detail     string
}

// InitTopics creates the catalogue's topics (and the dead-letter topic when
// configured) idempotently: existing topics are left alone, except that a
// topic with fewer partitions than the catalogue gets partitions added
// (Kafka cannot remove partitions; more than the catalogue is reported, not
// an error). A second run is a no-op.
func InitTopics(ctx context.Context, k config.Kafka) ([]TopicAction, error) {
	adm, err := newAdmin(k, "kafka-init")
	if err != nil {
		return nil, err
	}
	defer adm.Close()

	want := append([]TopicSpec(nil), Catalogue...)
	if k.DeadLetterTopic != "" {
		want = append(want, TopicSpec{Name: k.DeadLetterTopic, Partitions: 6, Producer: "every consumer (poison records)", Consumers: "operators"})
	}
	names := make([]string, len(want))
	for i, t := range want {
		names[i] = t.Name
	}
	existing, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics on %v: %w", k.BootstrapServers, err)
	}
	retention := strconv.Itoa(RetentionMs)
	var actions []TopicAction
	var errs []error
	for _, t := range want {
		d, ok := existing[t.Name]
		if ok && d.Err == nil {
			have := int32(len(d.Partitions))
			switch {
			case have < t.Partitions:
				if _, err := adm.UpdatePartitions(ctx, int(t.Partitions), t.Name); err != nil {
					errs = append(errs, fmt.Errorf("add partitions to %s (%d -> %d): %w", t.Name, have, t.Partitions, err))
					continue
				}
				actions = append(actions, TopicAction{t.Name, t.Partitions, "partitions-added", fmt.Sprintf("%d -> %d", have, t.Partitions)})
			case have > t.Partitions:
				actions = append(actions, TopicAction{t.Name, have, "exists", fmt.Sprintf("has %d partitions, catalogue says %d", have, t.Partitions)})
			default:
				actions = append(actions, TopicAction{t.Name, have, "exists", ""})
			}
			continue
		}
		resp, err := adm.CreateTopic(ctx, t.Partitions, -1, map[string]*string{"retention.ms": &retention}, t.Name)
		if err == nil {
			err = resp.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			// Another kafka-init raced us; that is fine.
			actions = append(actions, TopicAction{t.Name, t.Partitions, "exists", "created concurrently"})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("create topic %s: %w", t.Name, err))
			continue
		}
		actions = append(actions, TopicAction{t.Name, t.Partitions, "created", ""})
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].Topic < actions[j].Topic })
	return actions, errors.Join(errs...)
}

// GroupLags returns the total lag of every consumer group whose id starts
// with prefix (e.g. "logster-": all of Logster's services): records on their
// topics that the group has not committed yet.
func GroupLags(ctx context.Context, k config.Kafka, prefix string) (map[string]int64, error) {
	adm, err := newAdmin(k, "lag")
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list consumer groups: %w", err)
	}
	var groups []string
	for _, g := range listed.Groups() {
		if strings.HasPrefix(g, prefix) {
			groups = append(groups, g)
		}
	}
	out := map[string]int64{}
	if len(groups) == 0 {
		return out, nil
	}
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("compute group lag: %w", err)
	}
	for g, l := range lags {
		if err := l.Error(); err != nil {
			return nil, fmt.Errorf("lag of group %s: %w", g, err)
		}
		out[g] = l.Lag.Total()
	}
	return out, nil
}

// newAdmin returns an admin client for the configured brokers; Close it.
func newAdmin(k config.Kafka, name string) (*kadm.Client, error) {
	opts, err := ClientOpts(k, name)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create admin client: %w", err)
	}
	return kadm.NewClient(cl), nil
}
