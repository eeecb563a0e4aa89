local lfs = require "lfs";

-- A fresh folder for each test, under the system's temporary folder.
local function scratch()
	local dir = os.tmpname();
	os.remove(dir);
	assert(lfs.mkdir(dir));
	return dir;
end

local function remove_tree(dir)
	for name in lfs.dir(dir) do
		if name ~= "." and name ~= ".." then
			local path = dir .. "/" .. name;
			if lfs.attributes(path, "mode") == "directory" then
				remove_tree(path);
			else
				os.remove(path);
			end
		end
	end
	lfs.rmdir(dir);
end

local function write(path, content)
	local f = assert(io.open(path, "wb"));
	f:write(content);
	f:close();
end

describe("lfs", function ()
	local dir;
	before_each(function () dir = scratch(); end);
	after_each(function () remove_tree(dir); end);

	describe("attributes", function ()
		it("tells files from directories", function ()
			write(dir .. "/f.txt", "hello");
			assert.equal("file", lfs.attributes(dir .. "/f.txt", "mode"));
			assert.equal("directory", lfs.attributes(dir, "mode"));
		end);

		it("gives size, times and permissions in one table", function ()
			write(dir .. "/f.txt", "hello");
			assert(lfs.touch(dir .. "/f.txt", 1000000000, 1200000000));
			local attrs = lfs.attributes(dir .. "/f.txt");
			assert.equal("file", attrs.mode);
			assert.equal(5, attrs.size);
			assert.equal(1200000000, attrs.modification);
			assert.equal(1000000000, attrs.access);
			assert.is_number(attrs.change);
			assert.matches("^[r-][w-][x-][r-][w-][x-][r-][w-][x-]$", attrs.permissions);
		end);

		it("fills a table it is given", function ()
			local given = {};
			assert.equal(given, lfs.attributes(dir, given));
			assert.equal("directory", given.mode);
		end);

		it("fails with nil, a message naming the path, and errno", function ()
			local attrs, err, code = lfs.attributes(dir .. "/missing");
			assert.is_nil(attrs);
			assert.equal("cannot obtain information from file '" .. dir .. "/missing': No such file or directory", err);
			assert.equal(2, code);
		end);
	end);

	describe("dir", function ()
		it("lists every name, . and .. included", function ()
			write(dir .. "/a", "");
			assert(lfs.mkdir(dir .. "/sub"));
			local names = {};
			for name in lfs.dir(dir) do names[#names + 1] = name; end
			table.sort(names);
			assert.same({ ".", "..", "a", "sub" }, names);
		end);

		it("raises for a folder it cannot open", function ()
			local ok, err = pcall(lfs.dir, dir .. "/missing");
			assert.is_false(ok);
			assert.matches("cannot open " .. dir:gsub("%p", "%%%0") .. "/missing: No such file or directory$", err);
		end);
	end);

	describe("mkdir, rmdir and touch", function ()
		it("fail with nil, strerror's text and errno", function ()
			assert.same({ nil, "File exists", 17 }, { lfs.mkdir(dir) });
			assert.same({ nil, "No such file or directory", 2 }, { lfs.rmdir(dir .. "/missing") });
			assert.same({ nil, "No such file or directory", 2 }, { lfs.touch(dir .. "/missing") });
		end);

		it("succeed with true", function ()
			assert.is_true(lfs.mkdir(dir .. "/new"));
			assert.equal("directory", lfs.attributes(dir .. "/new", "mode"));
			assert.is_true(lfs.rmdir(dir .. "/new"));
			assert.is_nil(lfs.attributes(dir .. "/new"));
		end);
	end);

	it("knows the current directory", function ()
		assert.equal("directory", lfs.attributes(lfs.currentdir(), "mode"));
	end);
end);
