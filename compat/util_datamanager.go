package compat

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// util.datamanager as Prosody 0.12 has it: flat-file storage under a data
// path, in Prosody's own layout, so that a Prosody data directory can be read
// and written as it is:
//
//	DATA/HOST/STORE/USER.dat   keyval data, "return <Lua table>;"
//	DATA/HOST/STORE.dat        the same without a user (host-wide)
//	DATA/HOST/STORE/USER.list  list data, one "item(<Lua value>);" per item
//
// HOST and USER are path_encode'd (every byte but [A-Za-z0-9] becomes %xx),
// STORE the same except that "_" is kept; a nil host is "_global". Files are
// replaced atomically (written to NAME~, then renamed). Loading runs the file
// as Lua in an empty environment, as Prosody does.
//
// modhost's own "internal" storage driver (host/store_files.go) keeps its
// data in this layout and format too (through exports.go), so the two see
// each other's data, as Prosody's mod_storage_internal and util.datamanager do.

// dmState is one util.datamanager instance's state: its data path and the
// callbacks store/list_* consult, in the order they were added.
type dmState struct {
	dataPath  string
	callbacks []*glua.LFunction
}

func openUtilDatamanager(L *glua.LState) int {
	s := &dmState{dataPath: "."}
	if prosody, ok := L.GetGlobal("prosody").(*glua.LTable); ok {
		if paths, ok := prosody.RawGetString("paths").(*glua.LTable); ok {
			if data, ok := paths.RawGetString("data").(glua.LString); ok {
				s.dataPath = string(data)
			}
		}
	}
	fns := map[string]glua.LGFunction{
		"set_data_path":   s.setDataPath,
		"add_callback":    s.addCallback,
		"remove_callback": s.removeCallback,
		"getpath":         s.luaGetpath,
		"load":            s.load,
		"store":           s.store,
		"append_raw":      s.appendRaw,
		"store_raw":       dmStoreRaw,
		"list_append":     s.listAppend,
		"list_store":      s.listStore,
		"list_load":       s.listLoad,
		"users":           s.users,
		"stores":          s.stores,
		"purge":           s.purge,
		"path_encode":     func(L *glua.LState) int { return pushOptString(L, 1, dmEncode) },
		"path_decode":     func(L *glua.LState) int { return pushOptString(L, 1, dmDecode) },
	}
	mod := L.NewTable()
	for name, fn := range fns {
		mod.RawSetString(name, L.NewFunction(fn))
	}
	L.Push(mod)
	return 1
}

