// Ocean's flat layout: every input file at /data/inputs/<original file name>.
const fs = require("fs");
const crypto = require("crypto");

const result = {};
for (const name of fs.readdirSync("/data/inputs").sort()) {
  const path = `/data/inputs/${name}`;
  if (name !== "algoCustomData.json" && fs.statSync(path).isFile()) result[name] = crypto.createHash("sha256").update(fs.readFileSync(path)).digest("hex");
}
fs.writeFileSync("/data/outputs/result.json", JSON.stringify(result));
