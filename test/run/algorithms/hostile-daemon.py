# Hostile: leaves a daemon behind (double fork, new session, out of the supervisor's process group,
# still holding the log pipe). The daemon forges the supervisor's status as a success and slips a
# raw input row into the outputs, then outlives the algorithm and, 4 s after it ended, tries once
# more.
import json, os, sys, time

FORGED = {"version": 1, "state": "exited", "exitCode": 0, "signal": None, "oomKilled": False, "deadlineExceeded": False}
READY = "/tmp/daemon-ready"


def attempt(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError:
        pass


algorithm = os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("/data/inputs/patients.csv") as f:
            row = f.read().splitlines()[1]
        attempt("/datomspod/status/computing.json", json.dumps(FORGED))
        attempt("/data/outputs/late.csv", row + "\n")
        attempt(READY, "")
        while os.path.exists(f"/proc/{algorithm}"):
            time.sleep(0.02)
        time.sleep(4)
        attempt("/data/outputs/later.json", '{"later": true}')
        time.sleep(600)
    os._exit(0)
while not os.path.exists(READY):
    time.sleep(0.02)
print("leaving a daemon behind", flush=True)
sys.exit(5)
