-- A container image's config: names come from the machine and the
-- environment, not from the file.
local pp = require "util.pposix"
local uname = pp.uname()
local domain = os.getenv("MODHOST_CORPUS_DOMAIN") or uname.nodename

admins = { "admin@" .. domain }
data_path = os.getenv("MODHOST_CORPUS_DATA") or "/var/lib/prosody"
system = uname.sysname
runs_as_someone = type(pp.getuid()) == "number" and type(pp.getgid()) == "number"
knows_its_pid = pp.getpid() > 0
open_files_limited = select(1, pp.getrlimit("NOFILE"))

modules_enabled = { "http_files", "ping" }

VirtualHost (domain)
	http_host = "www." .. domain

Component ("upload." .. domain) "http_file_share"
