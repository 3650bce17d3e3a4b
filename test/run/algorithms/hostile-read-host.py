# Hostile: looks for what it was not given: the host's /etc/shadow, the provider's other files in
# the folder of its input (by name, through the mount's parent, through the host path the mount
# table shows), anything on its whole file system holding the provider's secret marker, and ways
# into other roots (/proc/1/root, the podman socket).
import errno, hashlib, json, os

MARKER = b"NEIGHBOUR-" + b"SECRET-7731"  # spelled in two parts, so this code does not hold it
NEIGHBOUR = "neighbour-secret.csv"


def read(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))


host_input = None
with open("/proc/self/mountinfo") as f:
    for line in f:
        fields = line.split()
        if fields[4] == "/datomspod/inputs/0/patients.csv":
            host_input = fields[3]
found, holding = [], []
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    for name in files:
        path = os.path.join(root, name)
        if name == NEIGHBOUR:
            found.append(path)
        try:
            if os.path.isfile(path) and os.path.getsize(path) < 64 * 1024 * 1024:
                with open(path, "rb") as f:
                    if MARKER in f.read():
                        holding.append(path)
        except OSError:
            pass
host_dir = os.path.dirname(host_input) if host_input else "/nowhere"
result = {
    "shadow": read("/etc/shadow"),
    "neighbour by name": read(f"/datomspod/inputs/0/{NEIGHBOUR}"),
    "neighbour through the parent": read(f"/datomspod/inputs/0/../0/{NEIGHBOUR}"),
    "neighbour at the host path": read(os.path.join(host_dir, NEIGHBOUR)),
    "input at the host path": read(host_input or "/nowhere"),
    "mount folder": sorted(os.listdir("/datomspod/inputs/0")),
    "proc 1 root": read("/proc/1/root/etc/shadow"),
    "podman socket": read("/run/podman/podman.sock"),
    "files named like the neighbour": found,
    "files holding the marker": holding,
    "host input path": host_input,
}
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
