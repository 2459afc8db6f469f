-- Runs an Argo CD health.lua the way Argo CD does: the object as the global `obj`, the script's
-- returned table is the health. Prints {"status":…,"message":…} as JSON.
--   lua5.1 scripts/argocd-health.lua HEALTH_LUA OBJECT_JSON
local json = require("dkjson")
local script, input = arg[1], arg[2]
local f = assert(io.open(input, "r"))
local text = f:read("*a")
f:close()
-- JSON null becomes nil, as in Argo CD (cjson would give userdata here).
local decoded, _, err = json.decode(text, 1, nil)
if err then error("decoding " .. input .. ": " .. err) end
obj = decoded
local check = assert(loadfile(script))
-- Argo CD's gopher-lua offers the base, string, table and math libraries only.
setfenv(check, { obj = obj, ipairs = ipairs, pairs = pairs, tostring = tostring, tonumber = tonumber,
  type = type, next = next, error = error, pcall = pcall, string = string, table = table, math = math })
local hs = check()
io.write(json.encode({ status = hs.status, message = hs.message }), "\n")
