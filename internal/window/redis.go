package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// Redis is the Store for several replicas and for restarts. Per endpoint it
// keeps three keys sharing one hash tag (so Redis Cluster puts them in one
// slot and a script may touch all three):
//
//	<prefix>win:{tenant:endpoint}:m  hash: tenant, endpoint, partition,
//	                                  maxts, wm, log (ms), closed, and per
//	                                  pane s:<p> (stored) and r:<p> (rejected)
//	<prefix>win:{tenant:endpoint}:z  sorted set: event id scored by timestamp
//	<prefix>win:{tenant:endpoint}:e  hash: event id -> event JSON (no raw_event)
//
// and per Kafka partition an index <prefix>win:part:<n> (sorted set of
// endpoint base keys scored by the wall time of their last write), which is
// how a replica finds the endpoints of the partitions it is assigned.
//
// Every write is one round trip: a Lua script makes dedup, the lateness and
// cap checks and the insert atomic per endpoint, pipelined with the index
// update. Every write refreshes the keys' TTL, so an endpoint that goes
// quiet vanishes Spec.TTL after its last write.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	spec   Spec
	owns   bool
}

// NewRedis wraps a client; the caller keeps ownership of rdb. prefix starts
// every key (config redis.key_prefix; tests use a unique one).
func NewRedis(rdb redis.UniversalClient, prefix string, spec Spec) (*Redis, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb, prefix: prefix, spec: spec}, nil
}

// OpenRedis connects to the configured Redis, checks that it answers and
// returns a store that closes the connection on Close.
func OpenRedis(ctx context.Context, cfg config.Redis, spec Spec) (*Redis, error) {
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s for window state: %w", cfg.Addr, err)
	}
	s, err := NewRedis(rdb, cfg.KeyPrefix, spec)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	s.owns = true
	return s, nil
}

// Ping checks the connection (health endpoint).
func (r *Redis) Ping(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }

func (r *Redis) base(k Key) string {
	return r.prefix + "win:{" + k.Tenant + ":" + k.Endpoint + "}"
}

func (r *Redis) keys(k Key) []string {
	b := r.base(k)
	return []string{b + ":m", b + ":z", b + ":e"}
}

func (r *Redis) partIndex(p int32) string {
	return r.prefix + "win:part:" + strconv.Itoa(int(p))
}

func (r *Redis) ttlMs() string { return strconv.FormatInt(r.spec.TTL.Milliseconds(), 10) }

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// The scripts keep every float as the string Go formatted (Lua's tostring
// would round to 14 digits) and compare with tonumber, i.e. in float64, the
// same arithmetic the memory store uses.
const luaTouch = `
local function touch(m, z, e, ttl)
  redis.call('PEXPIRE', m, ttl)
  redis.call('PEXPIRE', z, ttl)
  redis.call('PEXPIRE', e, ttl)
end
`

// KEYS: meta, zset, events. ARGV: id, ts, pane, blob, partition, late
// (seconds), cap, ttl (ms), log time (ms), tenant, endpoint.
// Returns {outcome, HGETALL meta}.
var addScript = redis.NewScript(luaTouch + `
local m, z, e = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', m) == 0 then
  redis.call('HSET', m, 't', ARGV[10], 'e', ARGV[11], 'part', ARGV[5])
end
local function done(code)
  touch(m, z, e, ARGV[8])
  return {code, redis.call('HGETALL', m)}
end
if redis.call('ZSCORE', z, ARGV[1]) then
  return done(1)
end
local ts = tonumber(ARGV[2])
local wm = redis.call('HGET', m, 'wm')
if wm and ts < tonumber(wm) - tonumber(ARGV[6]) then
  return done(2)
end
redis.call('HSET', m, 'part', ARGV[5])
local sf = 's:' .. ARGV[3]
if tonumber(redis.call('HGET', m, sf) or '0') >= tonumber(ARGV[7]) then
  redis.call('HINCRBY', m, 'r:' .. ARGV[3], 1)
  return done(3)
end
redis.call('ZADD', z, ARGV[2], ARGV[1])
redis.call('HSET', e, ARGV[1], ARGV[4])
redis.call('HINCRBY', m, sf, 1)
local cur = redis.call('HGET', m, 'maxts')
if not cur or ts > tonumber(cur) then redis.call('HSET', m, 'maxts', ARGV[2]) end
if not wm or ts > tonumber(wm) then redis.call('HSET', m, 'wm', ARGV[2]) end
local lg = redis.call('HGET', m, 'log')
if not lg or tonumber(ARGV[9]) > tonumber(lg) then redis.call('HSET', m, 'log', ARGV[9]) end
return done(0)
`)

