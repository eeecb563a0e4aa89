package host

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/host/httpserver"
	"github.com/modhost/modhost/host/link"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/plugins"
)

//go:embed boot.lua
var bootSource string

// Options say where a Runtime's config comes from and what it plugs into.
type Options struct {
	// ConfigFile is a prosody.cfg.lua to load, or
	ConfigFile string
	// ConfigSource is config text (ConfigName names it in errors; Include
	// and relative paths resolve against ConfigName's folder).
	ConfigSource string
	ConfigName   string

	// PluginPaths are searched after the config's plugin_paths and before
	// the bundled plugins.
	PluginPaths []string
	// Prosody is the installed Prosody whose folders modules are searched
	// in, as Prosody searches them (see moduleSearch): nil finds it with
	// DetectProsody; an empty ProsodyInstall searches none.
	Prosody *ProsodyInstall
	// Logger overrides the config's log option.
	Logger *slog.Logger
	// Stderr receives console logs and what the config prints (default
	// os.Stderr).
	Stderr io.Writer
	// Sink receives stanzas for which modhost has no local session.
	Sink StanzaSink
	// NoListen loads everything but opens no listening socket (modhost
	// check, and tests that drive HTTP handlers through Handler()).
	NoListen bool
	// Link overrides the component_client option of linked hosts.
	Link link.Options
	// UserExists answers core.usermanager.user_exists when standalone
	// (default: every user exists).
	UserExists func(user, host string) bool
	// TestingLibrary offers Lua the modhost.testing library (standalone
	// client logins for specs); `modhost test` sets it. It changes nothing
	// else: a runtime behaves the same under `modhost test` and `modhost
	// run` (the spec runner itself gives specs busted's world).
	TestingLibrary bool
	// LoadServerSide loads the modules config.IsServerSide names instead
	// of skipping them: for the sweep's -all run (cmd/modhost-sweep), to
	// see what they stop on. Nothing else sets it.
	LoadServerSide bool
}

// Runtime is one running modhost: a config, its hosts, their plugins, and
// the loop they run on.
type Runtime struct {
	opts Options
	// healthAt is where http_health is mounted, once it is (health.go).
	healthAt  string
	cfg       *config.Config
	luaCfg    *config.Config // what Lua reads (core.configmanager): cfg until a reload; used on the loop only
	log       *slog.Logger
	logCloser io.Closer
	loop      *lua.Loop
	search    *moduleSearch
	files     *fileStore
	sinkPtr   atomic.Pointer[sinkBox]
	http      *httpserver.Server
	mounts    map[int]func() // HTTP mounts by id; used on the loop only
	mountSeq  int
	metrics   *runtimeMetrics

	links   *link.Set   // fixed once Start has made it
	rosters *rosterBook // online users' rosters held in Go; loop only

	stopOnce sync.Once
	report   Report

	stopBudget time.Duration // lua.Options.StopBudget (tests shorten it)

	shutdownReq chan string // prosody.shutdown's reason; buffered, the first kept
}

type sinkBox struct{ s StanzaSink }

