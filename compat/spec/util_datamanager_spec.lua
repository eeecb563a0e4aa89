-- Behaviour of util.datamanager: Prosody's flat-file layout under a data
-- path, keyval and list data, and the callbacks that can veto a write.
-- Each test gets a fresh data directory.

local dm = require "util.datamanager";
local lfs = require "lfs";

local function exists(path)
	local f = io.open(path, "r");
	if f then f:close(); return true; end
	return false;
end

local function read(path)
	local f = assert(io.open(path, "r"));
	local s = f:read("*a");
	f:close();
	return s;
end

local function write(path, text)
	local f = assert(io.open(path, "w"));
	f:write(text);
	f:close();
end

local function collect(iter, state)
	local out = {};
	for name in iter, state do out[#out + 1] = name; end
	table.sort(out);
	return out;
end

-- Removes a directory tree made by a test.
local function rmtree(path)
	if lfs.attributes(path, "mode") == "directory" then
		for node in lfs.dir(path) do
			if node ~= "." and node ~= ".." then rmtree(path .. "/" .. node); end
		end
		lfs.rmdir(path);
	else
		os.remove(path);
	end
end

local counter = 0;
local base = (os.getenv("TMPDIR") or "/tmp") .. "/compat-dm-spec-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9));

describe("util.datamanager", function ()
	local root;
	before_each(function ()
		counter = counter + 1;
		lfs.mkdir(base);
		root = base .. "/" .. counter;
		lfs.mkdir(root);
		dm.set_data_path(root);
	end);
	teardown(function ()
		rmtree(base);
	end);

	describe("paths", function ()
		it("encodes host, store and user into the layout", function ()
			assert.equal(root .. "/example%2ecom/roster/alice.dat", dm.getpath("alice", "example.com", "roster"));
			assert.equal(root .. "/ex%2dample%2ecom/my%2dstore/u%40x%2ey.dat", dm.getpath("u@x.y", "ex-ample.com", "my-store"));
			assert.equal(root .. "/example%2ecom/offline_msgs/bob.list", dm.getpath("bob", "example.com", "offline_msgs", "list"));
			assert.equal(root .. "/example%2ecom/config.dat", dm.getpath(nil, "example.com", "config"));
			assert.equal(root .. "/_global/st_ore.txt", dm.getpath(nil, nil, "st_ore", "txt"));
		end);

		it("creates the directories only when asked", function ()
			local path = dm.getpath("alice", "example.com", "roster");
			assert.is_nil(lfs.attributes(root .. "/example%2ecom", "mode"));
			assert.equal(path, dm.getpath("alice", "example.com", "roster", nil, true));
			assert.equal("directory", lfs.attributes(root .. "/example%2ecom/roster", "mode"));
		end);

		it("path_encode and path_decode", function ()
			assert.equal("a%2eb%40c%20d%5f", dm.path_encode("a.b@c d_"));
			assert.equal("a.b@c d", dm.path_decode("a%2eb%40c%20d"));
			assert.equal("AJ%zz", dm.path_decode("%41%4a%zz"));
			assert.equal("\195\169", dm.path_decode(dm.path_encode("\195\169")));
			assert.equal("%c3%a9", dm.path_encode("\195\169"));
			assert.is_nil(dm.path_encode(nil));
		end);
	end);

	describe("keyval", function ()
		it("stores and loads a table", function ()
			local data = { a = 1, f = 1.5, s = "q\"\\\n\r\0\1\195\169", t = true, no = false, neg = -3,
				big = 2^53, [1] = "x", [2] = "y", [false] = { v = 2 }, [10] = "ten", nested = { { 1 }, { 2 } } };
			assert.is_true(dm.store("alice", "example.com", "roster", data));
			assert.truthy(exists(dm.getpath("alice", "example.com", "roster")));
			assert.same(data, dm.load("alice", "example.com", "roster"));
		end);

		it("stores host-wide data without a user", function ()
			assert.is_true(dm.store(nil, "example.com", "settings", { "one", "two" }));
			assert.truthy(exists(root .. "/example%2ecom/settings.dat"));
			assert.same({ "one", "two" }, dm.load(nil, "example.com", "settings"));
		end);

		it("replaces what was stored", function ()
			dm.store("alice", "example.com", "roster", { a = 1 });
			dm.store("alice", "example.com", "roster", { b = 2 });
			assert.same({ b = 2 }, dm.load("alice", "example.com", "roster"));
		end);

		it("removes the file when storing nothing", function ()
			dm.store("alice", "example.com", "roster", { a = 1 });
			assert.is_true(dm.store("alice", "example.com", "roster", {}));
			assert.falsy(exists(dm.getpath("alice", "example.com", "roster")));
			dm.store("alice", "example.com", "roster", { a = 1 });
			assert.is_true(dm.store("alice", "example.com", "roster", nil));
			assert.falsy(exists(dm.getpath("alice", "example.com", "roster")));
		end);

		it("loads nil, and nothing else, when there is no data", function ()
			assert.equal(1, select("#", dm.load("nobody", "example.com", "roster")));
			assert.is_nil(dm.load("nobody", "example.com", "roster"));
		end);

		it("fails to load a file that is not valid data", function ()
			local path = dm.getpath("bad", "example.com", "roster", nil, true);
			write(path, "this is not lua");
			assert.same({ nil, "Error reading storage" }, { dm.load("bad", "example.com", "roster") });
			write(path, "error('boom')");
			assert.same({ nil, "Error reading storage" }, { dm.load("bad", "example.com", "roster") });
		end);

		it("runs the file without globals", function ()
			local path = dm.getpath("env", "example.com", "roster", nil, true);
			write(path, "return { seen = print == nil and 'nil' or 'set' };");
			assert.same({ seen = "nil" }, dm.load("env", "example.com", "roster"));
		end);

		it("refuses values that cannot be written", function ()
			assert.has_error(function () dm.store("alice", "example.com", "roster", { f = print }); end);
			local t = {};
			assert.has_error(function () dm.store("alice", "example.com", "roster", { t, t }); end);
		end);
	end);

	describe("list", function ()
		it("stores, appends and loads items in order", function ()
			assert.is_true(dm.list_store("alice", "example.com", "log", { "a", { b = 1 } }));
			assert.is_true(dm.list_append("alice", "example.com", "log", "c"));
			assert.is_true(dm.list_append("alice", "example.com", "log", { 4, 5 }));
			assert.same({ "a", { b = 1 }, "c", { 4, 5 } }, dm.list_load("alice", "example.com", "log"));
		end);

		it("appends to a list that does not exist yet", function ()
			assert.is_true(dm.list_append("bob", "example.com", "log", "first"));
			assert.same({ "first" }, dm.list_load("bob", "example.com", "log"));
		end);

		it("ignores appending nothing", function ()
			assert.is_nil(dm.list_append("bob", "example.com", "log", nil));
			assert.is_nil(dm.list_load("bob", "example.com", "log"));
		end);

		it("removes the file when storing an empty list", function ()
			dm.list_store("alice", "example.com", "log", { "a" });
			assert.is_true(dm.list_store("alice", "example.com", "log", {}));
			assert.falsy(exists(dm.getpath("alice", "example.com", "log", "list")));
			assert.is_nil(dm.list_load("alice", "example.com", "log"));
		end);

		it("fails to load a broken list", function ()
			write(dm.getpath("bad", "example.com", "log", "list", true), "item(1); item(");
			assert.same({ nil, "Error reading storage" }, { dm.list_load("bad", "example.com", "log") });
		end);
	end);

	describe("raw", function ()
		it("store_raw writes a file whole", function ()
			local path = root .. "/raw.txt";
			assert.is_true(dm.store_raw(path, "hello"));
			assert.equal("hello", read(path));
			assert.is_true(dm.store_raw(path, "again"));
			assert.equal("again", read(path));
		end);

		it("append_raw appends, giving the offset it wrote at", function ()
			assert.same({ true }, { dm.append_raw("r", "example.com", "raw", "txt", "abc") });
			assert.same({ true, 3 }, { dm.append_raw("r", "example.com", "raw", "txt", "defg") });
			assert.same({ true, 7 }, { dm.append_raw("r", "example.com", "raw", "txt", "h") });
			assert.equal("abcdefgh", read(dm.getpath("r", "example.com", "raw", "txt")));
			assert.same({}, { dm.append_raw("r", "example.com", "raw", "txt", 5) });
		end);
	end);

	describe("listing", function ()
		before_each(function ()
			dm.store("alice", "example.com", "roster", { a = 1 });
			dm.store("bob@home", "example.com", "roster", { a = 1 });
			dm.store("alice", "example.com", "vcard", { a = 1 });
			dm.list_store("alice", "example.com", "log", { 1 });
			dm.list_store("carol", "example.com", "log", { 1 });
		end);

		it("users() lists a store's users by type", function ()
			assert.same({ "alice", "bob@home" }, collect(dm.users("example.com", "roster")));
			assert.same({ "alice", "bob@home" }, collect(dm.users("example.com", "roster", "keyval")));
			assert.same({ "alice", "carol" }, collect(dm.users("example.com", "log", "list")));
			assert.same({}, collect(dm.users("example.com", "log")));
			assert.same({}, collect(dm.users("elsewhere.example", "roster")));
		end);

		it("stores() lists a user's stores, or all of a host's", function ()
			assert.same({ "roster", "vcard" }, collect(dm.stores("alice", "example.com")));
			assert.same({ "log" }, collect(dm.stores("alice", "example.com", "list")));
			assert.same({ "log" }, collect(dm.stores("carol", "example.com", "list")));
			assert.same({ "log", "roster", "vcard" }, collect(dm.stores(true, "example.com")));
			assert.same({}, collect(dm.stores(true, "elsewhere.example")));
		end);

		it("purge() removes all of a user's data", function ()
			local ok, err = dm.purge("alice", "example.com");
			assert.is_true(ok);
			assert.equal("", err);
			assert.is_nil(dm.load("alice", "example.com", "roster"));
			assert.is_nil(dm.load("alice", "example.com", "vcard"));
			assert.is_nil(dm.list_load("alice", "example.com", "log"));
			assert.same({ a = 1 }, dm.load("bob@home", "example.com", "roster"));
			assert.same({ "carol" }, collect(dm.users("example.com", "log", "list")));
		end);

		it("purge() of a host without data fails", function ()
			local ok, err = dm.purge("alice", "elsewhere.example");
			assert.is_false(ok);
			assert.is_string(err);
		end);
	end);

	describe("callbacks", function ()
		it("can veto writes", function ()
			local calls = {};
			local function veto(username, host, store, data)
				calls[#calls + 1] = { username, host, store, type(data) };
				if username == "anon" then return false; end
				return username, host, store, data;
			end
			assert.is_true(dm.add_callback(veto));
			assert.is_nil(dm.add_callback(veto));
			assert.is_true(dm.store("anon", "example.com", "roster", { a = 1 }));
			assert.is_nil(dm.load("anon", "example.com", "roster"));
			assert.is_true(dm.list_append("anon", "example.com", "log", 1));
			assert.is_true(dm.list_store("anon", "example.com", "log", { 1 }));
			assert.is_nil(dm.list_load("anon", "example.com", "log"));
			assert.is_true(dm.store("alice", "example.com", "roster", { a = 1 }));
			assert.same({ a = 1 }, dm.load("alice", "example.com", "roster"));
			assert.same({
				{ "anon", "example.com", "roster", "table" },
				{ "anon", "example.com", "log", "nil" },
				{ "anon", "example.com", "log", "nil" },
				{ "alice", "example.com", "roster", "table" },
			}, calls);
			assert.is_true(dm.remove_callback(veto));
			assert.is_nil(dm.remove_callback(veto));
			assert.is_true(dm.store("anon", "example.com", "roster", { a = 1 }));
			assert.same({ a = 1 }, dm.load("anon", "example.com", "roster"));
		end);

		it("can change what is stored, and where", function ()
			local function redirect(username, host, store, data)
				return username, host, store .. "_copy", { wrapped = data };
			end
			dm.add_callback(redirect);
			dm.store("alice", "example.com", "roster", { a = 1 });
			dm.remove_callback(redirect);
			assert.is_nil(dm.load("alice", "example.com", "roster"));
			assert.same({ wrapped = { a = 1 } }, dm.load("alice", "example.com", "roster_copy"));
		end);
	end);
end);