// KEYS: meta, zset, events. ARGV: watermark, ttl (ms). Returns HGETALL
// meta, or false if the endpoint is unknown.
var advanceScript = redis.NewScript(luaTouch + `
local m = KEYS[1]
if redis.call('EXISTS', m) == 0 then return false end
local wm = redis.call('HGET', m, 'wm')
if not wm or tonumber(ARGV[1]) > tonumber(wm) then redis.call('HSET', m, 'wm', ARGV[1]) end
touch(KEYS[1], KEYS[2], KEYS[3], ARGV[2])
return redis.call('HGETALL', m)
`)

// KEYS: meta, zset, events. ARGV: window, first retained score, first
// retained pane, ttl (ms). Returns HGETALL meta, or false if unknown.
var commitScript = redis.NewScript(luaTouch + `
local m, z, e = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', m) == 0 then return false end
local closed = redis.call('HGET', m, 'closed')
if not closed or tonumber(ARGV[1]) > tonumber(closed) then
  redis.call('HSET', m, 'closed', ARGV[1])
  local ids = redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. ARGV[2])
  for i = 1, #ids, 500 do
    redis.call('HDEL', e, unpack(ids, i, math.min(i + 499, #ids)))
  end
  if #ids > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. ARGV[2]) end
  local keep = tonumber(ARGV[3])
  for _, f in ipairs(redis.call('HKEYS', m)) do
    local k = string.sub(f, 1, 2)
    if (k == 's:' or k == 'r:') and tonumber(string.sub(f, 3)) < keep then
      redis.call('HDEL', m, f)
    end
  end
end
touch(m, z, e, ARGV[4])
return redis.call('HGETALL', m)
`)

// KEYS: meta, zset, events. ARGV: start, end (exclusive). Returns
// {HGETALL meta, ids, blobs}, or false if the endpoint is unknown.
var windowScript = redis.NewScript(`
local m, z, e = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', m) == 0 then return false end
local ids = redis.call('ZRANGEBYSCORE', z, ARGV[1], '(' .. ARGV[2])
local blobs = {}
for i = 1, #ids, 500 do
  local part = redis.call('HMGET', e, unpack(ids, i, math.min(i + 499, #ids)))
  for _, b in ipairs(part) do blobs[#blobs + 1] = b end
end
return {redis.call('HGETALL', m), ids, blobs}
`)

var allScripts = []*redis.Script{addScript, advanceScript, commitScript, windowScript}

// isNoScript reports Redis' answer to EVALSHA of a script it has not seen
// (a restarted or flushed server).
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

func (r *Redis) loadScripts(ctx context.Context) error {
	for _, s := range allScripts {
		if err := s.Load(ctx, r.rdb).Err(); err != nil {
			return fmt.Errorf("load window script: %w", err)
		}
	}
	return nil
}

// Add implements Store.
func (r *Redis) Add(ctx context.Context, partition int32, ev *schema.NormalizedEvent, logTime, now time.Time) (Outcome, Meta, error) {
	key := KeyOf(ev)
	if o := r.spec.checkTime(ev.Timestamp, now); o != Added {
		m, ok, err := r.Meta(ctx, key)
		if err != nil {
			return o, Meta{}, err
		}
		if !ok {
			m = Meta{Key: key, Partition: partition, Closed: NoWindow}
		}
		return o, m, nil
	}
	blob, err := json.Marshal(stripped(ev))
	if err != nil {
		return 0, Meta{}, fmt.Errorf("window: encode event %s: %w", ev.EventID, err)
	}
	args := []any{
		ev.EventID, fmtFloat(ev.Timestamp), r.spec.Pane(ev.Timestamp), blob, partition,
		fmtFloat(r.spec.lateSec()), r.spec.MaxEvents, r.ttlMs(), logTime.UnixMilli(), key.Tenant, key.Endpoint,
	}
	keys := r.keys(key)
	var res any
	for attempt := 0; ; attempt++ {
		pipe := r.rdb.Pipeline()
		cmd := addScript.EvalSha(ctx, pipe, keys, args...)
		pipe.ZAdd(ctx, r.partIndex(partition), redis.Z{Score: float64(now.UnixMilli()), Member: r.base(key)})
		pipe.PExpire(ctx, r.partIndex(partition), r.spec.TTL)
		_, err = pipe.Exec(ctx)
		if isNoScript(cmd.Err()) && attempt == 0 {
			if err := r.loadScripts(ctx); err != nil {
				return 0, Meta{}, err
			}
			continue
		}
		if err != nil {
			return 0, Meta{}, fmt.Errorf("window: add event to redis: %w", err)
		}
		res = cmd.Val()
		break
	}
	arr, ok := res.([]any)
	if !ok || len(arr) != 2 {
		return 0, Meta{}, fmt.Errorf("window: unexpected add reply %T", res)
	}
	code, _ := arr[0].(int64)
	m, err := parseMeta(key, arr[1])
	if err != nil {
		return 0, Meta{}, err
	}
	switch code {
	case 0:
		return Added, m, nil
	case 1:
		return Duplicate, m, nil
	case 2:
		return Late, m, nil
	case 3:
		return OverCap, m, nil
	}
	return 0, Meta{}, fmt.Errorf("window: unexpected add outcome %d", code)
}

