-- util.rfc6724: RFC 6724 default address selection over util.ip addresses,
-- as Prosody 0.12's util.rfc6724.
--
-- source(destination, candidates) → the preferred source address for
-- destination (candidates is reordered, best first); destination(list,
-- sources) → list reordered by preference, each judged with the source
-- address source() picks for it. Addresses are util.ip objects (scope,
-- label, precedence); common prefixes count up to 64 bits.
--
-- The order is the one Prosody's exchange sort gives (the comparisons are
-- not a strict order, so a standard sort could differ). util.ip is loaded
-- on first use.

local ipairs = ipairs;

local function common_prefix(a, b)
	local n = require "util.ip".commonPrefixLength(a, b);
	if n < 64 then return n; end
	return 64;
end

-- For each position, swaps in any later element that does not compare
-- after it.
local function exchange_sort(list, before)
	for i = 1, #list - 1 do
		for j = i + 1, #list do
			if not before(list[i], list[j]) then
				list[i], list[j] = list[j], list[i];
			end
		end
	end
end

local function source(dest, candidates)
	exchange_sort(candidates, function (a, b)
		-- Rule 1: the destination itself
		if a == dest then return true; elseif b == dest then return false; end
		-- Rule 2: an appropriate scope
		if a.scope < b.scope then
			return a.scope >= dest.scope;
		elseif a.scope > b.scope then
			return b.scope < dest.scope;
		end
		-- Rule 6: a matching label
		if a.label == dest.label and b.label ~= dest.label then
			return true;
		elseif b.label == dest.label and a.label ~= dest.label then
			return false;
		end
		-- Rule 8: the longer common prefix
		return common_prefix(a, dest) > common_prefix(b, dest);
	end);
	return candidates[1];
end

local function destination(candidates, sources)
	local chosen = {};
	for _, ip in ipairs(candidates) do
		chosen[ip] = source(ip, sources);
	end
	exchange_sort(candidates, function (a, b)
		local sa, sb = chosen[a], chosen[b];
		-- Rule 2: matching scope
		if a.scope == sa.scope and b.scope ~= sb.scope then
			return true;
		elseif a.scope ~= sa.scope and b.scope == sb.scope then
			return false;
		end
		-- Rule 5: matching label
		if sa.label == a.label and sb.label ~= b.label then
			return true;
		elseif sb.label == b.label and sa.label ~= a.label then
			return false;
		end
		-- Rule 6: higher precedence
		if a.precedence ~= b.precedence then
			return a.precedence > b.precedence;
		end
		-- Rule 8: smaller scope
		if a.scope ~= b.scope then
			return a.scope < b.scope;
		end
		-- Rule 9: longer matching prefix
		local pa, pb = common_prefix(a, sa), common_prefix(b, sb);
		if pa ~= pb then
			return pa > pb;
		end
		return true;
	end);
	return candidates;
end

return {
	source = source;
	destination = destination;
};
