-- Argo CD health for passwordless-operator.dev/PasswordlessPool.
-- Order: a pool being deleted, a status older than the spec, then the conditions. kstatus's
-- Stalled and Reconciling are read first when present; without them, Ready and its reason decide.
-- Lua 5.1 base/string/table only, as Argo CD's gopher-lua runs it.
local hs = { status = "Progressing", message = "Waiting for the operator to report a status" }

-- Ready False with these reasons cannot heal by waiting: someone has to act.
local failing = {
  InvalidSpec = true,
  AwsError = true,
  KubernetesError = true,
  SigningKeyError = true,
  TriggerUnhealthy = true,
}

local function condition(conditions, kind)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == kind then return c end
  end
  return nil
end

local function say(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then return c.message end
  if c ~= nil and c.reason ~= nil then return c.reason end
  return fallback
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation
local conditions = status and status.conditions
local ready = condition(conditions, "Ready")
local stalled = condition(conditions, "Stalled")
local reconciling = condition(conditions, "Reconciling")

if status == nil or ready == nil then
  if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
    hs.message = "Being deleted"
  end
  return hs
end

if obj.metadata.deletionTimestamp ~= nil then
  -- A refused cleanup holds the finalizer until someone fixes what AWS refused. An invalid
  -- spec is no failure here: it is the status from before the deletion, and cleanup needs no spec.
  if (stalled ~= nil and stalled.status == "True") or (failing[ready.reason] and ready.reason ~= "InvalidSpec") then
    hs.status = "Degraded"
    hs.message = say(stalled ~= nil and stalled.status == "True" and stalled or ready, "Cleanup failed")
  else
    hs.message = say(ready, "Being deleted")
  end
  return hs
end

-- The condition's own observedGeneration first: a failure report keeps status.observedGeneration
-- at the last generation that was applied, but its condition is about the current one.
local observed = ready.observedGeneration
if observed == nil then observed = status.observedGeneration end
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = say(stalled, "Stalled")
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = say(reconciling, "Reconciling")
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and failing[ready.reason] then
  hs.status = "Degraded"
end
-- Anything else (Provisioning, SenderNotVerified, a reason added later, Unknown) is work the
-- operator is still doing or waiting on: Progressing, with its message.
hs.message = say(ready, hs.message)
return hs