// run runs a script, loading the scripts once if the server lost them.
func (r *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	v, err := s.EvalSha(ctx, r.rdb, keys, args...).Result()
	if isNoScript(err) {
		if lerr := r.loadScripts(ctx); lerr != nil {
			return nil, lerr
		}
		v, err = s.EvalSha(ctx, r.rdb, keys, args...).Result()
	}
	return v, err
}

// Advance implements Store.
func (r *Redis) Advance(ctx context.Context, key Key, wm float64, _ time.Time) (Meta, error) {
	v, err := r.run(ctx, advanceScript, r.keys(key), fmtFloat(wm), r.ttlMs())
	if errors.Is(err, redis.Nil) {
		return Meta{}, ErrUnknownEndpoint
	}
	if err != nil {
		return Meta{}, fmt.Errorf("window: advance watermark in redis: %w", err)
	}
	return parseMeta(key, v)
}

// Meta implements Store.
func (r *Redis) Meta(ctx context.Context, key Key) (Meta, bool, error) {
	v, err := r.rdb.HGetAll(ctx, r.keys(key)[0]).Result()
	if err != nil {
		return Meta{}, false, fmt.Errorf("window: read meta from redis: %w", err)
	}
	if len(v) == 0 {
		return Meta{}, false, nil
	}
	m, err := metaFromMap(key, v)
	return m, err == nil, err
}