// New loads the config and prepares the runtime; nothing runs until Start.
// A config error is returned as *config.Error (file:line: message).
func New(opts Options) (*Runtime, error) {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	var cfg *config.Config
	var err error
	// What the config prints goes to Stderr: stdout is for reports.
	loadOpts := config.Options{Print: opts.Stderr}
	ctx, cancel := context.WithTimeout(context.Background(), config.DefaultTimeout)
	defer cancel()
	switch {
	case opts.ConfigFile != "":
		cfg, err = config.LoadWith(ctx, opts.ConfigFile, loadOpts)
	case opts.ConfigSource != "":
		name := opts.ConfigName
		if name == "" {
			name = "config.cfg.lua"
		}
		cfg, err = config.ParseWith(ctx, []byte(opts.ConfigSource), name, loadOpts)
	default:
		return nil, errors.New("no config: set Options.ConfigFile or Options.ConfigSource")
	}
	if err != nil {
		return nil, err
	}
	rt := &Runtime{opts: opts, cfg: cfg, luaCfg: cfg, metrics: newRuntimeMetrics(), shutdownReq: make(chan string, 1)}
	rt.rosters = &rosterBook{rt: rt, held: map[string]glua.LValue{}, parsed: map[string]*roster.Packed{}}
	if opts.Logger != nil {
		rt.log = opts.Logger
	} else {
		rt.log, rt.logCloser, err = cfg.Logger(opts.Stderr)
		if err != nil {
			return nil, fmt.Errorf("log option: %w", err)
		}
	}
	cfg.LogTo(rt.log)
	configDir := filepath.Dir(cfg.Path)
	var dirs, optionDirs []string
	for _, p := range stringList(cfg.Global.Options["plugin_paths"]) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(configDir, p)
		}
		dirs = append(dirs, p)
	}
	for _, p := range opts.PluginPaths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		optionDirs = append(optionDirs, p)
	}
	install := opts.Prosody
	if install == nil {
		install = DetectProsody()
	}
	var luaVersion string
	if install != nil {
		luaVersion = install.LuaVersion
	}
	rt.search = newModuleSearch(searchFolders(installerFolder(cfg.Global.Options["installer_plugin_path"], install),
		dirs, optionDirs, install), luaVersion)
	dataPath, _ := cfg.Global.Options["data_path"].(string)
	if dataPath == "" {
		dataPath = "data"
	}
	if !filepath.IsAbs(dataPath) {
		dataPath = filepath.Join(configDir, dataPath)
	}
	rt.files = &fileStore{root: dataPath, log: rt.log.With("source", "storage")}
	if opts.Sink != nil {
		rt.SetSink(opts.Sink)
	}
	return rt, nil
}

// ShutdownRequested delivers the reason of the first prosody.shutdown a
// module called: `modhost run` then stops as on SIGTERM.
func (rt *Runtime) ShutdownRequested() <-chan string { return rt.shutdownReq }

// Config returns the loaded configuration.
func (rt *Runtime) Config() *config.Config { return rt.cfg }

// Logger returns the runtime's logger.
func (rt *Runtime) Logger() *slog.Logger { return rt.log }

// Loop returns the Lua loop (nil before Start).
func (rt *Runtime) Loop() *lua.Loop { return rt.loop }

// SetSink replaces the stanza sink (nil: none). Safe at any time.
func (rt *Runtime) SetSink(s StanzaSink) {
	if s == nil {
		rt.sinkPtr.Store(nil)
		return
	}
	rt.sinkPtr.Store(&sinkBox{s})
}

func (rt *Runtime) sink() StanzaSink {
	if b := rt.sinkPtr.Load(); b != nil {
		return b.s
	}
	return nil
}

// Start creates the Lua world, loads every host's modules and returns what
// was loaded, skipped, disabled, missing or broken. Modules that fail do not
// stop the others (as in Prosody); the caller decides whether a report that
// is not OK is fatal.
func (rt *Runtime) Start(ctx context.Context) (Report, error) {
	if rt.loop != nil {
		return rt.report, errors.New("runtime already started")
	}
	httpCfg, err := rt.httpConfig()
	if err != nil {
		return Report{}, fmt.Errorf("start: %w", err)
	}
	httpCfg.Observe = rt.metrics.observeHTTP
	rt.http = httpserver.New(httpCfg, rt.log.With("source", "http"))
	rt.mounts = map[int]func(){}
	libs := append(append(append(compat.Libraries(), coreLibraries()...), plugins.Libraries()...), rt.nativeLibrary())
	if rt.opts.TestingLibrary {
		libs = append(libs, rt.testingLibrary())
	}
	rt.loop = lua.NewLoop(lua.Options{Libraries: libs, Logger: rt.log, JobBudget: rt.jobBudget(), StopBudget: rt.stopBudget, ObserveWait: func(d time.Duration) {
		rt.metrics.loopWait.Observe(d.Seconds())
	}})
	rt.metrics.watchLoop(rt.loop)
	var report Report
	err = rt.loop.Do(ctx, func(L *glua.LState) error {
		if err := rt.boot(L); err != nil {
			return err
		}
		// Sessions' default handlers sit below every plugin's (priority -1).
		if _, err := rt.sessionsAPI(L); err != nil {
			return err
		}
		report = rt.loadModules(L)
		report.Warnings = append(append(report.Warnings, rt.cfg.Warnings...), rt.storageWarnings(L)...)
		return nil
	})
	if err != nil {
		rt.loop.Close(nil)
		return report, fmt.Errorf("start: %w", err)
	}
	rt.report = report
	for _, w := range report.Warnings[len(rt.cfg.Warnings):] {
		rt.log.Warn(w) // the config's own were logged by New
	}
	if !rt.opts.NoListen {
		if err := rt.startLinks(ctx); err != nil {
			rt.Stop(context.Background())
			return report, fmt.Errorf("start: %w", err)
		}
		rt.metrics.watchLinks(rt)
		if err := rt.http.Start(ctx); err != nil {
			rt.Stop(context.Background())
			return report, fmt.Errorf("start HTTP: %w", err)
		}
		for _, u := range rt.http.URLs() {
			rt.log.Info("HTTP listening", "url", u)
		}
	}
	return report, nil
}

