# Hostile: tries TCP connections out of the pod to every target in the parameters (the host's
# loopback, where the test listens, the host's own addresses, the podman bridge, a public resolver)
# and records what happened to each.
import errno, json, socket

with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
result = {}
for host, port in params["tcp"]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        s.sendall(b"exfiltrated\n")
        result[f"{host} {port}"] = "connected"
    except socket.timeout:
        result[f"{host} {port}"] = "timeout"
    except OSError as e:
        result[f"{host} {port}"] = errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
