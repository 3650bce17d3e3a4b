// An algorithm that fails: it writes part of its output, says why on stderr, and exits 3.
const fs = require("fs");

fs.writeFileSync("/data/outputs/result.json", JSON.stringify({ partial: true }));
console.error("giving up: the data does not fit the model");
process.exit(3);
