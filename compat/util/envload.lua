-- util.envload: compile Lua code with a chosen global environment, as
-- Prosody 0.12's util.envload.
--
-- envload(code, chunkname, env) returns the compiled function (or nil and
-- the syntax error); the function sees env as its globals. Without env it
-- keeps the ordinary ones, as Prosody's does on Lua 5.1 (on 5.2+ Prosody's
-- passes load a nil env, leaving the chunk no globals at all). envloadfile(path, env) does the same for a file,
-- with "@path" as the chunk name; a file that cannot be opened gives io.open's
-- nil, message, errno.

local loadstring, setfenv, io_open = loadstring, setfenv, io.open;

local function envload(code, chunkname, env)
	local f, err = loadstring(code, chunkname);
	if not f then return nil, err; end
	if env then setfenv(f, env); end
	return f;
end

local function envloadfile(path, env)
	local fh, err, errno = io_open(path);
	if not fh then return nil, err, errno; end
	local code = fh:read("*a");
	fh:close();
	return envload(code or "", "@" .. path, env);
end

return { envload = envload, envloadfile = envloadfile };
