-- The contact form's JSON mode from an allowed Origin (no CSRF token needed): POST / with a JSON body, each request
-- its own Idempotency-Key, so every post stores a new lead. Arguments after `--`: a nonce, the Origin.
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end

function init(args)
   nonce, counter = args[1] or tostring(os.time()), 0
   wrk.headers["Content-Type"], wrk.headers["Accept"] = "application/json", "application/json"
   wrk.headers["Origin"] = args[2] or "https://static.bench.example"
end

function request()
   counter = counter + 1
   local id = nonce .. "-" .. tid .. "-" .. counter
   wrk.headers["Idempotency-Key"] = id
   return wrk.format("POST", nil, nil, '{"name": "Bench Visitor", "email": "visitor-' .. id .. '@load.example", ' ..
                     '"subject": "Benchmark", "message": "Posted by the benchmark, one new lead per request."}')
end
