local pposix = require "util.pposix";

-- What the kernel says about this process, read the way both runners can.
local function read(path)
	local f = io.open(path);
	if not f then return nil; end
	local text = f:read("*a");
	f:close();
	return text;
end

local function status_field(name)
	local status = read("/proc/self/status");
	return status and tonumber(status:match("\n" .. name .. ":%s*(%d+)"));
end

describe("util.pposix", function ()
	it("names itself as Prosody 0.12's does", function ()
		assert.equal("pposix", pposix._NAME);
		assert.equal("0.4.0", pposix._VERSION);
		assert.equal(2, pposix.ENOENT);
	end);

	describe("uname", function ()
		it("gives the system's names as strings", function ()
			local u = assert(pposix.uname());
			for _, field in ipairs { "sysname", "nodename", "release", "version", "machine" } do
				assert.equal("string", type(u[field]), field);
			end
		end);

		it("agrees with the kernel", function ()
			local hostname = read("/proc/sys/kernel/hostname");
			if not hostname then return; end -- not Linux
			local u = pposix.uname();
			assert.equal(hostname:gsub("\n$", ""), u.nodename);
			assert.equal((read("/proc/sys/kernel/ostype"):gsub("\n$", "")), u.sysname);
			assert.equal((read("/proc/sys/kernel/osrelease"):gsub("\n$", "")), u.release);
		end);
	end);

	describe("process identity", function ()
		it("getpid is this process", function ()
			local pid = pposix.getpid();
			assert.equal("number", type(pid));
			local stat = read("/proc/self/stat");
			if stat then
				assert.equal(tonumber(stat:match("^(%d+)")), pid);
			end
		end);

		it("getuid and getgid are the real ids", function ()
			assert.equal("number", type(pposix.getuid()));
			assert.equal("number", type(pposix.getgid()));
			if status_field("Uid") then
				assert.equal(status_field("Uid"), pposix.getuid());
				assert.equal(status_field("Gid"), pposix.getgid());
			end
		end);
	end);

	describe("getrlimit", function ()
		it("gives true, the soft and the hard limit", function ()
			for _, resource in ipairs { "CORE", "CPU", "DATA", "FSIZE", "NOFILE", "STACK", "MEMLOCK", "NPROC", "RSS", "NICE" } do
				local ok, soft, hard = pposix.getrlimit(resource);
				assert.is_true(ok, resource);
				assert.is_true(type(soft) == "number" or soft == "unlimited", resource);
				assert.is_true(type(hard) == "number" or hard == "unlimited", resource);
				if type(soft) == "number" and type(hard) == "number" then
					assert.is_true(soft <= hard, resource);
				end
			end
		end);

		it("says no limit with \"unlimited\"", function ()
			local limits = read("/proc/self/limits");
			if not limits then return; end
			local soft, hard = limits:match("Max cpu time%s+(%S+)%s+(%S+)");
			local _, cpu_soft, cpu_hard = pposix.getrlimit("CPU");
			assert.equal(soft == "unlimited" and "unlimited" or tonumber(soft), cpu_soft);
			assert.equal(hard == "unlimited" and "unlimited" or tonumber(hard), cpu_hard);
		end);

		it("refuses resources it does not know, and no argument", function ()
			assert.same({ false, "invalid-resource" }, { pposix.getrlimit("BOGUS") });
			assert.same({ false, "invalid-resource" }, { pposix.getrlimit("nofile") });
			assert.same({ false, "invalid-resource" }, { pposix.getrlimit(7) });
			assert.same({ false, "invalid-arguments" }, { pposix.getrlimit() });
		end);
	end);

	-- modhost does not change its process: these raise instead of acting
	-- (under Prosody they would really do it).
	it("refuses what would change the process, with the reason #modhost_only", function ()
		for _, name in ipairs { "setuid", "setgid", "initgroups", "umask", "setrlimit", "setenv", "daemonize", "abort" } do
			local ok, err = pcall(pposix[name], 1000);
			assert.is_false(ok, name);
			assert.matches("util%.pposix%." .. name .. ": modhost does not change its own process", err);
		end
		local ok, err = pcall(pposix.syslog_open, "prosody");
		assert.is_false(ok);
		assert.matches("no syslog", err);
		ok, err = pcall(pposix.mkdir, "/tmp/x");
		assert.is_false(ok);
		assert.matches("does not write files", err);
	end);
end);
