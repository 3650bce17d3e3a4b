# Hostile: sends UDP datagrams out of the pod to every target in the parameters (the host's
# loopback, where the test listens, the host's own addresses, a public resolver's DNS port) and
# records what happened to each.
import errno, json, socket

with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
result = {}
for host, port in params["udp"]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.sendto(b"exfiltrated\n", (host, port))
        result[f"{host} {port}"] = "sent"
    except OSError as e:
        result[f"{host} {port}"] = errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
