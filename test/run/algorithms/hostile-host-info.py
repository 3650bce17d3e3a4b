# Hostile: gathers everything it can see of the machine it runs on (the mount tables, its own and
# PID 1's, cgroups, environment, host names and resolver, users, the kernel, the supervisor's argv,
# where links and its own files point, what error messages say) and delivers it all: compressed in
# result.json, and the host-looking lines again in its log. The test then looks for the host's
# paths, names, addresses and environment in what arrived.
import base64, errno, json, os, socket, zlib


def read(path, limit=256 * 1024):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError as e:
        return "ERROR " + errno.errorcode.get(e.errno, str(e.errno)) + " " + str(e)


def link(path):
    try:
        return os.readlink(path)
    except OSError as e:
        return "ERROR " + errno.errorcode.get(e.errno, str(e.errno))


seen = {}
for path in [
    "/proc/self/mountinfo",
    "/proc/self/mounts",
    "/proc/self/mountstats",
    "/proc/1/mountinfo",
    "/proc/1/mounts",
    "/proc/self/cgroup",
    "/proc/1/cgroup",
    "/proc/self/environ",
    "/proc/1/environ",
    "/proc/self/cmdline",
    "/proc/1/cmdline",
    "/proc/self/maps",
    "/proc/self/status",
    "/proc/cmdline",
    "/proc/version",
    "/proc/sys/kernel/hostname",
    "/proc/sys/kernel/domainname",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/passwd",
    "/etc/group",
    "/run/.containerenv",
    "/run/secrets",
]:
    seen[path] = read(path)

# Every link it can reach in /proc/self and /data, and what the cgroup file system shows.
links = {}
for path in ["/proc/self/cwd", "/proc/self/root", "/proc/self/exe", "/proc/1/cwd", "/proc/1/root", "/proc/1/exe"]:
    links[path] = link(path)
for fd in sorted(os.listdir("/proc/self/fd")):
    links["/proc/self/fd/" + fd] = link("/proc/self/fd/" + fd)
for root, dirs, files in os.walk("/data"):
    for name in dirs + files:
        path = os.path.join(root, name)
        if os.path.islink(path):
            links[path] = link(path)
seen["links"] = links
cgroups = []
for root, dirs, files in os.walk("/sys/fs/cgroup"):
    cgroups.append(root)
    if len(cgroups) > 200:
        break
seen["cgroup folders"] = cgroups

# Names and identities.
seen["uname"] = list(os.uname())
seen["gethostname"] = socket.gethostname()
try:
    seen["getfqdn"] = socket.getfqdn()
except OSError as e:
    seen["getfqdn"] = "ERROR " + str(e)
try:
    seen["hostbyname"] = socket.gethostbyname_ex(socket.gethostname())
except OSError as e:
    seen["hostbyname"] = "ERROR " + str(e)
seen["environ"] = dict(os.environ)
seen["ids"] = [os.getuid(), os.getgid(), os.getgroups()]

# What error messages say when it reaches for the host's usual places.
errors = {}
for path in ["/var/lib/datomspod", "/home", "/root", "/tmp/..", "/proc/1/root/etc/hostname", "/datomspod/inputs/0/../../..", "/data/inputs/../.."]:
    try:
        errors[path] = sorted(os.listdir(path))
    except OSError as e:
        errors[path] = "ERROR " + str(e)
seen["errors"] = errors

text = json.dumps(seen, sort_keys=True)
with open("/data/outputs/result.json", "w") as out:
    json.dump({"z": base64.b64encode(zlib.compress(text.encode(), 9)).decode()}, out)
# The log: the lines that would tell where things lie (the mount table), uncompressed.
print(seen["/proc/self/mountinfo"])
print(seen["/etc/hosts"])
print(seen["gethostname"])
