import { describe, expect, it } from "vitest";
import { lockDigest, normaliseName, parseNpmLock, parsePipLock, parseRequirements, renderPipLock, wheelNameVersion } from "../../generator/environment/lock.js";
import { lockChange } from "../../generator/environment/resolve.js";

const H1 = "a".repeat(64);
const H2 = "b".repeat(64);

describe("parsePipLock", () => {
  it("reads pinned, hashed packages across continuation lines and comments", () => {
    const text = [
      "# header",
      `numpy==2.2.6 \\`,
      `    --hash=sha256:${H1} \\`,
      `    --hash=sha256:${H2}`,
      "    # dependency; wheel numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl",
      `Scikit_Learn==1.6.1 --hash=sha256:${H2}`,
      "",
    ].join("\n");

    const parsed = parsePipLock(text, "environments/x/requirements.lock");

    expect(parsed.issues).toEqual([]);
    expect(parsed.packages).toEqual([
      { name: "numpy", version: "2.2.6", hashes: [H1, H2], line: 2 },
      { name: "scikit-learn", version: "1.6.1", hashes: [H2], line: 6 },
    ]);
  });

  it.each([
    [`numpy --hash=sha256:${H1}`, "is not pinned with =="],
    [`numpy>=2 --hash=sha256:${H1}`, "is not pinned with =="],
    [`numpy==2.* --hash=sha256:${H1}`, "invalid or wildcard version"],
    ["numpy==2.2.6", "without a hash"],
    [`numpy==2.2.6 --hash=md5:${"a".repeat(32)}`, "not sha256"],
    [`numpy==2.2.6 --hash=sha256:${"A".repeat(64)}`, "not sha256"],
    [`numpy==2.2.6 --hash=sha256:${H1} --no-binary=:all:`, "only --hash=sha256:... may follow"],
    [`numpy==2.2.6 --hash sha256:${H1}`, "only --hash=sha256:... may follow"],
    [`numpy==2.2.6 --hash=sha256:${H1}--hash=sha256:${H2}`, "not sha256 with 64"],
    [`numpy==2.2.6 --hash=sha256:${H1} -i https://mirror.example/simple`, "only --hash=sha256:... may follow"],
    ["-e git+https://github.com/numpy/numpy#egg=numpy", "has the option -e"],
    ["--index-url https://mirror.example/simple", "has the option --index-url"],
    ["--extra-index-url=https://mirror.example/simple", "has the option --extra-index-url"],
    ["-f /tmp/wheels", "has the option -f"],
    ["--trusted-host mirror.example", "has the option --trusted-host"],
    ["-r other.txt", "has the option -r"],
    ["-c constraints.txt", "has the option -c"],
    ["--require-hashes", "has the option --require-hashes"],
    [`numpy @ https://files.example/numpy-2.2.6.whl --hash=sha256:${H1}`, "names a URL or VCS location"],
    [`numpy@https://files.example/numpy.whl --hash=sha256:${H1}`, "names a URL or VCS location"],
    [`git+https://github.com/numpy/numpy --hash=sha256:${H1}`, "names a URL or VCS location"],
    [`./wheels/numpy-2.2.6-cp311-cp311-linux_x86_64.whl --hash=sha256:${H1}`, "names a path"],
    [`numpy-2.2.6.tar.gz --hash=sha256:${H1}`, "names a path"],
    [`numpy[dev]==2.2.6 --hash=sha256:${H1}`, "asks for extras"],
    [`numpy==2.2.6;python_version<"3.12" --hash=sha256:${H1}`, "has an environment marker"],
    [`numpy===2.2.6 --hash=sha256:${H1}`, "is not pinned with =="],
  ])("refuses %s", (line, message) => {
    const parsed = parsePipLock(`${line}\n`, "environments/x/requirements.lock");

    expect(parsed.packages).toEqual([]);
    expect(parsed.issues.length).toBeGreaterThanOrEqual(1);
    expect(parsed.issues[0]).toMatchObject({ file: "environments/x/requirements.lock", path: "line 1" });
    expect(parsed.issues[0]?.message).toContain(message);
    expect(parsed.issues[0]?.fix).toBeTruthy();
  });

  it("reports every bad line with its number, not only the first", () => {
    const text = ["# ok", `pandas==2.2.3 --hash=sha256:${H1}`, "numpy==2.2.6", "--index-url https://x/simple", `Pandas==2.2.2 --hash=sha256:${H2}`].join("\n");

    const parsed = parsePipLock(text, "lock");

    expect(parsed.issues.map((issue) => issue.path)).toEqual(["line 3", "line 4", "line 5"]);
    expect(parsed.issues[2]?.message).toBe("pins pandas again (first on line 2)");
  });

  it("refuses a lock that pins nothing", () => {
    expect(parsePipLock("# nothing\n\n", "lock").issues[0]?.message).toBe("pins no package");
  });

  it("does not take a hash-like comment for a hash", () => {
    const parsed = parsePipLock(`numpy==2.2.6 # --hash=sha256:${H1}\n`, "lock");

    expect(parsed.issues[0]?.message).toContain("without a hash");
  });

  it("round-trips what env lock writes", () => {
    const text = renderPipLock(
      "python-data",
      ["from requirements.in"],
      [
        { name: "pandas", version: "2.2.3", sha256: H2, wheel: "pandas-2.2.3-cp311-cp311-manylinux_2_17_x86_64.whl", requested: true },
        { name: "numpy", version: "2.2.6", sha256: H1, wheel: "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl", requested: false },
      ],
    );

    const parsed = parsePipLock(text, "lock");

    expect(parsed.issues).toEqual([]);
    expect(parsed.packages.map((p) => `${p.name}==${p.version}`)).toEqual(["numpy==2.2.6", "pandas==2.2.3"]);
    expect(text).toContain("# requested; wheel pandas-2.2.3-cp311-cp311-manylinux_2_17_x86_64.whl");
  });
});

