// Package storagememory is the Go half of the bundled mod_storage_memory
// (mod_storage_memory.lua beside it): the library modhost.pack, which packs
// stored values into compact strings so that what a host stores costs few
// Lua tables.
package storagememory
