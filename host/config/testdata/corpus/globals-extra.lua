-- Included: its own environment, the same globals.
included_prefix = shared_prefix .. "-included"
io.write("included ", tostring(type(require "util.jid")), "\n")
