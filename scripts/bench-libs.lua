-- Times a few library operations plugins do all the time, with whatever
-- util.* libraries `require` finds: run by scripts/bench-libs once under
-- Lua 5.4 with Prosody 0.12's own libraries and once inside modhost, so the
-- two figures come from the same Lua code.
--
-- Prints one line per operation: "bench<TAB>name<TAB>µs per op<TAB>calls per round".
-- BENCH_ROUND_SECONDS (default 0.2) and BENCH_ROUNDS (default 5) set how long
-- each round lasts and how many there are; the fastest round is reported,
-- because on a shared machine the slower ones measure the neighbours.
--
-- os.clock is not the same clock in both runtimes: Lua 5.4's is the process's
-- CPU time, gopher-lua's is wall time since start. Taking the fastest round
-- keeps the difference small on an idle core.
--
-- Lua 5.1-compatible: it also runs in gopher-lua.

local st = require "util.stanza"
local xml = require "util.xml"
local json = require "util.json"
local jid = require "util.jid"

local round_seconds = tonumber(os.getenv("BENCH_ROUND_SECONDS") or "") or 0.2
local rounds = tonumber(os.getenv("BENCH_ROUNDS") or "") or 5

local function time_calls(fn, n)
	local start = os.clock()
	for _ = 1, n do
		fn()
	end
	return os.clock() - start
end

-- Doubles the call count until a batch is long enough to time, then sizes
-- it to last about round_seconds.
local function calls_per_round(fn)
	local n = 1
	while true do
		local elapsed = time_calls(fn, n)
		if elapsed >= round_seconds / 10 then
			return math.max(n, math.floor(n * round_seconds / elapsed))
		end
		n = n * 2
	end
end

local function measure(fn)
	local n = calls_per_round(fn)
	local best = math.huge
	for _ = 1, rounds do
		local elapsed = time_calls(fn, n)
		if elapsed < best then
			best = elapsed
		end
	end
	return best / n * 1e6, n
end

local contacts = {
	{ jid = "nurse@example.com", name = "Nurse", group = "Servants" },
	{ jid = "romeo@example.net", name = "Romeo", group = "Friends & Family" },
	{ jid = "juliet@example.org", name = "Juliet", group = "Friends & Family" },
}

local function roster_push()
	local push = st.iq({ type = "set", id = "push1", to = "user@example.com/res", from = "example.com" })
		:tag("query", { xmlns = "jabber:iq:roster", ver = "v42" })
	for _, c in ipairs(contacts) do
		push:tag("item", { jid = c.jid, name = c.name, subscription = "both" })
			:text_tag("group", c.group)
		:up()
	end
	return tostring(push)
end

local push_xml = roster_push()

local roster = {}
for i = 1, 100 do
	roster["user" .. i .. "@example.com"] = { name = "User " .. i, groups = { "Friends" } }
end
local roster_json = json.encode(roster)

-- Each check runs on the last result, after timing: it proves the timed
-- call did the work, not that the first call of a process does.
local operations = {
	{
		name = "stanza build+serialise (roster push, 3 items)",
		run = roster_push,
		check = function (out) return out == push_xml end,
	},
	{
		name = "util.xml.parse (roster push)",
		run = function () return xml.parse(push_xml) end,
		check = function (out)
			return out ~= nil and #out:get_child("query", "jabber:iq:roster").tags == #contacts
		end,
	},
	{
		name = "util.json.encode (100-contact roster)",
		run = function () return json.encode(roster) end,
		check = function (out) return #out == #roster_json end,
	},
	{
		name = "util.json.decode (100-contact roster)",
		run = function () return json.decode(roster_json) end,
		check = function (out) return out["user100@example.com"].groups[1] == "Friends" end,
	},
	{
		name = "util.jid.prep 'User@Example.COM/Res'",
		run = function () return jid.prep("User@Example.COM/Res") end,
		check = function (out) return out == "user@example.com/Res" end,
	},
}

for _, op in ipairs(operations) do
	local us, n = measure(op.run)
	local out = op.run()
	if not op.check(out) then
		error(op.name .. ": unexpected result " .. tostring(out))
	end
	print(("bench\t%s\t%.3f\t%d"):format(op.name, us, n))
end
