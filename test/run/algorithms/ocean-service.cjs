// Ocean's current layout: every input at /data/inputs/{did}/{service_id}/<file name>.
const fs = require("fs");
const crypto = require("crypto");

const result = {};
for (const did of JSON.parse(process.env.DIDS)) {
  const base = `/data/inputs/${did}`;
  const services = {};
  for (const service of fs.readdirSync(base).sort()) {
    const folder = `${base}/${service}`;
    if (!fs.statSync(folder).isDirectory()) continue;
    services[service] = {};
    for (const name of fs.readdirSync(folder).sort()) {
      const data = fs.readFileSync(`${folder}/${name}`);
      services[service][name] = { lines: data.toString("latin1").split("\n").length - 1, sha256: crypto.createHash("sha256").update(data).digest("hex") };
    }
  }
  result[did] = services;
}
fs.writeFileSync("/data/outputs/result.json", JSON.stringify(result));
