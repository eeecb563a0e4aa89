-- core.statsmanager: Prosody 0.12's statistics API on modhost's Prometheus
-- registry (host/metrics in Go).
--
-- metric() makes or finds a metric family (counter, gauge, histogram,
-- summary). measure() is the older, single-series interface that
-- module:measure still uses; it is built here on top of metric(), with
-- the names, units and default buckets Prosody 0.12 gives each kind.
--
-- Unlike Prosody, statistics are always on: Prosody hands out dummy
-- objects unless `statistics` is configured, modhost keeps counting (it is
-- cheap) and serves the result when http_openmetrics is enabled.

local native = require "modhost.native";
local monotonic = require "util.time".monotonic;

local type, error, tostring = type, error, tostring;

local function metric(type_, name, unit, description, label_keys, conf)
	return native.metric(type_, name, unit or "", description or "", label_keys, conf);
end

-- The one series of a measure: no label, or the module's host fixed.
local function single_series(type_, name, unit, description, fixed_key, fixed_value, conf)
	local family = metric(type_, "prosody_" .. name, unit, description, fixed_key and { fixed_key } or nil, conf);
	if fixed_key then
		return family:with_labels(fixed_value);
	end
	return family:with_labels();
end

local function options(conf)
	if type(conf) == "table" then return conf; end
	return {};
end

local time_buckets = { 0.001, 0.01, 0.1, 1.0, 10.0, 100.0 };
local size_buckets = { 1024, 4096, 32768, 131072, 1048576, 4194304, 33554432, 134217728, 1073741824 };

-- Each kind of measure: how its series is made and the function handed back.
local kinds = {};

-- amount: a gauge; the function sets it. conf may be the initial value.
function kinds.amount(name, key, value, conf)
	local o = options(conf);
	local m = single_series("gauge", name, o.unit, o.description or (name .. " amount"), key, value);
	local initial = type(conf) == "number" and conf or o.initial or 0;
	local set = m.set;
	set(m, initial);
	return function (v) set(m, v); end;
end

-- counter: the function adds its argument.
function kinds.counter(name, key, value, conf)
	local o = options(conf);
	local m = single_series("counter", name, o.unit, o.description or (name .. " counter"), key, value);
	local add = m.add;
	return function (v) add(m, v); end;
end

-- rate: a counter the function adds one to.
function kinds.rate(name, key, value, conf)
	local o = options(conf);
	local m = single_series("counter", name, o.unit, o.description or (name .. " counter"), key, value);
	local add = m.add;
	return function () add(m, 1); end;
end

-- times: a histogram in seconds; the function starts a timer and returns
-- the function that stops it and records the time taken.
function kinds.times(name, key, value, conf)
	local o = options(conf);
	local m = single_series("histogram", name, "seconds", o.description or (name .. " times"), key, value,
		{ buckets = o.buckets or time_buckets });
	local sample = m.sample;
	return function ()
		local started = monotonic();
		return function () sample(m, monotonic() - started); end;
	end;
end

-- sizes: a histogram in bytes; the function records its argument.
function kinds.sizes(name, key, value, conf)
	local o = options(conf);
	local m = single_series("histogram", name, "bytes", o.description or (name .. " sizes"), key, value,
		{ buckets = o.buckets or size_buckets });
	local sample = m.sample;
	return function (v) sample(m, v); end;
end

-- distribution: a summary (sum and count); conf may be the unit.
function kinds.distribution(name, key, value, conf)
	if type(conf) == "string" then conf = { unit = conf }; end
	local o = options(conf);
	local m = single_series("summary", name, o.unit, o.description or (name .. " distribution"), key, value);
	local sample = m.sample;
	return function (v) sample(m, v); end;
end

-- measure(kind, name, conf, fixed_label_key, fixed_label_value) → function
local function measure(kind, name, conf, fixed_key, fixed_value)
	local make = kinds[kind];
	if not make then
		error("unknown legacy metric type " .. tostring(kind), 2);
	end
	return make(name, fixed_key, fixed_value, conf);
end

-- The registry as Prosody's mod_http_openmetrics reads it.
local registry = {
	render = function () return native.metrics_render(); end;
};

return {
	metric = metric;
	measure = measure;
	-- Collection is continuous: there is nothing to collect on demand.
	collect = nil;
	cork = function () end;
	uncork = function () end;
	get_metric_registry = function () return registry; end;
};
