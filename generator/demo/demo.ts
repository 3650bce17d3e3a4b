/**
 * The end-to-end demo on the embedded defaults: a hospital, a public-health institute and a notary
 * agree a contract, sign it, approve the algorithm, request a run, compile the instance, check it
 * against the OPS-C policies, run it on this machine, deliver the outputs, anchor the evidence on a
 * local chain and audit it, then settle: the consumer deposits into the escrow, every party signs the
 * settlement, the escrow pays, and the payment is anchored and audited too; it ends with the web view.
 * Every step is the real `datomspod` command, printed as a user would type it, run against a fresh
 * workspace repository: a real git repository, with a commit after every step that changed a file
 * (the step's title is the message), so the web view shows who did what, when, in which commit.
 */

import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes, createHash } from "node:crypto";
import { InputError } from "../errors.js";
import { packageFile } from "../repo/package-root.js";
import type { Contract } from "../contract/types.generated.js";
import { ESCROW, LOCAL_CURRENCY } from "../escrow/artifact.js";
import { pinPodImage } from "../run/images.js";
import { publicKeyFile } from "../signatures/keys.js";
import { commitAll, initRepository } from "./git.js";

export type Cli = (argv: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface DemoStep {
  readonly title: string;
  /** The command as a user types it (shown), and what runs. */
  readonly argv?: readonly string[];
  /** Ask the command for JSON and show this instead (and keep what the demo needs of it). */
  readonly json?: (value: unknown) => string;
  /** Work a party does by hand (shown as a comment), done before the command. */
  readonly action?: (print: (text: string) => void) => void;
  /** Exit codes the step may end with (default: 0). */
  readonly expect?: readonly number[];
}

export interface DemoWorkspace {
  readonly dir: string;
  readonly keys: Readonly<Record<"provider" | "consumer" | "witness", string>>;
  /** Digests of the images built for this machine, by image key (python, node, pod). */
  readonly images: Record<string, { reference: string; digest: string }>;
}

const ID = "hospital-demo";
/** The algorithm market chapter: the institute's algorithm as a package, and a follow-up study that reuses it. */
const PACKAGE = "hospital-aggregates@1.0.0";
const FOLLOW_UP = "hospital-followup";

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Creates the workspace: a fresh repository with the contract schema and the local cluster profile. */
export function prepareWorkspace(dir: string): DemoWorkspace {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "contracts"), { recursive: true });
  copyFileSync(packageFile("contracts", "contract.schema.json"), join(dir, "contracts", "contract.schema.json"));
  mkdirSync(join(dir, "clusters", "local"), { recursive: true });
  copyFileSync(packageFile("clusters", "cluster-profile.schema.json"), join(dir, "clusters", "cluster-profile.schema.json"));
  copyFileSync(packageFile("clusters", "local", "cluster.yaml"), join(dir, "clusters", "local", "cluster.yaml"));
  // The compute environments are reviewed files of the repository, like everything that decides.
  cpSync(packageFile("environments"), join(dir, "environments"), { recursive: true });
  mkdirSync(join(dir, "keys"), { recursive: true });
  if (process.env["DATOMSPOD_KEY_PASSWORD"] === undefined) process.env["DATOMSPOD_KEY_PASSWORD"] = randomBytes(18).toString("base64url");
  return {
    dir,
    keys: { provider: join(dir, "keys", "hospital.json"), consumer: join(dir, "keys", "institute.json"), witness: join(dir, "keys", "notary.json") },
    images: {},
  };
}

/** The public half `keys new` recorded beside the keystore. */
function keyInfo(file: string): { address: string; publicKey: string } {
  return JSON.parse(readFileSync(publicKeyFile(file), "utf8")) as { address: string; publicKey: string };
}