// pushOptString pushes f(argument n), or nil when the argument is nil.
func pushOptString(L *glua.LState, n int, f func(string) string) int {
	if L.Get(n) == glua.LNil {
		L.Push(glua.LNil)
	} else {
		L.Push(glua.LString(f(L.CheckString(n))))
	}
	return 1
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func dmEscape(s string, keep func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; keep(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// dmEncode is path_encode: everything but ASCII letters and digits as %xx.
func dmEncode(s string) string { return dmEscape(s, isAlnum) }

// dmStoreEncode is the encoding of store names, which keeps "_" as well.
func dmStoreEncode(s string) string {
	return dmEscape(s, func(c byte) bool { return c == '_' || isAlnum(c) })
}

func isHexAny(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// dmDecode is path_decode: each %xx (either case) becomes its byte.
func dmDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexAny(s[i+1]) && isHexAny(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// path is getpath(username, host, store, ext, create).
func (s *dmState) path(user *string, host *string, store, ext string, create bool) (string, error) {
	if ext == "" {
		ext = "dat"
	}
	h := "_global"
	if host != nil {
		h = dmEncode(*host)
	}
	dir := s.dataPath + "/" + h
	var p string
	if user != nil {
		dir += "/" + dmStoreEncode(store)
		p = dir + "/" + dmEncode(*user) + "." + ext
	} else {
		p = dir + "/" + dmStoreEncode(store) + "." + ext
	}
	if create {
		if err := os.MkdirAll(filepath.FromSlash(dir), 0o750); err != nil {
			return p, err
		}
	}
	return p, nil
}

func dmArg(L *glua.LState, n int) *string { return luaOptString(L.Get(n)) }

func (s *dmState) setDataPath(L *glua.LState) int {
	s.dataPath = L.CheckString(1)
	return 0
}

func (s *dmState) addCallback(L *glua.LState) int {
	fn := L.CheckFunction(1)
	for _, f := range s.callbacks {
		if f == fn {
			return 0
		}
	}
	s.callbacks = append(s.callbacks, fn)
	L.Push(glua.LTrue)
	return 1
}

func (s *dmState) removeCallback(L *glua.LState) int {
	fn := L.CheckFunction(1)
	for i, f := range s.callbacks {
		if f == fn {
			s.callbacks = append(s.callbacks[:i:i], s.callbacks[i+1:]...)
			L.Push(glua.LTrue)
			return 1
		}
	}
	return 0
}

// runCallbacks passes (user, host, store, data) through the callbacks, each
// getting what the one before returned, until one returns false as its
// first value; the last values are returned.
func (s *dmState) runCallbacks(L *glua.LState, args [4]glua.LValue) [4]glua.LValue {
	for _, fn := range append([]*glua.LFunction(nil), s.callbacks...) {
		L.Push(fn)
		for _, a := range args {
			L.Push(a)
		}
		L.Call(4, 4)
		for i := range args {
			args[i] = L.Get(-4 + i)
		}
		L.Pop(4)
		if args[0] == glua.LFalse {
			break
		}
	}
	return args
}

func (s *dmState) luaGetpath(L *glua.LState) int {
	p, _ := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), L.OptString(4, ""), L.ToBool(5))
	L.Push(glua.LString(p))
	return 1
}

func dmFail(L *glua.LState, msg string) int {
	L.Push(glua.LNil)
	L.Push(glua.LString(msg))
	return 2
}

const dmReadError = "Error reading storage"

// runDataFile runs the Lua file p in env (a fresh table). missing reports
// that it does not exist.
func runDataFile(L *glua.LState, p string, env *glua.LTable) (value glua.LValue, missing bool, err error) {
	src, err := os.ReadFile(filepath.FromSlash(p))
	if errors.Is(err, fs.ErrNotExist) {
		return glua.LNil, true, nil
	}
	if err != nil {
		return glua.LNil, false, err
	}
	fn, err := L.Load(strings.NewReader(string(src)), "@"+p)
	if err != nil {
		return glua.LNil, false, err
	}
	fn.Env = env
	L.Push(fn)
	if err := lua.PCall(L, 0, 1, nil); err != nil {
		return glua.LNil, false, err
	}
	value = L.Get(-1)
	L.Pop(1)
	return value, false, nil
}

func (s *dmState) load(L *glua.LState) int {
	p, _ := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), "", false)
	v, missing, err := runDataFile(L, p, L.NewTable())
	if missing {
		L.Push(glua.LNil)
		return 1
	}
	if err != nil {
		return dmFail(L, dmReadError)
	}
	L.Push(v)
	return 1
}

func (s *dmState) listLoad(L *glua.LState) int {
	p, _ := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), "list", false)
	items := L.NewTable()
	env := L.NewTable()
	env.RawSetString("item", L.NewFunction(func(L *glua.LState) int {
		items.Append(L.Get(1))
		return 0
	}))
	_, missing, err := runDataFile(L, p, env)
	if missing {
		L.Push(glua.LNil)
		return 1
	}
	if err != nil {
		return dmFail(L, dmReadError)
	}
	L.Push(items)
	return 1
}

