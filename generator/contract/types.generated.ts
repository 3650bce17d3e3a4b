// Generated from contracts/contract.schema.json by `npm run generate`. Do not edit.

export type LongText = string;
/**
 * EIP-55 mixed-case checksummed Ethereum address.
 */
export type Address = string;
export type Text = string;
/**
 * Decentralised identifier of an asset, e.g. did:op:<64 hex>.
 */
export type Did = string;
/**
 * A short identifier: lower-case letters, digits, '-', '.', '_'.
 */
export type Name = string;
/**
 * Where the provider keeps the data. It is mounted read-only; hostPath only in the local cluster profile, or on a cluster profile that serves node folders as read-only PersistentVolumes (hostPathInputs).
 */
export type Location =
  | {
      kind: "pvc";
      /**
       * A short identifier: lower-case letters, digits, '-', '.', '_'.
       */
      volumeName: string;
      subPath?: string;
    }
  | {
      kind: "csi";
      driver: string;
      volumeHandle: string;
      volumeAttributes?: {
        [k: string]: string;
      };
    }
  | {
      kind: "nfs";
      server: string;
      path: string;
    }
  | {
      kind: "ipfs";
      cid: Cid;
    }
  | {
      kind: "hostPath";
      /**
       * Absolute directory on the one machine of the local profile that holds the files.
       */
      path: string;
    };
/**
 * IPFS CID v1 (base32, 'b...') or v0 ('Qm...').
 */
export type Cid = string;
/**
 * A plain file name: no directory separators, not '.' or '..', no control characters.
 */
export type FileName = string;
/**
 * Lower-case hex sha256 (64 characters).
 */
export type Sha256 = string;
/**
 * A path relative to the contract folder, below algorithm/: no '..' segment, no leading '/'.
 */
export type RelativePath = string;
/**
 * Kubernetes quantity, e.g. 500m, 2, 512Mi, 4Gi.
 */
export type Quantity = string;
/**
 * RFC 3339 UTC timestamp, e.g. 2026-12-01T00:00:00Z.
 */
export type Timestamp = string;

/**
 * One self-contained agreement between a data provider, a data consumer and optional witness, algorithm provider and operator. Signed by every party (EIP-712 over the RFC 8785 canonical sha256 of this document without its "$schema" member).
 */
