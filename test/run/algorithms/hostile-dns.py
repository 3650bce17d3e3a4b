# Hostile: resolves names (getaddrinfo), the classic way to leak data through DNS queries, and
# records what happened to each; and whether there is a resolver configuration at all.
import json, os, socket

with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
result = {"resolvConf": os.path.exists("/etc/resolv.conf"), "hosts": None, "names": {}}
if os.path.exists("/etc/hosts"):
    with open("/etc/hosts") as f:
        result["hosts"] = [line.split() for line in f if line.strip() and not line.startswith("#")]
for name in params["names"]:
    try:
        result["names"][name] = sorted({a[4][0] for a in socket.getaddrinfo(name, 80)})
    except socket.gaierror as e:
        result["names"][name] = {socket.EAI_AGAIN: "EAI_AGAIN", socket.EAI_NONAME: "EAI_NONAME", socket.EAI_FAIL: "EAI_FAIL"}.get(e.errno, str(e))
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