// atomicStore writes data to p~ and renames it over p.
func atomicStore(p string, data string) error {
	p = filepath.FromSlash(p)
	tmp := p + "~"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// dmStoreRaw is store_raw(filename, data): true, or nil and the error.
func dmStoreRaw(L *glua.LState) int {
	if err := atomicStore(L.CheckString(1), L.CheckString(2)); err != nil {
		return dmFail(L, err.Error())
	}
	L.Push(glua.LTrue)
	return 1
}

func isEmptyTable(v glua.LValue) bool {
	t, ok := v.(*glua.LTable)
	if !ok {
		return false
	}
	k, _ := t.Next(glua.LNil)
	return k == glua.LNil
}

func (s *dmState) store(L *glua.LState) int {
	data := L.Get(4)
	if !glua.LVAsBool(data) {
		data = L.NewTable()
	}
	args := s.runCallbacks(L, [4]glua.LValue{L.Get(1), L.Get(2), L.Get(3), data})
	if args[0] == glua.LFalse {
		L.Push(glua.LTrue) // a callback vetoed saving: not an error
		return 1
	}
	user, host := luaOptString(args[0]), luaOptString(args[1])
	store := L.CheckString(3)
	if st, ok := args[2].(glua.LString); ok {
		store = string(st)
	}
	data = args[3]
	text, err := serializeLua(data)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	p, err := s.path(user, host, store, "", true)
	if err == nil {
		if isEmptyTable(data) {
			// nothing to keep: no file, rather than an empty one
			err = os.Remove(filepath.FromSlash(p))
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = atomicStore(p, "return "+text+";\n")
		}
	}
	if err != nil {
		return dmFail(L, "Error saving to storage")
	}
	L.Push(glua.LTrue)
	return 1
}

func luaOptString(v glua.LValue) *string {
	switch v := v.(type) {
	case glua.LString:
		s := string(v)
		return &s
	case glua.LNumber:
		s := v.String()
		return &s
	}
	return nil
}

// appendFile appends data to the file at p (creating it when missing),
// returning the offset it was written at.
func appendFile(p, data string) (int64, error) {
	f, err := os.OpenFile(filepath.FromSlash(p), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, atomicStore(p, data)
	}
	if err != nil {
		return 0, err
	}
	pos, err := f.Seek(0, 2)
	if err == nil {
		_, err = f.WriteString(data)
		if err != nil {
			// do not leave half an item: blank out what was written
			_, _ = f.WriteAt([]byte(strings.Repeat(" ", len(data))), pos)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return pos, err
}

// appendRaw is append_raw(user, host, store, ext, data): true and the offset
// the data went at (just true for a new file), or nil and the error.
func (s *dmState) appendRaw(L *glua.LState) int {
	data, ok := L.Get(5).(glua.LString)
	if !ok {
		return 0
	}
	p, err := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), L.OptString(4, ""), true)
	if err != nil {
		return dmFail(L, err.Error())
	}
	existed := true
	if _, err := os.Stat(filepath.FromSlash(p)); err != nil {
		existed = false
	}
	pos, err := appendFile(p, string(data))
	if err != nil {
		return dmFail(L, err.Error())
	}
	L.Push(glua.LTrue)
	if existed {
		L.Push(glua.LNumber(pos))
		return 2
	}
	return 1
}

func (s *dmState) vetoed(L *glua.LState) bool {
	args := s.runCallbacks(L, [4]glua.LValue{L.Get(1), L.Get(2), L.Get(3), glua.LNil})
	return args[0] == glua.LFalse
}

func (s *dmState) listAppend(L *glua.LState) int {
	if !glua.LVAsBool(L.Get(4)) {
		return 0
	}
	if s.vetoed(L) {
		L.Push(glua.LTrue)
		return 1
	}
	text, err := serializeLua(L.Get(4))
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	p, err := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), "list", true)
	if err == nil {
		_, err = appendFile(p, "item("+text+");\n")
	}
	if err != nil {
		return dmFail(L, err.Error())
	}
	L.Push(glua.LTrue)
	return 1
}

