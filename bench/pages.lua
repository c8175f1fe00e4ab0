-- wrk script: project pages of different projects, so no single row stays hot.
local i = 0
local n = tonumber(os.getenv("PROJECTS") or "10000")
request = function()
  i = i + 1
  return wrk.format("GET", "/projects/bench-" .. ((i * 7919) % n + 1))
end
