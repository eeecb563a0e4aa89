-- util.dbuffer: a byte buffer built from the chunks written to it, as
-- Prosody 0.12's util.dbuffer (used by stream framers such as
-- net.websocket.frames).
--
-- new(max_size, max_chunks) (nil when max_size <= 0): write(data) appends
-- (nil when it would pass max_size); read(n) takes n bytes (nil when fewer
-- are buffered), read() the rest of the first chunk; read_chunk(n) up to n
-- bytes of the first chunk and their count; read_until(s) takes up
-- to and including the next s (found within one chunk); discard(n) drops n
-- bytes; sub(i, j) and byte(i, j) look without taking, with string.sub's
-- and string.byte's indices; length() / len(); collapse(n) joins chunks
-- until the first holds n bytes (all when n is nil). When max_chunks (32
-- unless told) chunks are held, the next write joins them into one first.
--
-- Under Lua 5.1 (modhost) the # operator does not reach __len on a table:
-- use :length() there.

local setmetatable, s_byte, s_sub, t_concat = setmetatable, string.byte, string.sub, table.concat;

local methods = {};
local dbuffer_mt = { __name = "dbuffer", __index = methods };

-- State: chunks[first..last] hold the data; `skip` bytes of chunks[first]
-- have been read already; `size` is what remains in all.

function methods:length()
	return self.size;
end
methods.len = methods.length;
dbuffer_mt.__len = methods.length;

function methods:collapse(bytes)
	bytes = bytes or self.size;
	local chunks, first = self.chunks, self.first;
	local front = chunks[first];
	if not front or #front - self.skip >= bytes then
		return;
	end
	local parts = { s_sub(front, self.skip + 1) };
	local have = #parts[1];
	local i = first;
	while have < bytes and i < self.last do
		chunks[i] = nil;
		i = i + 1;
		parts[#parts + 1] = chunks[i];
		have = have + #chunks[i];
	end
	chunks[i] = t_concat(parts);
	self.first, self.skip = i, 0;
end

function methods:write(data)
	if self.max_size and self.size + #data > self.max_size then
		return nil;
	end
	if self.last - self.first + 1 >= self.max_chunks then
		self:collapse();
		if self.last - self.first + 1 >= self.max_chunks then
			return nil;
		end
	end
	self.last = self.last + 1;
	self.chunks[self.last] = data;
	self.size = self.size + #data;
	return true;
end

-- Takes up to n bytes (all the first chunk holds when n is nil) from the
-- first chunk: the bytes and how many.
local function take_front(self, n)
	local chunks, first = self.chunks, self.first;
	local front = chunks[first];
	if not front then return nil; end
	local available = #front - self.skip;
	if not n or n >= available then
		local piece = s_sub(front, self.skip + 1);
		chunks[first] = nil;
		if first < self.last then
			self.first = first + 1;
		else
			self.first, self.last = 1, 0;
		end
		self.skip = 0;
		self.size = self.size - available;
		return piece, available;
	end
	local piece = s_sub(front, self.skip + 1, self.skip + n);
	self.skip = self.skip + n;
	self.size = self.size - n;
	return piece, n;
end

-- Takes exactly n bytes: their pieces, or nil when fewer are held (or
-- nothing is, even for n = 0).
local function take(self, n)
	if n > self.size or not self.chunks[self.first] then
		return nil;
	end
	local pieces = {};
	repeat
		local piece, got = take_front(self, n);
		pieces[#pieces + 1] = piece;
		n = n - got;
	until n <= 0;
	return pieces;
end

-- read_chunk(n): up to n bytes (all it holds when n is nil) from the first
-- chunk only, and how many; nothing when empty.
function methods:read_chunk(n)
	return take_front(self, n);
end

function methods:read(n)
	if not n then
		return (take_front(self));
	end
	local pieces = take(self, n);
	return pieces and t_concat(pieces);
end

function methods:discard(n)
	return take(self, n) and true or nil;
end

function methods:read_until(s)
	local offset = 0;
	for i = self.first, self.last do
		local chunk = self.chunks[i];
		local start = (i == self.first) and self.skip + 1 or 1;
		local found = chunk:find(s, start, true);
		if found then
			return self:read(offset + found - start + 1);
		end
		offset = offset + #chunk - start + 1;
	end
	return nil;
end

-- i, j as string.sub takes them, as positions in the (collapsed) first
-- chunk; nil for an empty range.
local function span(self, i, j)
	local size = self.size;
	if j == nil then j = -1; end
	if j < 0 then j = size + j + 1; end
	if i < 0 then i = size + i + 1; end
	if i < 1 then i = 1; end
	if j > size then j = size; end
	if i > j then return nil; end
	self:collapse(j);
	return i + self.skip, j + self.skip;
end

function methods:sub(i, j)
	local from, to = span(self, i, j);
	if not from then return ""; end
	return s_sub(self.chunks[self.first], from, to);
end

function methods:byte(i, j)
	i = i or 1;
	local from, to = span(self, i, j or i);
	if not from then return; end
	return s_byte(self.chunks[self.first], from, to);
end

local function new(max_size, max_chunks)
	if max_size and max_size <= 0 then
		return nil;
	end
	return setmetatable({
		chunks = {}, first = 1, last = 0, skip = 0, size = 0,
		max_size = max_size, max_chunks = max_chunks or 32,
	}, dbuffer_mt);
end

return {
	new = new;
};
