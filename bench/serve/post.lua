-- wrk: POST the body in $WRK_BODY (binary tensor extension when $WRK_HEADER_LENGTH > 0).
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
local hl = os.getenv("WRK_HEADER_LENGTH") or "0"
if hl ~= "0" then
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.headers["Inference-Header-Content-Length"] = hl
else
  wrk.headers["Content-Type"] = "application/json"
end
