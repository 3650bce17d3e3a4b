// Ocean's DDOs at /data/ddos/{did}: the legacy service[] entry of type metadata lists the files
// (attributes.main.files, by index); the v4 metadata and services name the asset and its service.
const fs = require("fs");
const crypto = require("crypto");

const sha256 = (path) => crypto.createHash("sha256").update(fs.readFileSync(path)).digest("hex");
const result = { datasets: {} };
for (const did of JSON.parse(process.env.DIDS)) {
  const ddo = JSON.parse(fs.readFileSync(`/data/ddos/${did}`, "utf8"));
  const main = ddo.service.find((s) => s.type === "metadata").attributes.main;
  const service = ddo.services.find((s) => s.type === "compute");
  const files = main.files.map((entry) => ({
    index: entry.index,
    name: entry.name,
    legacyMatches: sha256(`/data/inputs/${did}/${entry.index}`) === entry.checksum,
    serviceMatches: sha256(`/data/inputs/${did}/${service.id}/${entry.name}`) === entry.checksum,
  }));
  result.datasets[did] = { id: ddo.id, type: ddo.metadata.type, legacyType: main.type, name: ddo.metadata.name, service: service.id, files };
}
const algo = JSON.parse(fs.readFileSync(`/data/ddos/${process.env.TRANSFORMATION_DID}`, "utf8"));
const legacy = algo.service.find((s) => s.type === "metadata").attributes.main;
result.algorithm = {
  type: algo.metadata.type,
  image: algo.metadata.algorithm.container.image,
  checksum: algo.metadata.algorithm.container.checksum,
  codeMatches: legacy.files[0].checksum === sha256(process.env.ALGO),
};
fs.writeFileSync("/data/outputs/result.json", JSON.stringify(result));