/** Fills the scaffolded contract with the parties' real addresses, the data and the algorithm. */
function fillContract(ws: DemoWorkspace, now: Date): void {
  const path = join(ws.dir, "contracts", ID, "contract.json");
  const contract = JSON.parse(readFileSync(path, "utf8")) as Contract;
  const provider = keyInfo(ws.keys.provider);
  const consumer = keyInfo(ws.keys.consumer);
  const witness = keyInfo(ws.keys.witness);
  const dataDir = join(ws.dir, "provider-data");
  const data = join(dataDir, "patients.csv");
  const code = join(ws.dir, "contracts", ID, "algorithm", "aggregate.py");
  const day = 86_400_000;
  contract.title = "Regional patient statistics for public-health research (demo)";
  contract.parties = [
    { address: provider.address, role: "provider", name: "Riverside General Hospital", publicKey: provider.publicKey },
    { address: consumer.address, role: "consumer", name: "Public Health Institute", publicKey: consumer.publicKey },
    { address: witness.address, role: "witness", name: "Data Exchange Notary" },
  ];
  const [asset] = contract.inputs.data;
  if (asset === undefined) throw new InputError("the template has no dataset");
  asset.owner = provider.address;
  asset.location = { kind: "hostPath", path: dataDir };
  asset.files = [{ name: "patients.csv", sha256: sha256File(data), size: readFileSync(data).length, contentType: "text/csv" }];
  contract.inputs.algorithm.provider = consumer.address;
  const python = ws.images["python"];
  if (python === undefined) throw new InputError("the python image was not built");
  // The environment pins the digest its image builds to on this machine (the build is reproducible).
  const environmentFile = join(ws.dir, "environments", "python", "environment.json");
  const environment = JSON.parse(readFileSync(environmentFile, "utf8")) as { image: { digest?: string } };
  environment.image.digest = python.digest;
  writeFileSync(environmentFile, `${JSON.stringify(environment, null, 2)}\n`);
  contract.inputs.algorithm.environment = "python";
  contract.inputs.algorithm.container = { image: python.reference.split(":")[0] ?? "", tag: "3.11", digest: python.digest, entrypoint: "python3 $ALGO" };
  contract.inputs.algorithm.code = { path: "algorithm/aggregate.py", sha256: sha256File(code), size: readFileSync(code).length };
  contract.inputs.algorithm.parameters = { groupBy: "region", minGroupSize: 10 };
  contract.inputs.algorithm.consumerParameters = [
    {
      name: "groupBy",
      type: "select",
      label: "Group the patients by",
      required: false,
      default: "region",
      options: [{ region: "Region" }, { sex: "Sex" }, { diagnosis: "Diagnosis (ICD-10 chapter)" }],
    },
  ];
  contract.business.pricing = [{ party: provider.address, kind: "data-fee", amount: "2000.00", per: "run" }];
  contract.business.validity = {
    notBefore: new Date(Math.floor(now.getTime() / day) * day - day).toISOString().replace(".000Z", "Z"),
    notAfter: new Date(Math.floor(now.getTime() / day) * day + 90 * day).toISOString().replace(".000Z", "Z"),
  };
  settleThroughEscrow(contract, provider.address, witness.address, now);
  contract.outputs.recipients = [consumer.address];
  contract.outputs.policy = { maxBytes: 65536, fileTypes: ["csv"], ownerReview: false, noRawRecords: true, minGroupSize: 10, countColumn: "patients" };
  contract.opsc = { scenario: "medical-research" };
  // The hospital runs the pod on its own machine and signs the receipts; the local chain's anchor contract holds the evidence.
  contract.evidence = { ...contract.evidence, runners: [provider.address] };
  writeFileSync(path, `${JSON.stringify(contract, null, 2)}\n`);
  const pod = ws.images["pod"];
  if (pod === undefined) throw new InputError("the pod image was not built");
  const profile = join(ws.dir, "clusters", "local", "cluster.yaml");
  writeFileSync(profile, pinPodImage(readFileSync(profile, "utf8"), pod.reference.split(":").pop() ?? "", pod.digest));
}

/**
 * The business terms settled on the local chain: paid in its worthless token through the escrow
 * (its CREATE2 address), a data fee per run and the compute per CPU second to the hospital, a
 * witness fee to the notary; the consumer deposits up to 5000.
 */
