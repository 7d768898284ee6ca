package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment override: LOGSTER_<SECTION>_<KEY>.
const EnvPrefix = "LOGSTER_"

var (
	durationType = reflect.TypeOf(Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
)

// leaf is one settable configuration key.
type leaf struct {
	key  string // dotted, e.g. kafka.sasl.mechanism
	env  string // LOGSTER_KAFKA_SASL_MECHANISM
	path []int  // field index path from Config
}

// Keys lists every configuration key with its environment variable, sorted.
// Used by documentation tests and by `logster` error messages.
func Keys() []struct{ Key, Env string } {
	ls := leaves()
	out := make([]struct{ Key, Env string }, len(ls))
	for i, l := range ls {
		out[i] = struct{ Key, Env string }{l.key, l.env}
	}
	return out
}

func leaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, path []int)
	walk = func(t reflect.Type, prefix string, path []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			p := append(append([]int(nil), path...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key, p)
				continue
			}
			env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
			out = append(out, leaf{key: key, env: env, path: p})
		}
	}
	walk(reflect.TypeOf(Config{}), "", nil)
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// applyEnv sets every key whose LOGSTER_* variable is present in environ.
// Unknown LOGSTER_* variables are errors: a misspelt override must not be
// silently ignored.
func applyEnv(cfg *Config, environ []string) error {
	byEnv := map[string]leaf{}
	for _, l := range leaves() {
		byEnv[l.env] = l
	}
	var es errs
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		l, known := byEnv[name]
		if !known {
			if isReservedEnv(name) {
				continue
			}
			es.add(name, "is not a known configuration variable")
			continue
		}
		if err := setFromString(root.FieldByIndex(l.path), val); err != nil {
			es.add(l.key, "from %s: %v", name, err)
		}
	}
	return es.err()
}

// isReservedEnv lists LOGSTER_* variables that are not configuration keys
// (test switches and tool settings).
func isReservedEnv(name string) bool {
	return strings.HasPrefix(name, EnvPrefix+"TEST_") || name == EnvPrefix+"CONFIG"
}

func setFromString(v reflect.Value, s string) error {
	switch v.Type() {
	case durationType:
		d, err := parseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case byteSizeType:
		b, err := parseByteSize(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(b))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Slice:
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	case reflect.Map:
		m := map[string]string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("%q is not a list of key=value pairs", s)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		v.Set(reflect.ValueOf(m))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
