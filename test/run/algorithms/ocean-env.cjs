// Ocean's environment: DIDS (a JSON list), TRANSFORMATION_DID, and the code itself at $ALGO.
const fs = require("fs");
const crypto = require("crypto");

fs.writeFileSync(
  "/data/outputs/result.json",
  JSON.stringify({
    dids: JSON.parse(process.env.DIDS),
    transformationDid: process.env.TRANSFORMATION_DID,
    algo: process.env.ALGO,
    argv: process.argv.slice(1),
    codeSha256: crypto.createHash("sha256").update(fs.readFileSync(process.env.ALGO)).digest("hex"),
    cwd: process.cwd(),
    uid: process.getuid(),
  }),
);