function settleThroughEscrow(contract: Contract, provider: string, witness: string, now: Date): void {
  const day = 86_400_000;
  contract.business.currency = { ...LOCAL_CURRENCY };
  contract.business.pricing = [
    { party: provider, kind: "data-fee", amount: "2000", per: "run" },
    { party: provider, kind: "compute", amount: "0.05", per: "cpu-second" },
    { party: witness, kind: "witness-fee", amount: "300", per: "contract" },
  ];
  contract.business.escrow = {
    address: ESCROW.address,
    cap: "5000",
    expiry: new Date(Math.floor(now.getTime() / day) * day + 120 * day).toISOString().replace(".000Z", "Z"),
  };
}

/** The end of the demo: the consumer deposits, every party signs the settlement, the escrow pays, the payment is evidence. */
function settlementSteps(ws: DemoWorkspace): DemoStep[] {
  const { keys } = ws;
  return [
    { title: "The consumer deposits into the escrow on the local chain, up to the contract's cap", argv: ["escrow", "deposit", ID, "--key", keys.consumer] },
    { title: "Anyone checks the deposit: its terms are the contract's (token, cap, expiry, every party)", argv: ["escrow", "status", ID] },
    { title: "The verified receipt is priced line by line, in the token's smallest unit", argv: ["settle", ID] },
    { title: "Every party signs the settlement (EIP-712: the very signatures the escrow checks)", argv: ["settle", ID, "--key", keys.provider] },
    { title: "", argv: ["settle", ID, "--key", keys.consumer] },
    { title: "", argv: ["settle", ID, "--key", keys.witness] },
    { title: "The escrow pays against all three signatures: the hospital and the notary are credited, the rest goes back", argv: ["escrow", "release", ID] },
    { title: "Each party withdraws what it is owed (pull payments)", argv: ["escrow", "withdraw", ID, "--key", keys.provider] },
    { title: "", argv: ["escrow", "withdraw", ID, "--key", keys.witness] },
    { title: "", argv: ["escrow", "withdraw", ID, "--key", keys.consumer] },
    { title: "The contract is settled", argv: ["contract", "status", ID] },
    { title: "The settlement, its signatures and the payments are anchored", argv: ["anchor"] },
    { title: "The audit re-verifies everything, the settlement and the payment transactions included", argv: ["audit", "verify", ID] },
  ];
}

/**
 * The algorithm market: the institute publishes its algorithm as a package, the hospital and the
 * notary approve it once, within limits; a follow-up study names the package and runs on the
 * inherited approval; the hospital revokes it and the next run starts nothing.
 */