func (s *dmState) listStore(L *glua.LState) int {
	data, _ := L.Get(4).(*glua.LTable)
	if data == nil {
		data = L.NewTable()
	}
	if s.vetoed(L) {
		L.Push(glua.LTrue)
		return 1
	}
	var b strings.Builder
	for i := 1; data.RawGetInt(i) != glua.LNil; i++ {
		text, err := serializeLua(data.RawGetInt(i))
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		b.WriteString("item(" + text + ");\n")
	}
	p, err := s.path(dmArg(L, 1), dmArg(L, 2), L.CheckString(3), "list", true)
	if err == nil {
		if isEmptyTable(data) {
			err = os.Remove(filepath.FromSlash(p))
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = atomicStore(p, b.String())
		}
	}
	if err != nil {
		return 0 // Prosody returns nothing when the write fails
	}
	L.Push(glua.LTrue)
	return 1
}

// listIterator pushes a Lua iterator over names (a stateless-looking
// function, as Prosody's users/stores return).
func listIterator(L *glua.LState, names []string) int {
	i := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if i >= len(names) {
			return 0
		}
		i++
		L.Push(glua.LString(names[i-1]))
		return 1
	}))
	return 1
}

var dmTypeExt = map[string]string{"keyval": "dat", "list": "list"}

// users(host, store, type): the users with data of type ("keyval" unless
// told, "list", or another extension) in store.
func (s *dmState) users(L *glua.LState) int {
	typ := L.OptString(3, "keyval")
	ext := typ
	if e, ok := dmTypeExt[typ]; ok {
		ext = e
	}
	dir := s.dataPath + "/" + dmEncode(L.CheckString(1)) + "/" + dmStoreEncode(L.CheckString(2))
	entries, _ := os.ReadDir(filepath.FromSlash(dir))
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), "."+ext); ok {
			names = append(names, dmDecode(name))
		}
	}
	return listIterator(L, names)
}

// stores(user, host, type): with user true, every store (directory) of host;
// with a user, the stores holding that user's data of type; with no user,
// the host-wide stores of type.
func (s *dmState) stores(L *glua.LState) int {
	host := L.CheckString(2)
	ext := dmTypeExt[L.OptString(3, "keyval")]
	hostDir := s.dataPath + "/" + dmEncode(host)
	entries, _ := os.ReadDir(filepath.FromSlash(hostDir))
	var names []string
	for _, e := range entries {
		node := e.Name()
		if strings.HasPrefix(node, ".") {
			continue
		}
		switch user := L.Get(1).(type) {
		case glua.LBool:
			if bool(user) && e.IsDir() {
				names = append(names, dmDecode(node))
			}
		case glua.LString:
			name := dmDecode(node)
			u := string(user)
			if p, _ := s.path(&u, &host, name, ext, false); fileExists(p) {
				names = append(names, name)
			}
		default:
			if base, ok := strings.CutSuffix(node, "."+ext); ok && ext != "" && !e.IsDir() {
				names = append(names, dmDecode(base))
			}
		}
	}
	return listIterator(L, names)
}

func fileExists(p string) bool {
	_, err := os.Stat(filepath.FromSlash(p))
	return err == nil
}

// purge(user, host) removes user's keyval and list data from every store of
// host: true, or false and the errors joined by ", ".
func (s *dmState) purge(L *glua.LState) int {
	user := dmArg(L, 1)
	host := L.CheckString(2)
	hostDir := s.dataPath + "/" + dmEncode(host) + "/"
	entries, err := os.ReadDir(filepath.FromSlash(hostDir))
	if err != nil {
		L.Push(glua.LFalse)
		L.Push(glua.LString(fmt.Sprintf("cannot open %s: %s", hostDir, errnoText(err))))
		return 2
	}
	var errs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for _, ext := range []string{"dat", "list"} {
			p, _ := s.path(user, &host, dmDecode(e.Name()), ext, false)
			if err := os.Remove(filepath.FromSlash(p)); err != nil && fileExists(p) {
				errs = append(errs, p+": "+errnoText(err))
			}
		}
	}
	L.Push(glua.LBool(len(errs) == 0))
	L.Push(glua.LString(strings.Join(errs, ", ")))
	return 2
}

