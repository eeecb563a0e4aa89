package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
)

// fileStore is the "internal" storage driver, in Prosody 0.12's own
// layout and format (mod_storage_internal over util.datamanager), so that
// an operator can point data_path at a Prosody data folder and both read
// what the other wrote:
//
//	DATA/HOST/STORE/USER.dat   "return <Lua table>;" (compat.DatamanagerText)
//	DATA/HOST/STORE.dat        the same for host-wide data (user "")
//
// HOST and USER are encoded as util.datamanager's path_encode does. Files
// are written atomically (temp file, fsync, rename) so a crash never leaves
// half a file; data that is nil or an empty table removes the file, as
// Prosody's datamanager does.
//
// Before, modhost wrote one JSON file per (host, store, user) in a layout
// of its own (legacyFile). Those are still read where no .dat file exists,
// listed by users, and converted when their data is next written (the JSON
// file is removed once the .dat is in place); the first conversion is
// logged.
type fileStore struct {
	root   string
	log    *slog.Logger
	writes atomic.Int64 // files written or removed, for tests

	convertOnce sync.Once
}

// entriesKey marked, in the old JSON files, a table whose keys were not
// all strings (e.g. a roster's [false] metadata entry).
const entriesKey = "__modhost_entries"

// file is where (host, store, user) lives in Prosody's layout.
func (s *fileStore) file(host, store, user string) string {
	var u *string
	if user != "" {
		u = &user
	}
	return filepath.FromSlash(compat.DatamanagerPath(s.root, u, host, store, "dat"))
}

// legacyFile is where modhost before 0.12-compatible storage kept (host,
// store, user): a JSON file, names URL-escaped, "@host" for host-wide data.
func (s *fileStore) legacyFile(host, store, user string) string {
	if user == "" {
		user = "@host"
	}
	return filepath.Join(s.root, encodePathPart(host), encodePathPart(store), encodePathPart(user)+".json")
}

// encodePathPart is the old layout's name encoding, reversible.
func encodePathPart(s string) string {
	e := url.PathEscape(s)
	e = strings.ReplaceAll(e, ".", "%2E")
	return e
}

func (s *fileStore) load(L *glua.LState, host, store, user string) (glua.LValue, error) {
	v, missing, err := compat.LoadDatamanagerFile(L, s.file(host, store, user))
	if err != nil {
		return glua.LNil, fmt.Errorf("read %s store of %s: %w", store, user, err)
	}
	if !missing {
		return v, nil
	}
	return s.loadLegacy(L, host, store, user)
}

// loadLegacy reads the old JSON file of (host, store, user), nil when there
// is none.
func (s *fileStore) loadLegacy(L *glua.LState, host, store, user string) (glua.LValue, error) {
	b, err := os.ReadFile(s.legacyFile(host, store, user))
	if errors.Is(err, fs.ErrNotExist) {
		return glua.LNil, nil
	}
	if err != nil {
		return glua.LNil, fmt.Errorf("read %s store of %s: %w", store, user, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return glua.LNil, fmt.Errorf("decode %s store of %s (%s): %w", store, user, s.legacyFile(host, store, user), err)
	}
	return jsonToLua(L, v), nil
}

func (s *fileStore) save(host, store, user string, v glua.LValue) error {
	p := s.file(host, store, user)
	s.writes.Add(1)
	if v == glua.LNil || isEmptyLuaTable(v) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return s.dropLegacy(host, store, user)
	}
	text, err := compat.DatamanagerText(v)
	if err != nil {
		return fmt.Errorf("encode %s store of %s: %w", store, user, err)
	}
	if err := writeFileAtomic(p, []byte(text)); err != nil {
		return err
	}
	return s.dropLegacy(host, store, user)
}

// dropLegacy removes the old JSON file of (host, store, user) once its data
// is in Prosody's layout (or deleted), logging the first conversion.
func (s *fileStore) dropLegacy(host, store, user string) error {
	old := s.legacyFile(host, store, user)
	err := os.Remove(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s after converting it: %w", old, err)
	}
	s.convertOnce.Do(func() {
		if s.log != nil {
			s.log.Info("converting modhost's old JSON store files to Prosody's data layout as they are written; until then they are still read",
				"data_path", s.root, "first", old)
		}
	})
	return nil
}

func isEmptyLuaTable(v glua.LValue) bool {
	t, ok := v.(*glua.LTable)
	if !ok {
		return false
	}
	k, _ := t.Next(glua.LNil)
	return k == glua.LNil
}

// users lists the users with data in store on host: those of Prosody's
// layout and those only in old JSON files, each once, sorted.
func (s *fileStore) users(host, store string) ([]string, error) {
	names, err := compat.DatamanagerUsers(s.root, host, store, "dat")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.root, encodePathPart(host), encodePathPart(store)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || name == "@host" {
			continue
		}
		if u, err := url.PathUnescape(name); err == nil {
			names = append(names, u)
		}
	}
	sort.Strings(names)
	return slices.Compact(names), nil
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

// jsonToLua converts a value of an old JSON store file, the entries form
// (non-string keys) included.
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