// HTTPHandler serves the plugins' HTTP routes; with NoListen it lets a
// program or test drive them without sockets.
func (rt *Runtime) HTTPHandler() http.Handler { return rt.http }

// HTTPURLs lists the addresses the HTTP server listens on.
func (rt *Runtime) HTTPURLs() []string {
	if rt.http == nil {
		return nil
	}
	return rt.http.URLs()
}

func (rt *Runtime) boot(L *glua.LState) error {
	// As Prosody's startup does: promise executors run in a later loop
	// turn, so does a runner's return to ready, and async.sleep waits on
	// util.timer.
	if err := compat.DeferPromiseTicks(L); err != nil {
		return err
	}
	if err := compat.ServerAsync(L); err != nil {
		return err
	}
	compat.SetHTTPDefaults(L, rt.httpClientDefaults())
	roster.Install(L, rt.rosters)
	hostList := L.NewTable()
	for _, h := range rt.cfg.Hosts {
		if !rt.cfg.HostEnabled(h.Name) {
			continue
		}
		e := L.NewTable()
		e.RawSetString("name", glua.LString(h.Name))
		kind := "local"
		if h.Kind == config.Component {
			kind = "component"
		}
		e.RawSetString("type", glua.LString(kind))
		hostList.Append(e)
	}
	paths := L.NewTable()
	paths.RawSetString("config", glua.LString(filepath.Dir(rt.cfg.Path)))
	paths.RawSetString("data", glua.LString(rt.files.root))
	native, err := lua.DoChunk(L, `return require "modhost.native"`, "boot", 1)
	if err != nil {
		return err
	}
	_, err = lua.DoChunk(L, bootSource, "host/boot.lua", 0, native[0], hostList, paths, glua.LString(rt.cfg.Path))
	return err
}