// errnoText is an error's strerror-like text, capitalised as C's.
func errnoText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

// serializeError is a value serializeLua cannot write, in Prosody's words
// (which callers may match on).
type serializeError string

func (e serializeError) Error() string { return string(e) }

// serializeLua writes v as a Lua expression that evaluates to an equal
// value: nil, booleans, numbers, strings and tables of them (a table may
// occur only once: no shared or looping references).
func serializeLua(v glua.LValue) (string, error) {
	var b strings.Builder
	seen := map[*glua.LTable]bool{}
	err := writeLuaValue(&b, v, seen, 1)
	return b.String(), err
}

func writeLuaValue(b *strings.Builder, v glua.LValue, seen map[*glua.LTable]bool, depth int) error {
	switch v := v.(type) {
	case *glua.LNilType:
		b.WriteString("nil")
	case glua.LBool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case glua.LNumber:
		b.WriteString(luaNumberLiteral(float64(v)))
	case glua.LString:
		b.WriteString(luaQuote(string(v)))
	case *glua.LTable:
		if seen[v] {
			return serializeError("Can't serialize table: table has multiple references")
		}
		seen[v] = true
		return writeLuaTable(b, v, seen, depth)
	default:
		return serializeError("Can't serialize " + v.Type().String())
	}
	return nil
}

func writeLuaTable(b *strings.Builder, t *glua.LTable, seen map[*glua.LTable]bool, depth int) error {
	indent := strings.Repeat("\t", depth)
	n := 0
	for t.RawGetInt(n+1) != glua.LNil {
		n++
	}
	type pair struct{ k, v glua.LValue }
	var rest []pair
	t.ForEach(func(k, v glua.LValue) {
		if num, ok := k.(glua.LNumber); ok && float64(num) == math.Trunc(float64(num)) && num >= 1 && int(num) <= n {
			return
		}
		rest = append(rest, pair{k, v})
	})
	// Keys in a stable order: strings, then numbers, then the rest.
	rank := func(v glua.LValue) int {
		switch v.(type) {
		case glua.LString:
			return 0
		case glua.LNumber:
			return 1
		case glua.LBool:
			return 2
		}
		return 3
	}
	sort.SliceStable(rest, func(i, j int) bool {
		a, c := rest[i].k, rest[j].k
		if rank(a) != rank(c) {
			return rank(a) < rank(c)
		}
		switch a := a.(type) {
		case glua.LString:
			return a < c.(glua.LString)
		case glua.LNumber:
			return a < c.(glua.LNumber)
		case glua.LBool:
			return !bool(a) && bool(c.(glua.LBool))
		}
		return false
	})
	if n == 0 && len(rest) == 0 {
		b.WriteString("{}")
		return nil
	}
	b.WriteString("{\n")
	for i := 1; i <= n; i++ {
		b.WriteString(indent)
		if err := writeLuaValue(b, t.RawGetInt(i), seen, depth+1); err != nil {
			return err
		}
		b.WriteString(";\n")
	}
	for _, p := range rest {
		b.WriteString(indent + "[")
		if err := writeLuaValue(b, p.k, seen, depth+1); err != nil {
			return err
		}
		b.WriteString("] = ")
		if err := writeLuaValue(b, p.v, seen, depth+1); err != nil {
			return err
		}
		b.WriteString(";\n")
	}
	b.WriteString(strings.Repeat("\t", depth-1) + "}")
	return nil
}

func luaNumberLiteral(f float64) string {
	switch {
	case math.IsNaN(f):
		return "(0/0)"
	case math.IsInf(f, 1):
		return "(1/0)"
	case math.IsInf(f, -1):
		return "(-1/0)"
	case f == math.Trunc(f) && math.Abs(f) < 1<<63:
		return strconv.FormatInt(int64(f), 10)
	}
	return fmt.Sprintf("%.18g", f)
}

// luaQuote quotes s as a Lua string literal readable by Lua 5.1 to 5.4:
// bytes from 0x80 up go through as they are.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\%03d`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
