# Ocean's current layout: every input at /data/inputs/{did}/{service_id}/<file name>.
import hashlib, json, os

result = {}
for did in json.loads(os.environ["DIDS"]):
    base = f"/data/inputs/{did}"
    services = {}
    for service in sorted(os.listdir(base)):
        folder = os.path.join(base, service)
        if not os.path.isdir(folder):
            continue
        services[service] = {}
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            services[service][name] = {"sha256": hashlib.sha256(data).hexdigest(), "lines": data.count(b"\n")}
    result[did] = services
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
