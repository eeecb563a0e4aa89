package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	glua "github.com/yuin/gopher-lua"
)

// fileStore is the "internal" storage driver: one JSON file per (host, store,
// user) under data_path, written atomically (temp file, fsync, rename) so a
// crash never leaves half a file.
type fileStore struct {
	root   string
	writes atomic.Int64 // files written or removed, for tests
}

// entriesKey marks a table whose keys are not all strings (e.g. a roster's
// [false] metadata entry); JSON objects only have string keys.
const entriesKey = "__modhost_entries"

func (s *fileStore) file(host, store, user string) string {
	if user == "" {
		user = "@host"
	}
	return filepath.Join(s.root, encodePathPart(host), encodePathPart(store), encodePathPart(user)+".json")
}

// encodePathPart makes a name safe as one path element, reversibly.
func encodePathPart(s string) string {
	e := url.PathEscape(s)
	e = strings.ReplaceAll(e, ".", "%2E")
	return e
}

func (s *fileStore) load(L *glua.LState, host, store, user string) (glua.LValue, error) {
	b, err := os.ReadFile(s.file(host, store, user))
	if errors.Is(err, fs.ErrNotExist) {
		return glua.LNil, nil
	}
	if err != nil {
		return glua.LNil, fmt.Errorf("read %s store of %s: %w", store, user, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return glua.LNil, fmt.Errorf("decode %s store of %s: %w", store, user, err)
	}
	return jsonToLua(L, v), nil
}

func (s *fileStore) save(host, store, user string, v glua.LValue) error {
	p := s.file(host, store, user)
	s.writes.Add(1)
	if v == glua.LNil {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	data, err := luaToJSON(v, 0)
	if err != nil {
		return fmt.Errorf("encode %s store of %s: %w", store, user, err)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s store of %s: %w", store, user, err)
	}
	return writeFileAtomic(p, b)
}

func (s *fileStore) users(host, store string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, encodePathPart(host), encodePathPart(store)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || name == "@host" {
			continue
		}
		if u, err := url.PathUnescape(name); err == nil {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out, nil
}

func writeFileAtomic(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// luaToJSON converts a Lua value to JSON-able Go values, keeping non-string
// table keys (numbers, booleans) through the entries form.
func luaToJSON(v glua.LValue, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("table nested too deep (or a cycle)")
	}
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %v cannot be stored", f)
		}
		return f, nil
	case glua.LString:
		return string(v), nil
	case *glua.LTable:
		n := v.Len()
		count := 0
		allStrings := true
		v.ForEach(func(k, _ glua.LValue) {
			count++
			if _, ok := k.(glua.LString); !ok {
				allStrings = false
			}
		})
		var err error
		switch {
		case n > 0 && count == n:
			arr := make([]any, n)
			for i := 1; i <= n && err == nil; i++ {
				arr[i-1], err = luaToJSON(v.RawGetInt(i), depth+1)
			}
			return arr, err
		case allStrings:
			obj := map[string]any{}
			v.ForEach(func(k, val glua.LValue) {
				if err == nil {
					obj[string(k.(glua.LString))], err = luaToJSON(val, depth+1)
				}
			})
			return obj, err
		default:
			var entries [][2]any
			v.ForEach(func(k, val glua.LValue) {
				if err != nil {
					return
				}
				var jk, jv any
				if jk, err = luaToJSON(k, depth+1); err == nil {
					jv, err = luaToJSON(val, depth+1)
				}
				entries = append(entries, [2]any{jk, jv})
			})
			return map[string]any{entriesKey: entries}, err
		}
	default:
		return nil, fmt.Errorf("a %s cannot be stored", v.Type().String())
	}
}

func jsonToLua(L *glua.LState, v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case bool:
		return glua.LBool(v)
	case float64:
		return glua.LNumber(v)
	case string:
		return glua.LString(v)
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			t.RawSetInt(i+1, jsonToLua(L, e))
		}
		return t
	case map[string]any:
		if entries, ok := v[entriesKey].([]any); ok && len(v) == 1 {
			t := L.NewTable()
			for _, e := range entries {
				if pair, ok := e.([]any); ok && len(pair) == 2 && pair[0] != nil {
					t.RawSet(jsonToLua(L, pair[0]), jsonToLua(L, pair[1]))
				}
			}
			return t
		}
		t := L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, jsonToLua(L, e))
		}
		return t
	}
	return glua.LNil
}
