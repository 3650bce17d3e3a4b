import { describe, expect, it } from "vitest";
import { ServiceError } from "../../generator/errors.js";
import { execEngine, execTool, exitCodesOf } from "../../generator/run/exec.js";

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
  throw new Error("it did not fail");
}

describe("execTool", () => {
  it("collects stdout and stderr of a process run with an argument array (no shell)", async () => {
    const result = await execTool(process.execPath, ["-e", "process.stdout.write(process.argv[1]); process.stderr.write('e')", "a b; $(echo c)"]);

    expect(result).toEqual({ code: 0, stdout: "a b; $(echo c)", stderr: "e" });
  });

  it("turns a non-zero exit into a ServiceError that carries the command and its stderr", async () => {
    const error = await failure(execTool(process.execPath, ["-e", "process.stderr.write('no such image: localhost/x'); process.exit(125)"]));

    expect(error.exitCode).toBe(3);
    expect(error.issues[0].message).toBe("exited with 125: no such image: localhost/x");
    expect(error.issues[0].file).toContain(" -e ");
  });

  it("resolves with the exit code when failure is allowed", async () => {
    const result = await execTool(process.execPath, ["-e", "process.exit(2)"], { allowFailure: true });

    expect(result.code).toBe(2);
  });

  it("kills a process that runs past its time limit", async () => {
    const error = await failure(execTool(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { timeoutMs: 300 }));

    expect(error.issues[0].message).toBe("did not finish within 300 ms");
  });

  it("says how to install a missing engine", async () => {
    const error = await failure(execEngine("docker", ["version"], { env: { PATH: "/nonexistent" } }));

    expect(error.issues[0]).toMatchObject({
      message: "docker is not installed or not on PATH",
      fix: "install docker (Debian: `apt-get install docker.io`) and start dockerd",
    });
  });
});

describe("exitCodesOf (podman wait's answer)", () => {
  it("reads one exit code a line, in order", () => {
    expect(exitCodesOf("0\n137\n", 2)).toEqual([0, 137]);
  });

  it("counts a missing, empty or other line as no exit code, never as 0", () => {
    expect(exitCodesOf("", 1)).toEqual([-1]);
    expect(exitCodesOf("0\n", 2)).toEqual([0, -1]);
    expect(exitCodesOf("Error: no such container\n3", 2)).toEqual([-1, 3]);
  });
});