export interface DatomspodDataUsageContract {
  /**
   * Editor help only; not part of the signed hash.
   */
  $schema?: string;
  /**
   * Version of this schema the contract is written against.
   */
  schemaVersion: 1;
  /**
   * Contract id: a DNS-1123 label (lower-case letters, digits and '-', starting with a letter, ending alphanumeric), at most 40 characters so that the instance names derived from it fit Kubernetes limits. Must equal the contract's folder name.
   */
  id: string;
  /**
   * Human-readable title shown in wallets and reports.
   */
  title: string;
  description?: LongText;
  /**
   * EVM chain id the signatures and anchors are bound to (31337 for a local anvil chain).
   */
  chainId: number;
  /**
   * The cluster profile (clusters/<cluster>/cluster.yaml) the instance is rendered for and runs on; 'local' is the one-machine profile of `datomspod run`.
   */
  cluster: string;
  /**
   * Every party that must sign. Exactly one consumer; at least one provider; at most one witness.
   *
   * @minItems 2
   * @maxItems 16
   */
  parties: Party[];
  inputs: {
    /**
     * @minItems 1
     * @maxItems 32
     */
    data: DataAsset[];
    algorithm: Algorithm;
    compute: Compute;
  };
  business: Business;
  /**
   * Free-form requirements the parties agreed on; carried into the evidence.
   *
   * @maxItems 64
   */
  additional?: {
    id: Name;
    text: LongText;
  }[];
  outputs: Outputs;
  /**
   * The scenario under which the OPS-C model judges this contract.
   */
  opsc: {
    /**
     * A short identifier: lower-case letters, digits, '-', '.', '_'.
     */
    scenario: string;
  };
  evidence: Evidence;
}
export interface Party {
  address: Address;
  role: "provider" | "consumer" | "witness" | "algorithm-provider" | "operator";
  name: Text;
  /**
   * GitHub login, used by the pull-request flow.
   */
  github?: string;
  /**
   * Uncompressed secp256k1 public key (0x04...), required for output recipients: outputs are encrypted to it. Must belong to the address.
   */
  publicKey?: string;
}
export interface DataAsset {
  did: Did;
  serviceId: Name;
  /**
   * EIP-55 mixed-case checksummed Ethereum address.
   */
  owner: string;
  description?: LongText;
  location: Location;
  /**
   * The files of the asset, in Ocean's order (index 0, 1, ...).
   *
   * @minItems 1
   * @maxItems 64
   */
  files: {
    name: FileName;
    sha256: Sha256;
    size: number;
    contentType?: string;
    cid?: Cid;
  }[];
}
export interface Algorithm {
  did: Did;
  /**
   * A short identifier: lower-case letters, digits, '-', '.', '_'.
   */
  environment: string;
  name?: Text;
  /**
   * EIP-55 mixed-case checksummed Ethereum address.
   */
  provider?: string;
  /**
   * The reusable algorithm package this algorithm is (algorithms/<name>/<version>/, signed by its author), pinned by its digest: sha256 over every file of the package. The environment, container and code above must be the package's; data owners may approve the package once for their datasets (algorithms/<name>/<version>/approvals/) instead of this contract.
   */
  package?: {
    name: Name;
    version: Name;
    digest: string;
  };
  container: {
    /**
     * Image repository, e.g. docker.io/library/python or localhost/datomspod/python.
     */
    image: string;
    tag: string;
    /**
     * The image is pinned by this digest; the tag is informative.
     */
    digest: string;
    /**
     * Command line, split on spaces and run without a shell: an interpreter the environment declares, the options it allows, $ALGO (the path of the algorithm code), then arguments for the algorithm. Options that run other code (-c, -e, --eval, -p, --require, --import, -m outside the environment's list, ...) are refused.
     */
    entrypoint: string;
  };
  /**
   * The algorithm's code: one file under algorithm/ in the contract folder (reviewed in the PR), a CID, or a file of the algorithm package named in package (algorithms/<name>/<version>/). sha256 is re-checked right before the run.
   */
  code: {
    [k: string]: unknown;
  } & {
    path?: RelativePath;
    cid?: Cid;
    /**
     * A plain file name: no directory separators, not '.' or '..', no control characters.
     */
    packageFile?: string;
    sha256: Sha256;
    size: number;
  };
  /**
   * The algorithm's parameters as approved (algoCustomData.json). A run request may set only those listed in consumerParameters, within their limits; the rest are fixed.
   */
  parameters?: {
    [k: string]: unknown;
  };
  /**
   * The parameters the consumer may set in a run request, in Ocean's consumerParameters form (also shown to the algorithm in its DDO), with the limits the data owners approve. Privacy controls named in outputs.policy (minGroupSize, differentialPrivacyEpsilon) can never be listed.
   *
   * @maxItems 32
   */
  consumerParameters?: ConsumerParameter[];
}
export interface ConsumerParameter {
  name: string;
  type: "text" | "number" | "boolean" | "select";
  label: Text;
  required: boolean;
  description?: LongText;
  default: string | number | boolean;
  /**
   * For type select: the allowed values, each as {value: label}.
   *
   * @minItems 1
   * @maxItems 64
   */
  options?: {
    [k: string]: Text;
  }[];
  /**
   * For type number: the smallest value a run may ask for.
   */
  minimum?: number;
  /**
   * For type number: the largest value a run may ask for.
   */
  maximum?: number;
  /**
   * For type number: only whole numbers.
   */
  integer?: boolean;
  /**
   * For type text: the longest value (default 200).
   */
  maxLength?: number;
  /**
   * For type text: an ECMAScript regular expression the whole value must match.
   */
  pattern?: string;
}
export interface Compute {
  cpu: Quantity;
  memory: Quantity;
  gpu?: number;
  /**
   * Standard compute nodes; one node per instance in this version.
   */
  nodes?: number;
  cores?: number;
  /**
   * Kubernetes quantity, e.g. 500m, 2, 512Mi, 4Gi.
   */
  outputSize?: string;
  maxDurationSeconds: number;
  runtimeClass?: "runc" | "gvisor" | "kata";
}
/**
 * What the consumer pays and who earns it. `datomspod settle` prices the verified receipts with these terms into contracts/<id>/settlement.json, line by line, in the token's smallest unit.
 */