// Window implements Store.
func (r *Redis) Window(ctx context.Context, key Key, w int64) (*Window, error) {
	start, end := r.spec.Bounds(w)
	v, err := r.run(ctx, windowScript, r.keys(key), fmtFloat(start), fmtFloat(end))
	if errors.Is(err, redis.Nil) {
		return nil, ErrUnknownEndpoint
	}
	if err != nil {
		return nil, fmt.Errorf("window: read window from redis: %w", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return nil, fmt.Errorf("window: unexpected window reply %T", v)
	}
	m, err := parseMeta(key, arr[0])
	if err != nil {
		return nil, err
	}
	blobs, _ := arr[2].([]any)
	win := &Window{Key: key, Index: w, Start: start, End: end}
	n := r.spec.Panes()
	first := w - n + 1
	panes := make([][]*schema.NormalizedEvent, n)
	for _, b := range blobs {
		s, ok := b.(string)
		if !ok {
			continue // deleted between ZRANGE and HMGET cannot happen inside a script; be lenient
		}
		ev := new(schema.NormalizedEvent)
		if err := json.Unmarshal([]byte(s), ev); err != nil {
			// A damaged entry must not block the endpoint's windows
			// until the TTL: count it as lost and go on.
			win.Dropped++
			continue
		}
		p := r.spec.Pane(ev.Timestamp) - first
		if p < 0 || p >= n {
			continue
		}
		panes[p] = append(panes[p], ev)
	}
	for _, pc := range m.Panes {
		if pc.Pane >= first && pc.Pane <= w {
			win.Dropped += pc.Rejected
		}
	}
	var left int
	win.Events, left = selectEvents(panes, r.spec.MaxEvents)
	win.Dropped += left
	return win, nil
}

// Commit implements Store.
func (r *Redis) Commit(ctx context.Context, key Key, w int64, _ time.Time) (Meta, error) {
	keepPane := w - r.spec.Panes() + 2
	v, err := r.run(ctx, commitScript, r.keys(key), w, fmtFloat(r.spec.PaneStart(keepPane)), keepPane, r.ttlMs())
	if errors.Is(err, redis.Nil) {
		return Meta{}, ErrUnknownEndpoint
	}
	if err != nil {
		return Meta{}, fmt.Errorf("window: commit window in redis: %w", err)
	}
	return parseMeta(key, v)
}

// Endpoints implements Store.
func (r *Redis) Endpoints(ctx context.Context, partitions []int32, now time.Time) ([]Entry, error) {
	cutoff := "(" + strconv.FormatInt(now.Add(-r.spec.TTL).UnixMilli(), 10)
	var out []Entry
	for _, p := range partitions {
		idx := r.partIndex(p)
		if err := r.rdb.ZRemRangeByScore(ctx, idx, "-inf", cutoff).Err(); err != nil {
			return nil, fmt.Errorf("window: prune partition index %s: %w", idx, err)
		}
		members, err := r.rdb.ZRange(ctx, idx, 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("window: read partition index %s: %w", idx, err)
		}
		const chunk = 256
		for i := 0; i < len(members); i += chunk {
			batch := members[i:min(i+chunk, len(members))]
			pipe := r.rdb.Pipeline()
			cmds := make([]*redis.MapStringStringCmd, len(batch))
			for j, b := range batch {
				cmds[j] = pipe.HGetAll(ctx, b+":m")
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, fmt.Errorf("window: read endpoint metas: %w", err)
			}
			for _, c := range cmds {
				v := c.Val()
				if len(v) == 0 {
					continue // expired
				}
				m, err := metaFromMap(Key{Tenant: v["t"], Endpoint: v["e"]}, v)
				if err != nil {
					return nil, err
				}
				if m.Partition == p {
					out = append(out, m)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out, nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key Key) error {
	ks := r.keys(key)
	part, err := r.rdb.HGet(ctx, ks[0], "part").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("window: delete endpoint %s: %w", key, err)
	}
	pipe := r.rdb.Pipeline()
	pipe.Del(ctx, ks[0])
	pipe.Del(ctx, ks[1])
	pipe.Del(ctx, ks[2])
	if p, err := strconv.Atoi(part); err == nil {
		pipe.ZRem(ctx, r.partIndex(int32(p)), r.base(key))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("window: delete endpoint %s: %w", key, err)
	}
	return nil
}

// Sweep implements Store: endpoint keys expire by themselves; the partition
// indexes are pruned of endpoints whose last write is older than the TTL.
func (r *Redis) Sweep(ctx context.Context, now time.Time) error {
	cutoff := "(" + strconv.FormatInt(now.Add(-r.spec.TTL).UnixMilli(), 10)
	iter := r.rdb.Scan(ctx, 0, r.prefix+"win:part:*", 100).Iterator()
	for iter.Next(ctx) {
		if err := r.rdb.ZRemRangeByScore(ctx, iter.Val(), "-inf", cutoff).Err(); err != nil {
			return fmt.Errorf("window: prune %s: %w", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("window: scan partition indexes: %w", err)
	}
	return nil
}

// Close implements Store; it closes the client only if OpenRedis made it.
func (r *Redis) Close() error {
	if r.owns {
		return r.rdb.Close()
	}
	return nil
}

// parseMeta reads an HGETALL reply returned by a script (a flat array).
func parseMeta(key Key, v any) (Meta, error) {
	arr, _ := v.([]any)
	kv := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		kv[k] = val
	}
	return metaFromMap(key, kv)
}

func metaFromMap(key Key, kv map[string]string) (Meta, error) {
	m := Meta{Key: key, Closed: NoWindow}
	panes := map[int64]*PaneCount{}
	pane := func(s string) (*PaneCount, error) {
		p, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, err
		}
		pc := panes[p]
		if pc == nil {
			pc = &PaneCount{Pane: p}
			panes[p] = pc
		}
		return pc, nil
	}
	var err error
	for k, v := range kv {
		switch {
		case k == "part":
			var p int64
			p, err = strconv.ParseInt(v, 10, 32)
			m.Partition = int32(p)
		case k == "maxts":
			m.MaxTS, err = strconv.ParseFloat(v, 64)
		case k == "wm":
			m.Watermark, err = strconv.ParseFloat(v, 64)
		case k == "log":
			var ms int64
			ms, err = strconv.ParseInt(v, 10, 64)
			m.LastLog = time.UnixMilli(ms)
		case k == "closed":
			m.Closed, err = strconv.ParseInt(v, 10, 64)
		case strings.HasPrefix(k, "s:"):
			var pc *PaneCount
			if pc, err = pane(k[2:]); err == nil {
				pc.Stored, err = strconv.Atoi(v)
			}
		case strings.HasPrefix(k, "r:"):
			var pc *PaneCount
			if pc, err = pane(k[2:]); err == nil {
				pc.Rejected, err = strconv.Atoi(v)
			}
		}
		if err != nil {
			return Meta{}, fmt.Errorf("window: corrupt meta field %s=%q of %s: %w", k, v, key, err)
		}
	}
	for _, pc := range panes {
		m.Panes = append(m.Panes, *pc)
	}
	sort.Slice(m.Panes, func(i, j int) bool { return m.Panes[i].Pane < m.Panes[j].Pane })
	return m, nil
}
