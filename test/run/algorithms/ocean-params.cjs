// Consumer parameters in /data/inputs/algoCustomData.json: counts of patients by the requested
// column, groups smaller than minGroupSize suppressed. And, as an Ocean algorithm may, the
// parameters its DDO declares (metadata.algorithm.consumerParameters), each with its default.
const fs = require("fs");

const params = JSON.parse(fs.readFileSync("/data/inputs/algoCustomData.json", "utf8"));
const declared = JSON.parse(fs.readFileSync(`/data/ddos/${process.env.TRANSFORMATION_DID}`, "utf8")).metadata.algorithm.consumerParameters;
const [header, ...rows] = fs.readFileSync("/data/inputs/patients.csv", "utf8").trim().split("\n");
const column = header.split(",").indexOf(params.groupBy);
const counts = {};
for (const row of rows) counts[row.split(",")[column]] = (counts[row.split(",")[column]] ?? 0) + 1;
const kept = Object.fromEntries(Object.entries(counts).filter(([, n]) => n >= params.minGroupSize));
fs.writeFileSync("/data/outputs/result.json", JSON.stringify({ params, declared, counts: kept }));
