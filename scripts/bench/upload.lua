-- wrk: POST a 100 MiB body on every request.
wrk.method = "POST"
wrk.body = string.rep("u", 100 * 1024 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
dofile("report.lua")