function marketSteps(ws: DemoWorkspace): DemoStep[] {
  const { keys } = ws;
  const limits = join(ws.dir, "limits.json");
  return [
    {
      title: "The institute publishes its algorithm in the algorithm market (algorithms/NAME/VERSION/), signed once by its author",
      argv: [
        "algorithm",
        "new",
        PACKAGE,
        "--code",
        join(ws.dir, "contracts", ID, "algorithm", "aggregate.py"),
        "--environment",
        "python",
        "--author",
        keys.consumer,
      ],
    },
    { title: "", argv: ["algorithm", "publish", PACKAGE, "--key", keys.consumer] },
    {
      title: "The hospital and the notary review the package once and approve it for the hospital's dataset, within limits",
      action: (print) => {
        const contract = JSON.parse(readFileSync(join(ws.dir, "contracts", ID, "contract.json"), "utf8")) as Contract;
        const bounds = {
          datasets: contract.inputs.data.map((asset) => asset.did),
          scenarios: [contract.opsc.scenario],
          clusters: ["local"],
          parameters: { groupBy: { enum: ["region", "sex", "diagnosis"] }, minGroupSize: { minimum: 10 } },
          validity: contract.business.validity,
        };
        writeFileSync(limits, `${JSON.stringify(bounds, null, 2)}\n`);
        print(`limits.json:\n${JSON.stringify(bounds, null, 2)}\n`);
      },
      argv: ["algorithm", "approve", PACKAGE, "--key", keys.provider, "--limits", limits],
    },
    { title: "", argv: ["algorithm", "approve", PACKAGE, "--key", keys.witness, "--limits", limits] },
    { title: "", argv: ["algorithm", "show", PACKAGE] },
    {
      title: "A follow-up study names the package by name, version and digest: no code and no approval of its own",
      argv: ["contract", "new", FOLLOW_UP, "--from", ID],
    },
    {
      title: "",
      action: (print) => {
        // `contract new --from` copied the first study's algorithm/ folder; the code now comes from the package.
        rmSync(join(ws.dir, "contracts", FOLLOW_UP, "algorithm"), { recursive: true, force: true });
        print(`$ rm -r contracts/${FOLLOW_UP}/algorithm   # the code now comes from the package\n`);
      },
      argv: ["algorithm", "use", PACKAGE, FOLLOW_UP],
    },
    { title: "The parties sign the follow-up study", argv: ["contract", "sign", FOLLOW_UP, "--key", keys.provider] },
    { title: "", argv: ["contract", "sign", FOLLOW_UP, "--key", keys.consumer] },
    { title: "", argv: ["contract", "sign", FOLLOW_UP, "--key", keys.witness] },
    { title: "", argv: ["request", FOLLOW_UP, "run-1", "--key", keys.consumer, "--param", "groupBy=sex"] },
    { title: "It is active: the hospital's and the notary's approvals are inherited from the package", argv: ["contract", "status", FOLLOW_UP] },
    { title: "", argv: ["compile"] },
    { title: "The package runs on the hospital's data under the inherited approval", argv: ["run", FOLLOW_UP, "run-1", "--key", keys.provider] },
    {
      title: "The hospital revokes the package: every contract relying on it loses its approval, and no further run starts",
      argv: ["algorithm", "revoke", PACKAGE, "--key", keys.provider, "--reason", "superseded (demo)"],
    },
    { title: "", argv: ["request", FOLLOW_UP, "run-2", "--key", keys.consumer] },
    { title: "", argv: ["run", FOLLOW_UP, "run-2", "--key", keys.provider], expect: [2] },
    { title: "The next compile removes the follow-up's instance", argv: ["compile"] },
    { title: "The package, its approvals, the revocation and the follow-up's receipt are anchored and audited", argv: ["anchor"] },
    { title: "", argv: ["audit", "verify", FOLLOW_UP] },
  ];
}

/** The web view the demo ends with: `datomspod report --html` writes it here. */
export function siteDir(ws: DemoWorkspace): string {
  return join(ws.dir, "site");
}

