//go:build !linux

package compat

import (
	"io/fs"

	glua "github.com/yuin/gopher-lua"
)

// statFields has nothing to add where stat(2)'s fields are not known here.
func statFields(*glua.LTable, fs.FileInfo) {}
