-- util.human.units: numbers with SI or binary prefixes, as Prosody 0.12's
-- util.human.units.
--
-- adjust(n[, "b"]) gives the multiplier and prefix to show n with: powers
-- of 1000 (k … Y) for n from 1 up, of 1/1000 (m, μ … y) below 1 (negative
-- numbers included), of 1024 (Ki … Yi) with "b"; 1 and nil when n needs no
-- prefix. format(n, unit[, "b"]) writes n in that unit, to three
-- significant digits: format(1536, "B", "b") is "1.5 KiB".

local m_abs, m_ceil, m_floor, m_log, m_max, m_min = math.abs, math.ceil, math.floor, math.log, math.max, math.min;

-- prefix, multiplier for exponents 1..8
local large = {
	{ "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 },
	{ "P", 1e15 }, { "E", 1e18 }, { "Z", 1e21 }, { "Y", 1e24 },
};
local small = {
	{ "m", 1e-3 }, { "μ", 1e-6 }, { "n", 1e-9 }, { "p", 1e-12 },
	{ "f", 1e-15 }, { "a", 1e-18 }, { "z", 1e-21 }, { "y", 1e-24 },
};
local binary = {};
for i, p in ipairs({ "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" }) do
	binary[i] = { p, 2 ^ (10 * i) };
end

local function adjust(n, b)
	local table_, base, round = large, 1000, m_floor;
	if b == "b" then
		table_, base = binary, 1024;
	elseif n < 1 then
		table_, round = small, m_ceil;
	end
	local exponent = round(m_abs(m_log(m_abs(n)) / m_log(base)));
	local entry = table_[m_max(0, m_min(8, exponent))];
	if not entry then return 1, nil; end
	return entry[2], entry[1];
end

local function format(n, unit, b)
	if n == 0 then return ("%.3g %s%s"):format(n, "", unit); end
	local multiplier, prefix = adjust(n, b);
	return ("%.3g %s%s"):format(n / multiplier, prefix or "", unit);
end

return { adjust = adjust, format = format };
