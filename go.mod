module github.com/modhost/modhost

go 1.26.8

require (
	github.com/julienschmidt/httprouter v1.3.0
	github.com/xdg-go/stringprep v1.0.4
	github.com/yuin/gopher-lua v1.1.2
	golang.org/x/net v0.62.0
	golang.org/x/text v0.43.0
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
)
