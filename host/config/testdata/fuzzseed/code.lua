local function split(s)
	local parts = {}
	for part in s:gmatch("[^,]+") do parts[#parts + 1] = part end
	return parts
end
admins = split(ENV_ADMINS or "a@example,b@example")
ports = { 5222, 5223 }
name = ("%s-%d"):format("host", #ports)
if type(admins) == "table" then
	ok = pcall(error, "caught")
end
Host "x.example"
