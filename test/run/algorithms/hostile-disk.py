# Hostile: fills /data/outputs until the file system refuses, then says how far it got on stdout
# (the log), and tries the same in /tmp.
import errno

for target in ("/data/outputs/fill.bin", "/tmp/fill.bin"):
    written = 0
    try:
        with open(target, "wb") as f:
            while True:
                f.write(b"\0" * (1024 * 1024))
                f.flush()
                written += 1024 * 1024
    except OSError as e:
        print(target, "stopped with", errno.errorcode.get(e.errno, str(e)), "after", written, "bytes", flush=True)
