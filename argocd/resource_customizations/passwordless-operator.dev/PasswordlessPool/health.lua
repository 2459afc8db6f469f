-- Argo CD health for passwordless-operator.dev/PasswordlessPool, from its conditions.
-- Order: paused (Suspended), no status yet, a pool being deleted, a status older than the spec, kstatus's Stalled
-- (Degraded: the operator waits for a change), then Ready and its reason (Reconciling is
-- Progressing, as any Ready False that is not a failure). Lua 5.1 base and string only, as
-- Argo CD's gopher-lua runs it.
local hs = { status = "Progressing", message = "Waiting for the operator to report a status" }

-- Ready False with these reasons does not heal by waiting: someone has to act.
local failing = {
  InvalidSpec = true,
  NotAllowed = true,
  SecretConflict = true,
  AwsError = true,
  KubernetesError = true,
  SigningKeyError = true,
  TriggerUnhealthy = true,
  RelyingPartyIdChange = true,
}

-- Of those, the ones about the spec (or the rules it must meet), not about the work.
local refusedSpec = {
  InvalidSpec = true,
  NotAllowed = true,
  SecretConflict = true,
  RelyingPartyIdChange = true,
}

local function condition(conditions, kind)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == kind then return c end
  end
  return nil
end

local function message_of(c, fallback)
  if c.message ~= nil and c.message ~= "" then return c.message end
  if c.reason ~= nil and c.reason ~= "" then return c.reason end
  return fallback
end

local metadata = obj.metadata or {}
local status = obj.status
local ready = status ~= nil and condition(status.conditions, "Ready") or nil

-- Paused by its annotation: the operator leaves the pool alone on purpose, whatever Ready last
-- said (Suspended, as Argo CD shows a suspended CronJob).
local paused = status ~= nil and condition(status.conditions, "Paused") or nil
if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = message_of(paused, "Paused")
  return hs
end

if ready == nil then
  if metadata.deletionTimestamp ~= nil then hs.message = "Being deleted" end
  return hs
end

if metadata.deletionTimestamp ~= nil then
  -- A refused cleanup holds the finalizer until someone fixes what AWS refused. A refused spec
  -- is no failure here: that status is from before the deletion, and cleanup needs no spec.
  if failing[ready.reason] and not refusedSpec[ready.reason] then
    hs.status = "Degraded"
    hs.message = message_of(ready, "Cleanup failed")
  elseif ready.reason == "Deleting" then
    hs.message = message_of(ready, "Being deleted")
  else
    hs.message = "Being deleted"
  end
  return hs
end

-- The condition's own observedGeneration first: a failure report keeps status.observedGeneration
-- at the last generation that was applied, but its condition is about the current one.
local observed = ready.observedGeneration
if observed == nil then observed = status.observedGeneration end
if metadata.generation ~= nil and (observed == nil or observed < metadata.generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(metadata.generation)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message_of(stalled, "Waiting for a change to the spec or the operator's rules")
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and failing[ready.reason] then
  hs.status = "Degraded"
end
-- Anything else (Provisioning, SenderNotVerified, a reason added later, Unknown) is work the
-- operator is still doing or waiting on: Progressing, with its message.
hs.message = message_of(ready, hs.message)
return hs
