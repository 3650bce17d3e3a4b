# Metering: four workers, forked and never waited for. Each burns one second of its own CPU (it
# measures itself), the first also holds 96 MiB, and each writes what it used to the outputs; the
# parent sleeps until every record is there and exits without reaping them. None of the workers'
# CPU is in a rusage the supervisor reaps: only the container's cgroup counts it.
import json, os, time

WORKERS = 4
BURN_SECONDS = 1.0
OUT = "/data/outputs"

for i in range(WORKERS):
    if os.fork() == 0:
        ballast = bytearray(96 * 1024 * 1024) if i == 0 else b""
        for page in range(0, len(ballast), 4096):
            ballast[page] = 1
        x = 0
        while time.process_time() < BURN_SECONDS:
            x += 1
        used = time.process_time()
        with open(f"{OUT}/.worker-{i}", "w") as f:
            json.dump({"worker": i, "cpuSeconds": used, "heldBytes": len(ballast)}, f)
        os.rename(f"{OUT}/.worker-{i}", f"{OUT}/worker-{i}.json")
        os._exit(0)

deadline = time.monotonic() + 50
while time.monotonic() < deadline and not all(os.path.exists(f"{OUT}/worker-{i}.json") for i in range(WORKERS)):
    time.sleep(0.05)
with open(f"{OUT}/parent.json", "w") as f:
    json.dump({"parentCpuSeconds": time.process_time()}, f)