describe("lockDigest", () => {
  it("depends on names, versions and hashes, not on order, comments or layout", () => {
    const a = parsePipLock(`numpy==2.2.6 --hash=sha256:${H1}\npandas==2.2.3 --hash=sha256:${H2}\n`, "lock").packages;
    const b = parsePipLock(`# x\npandas==2.2.3 \\\n  --hash=sha256:${H2}\nnumpy==2.2.6 --hash=sha256:${H1}\n`, "lock").packages;
    const c = parsePipLock(`numpy==2.2.6 --hash=sha256:${H2}\npandas==2.2.3 --hash=sha256:${H2}\n`, "lock").packages;

    expect(lockDigest(a)).toBe(lockDigest(b));
    expect(lockDigest(a)).not.toBe(lockDigest(c));
  });
});

describe("parseRequirements", () => {
  it("accepts names with version ranges and normalises them", () => {
    const parsed = parseRequirements("# wants\nnumpy\nPandas >= 2.2, <3\nscikit_learn==1.6.1\n", "requirements.in");

    expect(parsed.issues).toEqual([]);
    expect(parsed.requirements).toEqual([
      { name: "numpy", specifier: "", line: 2 },
      { name: "pandas", specifier: ">=2.2,<3", line: 3 },
      { name: "scikit-learn", specifier: "==1.6.1", line: 4 },
    ]);
  });

  it.each([
    ["--index-url https://mirror.example/simple", "has the option --index-url"],
    ["-i https://mirror.example/simple", "has the option -i"],
    ["--extra-index-url https://x", "has the option --extra-index-url"],
    ["-e .", "has the option -e"],
    ["-r base.txt", "has the option -r"],
    ["numpy @ https://x/numpy.whl", "names a URL, path or VCS location"],
    ["git+https://github.com/x/y", "names a URL, path or VCS location"],
    ["./local-package", "names a URL, path or VCS location"],
    ["pandas[performance]", "has extras or an environment marker"],
    ['numpy; python_version < "3.12"', "has extras or an environment marker"],
    ["numpy is great", "is not a package name"],
  ])("refuses %s", (line, message) => {
    const parsed = parseRequirements(`${line}\n`, "requirements.in");

    expect(parsed.issues[0]?.message).toContain(message);
    expect(parsed.issues[0]?.path).toBe("line 1");
  });

  it("refuses a package named twice and an empty file", () => {
    expect(parseRequirements("numpy\nNumPy>=2\n", "r").issues[0]?.message).toBe("names numpy twice");
    expect(parseRequirements("# none\n", "r").issues[0]?.message).toBe("names no package");
  });
});

