-- util.datetime: XEP-0082 (XMPP Date and Time Profiles) formatting and
-- parsing, as Prosody 0.12 does it. Times are Unix timestamps in UTC.

local os_date, os_time = os.date, os.time;
local math_floor, tonumber, type = math.floor, tonumber, type;

-- os.date with the time given explicitly (gopher-lua's rejects a nil time),
-- whole seconds.
local function utc(format, t)
	if t == nil then
		t = os_time();
	end
	return os_date(format, math_floor(t));
end

-- XEP-0082 Date: CCYY-MM-DD
local function date(t)
	return utc("!%Y-%m-%d", t);
end

-- XEP-0082 DateTime: CCYY-MM-DDThh:mm:ssZ
local function datetime(t)
	return utc("!%Y-%m-%dT%H:%M:%SZ", t);
end

-- XEP-0082 Time: hh:mm:ss
local function time(t)
	return utc("!%H:%M:%S", t);
end

-- The pre-XEP-0082 form of XEP-0091 (jabber:x:delay): CCYYMMDDThh:mm:ss
local function legacy(t)
	return utc("!%Y%m%dT%H:%M:%S", t);
end

-- Days from 1970-01-01 to the given proleptic Gregorian date; month may be
-- out of 1..12 and day out of the month's range, counting on past the end
-- the way os.time does.
local function days_since_epoch(year, month, day)
	year = year + math_floor((month - 1) / 12);
	month = (month - 1) % 12 + 1;
	-- Count years from March so the leap day falls at the end of a year.
	if month <= 2 then
		year = year - 1;
		month = month + 12;
	end
	local era_days = 365 * year + math_floor(year / 4) - math_floor(year / 100) + math_floor(year / 400);
	local day_of_year = math_floor((153 * (month - 3) + 2) / 5) + day - 1;
	return era_days + day_of_year - 719468;
end

-- parse(s) reads an XEP-0082 DateTime (or the legacy form without dashes) and
-- returns its Unix timestamp, or nothing if s is not one. Fractions of a
-- second are ignored; a time zone is Z, ±hh:mm, ±hhmm or ±hh.
local function parse(s)
	if type(s) ~= "string" then
		return nil;
	end
	local year, month, day, hour, min, sec, zone =
		s:match("^(%d%d%d%d)%-?(%d%d)%-?(%d%d)T(%d%d):(%d%d):(%d%d)%.?%d*([Z+%-]?.*)$");
	if not year then
		return nil;
	end
	local offset = 0;
	if zone ~= "" and zone ~= "Z" then
		local sign, zh, zm = zone:match("([+%-])(%d%d):?(%d*)");
		if not sign then
			return nil;
		end
		if #zm ~= 2 then
			zm = "0";
		end
		offset = tonumber(zh) * 3600 + tonumber(zm) * 60;
		if sign == "-" then
			offset = -offset;
		end
	end
	local days = days_since_epoch(tonumber(year), tonumber(month), tonumber(day));
	return days * 86400 + tonumber(hour) * 3600 + tonumber(min) * 60 + tonumber(sec) - offset;
end

return {
	date = date;
	datetime = datetime;
	time = time;
	legacy = legacy;
	parse = parse;
}