/** The demo's steps, in order. */
export function demoSteps(ws: DemoWorkspace, now: Date): DemoStep[] {
  const { keys } = ws;
  const delivered = join(ws.dir, "delivered");
  return [
    {
      title: "Build the container images locally (reproducible: the same inputs give the same digests); nothing is pulled",
      argv: ["images", "build"],
      json: (value) => {
        for (const image of value as { key: string; reference: string; digest: string }[])
          ws.images[image.key] = { reference: image.reference, digest: image.digest };
        return (value as { reference: string; digest: string }[]).map((image) => `${image.reference}  ${image.digest}`).join("\n");
      },
    },
    {
      title: "Each party creates an encrypted key (the password comes from DATOMSPOD_KEY_PASSWORD)",
      argv: ["keys", "new", "--out", keys.provider, "--scrypt-n", "16384"],
      json: address,
    },
    { title: "", argv: ["keys", "new", "--out", keys.consumer, "--scrypt-n", "16384"], json: address },
    { title: "", argv: ["keys", "new", "--out", keys.witness, "--scrypt-n", "16384"], json: address },
    { title: "The consumer scaffolds a contract from a template", argv: ["contract", "new", ID, "--from", "aggregate-statistics"] },
    {
      title: "The parties fill in who they are, the provider's data (it stays in the provider's folder), the algorithm and its image digest",
      action: () => {
        mkdirSync(join(ws.dir, "provider-data"), { recursive: true });
        copyFileSync(packageFile("generator", "demo", "data", "hospital-stats", "patients.csv"), join(ws.dir, "provider-data", "patients.csv"));
        mkdirSync(join(ws.dir, "contracts", ID, "algorithm"), { recursive: true });
        copyFileSync(packageFile("contracts", "hospital-stats", "algorithm", "aggregate.py"), join(ws.dir, "contracts", ID, "algorithm", "aggregate.py"));
        fillContract(ws, now);
      },
      argv: ["contract", "hash", ID],
    },
    { title: "Every party signs the contract (EIP-712, verifiable in any Ethereum wallet)", argv: ["contract", "sign", ID, "--key", keys.provider] },
    { title: "", argv: ["contract", "sign", ID, "--key", keys.consumer] },
    { title: "", argv: ["contract", "sign", ID, "--key", keys.witness] },
    { title: "Anyone verifies the signatures", argv: ["contract", "verify", ID] },
    { title: "The data owner and the witness review and approve the exact algorithm", argv: ["approve", ID, "--key", keys.provider] },
    { title: "", argv: ["approve", ID, "--key", keys.witness] },
    { title: "The consumer requests a run with its parameters", argv: ["request", ID, "run-1", "--key", keys.consumer, "--param", "groupBy=region"] },
    { title: "The contract is now active", argv: ["contract", "status", ID] },
    { title: "The generator compiles the active contract into the instance's Kubernetes manifests", argv: ["compile"] },
    { title: "A second compile changes nothing: the output is deterministic", argv: ["compile", "--check"] },
    {
      title: "The whole chain is checked, ending with the OPS-C policies (wasm, in-process) and strict Kubernetes validation",
      argv: ["check", ID, "--svg-dir", join(ws.dir, "opsc")],
    },
    {
      title: "The pod runs on this machine: inputs re-hashed, no network, read-only data, outputs sealed for the consumer, pod deleted",
      argv: ["run", ID, "run-1", "--key", keys.provider],
    },
    { title: "The consumer fetches, checks and decrypts the outputs", argv: ["fetch", ID, "run-1", "--key", keys.consumer, "--out", delivered] },
    {
      title: "What left the hospital: aggregates only (groups under ten patients suppressed)",
      action: (print) => print(readFileSync(join(delivered, "outputs", "aggregates.csv"), "utf8")),
    },
    { title: "The consumer acknowledges delivery", argv: ["ack", ID, "run-1", "--key", keys.consumer] },
    { title: "Every run is delivered", argv: ["contract", "status", ID] },
    { title: "The next compile drops the instance folder, which is what deletes the pod in a cluster", argv: ["compile"] },
    { title: "Every fact is anchored on a local EVM chain (anvil) in one transaction", argv: ["anchor"] },
    { title: "Anyone holding the repository and the chain re-verifies the whole history", argv: ["audit", "verify", ID] },
    ...settlementSteps(ws),
    ...marketSteps(ws),
    {
      title: "Anyone renders the web view of every contract's life, evidence and OPS-C standing (a static site, re-verified against the chain)",
      argv: ["report", "--html", siteDir(ws), "--chain", "local"],
    },
  ];
}

function address(value: unknown): string {
  return (value as { address: string }).address;
}

/** Runs the demo; returns the exit code. `print` receives everything a user would see. */
export async function runDemo(dir: string, now: Date, cli: Cli, print: (text: string) => void): Promise<number> {
  const ws = prepareWorkspace(dir);
  await initRepository(dir);
  await commitAll(dir, "Workspace: the contract schema and the local cluster profile");
  print(`datomspod demo: workspace ${dir}\n`);
  let title = "";
  for (const step of demoSteps(ws, now)) {
    if (step.title) print(`\n# ${step.title}\n`);
    title = step.title || title;
    step.action?.(print);
    if (step.argv === undefined) {
      await commitAll(dir, title);
      continue;
    }
    const typed = `datomspod ${step.argv.map((a) => a.replace(`${dir}/`, "")).join(" ")}`;
    print(`$ ${typed}\n`);
    const result = await cli(step.json === undefined ? step.argv : [...step.argv, "--format", "json"]);
    if (step.json !== undefined && result.code === 0) {
      const text = step.json(JSON.parse(result.stdout));
      print(`${text}\n`);
    } else print(result.stdout);
    if (result.stderr) print(result.stderr);
    if (!(step.expect ?? [0]).includes(result.code)) {
      print(`\ndemo stopped: the step above exited ${result.code}\n`);
      return result.code;
    }
    await commitAll(dir, `${title}\n\n$ ${typed}\n`);
  }
  print(`\ndemo complete: the workspace ${dir} holds the repository it built (git log shows every step)\n`);
  print(`web view: ${join(siteDir(ws), "index.html")}\n`);
  return 0;
}
