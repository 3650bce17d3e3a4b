// Trains a logistic-regression credit model on the bank's loan records.
// An Ocean Compute-to-Data style algorithm: inputs under /data/inputs/<did>/0, parameters in
// /data/inputs/algoCustomData.json; only the model weights and a summary report leave.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const params = { epochs: 200, learningRate: 0.5 };
if (existsSync("/data/inputs/algoCustomData.json")) Object.assign(params, JSON.parse(readFileSync("/data/inputs/algoCustomData.json", "utf8")));

const features = ["income_k", "debt_ratio", "years_employed", "amount_k"];
const rows = [];
for (const did of JSON.parse(process.env.DIDS)) {
  const [header, ...lines] = readFileSync(`/data/inputs/${did}/0`, "utf8").trim().split("\n");
  const cols = header.split(",");
  for (const line of lines) {
    const cells = line.split(",");
    const get = (name) => Number(cells[cols.indexOf(name)]);
    rows.push({ x: features.map(get), y: get("defaulted") });
  }
}

const mean = features.map((_, j) => rows.reduce((s, r) => s + r.x[j], 0) / rows.length);
const std = features.map((_, j) => Math.sqrt(rows.reduce((s, r) => s + (r.x[j] - mean[j]) ** 2, 0) / rows.length) || 1);
const data = rows.map((r) => ({ x: r.x.map((v, j) => (v - mean[j]) / std[j]), y: r.y }));

let w = features.map(() => 0);
let b = 0;
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
for (let epoch = 0; epoch < params.epochs; epoch++) {
  const gw = w.map(() => 0);
  let gb = 0;
  for (const { x, y } of data) {
    const err = sigmoid(x.reduce((s, v, j) => s + v * w[j], b)) - y;
    x.forEach((v, j) => (gw[j] += err * v));
    gb += err;
  }
  w = w.map((wj, j) => wj - (params.learningRate * gw[j]) / data.length);
  b -= (params.learningRate * gb) / data.length;
}

const correct = data.filter(({ x, y }) => (sigmoid(x.reduce((s, v, j) => s + v * w[j], b)) >= 0.5 ? 1 : 0) === y).length;
const round = (v) => Math.round(v * 1e6) / 1e6;
writeFileSync("/data/outputs/model.json", JSON.stringify({ features, mean: mean.map(round), std: std.map(round), weights: w.map(round), bias: round(b) }, null, 2) + "\n");
writeFileSync("/data/outputs/report.txt", `records: ${data.length}\ntraining accuracy: ${(correct / data.length).toFixed(3)}\nepochs: ${params.epochs}\n`);
console.log(`trained on ${data.length} records`);
