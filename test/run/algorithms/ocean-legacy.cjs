// Ocean's legacy layout: the files of an input at /data/inputs/{did}/0, /1, ... in the DDO's order.
const fs = require("fs");
const crypto = require("crypto");

const result = {};
for (const did of JSON.parse(process.env.DIDS)) {
  const hashes = [];
  for (let index = 0; fs.existsSync(`/data/inputs/${did}/${index}`); index++) {
    hashes.push(
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(`/data/inputs/${did}/${index}`))
        .digest("hex"),
    );
  }
  result[did] = hashes;
}
fs.writeFileSync("/data/outputs/result.json", JSON.stringify(result));