export interface Business {
  currency: {
    symbol: string;
    /**
     * Digits of the smallest unit: amounts are settled in units of 10^-decimals (the ERC-20 token's decimals()).
     */
    decimals: number;
    /**
     * EIP-55 mixed-case checksummed Ethereum address.
     */
    token?: string;
  };
  /**
   * @maxItems 32
   */
  pricing: {
    /**
     * EIP-55 mixed-case checksummed Ethereum address.
     */
    party: string;
    kind: "data-fee" | "algorithm-fee" | "compute" | "witness-fee" | "operator-fee";
    /**
     * The price of one unit, in currency units (e.g. "0.002").
     */
    amount: string;
    /**
     * The unit: contract (once), run (each billed run), cpu-second (CPU time of every process of the computing container), gib-second (its peak memory in GiB times its wall time), gpu-second, wall-second (the algorithm's wall time). Usage comes from the run's signed receipt.
     */
    per: "contract" | "run" | "cpu-second" | "gib-second" | "gpu-second" | "wall-second";
    /**
     * The least this fee comes to over the whole contract; the settlement tops it up. Default: no minimum.
     */
    minimum?: string;
    /**
     * The most this fee comes to over the whole contract; the settlement caps it. Default: no cap.
     */
    maximum?: string;
  }[];
  /**
   * The most the consumer pays in total. When the fees come to more, each party's amount is scaled down in proportion (rounded down). With an escrow, escrow.cap caps the total too. Default: no cap.
   */
  maximum?: string;
  /**
   * How runs that did not succeed are billed: full (every per-run and usage fee), usage-only (the usage fees: cpu-, gib-, gpu- and wall-seconds), none. Runs that succeeded are billed in full; per-contract fees are always due.
   */
  outcomes?: {
    /**
     * The algorithm failed (exit code, signal, out of memory). Default usage-only.
     */
    failed?: "full" | "usage-only" | "none";
    /**
     * Stopped at the contract's deadline. Default usage-only.
     */
    deadline?: "full" | "usage-only" | "none";
    /**
     * The outputs broke the output policy (nothing but the logs was sealed, for the owners). Default usage-only.
     */
    policyViolation?: "full" | "usage-only" | "none";
    /**
     * The algorithm never ran (code, inputs or image did not match the contract). Default none.
     */
    rejected?: "full" | "usage-only" | "none";
  };
  /**
   * How each line's exact amount becomes a whole number of the smallest unit: down (default: never charge a fraction not used), half-up, or up.
   */
  rounding?: "down" | "half-up" | "up";
  /**
   * The on-chain escrow that holds and pays the settlement (generator/escrow/Escrow.sol): the consumer deposits up to the cap against the contract's hash; the escrow pays only against the settlement signed by every party; after the expiry anyone can return the deposit to the consumer. Needs currency.token.
   */
  escrow?: {
    /**
     * EIP-55 mixed-case checksummed Ethereum address.
     */
    address: string;
    /**
     * The most the consumer deposits, and so pays, in currency units; whole units of the smallest unit.
     */
    cap: string;
    /**
     * From this time nothing can be released and anyone can return the deposit to the consumer. After validity.notAfter.
     */
    expiry: string;
  };
  validity: {
    notBefore: Timestamp;
    notAfter: Timestamp;
  };
  maxRuns: number;
  /**
   * When the consumer is billed: prepaid or per-run (every run with a receipt), on-delivery (a run that succeeded only once its recipient acknowledged delivery: settle waits for the acknowledgements).
   */
  billing: "prepaid" | "per-run" | "on-delivery";
}
export interface Outputs {
  /**
   * What may leave the instance.
   *
   * @minItems 1
   */
  kinds: ("aggregates" | "model" | "report" | "raw-records")[];
  /**
   * Addresses of the parties outputs are encrypted to.
   *
   * @minItems 1
   * @maxItems 8
   */
  recipients: Address[];
  delivery:
    | {
        kind: "local";
      }
    | {
        kind: "ipfs";
      }
    | {
        kind: "s3";
        bucket: string;
        region: string;
        /**
         * A short identifier: lower-case letters, digits, '-', '.', '_'.
         */
        credentialsSecret: string;
      };
  policy: {
    /**
     * The per-run budget of bytes that leave the instance: every output and every log together. Over maxRuns it bounds what a contract can ever let out (the leakage bound in the OPS-C report).
     */
    maxBytes: number;
    /**
     * Allowed output file extensions, without the dot.
     *
     * @minItems 1
     */
    fileTypes: string[];
    /**
     * Lets outputs named without an extension (Ocean's examples write /data/outputs/result) leave when their content is one of `types`, recognised from the bytes (magic bytes; text: UTF-8 without NUL; json: and parses), tried in this order. The type found stands for the extension in every other rule (a csv is a table for minGroupSize). Without this, such an output breaks the file-type rule.
     */
    extensionless?: {
      /**
       * The file types an output without an extension may be, in the order they are tried; each must also be in fileTypes, and be one datomspace-out can recognise from content: csv, gif, gz, jpeg, jpg, json, log, md, npy, parquet, pdf, png, tif, tiff, tsv, txt, webp, zip.
       *
       * @minItems 1
       */
      types: string[];
      /**
       * Only these outputs may leave without an extension (paths below /data/outputs, e.g. result); without names, any.
       *
       * @minItems 1
       * @maxItems 32
       */
      names?: string[];
    };
    /**
     * Outputs stay sealed until a data provider releases them.
     */
    ownerReview: boolean;
    /**
     * Outputs and logs must not contain rows of the inputs (a tripwire: see docs/sealing-and-delivery.md for what it cannot catch).
     */
    noRawRecords: boolean;
    /**
     * Smallest group an aggregate may describe (k), enforced by datomspace-out on every output table: each row's countColumn must be at least this.
     */
    minGroupSize?: number;
    /**
     * The column of every aggregate table (csv/tsv output) that holds the size of the group the row describes; required with minGroupSize.
     */
    countColumn?: string;
    differentialPrivacyEpsilon?: number;
  };
}
/**
 * Where the evidence of this contract is anchored and who may write it. Part of what every party signs: an anchor contract, chain or signer not named here does not count, so history cannot be moved to a contract or key of someone's choosing.
 */
export interface Evidence {
  /**
   * The anchor contract (generator/anchor/Anchor.sol) on chainId that holds every root of this contract's evidence.
   */
  anchor: {
    address: Address;
    /**
     * The block the anchor contract was deployed in: the audit reads its events from here on.
     */
    fromBlock: number;
  };
  /**
   * Accounts whose anchors of this contract's evidence count (they must also be authorised on the anchor contract).
   *
   * @minItems 1
   * @maxItems 8
   */
  anchorers: Address[];
  /**
   * Accounts that run this contract's instance and sign its run receipts: the data owner's runner in ad hoc mode (`datomspod run --key`), the cluster's datomspod-operator.
   *
   * @minItems 1
   * @maxItems 8
   */
  runners: Address[];
}

export type Contract = DatomspodDataUsageContract;
