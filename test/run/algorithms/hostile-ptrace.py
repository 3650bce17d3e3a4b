# Hostile: goes after the supervisor (PID 1 of the computing container, the same user): its memory,
# its environment, its output, its file descriptors, and ptrace.
import errno, json, os

def attempt(fn):
    try:
        return fn()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))

def open_mem():
    fd = os.open("/proc/1/mem", os.O_RDWR)
    os.close(fd)
    return "opened"

def read_environ():
    with open("/proc/1/environ", "rb") as f:
        return "read %d bytes" % len(f.read())

def list_fds():
    return sorted(os.listdir("/proc/1/fd"))

def write_stdout():
    with open("/proc/1/fd/1", "w") as f:
        f.write("forged\n")
    return "written"

def ptrace_attach():
    try:
        import ctypes
    except ImportError as e:
        return "no ctypes"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, 1, None, None) != 0:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    libc.ptrace(17, 1, None, None)
    return "attached"

result = {
    "pid": os.getpid(),
    "supervisor": attempt(lambda: open("/proc/1/comm").read().strip()),
    "mem": attempt(open_mem),
    "environ": attempt(read_environ),
    "fds": attempt(list_fds),
    "stdout": attempt(write_stdout),
    "ptrace": attempt(ptrace_attach),
    "kill": attempt(lambda: os.kill(1, 0) or "signalable"),
}
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
