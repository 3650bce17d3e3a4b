# Hostile: forges the supervisor's status file (a clean, short, cheap success), fills the status
# volume so the supervisor cannot write the real one, then runs past the deadline.
import json, os, time

status = "/datomspod/status/computing.json"
forged = {"version": 1, "state": "exited", "exitCode": 0, "signal": None, "oomKilled": False, "deadlineExceeded": False, "durationMs": 1, "cpuSeconds": 0.001,
          "maxRssBytes": 1, "cgroupPeakMemoryBytes": None, "startedAt": "2026-01-01T00:00:00.000Z", "endedAt": "2026-01-01T00:00:00.001Z", "error": None,
          "interruptedBy": None, "logBytes": 0, "logTruncated": False, "oomEvidence": None}
result = {}
try:
    with open(status, "w") as f:
        json.dump(forged, f)
    result["forged"] = "done"
except OSError as e:
    result["forged"] = str(e)
written = 0
try:
    with open("/datomspod/status/filler", "wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()
            written += 4096
except OSError as e:
    result["filled"] = written
print(json.dumps(result), flush=True)
while True:
    time.sleep(1)
