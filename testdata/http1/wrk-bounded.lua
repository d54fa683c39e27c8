-- wrk script for wrk.pcap: stop the (single) thread after 2000 responses so the capture stays
-- small; requests already in flight on the other connections still complete or are cut, and
-- the server's log says which were served.
local responses = 0
response = function(status, headers, body)
  responses = responses + 1
  if responses >= 2000 then wrk.thread:stop() end
end
