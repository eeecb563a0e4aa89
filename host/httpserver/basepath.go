package httpserver

import (
	"regexp"
	"strings"
)

// AppName is the name mod_http files an app under: the item's name, else the
// providing module's name without its "http_" prefix (what
// module:provides("http", item) fills in).
func AppName(moduleName, itemName string) string {
	if itemName != "" {
		return itemName
	}
	return strings.TrimPrefix(moduleName, "http_")
}

var pathVariable = regexp.MustCompile(`\$([0-9A-Za-z]+)`)

// BasePath is where mod_http mounts an app: http_paths[app name] if set,
// else the item's default_path, else "/" + app name; normalised to start with
// "/" and not end with one; "$host" replaced by host (other $words are left
// as they are, as Prosody leaves them). httpPaths is the effective
// http_paths option (the host's entries over the global ones).
func BasePath(moduleName, itemName, defaultPath string, httpPaths map[string]any, host string) string {
	app := AppName(moduleName, itemName)
	path := "/" + app
	if defaultPath != "" {
		path = defaultPath
	}
	if p, ok := httpPaths[app].(string); ok {
		path = p
	}
	path = strings.TrimSuffix(path, "/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return pathVariable.ReplaceAllStringFunc(path, func(v string) string {
		if v == "$host" {
			return host
		}
		return v
	})
}
