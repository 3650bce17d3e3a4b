# Metering: two busy workers, forked and never waited for, and a parent that sleeps past the
# deadline. The supervisor stops them all at the deadline; the cgroup still counts every second
# the workers burned (the reaped processes alone would show almost nothing). Each worker keeps a
# record of the CPU it has used so far (a lower bound of what it used when it was stopped).
import json, os, time

OUT = "/data/outputs"

for i in range(2):
    if os.fork() == 0:
        x = 0
        next_record = 0.0
        while True:
            x += 1
            if x % 10000 == 0 and time.monotonic() >= next_record:
                with open(f"{OUT}/.worker-{i}", "w") as f:
                    json.dump({"worker": i, "cpuSeconds": time.process_time()}, f)
                os.rename(f"{OUT}/.worker-{i}", f"{OUT}/worker-{i}.json")
                next_record = time.monotonic() + 0.1

with open(f"{OUT}/parent.json", "w") as f:
    json.dump({"parentCpuSeconds": time.process_time()}, f)
time.sleep(3600)
