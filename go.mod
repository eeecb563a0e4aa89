module github.com/modhost/modhost

go 1.26.8

require (
	github.com/julienschmidt/httprouter v1.3.0
	github.com/yuin/gopher-lua v1.1.2
)