describe("parseNpmLock", () => {
  const integrity = `sha512-${"A".repeat(86)}==`;
  const lock = (packages: Record<string, unknown>, lockfileVersion = 3): string =>
    JSON.stringify({ name: "x", lockfileVersion, packages: { "": { name: "x" }, ...packages } });

  it("reads the installed packages of a registry-only lock", () => {
    const text = lock({
      "node_modules/lodash": { version: "4.17.21", resolved: "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", integrity },
      "node_modules/a/node_modules/b": { version: "1.0.0", resolved: "https://registry.npmjs.org/b/-/b-1.0.0.tgz", integrity },
      "node_modules/vitest": { version: "3.0.0", resolved: "https://registry.npmjs.org/vitest/-/vitest-3.0.0.tgz", integrity, dev: true },
    });

    const parsed = parseNpmLock(text, "package-lock.json");

    expect(parsed.issues).toEqual([]);
    expect(parsed.packages.map((p) => `${p.name}@${p.version}`)).toEqual(["b@1.0.0", "lodash@4.17.21"]);
  });

  it.each([
    [{ "node_modules/x": { link: true, resolved: "../x" } }, "is a link to a folder"],
    [{ "node_modules/x": { version: "1.0.0", resolved: "git+ssh://git@github.com/x/x.git#abc", integrity } }, "not a tarball of the npm registry"],
    [{ "node_modules/x": { version: "1.0.0", resolved: "https://evil.example/x-1.0.0.tgz", integrity } }, "not a tarball of the npm registry"],
    [{ "node_modules/x": { version: "1.0.0", resolved: "file:../x-1.0.0.tgz", integrity } }, "not a tarball of the npm registry"],
    [{ "node_modules/x": { version: "1.0.0", resolved: "https://registry.npmjs.org/x/-/x-1.0.0.tgz", integrity: "sha1-abc=" } }, "is not an sha512 integrity"],
    [{ "node_modules/x": { version: "github:x/x", resolved: "https://registry.npmjs.org/x/-/x.tgz", integrity } }, "not a published version"],
  ])("refuses %j", (packages, message) => {
    const parsed = parseNpmLock(lock(packages), "package-lock.json");

    expect(parsed.issues[0]?.message).toContain(message);
    expect(parsed.issues[0]?.path).toBe(
      '$.packages["node_modules/x"]' +
        (message.includes("link") ? "" : message.includes("integrity") ? ".integrity" : message.includes("version") ? ".version" : ".resolved"),
    );
  });

  it("refuses lockfile version 1 and text that is not JSON", () => {
    expect(parseNpmLock(lock({}, 1), "l").issues[0]?.path).toBe("$.lockfileVersion");
    expect(parseNpmLock("{", "l").issues[0]?.message).toContain("is not JSON");
  });
});

describe("wheel names and lock changes", () => {
  it.each([
    ["numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", { name: "numpy", version: "2.2.6" }],
    ["torch-2.10.0-3-cp311-cp311-manylinux_2_28_x86_64.whl", { name: "torch", version: "2.10.0" }],
    ["typing_extensions-4.16.0-py3-none-any.whl", { name: "typing-extensions", version: "4.16.0" }],
    ["numpy-2.2.6.tar.gz", undefined],
  ])("reads %s", (file, expected) => {
    expect(wheelNameVersion(file)).toEqual(expected);
  });

  it("lists what was added, removed and changed", () => {
    expect(
      lockChange(
        [
          { name: "a", version: "1" },
          { name: "b", version: "1" },
        ],
        [
          { name: "b", version: "2" },
          { name: "c", version: "1" },
        ],
      ),
    ).toEqual({
      added: ["c==1"],
      removed: ["a==1"],
      changed: ["b 1 -> 2"],
    });
  });

  it("normalises names as PEP 503 does", () => {
    expect(normaliseName("Scikit_Learn")).toBe("scikit-learn");
    expect(normaliseName("zope.interface")).toBe("zope-interface");
  });
});
