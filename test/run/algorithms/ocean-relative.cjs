// Relative paths from the working directory /: data/inputs/..., data/ddos/..., data/outputs/...
const fs = require("fs");

const did = JSON.parse(process.env.DIDS)[0];
const rows = fs.readFileSync("data/inputs/patients.csv", "utf8").split("\n").length - 2;
const ddo = JSON.parse(fs.readFileSync(`data/ddos/${did}`, "utf8"));
fs.writeFileSync("data/outputs/result.json", JSON.stringify({ cwd: process.cwd(), rows, ddo: ddo.id, listed: fs.readdirSync("data").sort() }));
