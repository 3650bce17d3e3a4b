// Ocean's line-count example in Node: the first input's non-blank lines, written to
// /data/outputs/result (a name without an extension); scratch files in the working directory (a
// checkpoint in a folder of its own, a temporary file), read back; relative data/... paths.
const fs = require("fs");

const did = JSON.parse(process.env.DIDS)[0];
const ddo = JSON.parse(fs.readFileSync(`/data/ddos/${did}`, "utf8"));
const files = ddo.service.find((s) => s.type === "metadata").attributes.main.files.map((_, i) => `/data/inputs/${did}/${i}`);
const count = fs
  .readFileSync(files[0], "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "").length;

fs.mkdirSync("checkpoints", { recursive: true });
fs.writeFileSync("checkpoints/count.txt", String(count));
fs.writeFileSync("scratch.tmp", Buffer.alloc(4096));
const restored = Number(fs.readFileSync("checkpoints/count.txt", "utf8"));
const relative = fs
  .readFileSync(`data/inputs/${did}/0`, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "").length;

fs.writeFileSync("/data/outputs/result", String(count));
fs.writeFileSync("data/outputs/details.json", JSON.stringify({ cwd: process.cwd(), scratch: fs.readdirSync(".").sort(), restored, relative }));
