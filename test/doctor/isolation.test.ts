/**
 * The canary's verdict fails closed: isolated only when the control pod (no policy) reached every
 * target, the canary (deny-all) reached none, and the doctor's own listener never saw the canary.
 * Anything else, including a probe that proves nothing, refuses; the doctor's text says so.
 */

import { describe, expect, it } from "vitest";
import { judgeIsolation, type IsolationEvidence } from "../../generator/cluster/canary.js";
import { formatDoctor, isolationFinding } from "../../generator/cluster/doctor.js";

const TARGETS = { pod: "http://10.0.0.5:8080/", listener: "http://10.0.0.1:4000/" };
const OPEN = ["OPEN", "OPEN", "OPEN"];
const CLOSED = ["CLOSED:ETIMEDOUT", "CLOSED:ETIMEDOUT", "CLOSED:ETIMEDOUT"];

function evidence(over: Partial<IsolationEvidence> = {}): IsolationEvidence {
  return {
    namespace: "dp-doctor-abc123",
    targets: TARGETS,
    policy: true,
    control: { pod: OPEN, listener: OPEN },
    canary: { pod: CLOSED, listener: CLOSED },
    controlIp: "10.0.0.6",
    canaryIp: "10.0.0.7",
    listenerSaw: ["10.0.0.6"],
    problems: [],
    ...over,
  };
}

describe("judgeIsolation", () => {
  it("passes only the isolated canary", () => {
    expect(judgeIsolation(evidence())).toEqual({ isolated: true, reasons: [] });
  });

  it.each([
    [
      "the canary got through once",
      { canary: { pod: ["CLOSED:ETIMEDOUT", "OPEN", "CLOSED:ETIMEDOUT"], listener: CLOSED } },
      ["the canary reached pod (http://10.0.0.5:8080/) in 1 of 3 tries: egress is not denied"],
    ],
    [
      "the listener saw the canary although it reported closed",
      { listenerSaw: ["10.0.0.6", "10.0.0.7"] },
      ["the doctor's listener was reached from the canary (10.0.0.7): egress is not denied"],
    ],
    [
      "the control got nowhere (the probe proves nothing)",
      { control: { pod: OPEN, listener: CLOSED } },
      [
        "the control pod without a policy could not reach listener (http://10.0.0.1:4000/: CLOSED:ETIMEDOUT, CLOSED:ETIMEDOUT, CLOSED:ETIMEDOUT): the probe proves nothing",
      ],
    ],
    [
      "the canary did not report",
      { canary: undefined, problems: ["pod dp-doctor-abc123/canary ended Failed without a report"] },
      ["pod dp-doctor-abc123/canary ended Failed without a report", "the canary reported nothing: isolation is unproven"],
    ],
    ["the canary skipped a target", { canary: { pod: CLOSED } }, ["the canary did not try listener"]],
  ])("refuses when %s", (_name, over, reasons) => {
    expect(judgeIsolation(evidence(over as Partial<IsolationEvidence>))).toEqual({ isolated: false, reasons });
  });
});

describe("the doctor's report", () => {
  it("prints each finding with its fix and refuses when any is missing or refused", () => {
    const refused = isolationFinding(evidence({ canary: { pod: OPEN, listener: CLOSED } }));
    const text = formatDoctor({
      cluster: "lab",
      server: "https://127.0.0.1:6443",
      ok: false,
      findings: [
        { check: "api", object: "https://127.0.0.1:6443", status: "ok", message: "Kubernetes v1.36.3" },
        { check: "storage-class", object: "StorageClass/fast", status: "missing", message: "not here", fix: "create StorageClass fast" },
        refused,
      ],
    });

    expect(text.split("\n")).toEqual([
      "cluster lab at https://127.0.0.1:6443",
      "api:",
      "  ok      https://127.0.0.1:6443: Kubernetes v1.36.3",
      "storage-class:",
      "  MISSING StorageClass/fast: not here",
      "          fix: create StorageClass fast",
      "network-policy:",
      "  REFUSED NetworkPolicy/deny-all in dp-doctor-abc123: isolation is not proven: the canary reached pod (http://10.0.0.5:8080/) in 3 of 3 tries: egress is not denied",
      "          fix: run a CNI or policy controller that enforces NetworkPolicy (e.g. Calico, Cilium, kube-router) before any instance syncs here",
      "REFUSED: 2 findings above; do not let instances sync to this cluster until they are fixed",
    ]);
  });
});