// loadModules loads each enabled host's module set, deciding for each
// module whether it is server-side (skipped wherever it is found), built in,
// found, or missing. Disabled hosts are listed, with nothing loaded.
func (rt *Runtime) loadModules(L *glua.LState) Report {
	var report Report
	mm, err := lua.DoChunk(L, `return require "core.modulemanager"`, "boot", 1)
	if err != nil {
		rt.log.Error("core.modulemanager failed to load", "error", err)
		return report
	}
	load, getModule := L.GetField(mm[0], "load"), L.GetField(mm[0], "get_module")
	judge := serverSideJudge{L: L, use: L.GetField(mm[0], "module_use"), unload: L.GetField(mm[0], "unload")}
	// fileOf is where a loaded module came from: its file, or builtIn.
	fileOf := func(env glua.LValue) string {
		path := ""
		if t, ok := env.(*glua.LTable); ok {
			if m, ok := L.GetField(t, "module").(*glua.LTable); ok {
				path = glua.LVAsString(L.GetField(m, "path"))
			}
		}
		if path == "" {
			return builtIn
		}
		return path
	}
	for _, h := range rt.cfg.Hosts {
		hr := HostReport{Name: h.Name, Component: h.Kind == config.Component}
		if !rt.cfg.HostEnabled(h.Name) {
			hr.HostDisabled = true
			report.Hosts = append(report.Hosts, hr)
			continue
		}
		set := rt.cfg.Modules(h.Name)
		hr.Disabled = append(hr.Disabled, set.Disabled...)
		names := set.Enabled
		if set.ComponentModule != "" {
			names = append([]string{set.ComponentModule}, names...)
		}
		for _, name := range names {
			if serve, ok := builtInEndpoints[name]; ok {
				if _, err := serve(rt); err != nil {
					hr.Broken = append(hr.Broken, ModuleError{Name: name, Error: err.Error()})
					continue
				}
				hr.Loaded = append(hr.Loaded, LoadedModule{Name: name, File: builtIn})
				continue
			}
			if config.IsServerSide(name) && !rt.opts.LoadServerSide {
				where := rt.search.locate(name)
				hr.Skipped = append(hr.Skipped, SkippedModule{Name: name, File: where})
				rt.log.Info("skipping server-side module (the XMPP server runs it)", "host", h.Name, "module", name, "found", where)
				continue
			}
			rt.loop.RenewBudget() // each module's load has lua_job_timeout to itself
			rets, err := lua.Call(L, load, 3, glua.LString(h.Name), glua.LString(name))
			if err != nil {
				rets = []glua.LValue{glua.LNil, glua.LString(lua.ErrorMessage(err)), glua.LString("broken")}
			}
			if rets[0] == glua.LNil {
				if dep := serverSideDependency(glua.LVAsString(rets[1])); dep != "" {
					rt.skipServerSide(&hr, name, "depends on mod_"+dep+", which the XMPP server runs")
					continue
				}
			}
			switch {
			case rets[0] != glua.LNil:
				file := fileOf(rets[0])
				if !rt.opts.LoadServerSide {
					if reason := judge.byUse(h.Name, name); reason != "" {
						rt.skipServerSide(&hr, name, reason)
						continue
					}
				}
				hr.Loaded = append(hr.Loaded, LoadedModule{Name: name, File: file, Shadowed: rt.search.shadowed(name, file)})
			case glua.LVAsString(rets[2]) == "missing":
				_, _, searched, _ := rt.search.find(name)
				hr.Missing = append(hr.Missing, MissingModule{Name: name, Searched: searched,
					Folders: rt.search.folderNames(), Layouts: rt.search.layoutNames(name)})
				rt.log.Error("module not found", "host", h.Name, "module", name, "searched", rt.search.describe(rt.search.layoutNames(name)))
			case glua.LVAsString(rets[1]) == "module-already-loaded" || glua.LVAsString(rets[1]) == "global-module-already-loaded":
				// Loaded already, as another module's dependency.
				file := "(already loaded)"
				for _, on := range []string{h.Name, "*"} {
					if env, err := lua.Call(L, getModule, 1, glua.LString(on), glua.LString(name)); err == nil && env[0] != glua.LNil {
						file = fileOf(env[0])
						break
					}
				}
				hr.Loaded = append(hr.Loaded, LoadedModule{Name: name, File: file})
			default:
				hr.Broken = append(hr.Broken, ModuleError{Name: name, Error: inWords(glua.LVAsString(rets[1]), rt.search.source)})
			}
		}
		report.Hosts = append(report.Hosts, hr)
	}
	return report
}

// builtIn is the File of a module modhost provides itself (http,
// http_errors, storage_internal, http_openmetrics).
const builtIn = "(built in)"

// FireEvent fires a named event on a host's event bus ("*" for the global
// bus) with data converted by lua.FromGo, and returns the first non-nil
// handler result converted by lua.ToGo.
func (rt *Runtime) FireEvent(ctx context.Context, host, name string, data any) (any, error) {
	if rt.loop == nil {
		return nil, errors.New("runtime not started")
	}
	var result any
	err := rt.loop.Do(ctx, func(L *glua.LState) error {
		bus, err := eventBus(L, host)
		if err != nil {
			return err
		}
		rets, err := lua.Call(L, L.GetField(bus, "fire_event"), 1, glua.LString(name), lua.FromGo(L, data))
		if err != nil {
			return fmt.Errorf("event %s on %s: %w", name, host, err)
		}
		result = lua.ToGo(rets[0])
		return nil
	})
	return result, err
}

