/** A receipt shaped as the runner writes it: an in-toto Statement whose subjects are outputs and logs. */
export const FAKE_RECEIPT = {
  _type: "https://in-toto.io/Statement/v1",
  subject: [
    { name: "outputs/aggregates.csv", digest: { sha256: "1".repeat(64) } },
    { name: "logs/algorithm.log", digest: { sha256: "2".repeat(64) } },
  ],
  predicateType: "https://datomspod.dev/receipt/v1",
  predicate: { exitCode: 0 },
};
