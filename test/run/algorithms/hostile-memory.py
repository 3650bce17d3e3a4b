# Hostile: allocates memory (and touches every page) until it is stopped.
chunks = []
while True:
    chunks.append(bytearray(8 * 1024 * 1024))
    print("allocated", len(chunks) * 8, "MiB", flush=True)