func eventBus(L *glua.LState, host string) (glua.LValue, error) {
	prosody := L.GetGlobal("prosody")
	if host == "*" {
		return L.GetField(prosody, "events"), nil
	}
	h := L.GetField(L.GetField(prosody, "hosts"), host)
	if h == glua.LNil {
		return nil, fmt.Errorf("no host %q in the config", host)
	}
	return L.GetField(h, "events"), nil
}

// Stop unloads every module (module.unload runs), stops the loop and closes
// log files, within ctx whatever the loop is doing (shutdown.go): it
// returns an error saying what did not end cleanly (a module whose unload
// failed, unloads or a loop that did not finish in time). It is safe to
// call more than once.
func (rt *Runtime) Stop(ctx context.Context) error {
	var err error
	rt.stopOnce.Do(func() {
		if rt.loop != nil {
			// From now on no job runs longer than lua.StopJobBudget: a
			// handler stuck in the loop is interrupted and the drain ends.
			rt.loop.Shutdown()
		}
		rt.stopLinks(ctx)
		if rt.http != nil && !rt.opts.NoListen {
			drain, cancel := drainContext(ctx)
			if herr := rt.http.Shutdown(drain); herr != nil {
				rt.log.Warn("HTTP shutdown", "error", herr)
			}
			cancel()
		}
		if rt.loop != nil {
			err = rt.stopLoop(ctx)
		}
		if err != nil {
			// Logged here, while log files are still open.
			rt.log.Error("shutdown was not clean: " + err.Error())
		}
		if rt.logCloser != nil {
			rt.logCloser.Close()
		}
	})
	return err
}

// Report says, per host, what happened to each module.
type Report struct {
	Hosts []HostReport
	// Warnings are what does not stop a start but will fail later or
	// differs from Prosody: the config's (duplicate options, …) and every
	// storage driver modhost cannot open, with the hosts and stores it
	// affects.
	Warnings []string
}

// HostReport is one host's part of a Report.
type HostReport struct {
	Name      string
	Component bool
	// HostDisabled is a host whose enabled option is false: Prosody does
	// not activate it, and nothing is loaded there.
	HostDisabled bool
	Loaded       []LoadedModule
	Skipped      []SkippedModule // server-side modules: the XMPP server runs them
	Disabled     []string        // named by modules_disabled
	Missing      []MissingModule
	Broken       []ModuleError
}

// LoadedModule names a loaded module and the file it came from ("(built
// in)" for what modhost provides itself). Shadowed are the other copies the
// search found after File and did not load: Prosody's own mod_http_files
// or mod_storage_memory when modhost's bundled copy won (bundled plugins
// are searched before Prosody's folder, see moduleSearch).
type LoadedModule struct {
	Name, File string
	Shadowed   []string
}

// SkippedModule is a server-side module and the file the search finds it
// in ("" when it is in none of the folders: the XMPP server may still have
// it). Reason is "" for a module config.IsServerSide lists, else why it
// was found to need the server: a dependency on a server-side module, or
// what a module whose name looks server-side hooks and provides.
type SkippedModule struct{ Name, File, Reason string }

// MissingModule is a module found in no searched path.
type MissingModule struct {
	Name string
	// Searched is every file tried, in order.
	Searched []string
	// Folders are the folders searched, in order, each with why it is
	// searched ("/usr/lib/prosody/modules (the installed Prosody's)"), and
	// Layouts the names tried in each (mod_x.lua, mod_x/mod_x.lua, …).
	Folders, Layouts []string
}

// ModuleError is a module that failed to load or initialise; Error is one
// line, file:line first, saying in words what was missing (the full
// message and traceback are logged).
type ModuleError struct{ Name, Error string }

// OK reports whether every module was found and loaded.
func (r Report) OK() bool {
	for _, h := range r.Hosts {
		if len(h.Missing) > 0 || len(h.Broken) > 0 {
			return false
		}
	}
	return true
}

func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := v[k].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
