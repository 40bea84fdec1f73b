-- The contact form's JSON mode: POST / with a JSON body from an allowed Origin (no CSRF token needed).
-- Every request carries its own Idempotency-Key (and address), so every post stores a new lead.
-- Arguments after `--`: a run nonce, then the Origin.
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   nonce = args[1] or tostring(os.time())
   origin = args[2] or "https://static.bench.example"
   counter = 0
   base = {}
   for name, value in pairs(wrk.headers) do base[name] = value end
   base["Content-Type"] = "application/json"
   base["Accept"] = "application/json"
   base["Origin"] = origin
end

function request()
   counter = counter + 1
   local id = nonce .. "-" .. tid .. "-" .. counter
   local headers = {}
   for name, value in pairs(base) do headers[name] = value end
   headers["Idempotency-Key"] = id
   local body = '{"name": "Bench Visitor", "email": "visitor-' .. id .. '@load.example", ' ..
                '"subject": "Benchmark", "message": "Posted by the benchmark, one new lead per request."}'
   return wrk.format("POST", nil, headers, body)
end
