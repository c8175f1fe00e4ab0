-- wrk script: cycles through the searches in bench/search.txt (run from the repository root).
local paths = {}
for line in io.lines("bench/search.txt") do
  if line ~= "" and line:sub(1, 1) ~= "#" then paths[#paths + 1] = line end
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
