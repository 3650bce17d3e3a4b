/**
 * What an entrypoint may be: the environment's interpreter, options that only tune the runtime,
 * `$ALGO`, then arguments. Everything that would run other code than the approved code is refused
 * with the reason and the fix.
 */

import { describe, expect, it } from "vitest";
import { ALGO_PATH, parseEntrypoint } from "../../generator/environment/entrypoint.js";
import type { EnvironmentDefinition } from "../../generator/environment/environment.js";

const python = {
  name: "python",
  definition: {
    name: "python",
    description: "test",
    base: "python",
    image: { repository: "localhost/datomspod/python", tag: "3.11" },
    interpreters: [
      { command: "python3", language: "python", modules: ["torch.distributed.run"] },
      { command: "python3.11", language: "python" },
    ],
  } satisfies EnvironmentDefinition,
};
const node = {
  name: "node",
  definition: {
    name: "node",
    description: "test",
    base: "node",
    image: { repository: "localhost/datomspod/node", tag: "24" },
    interpreters: [{ command: "node", language: "node" }],
  } satisfies EnvironmentDefinition,
};

describe("entrypoints that run the approved code", () => {
  it.each([
    ["python3 $ALGO", python, ["python3", ALGO_PATH]],
    ["python3.11 -u -B $ALGO --groups 3", python, ["python3.11", "-u", "-B", ALGO_PATH, "--groups", "3"]],
    ["python3 -W ignore -X utf8 -Xdev $ALGO", python, ["python3", "-W", "ignore", "-X", "utf8", "-Xdev", ALGO_PATH]],
    ["python3 -m torch.distributed.run $ALGO", python, ["python3", "-m", "torch.distributed.run", ALGO_PATH]],
    ["python3 $ALGO -c print(1)", python, ["python3", ALGO_PATH, "-c", "print(1)"]],
    ["node --max-old-space-size=512 --enable-source-maps $ALGO", node, ["node", "--max-old-space-size=512", "--enable-source-maps", ALGO_PATH]],
    ["  node   $ALGO  ", node, ["node", ALGO_PATH]],
  ])("%s", (entrypoint, environment, argv) => {
    expect(parseEntrypoint(entrypoint, environment)).toEqual({ argv, problems: [] });
  });
});

describe("entrypoints that would run something else are refused", () => {
  it.each([
    ["python3 -c exec(open(chr(47)+chr(100)).read()) $ALGO", python, 'option "-c" runs the program given on the command line instead of the approved code'],
    ["python3 -uc exec(1) $ALGO", python, 'option "-uc" is not one python3 may be given before $ALGO'],
    ["python3 -m http.server $ALGO", python, '"-m" runs a module that environment does not list for python3'],
    ["python3.11 -m torch.distributed.run $ALGO", python, '"-m" runs a module that environment does not list for python3.11'],
    ["python3 -i $ALGO", python, 'option "-i" reads a program from standard input'],
    ["python3 - $ALGO", python, 'option "-" reads a program from standard input'],
    ["python3 -x $ALGO", python, 'option "-x" skips the first line of the source'],
    ["python3 -W $ALGO", python, "option -W needs a value"],
    ["python3 -X $ALGO", python, "option -X needs a value"],
    ["node -e require(1) $ALGO", node, 'option "-e" evaluates the script given on the command line'],
    ["node --eval=1 $ALGO", node, 'option "--eval=1" evaluates the script given on the command line'],
    ["node -p 1 $ALGO", node, 'option "-p" evaluates and prints the script given on the command line'],
    ["node --require /data/inputs/x $ALGO", node, 'option "--require" preloads another module before the approved code'],
    ["node -r /data/inputs/x $ALGO", node, 'option "-r" preloads another module before the approved code'],
    ["node --import=data:text/javascript,1 $ALGO", node, 'option "--import=data:text/javascript,1" preloads another module'],
    ["node --loader /tmp/x.mjs $ALGO", node, 'option "--loader" loads the code through another module'],
    ["node --experimental-loader=/tmp/x.mjs $ALGO", node, 'option "--experimental-loader=/tmp/x.mjs" loads the code through another module'],
    ["node --inspect=0.0.0.0:9229 $ALGO", node, 'option "--inspect=0.0.0.0:9229" is not one node may be given before $ALGO'],
    ["node --env-file=/data/inputs/x $ALGO", node, 'option "--env-file=/data/inputs/x" sets the environment from a file of its own'],
    ["sh $ALGO", python, 'starts with "sh", which is not an interpreter the environment python declares'],
    ["/usr/bin/python3 $ALGO", python, 'starts with "/usr/bin/python3", which is not an interpreter the environment python declares'],
    ["node $ALGO", python, 'starts with "node", which is not an interpreter the environment python declares'],
    ["python3 $ALGO.py", python, 'uses $ALGO inside "$ALGO.py"'],
    ["python3 --x=$ALGO", python, 'uses $ALGO inside "--x=$ALGO"'],
    ["python3 $ALGO $ALGO", python, "names $ALGO more than once"],
    ["python3", python, "has no $ALGO as a word of its own"],
    ["python3 -c 'print(1)' $ALGO", python, "contains quotes or backslashes"],
    ["python3 \\$ALGO", python, "contains quotes or backslashes"],
  ])("%s", (entrypoint, environment, message) => {
    const parsed = parseEntrypoint(entrypoint, environment);

    expect(parsed.argv).toBeUndefined();
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0].message).toContain(message);
    expect(parsed.problems[0].fix.length).toBeGreaterThan(10);
  });
});
