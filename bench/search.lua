-- wrk script: cycles through English, Chinese and mixed searches over the listing API.
local queries = {
  "solar", "bamboo%20lantern", "%E5%8F%A4%E6%A0%91", "%E8%8C%B6%E5%9B%AD", "silk%20kite",
  "%E9%9D%92%E7%93%B7%E5%B7%A5%E5%9D%8A", "observ", "%E5%A4%A9%E6%96%87%E5%8F%B0", "harbor", "%E4%B9%A6%E9%99%A2",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/projects?q=" .. queries[(i % #queries) + 1])
end
