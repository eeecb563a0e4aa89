package lua

import (
	"reflect"
	"sort"
	"strconv"

	glua "github.com/yuin/gopher-lua"
)

// Dead keys.
//
// gopher-lua v1.1.2 remembers every key a table's hash part was ever given:
// storing nil deletes the value, but the key stays in the table's key list
// (LTable.keys and its index k2i, "TODO tb.keys and tb.k2i should also be
// removed" in its table.go), and next/pairs walk that list. A table whose
// keys come and go (sessions by full JID, IQs by id, anything keyed by a
// one-off string) grows by every key it ever held, in memory and in the
// cost of each traversal, for as long as it lives.

// KeyCount is what a table's hash part holds: Recorded keys in its key list,
// Live of them with a value.
type KeyCount struct {
	Recorded, Live int
}

// Dead is the number of recorded keys without a value.
func (k KeyCount) Dead() int { return k.Recorded - k.Live }

// KeysOf reads t's key list and hash maps (unexported in gopher-lua;
// reflection may read their lengths).
func KeysOf(t *glua.LTable) KeyCount {
	v := reflect.ValueOf(t).Elem()
	keys, strdict, dict := v.FieldByName("keys"), v.FieldByName("strdict"), v.FieldByName("dict")
	if !keys.IsValid() || !strdict.IsValid() || !dict.IsValid() {
		return KeyCount{}
	}
	return KeyCount{Recorded: keys.Len(), Live: strdict.Len() + dict.Len()}
}

// TableKeys is one table found by WalkTables, with the path it was first
// reached by (from the registry: _G.hosts["example.com"].sessions, or
// function upvalues as <upvalue name>).
type TableKeys struct {
	Path  string
	Table *glua.LTable
	KeyCount
}

// DeadKeys walks every table reachable from L's registry (globals, loaded
// modules, metatables, the upvalues and environments of reachable
// functions) and returns those with at least min dead keys, most first.
func DeadKeys(L *glua.LState, min int) []TableKeys {
	var found []TableKeys
	seen := map[glua.LValue]bool{}
	var walk func(path string, v glua.LValue, depth int)
	// meta walks what a table or userdata refers to besides its contents.
	meta := func(path string, mt glua.LValue, env *glua.LTable, depth int) {
		if mt != nil {
			walk(path+"<meta>", mt, depth+1)
		}
		if env != nil {
			walk(path+"<env>", env, depth+1)
		}
	}
	walk = func(path string, v glua.LValue, depth int) {
		if depth > 64 || seen[v] {
			return
		}
		switch x := v.(type) {
		case *glua.LTable:
			seen[x] = true
			if k := KeysOf(x); k.Dead() >= min {
				found = append(found, TableKeys{path, x, k})
			}
			meta(path, x.Metatable, nil, depth)
			x.ForEach(func(k, v glua.LValue) {
				walk(path+keyPath(k), v, depth+1)
				if _, simple := k.(glua.LString); !simple {
					walk(path+"<key>", k, depth+1)
				}
			})
		case *glua.LFunction:
			seen[x] = true
			meta(path, nil, x.Env, depth)
			for i, uv := range x.Upvalues {
				name := strconv.Itoa(i)
				if x.Proto != nil && i < len(x.Proto.DbgUpvalues) {
					name = x.Proto.DbgUpvalues[i]
				}
				walk(path+"<"+name+">", uv.Value(), depth+1)
			}
		case *glua.LUserData:
			seen[x] = true
			meta(path, x.Metatable, x.Env, depth)
		}
	}
	walk("", L.Get(glua.RegistryIndex), 0)
	walk("_G", L.G.Global, 0)
	sort.Slice(found, func(i, j int) bool { return found[i].Dead() > found[j].Dead() })
	return found
}

func keyPath(k glua.LValue) string {
	if s, ok := k.(glua.LString); ok {
		return "." + string(s)
	}
	return "[" + k.String() + "]"
}
