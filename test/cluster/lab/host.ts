/**
 * What the lab changes on the machine outside its folder, and how it undoes it:
 *
 *   - the pods' bridge (dplab0 by default) with the node address, made before the kubelet starts;
 *   - a cgroup folder (/datomspod-lab) in every cgroup hierarchy, the kubelet's cgroupRoot;
 *   - kube-router's iptables chains (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*) and the jumps to
 *     them in the filter table's built-in chains, its ipsets (KUBE-SRC-*, KUBE-DST-*), and the
 *     kubelet's canary chains (KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT);
 *   - the kubelet's links in /var/log/containers that point into the lab;
 *   - processes of the lab's programs that name the lab folder on their command line (containerd's
 *     shims) or that sit in the lab's cgroups (the pods' processes), left over by a crashed run;
 *   - mounts under the lab folder (pod volumes, overlay roots, network namespaces: containerd keeps
 *     them under its state folder with netns_mounts_under_state_dir);
 *   - paths the kubelet and containerd hard-code: /var/lib/kubelet/device-plugins/kubelet.sock,
 *     /var/lib/cni/results/ (the lab network's and its sandboxes' loopback results), /run/containerd/s/ (shim sockets; emptied only when no
 *     containerd runs on the machine), each folder removed when it is left empty.
 *
 * Nothing else on the machine is touched: other engineers' podman pods (CNI bridge cni-podman0,
 * netns cni-*, CNI-* chains) live next to the lab.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { processStartTime, stopProcess } from "./daemons.js";
import { run, sleep } from "./exec.js";

export const CGROUP_ROOT = "/datomspod-lab";
const CGROUP_MOUNT = "/sys/fs/cgroup";

/** The cgroup hierarchies' mount points (cgroup v1 controllers, the named systemd one, unified). */
function cgroupHierarchies(): string[] {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n");
  const found = mounts
    .map((line) => line.split(" "))
    .filter((fields) => (fields[2] === "cgroup" || fields[2] === "cgroup2") && fields[1].startsWith(CGROUP_MOUNT))
    .map((fields) => fields[1]);
  return [...new Set(found)];
}

/**
 * Makes the kubelet's cgroupRoot in every hierarchy (the kubelet refuses a cgroupRoot that does not
 * exist); in the cpuset hierarchy it gets its parent's cpus and mems, without which no task may join.
 */
export function makeCgroupRoot(): void {
  for (const hierarchy of cgroupHierarchies()) {
    const dir = join(hierarchy, CGROUP_ROOT);
    if (!existsSync(dir)) mkdirSync(dir);
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (existsSync(join(dir, file)) && readFileSync(join(dir, file), "utf8").trim() === "")
        writeFileSync(join(dir, file), readFileSync(join(hierarchy, file), "utf8").trim());
    }
  }
}

/** Every cgroup folder under the lab's cgroupRoot, deepest first. */
function cgroupFolders(): string[] {
  const folders: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const entry of entries) walk(join(dir, entry));
    folders.push(dir);
  };
  for (const hierarchy of cgroupHierarchies()) {
    const root = join(hierarchy, CGROUP_ROOT);
    if (existsSync(root)) walk(root);
  }
  return folders;
}

/** Pids in the lab's cgroups. */
function cgroupPids(): number[] {
  const pids = new Set<number>();
  for (const folder of cgroupFolders()) {
    try {
      for (const line of readFileSync(join(folder, "cgroup.procs"), "utf8").split("\n")) if (line.trim() !== "") pids.add(Number(line));
    } catch {
      // gone meanwhile
    }
  }
  return [...pids];
}

/** Kills what is left in the lab's cgroups and removes them (deepest first). Returns what stayed. */
export async function removeCgroups(): Promise<string[]> {
  for (let round = 0; round < 3; round++) {
    const pids = cgroupPids();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await sleep(300);
  }
  const stayed: string[] = [];
  for (const folder of cgroupFolders()) {
    try {
      rmdirSync(folder);
    } catch {
      if (existsSync(folder)) stayed.push(folder);
    }
  }
  return stayed;
}

/**
 * Processes of the lab that no record names: their program is one of `programs` (by file name:
 * containerd's shims, or a daemon whose record was lost) and their command line names `labDir`.
 * Nothing else is touched (someone's `less <lab>/logs/kubelet.log` stays).
 */
export function labProcesses(labDir: string, programs: readonly string[]): { pid: number; startTime: string; command: string }[] {
  const mine = new Set<number>([process.pid, process.ppid]);
  const found: { pid: number; startTime: string; command: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (mine.has(pid)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const program = basename(argv[0] ?? "");
    const command = argv.join(" ").trim();
    if (!programs.includes(program) || !command.includes(labDir)) continue;
    const startTime = processStartTime(pid);
    if (startTime !== undefined) found.push({ pid, startTime, command });
  }
  return found;
}

/** Stops the lab's unrecorded processes (see labProcesses); resolves with what it stopped. */
export async function stopLabProcesses(labDir: string, programs: readonly string[]): Promise<string[]> {
  const found = labProcesses(labDir, programs);
  await Promise.all(found.map((p) => stopProcess(p, 3000)));
  return found.map((p) => `${p.pid} ${p.command.slice(0, 160)}`);
}

/** Unmounts everything mounted under `dir` (deepest first, lazily when busy). */
export async function unmountUnder(dir: string): Promise<number> {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const targets = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((target): target is string => target !== undefined && (target === dir || target.startsWith(prefix)))
    .map((target) => target.replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
  for (const target of [...new Set(targets)]) {
    const result = await run("umount", [target], { allowFailure: true, timeoutMs: 30_000 });
    if (result.code !== 0) await run("umount", ["--lazy", target], { allowFailure: true, timeoutMs: 30_000 });
  }
  return targets.length;
}

export interface BridgeSpec {
  readonly name: string;
  /** The node's address on the bridge, e.g. 10.213.0.1 */
  readonly address: string;
  /** e.g. 24 */
  readonly prefixLength: number;
}

/** Makes the bridge with the node address (so the kubelet's --node-ip exists before any pod). */
export async function makeBridge(bridge: BridgeSpec): Promise<void> {
  const exists = await run("ip", ["link", "show", "dev", bridge.name], { allowFailure: true });
  if (exists.code !== 0) await run("ip", ["link", "add", "name", bridge.name, "type", "bridge"]);
  const addresses = await run("ip", ["-o", "-4", "addr", "show", "dev", bridge.name]);
  if (!addresses.stdout.includes(` ${bridge.address}/`)) await run("ip", ["addr", "add", `${bridge.address}/${bridge.prefixLength}`, "dev", bridge.name]);
  await run("ip", ["link", "set", "dev", bridge.name, "up"]);
}

export async function removeBridge(name: string): Promise<void> {
  const exists = await run("ip", ["link", "show", "dev", name], { allowFailure: true });
  if (exists.code === 0) await run("ip", ["link", "delete", "dev", name], { allowFailure: true });
}

/** Routes that overlap `subnet` on another device than `bridge` (a clash the lab must not cause). */
export async function overlappingRoutes(subnet: string, bridge: string): Promise<string[]> {
  const routes = JSON.parse((await run("ip", ["-j", "-4", "route", "show", "table", "all"])).stdout) as { dst: string; dev?: string }[];
  const [base] = subnet.split("/");
  const prefix = base.split(".").slice(0, 3).join(".");
  return routes
    .filter((route) => route.dev !== bridge && route.dst !== "default" && route.dst.startsWith(`${prefix}.`))
    .map((route) => `${route.dst} dev ${route.dev ?? "?"}`);
}

const CHAIN_PREFIXES = ["KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-"];
/** The kubelet's own: canaries, a hint, and KUBE-FIREWALL (drops non-local packets to 127.0.0.0/8), jumped to from INPUT and OUTPUT. */
const CHAIN_NAMES = ["KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT", "KUBE-FIREWALL"];
const IPSET_PREFIXES = ["KUBE-SRC-", "KUBE-DST-", "inet6:KUBE-SRC-", "inet6:KUBE-DST-"];

function labChain(name: string): boolean {
  return CHAIN_NAMES.includes(name) || CHAIN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The lab's iptables chains and ipsets now on the machine (for `down` and for tests). */
export async function labFirewall(iptablesSave: string, ipset: string): Promise<{ chains: string[]; ipsets: string[] }> {
  const saved = (await run(iptablesSave, [], { allowFailure: true })).stdout;
  const chains: string[] = [];
  let table = "";
  for (const line of saved.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    const match = /^:(\S+) /.exec(line);
    if (match !== null && labChain(match[1])) chains.push(`${table}/${match[1]}`);
  }
  const sets = (await run(ipset, ["list", "-n"], { allowFailure: true })).stdout
    .split("\n")
    .filter((name) => IPSET_PREFIXES.some((prefix) => name.startsWith(prefix)));
  return { chains, ipsets: sets };
}

/**
 * Removes the lab's chains: first every rule elsewhere that jumps to one of them, then the chains
 * (flushed, deleted), then the ipsets. Other chains and rules stay as they are.
 */
export async function removeLabFirewall(iptables: string, iptablesSave: string, ipset: string): Promise<void> {
  const saved = (await run(iptablesSave, [], { allowFailure: true })).stdout;
  let table = "";
  const jumps: { table: string; rule: string[] }[] = [];
  const chains: { table: string; chain: string }[] = [];
  for (const line of saved.split("\n")) {
    if (line.startsWith("*")) {
      table = line.slice(1);
      continue;
    }
    const chain = /^:(\S+) /.exec(line)?.[1];
    if (chain !== undefined && labChain(chain)) chains.push({ table, chain });
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (rule !== null && !labChain(rule[1])) {
      const target = /(?:^| )-[jg] (\S+)/.exec(rule[2])?.[1];
      if (target !== undefined && labChain(target)) jumps.push({ table, rule: splitRule(`-D ${rule[1]} ${rule[2]}`) });
    }
  }
  for (const jump of jumps) await run(iptables, ["-w", "5", "-t", jump.table, ...jump.rule], { allowFailure: true });
  for (const { table: t, chain } of chains) await run(iptables, ["-w", "5", "-t", t, "-F", chain], { allowFailure: true });
  for (const { table: t, chain } of chains) await run(iptables, ["-w", "5", "-t", t, "-X", chain], { allowFailure: true });
  const { ipsets } = await labFirewall(iptablesSave, ipset);
  for (const set of ipsets) await run(ipset, ["destroy", set], { allowFailure: true });
}

/** Splits an iptables-save rule into arguments (double-quoted parts, e.g. comments, stay whole). */
export function splitRule(rule: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(rule); match !== null; match = pattern.exec(rule))
    args.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]);
  return args;
}

/** Removes the folder if it is empty (and then its parents up to `stop`, if they are empty too). */
function removeIfEmpty(dir: string, stop = "/"): void {
  for (let current = dir; current !== stop && current !== "/"; current = dirname(current)) {
    try {
      if (readdirSync(current).length > 0) return;
      rmdirSync(current);
    } catch {
      return;
    }
  }
}

/** Whether any containerd or containerd shim process runs on the machine (the lab's or anyone's). */
function containerdRunning(): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/^containerd(-shim.*)?$/.test(readFileSync(`/proc/${entry}/comm`, "utf8").trim())) return true;
    } catch {
      // gone
    }
  }
  return false;
}

/** The ids of the pod sandboxes the lab's containerd has made (its CRI plugin's folders). */
export function labSandboxes(labDir: string): string[] {
  const dir = join(labDir, "state", "containerd", "root", "io.containerd.grpc.v1.cri", "sandboxes");
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Removes what the kubelet and containerd write to paths they hard-code: the /var/log/containers
 * links into the lab, the CNI results of the lab's network, the kubelet's device-plugin socket,
 * and the shims' socket folder when no containerd runs any more.
 */
export function removeHardCodedPaths(labDir: string, cniNetwork: string): void {
  const logs = "/var/log/containers";
  if (existsSync(logs)) {
    for (const entry of readdirSync(logs)) {
      const path = join(logs, entry);
      try {
        if (readlinkSync(path).startsWith(`${labDir}/`)) rmSync(path, { force: true });
      } catch {
        // not a link
      }
    }
    removeIfEmpty(logs, "/var/log");
  }
  // <network>-<sandbox id>-<interface>: the lab's network, and containerd's loopback network of the lab's sandboxes
  const results = "/var/lib/cni/results";
  if (existsSync(results)) {
    const sandboxes = new Set(labSandboxes(labDir));
    for (const entry of readdirSync(results)) {
      const loopback = /^cni-loopback-([0-9a-f]{64})-lo$/.exec(entry)?.[1];
      if (entry.startsWith(`${cniNetwork}-`) || (loopback !== undefined && sandboxes.has(loopback))) rmSync(join(results, entry), { force: true });
    }
    removeIfEmpty(results, "/var/lib");
  }
  const devicePlugins = "/var/lib/kubelet/device-plugins";
  if (existsSync(devicePlugins)) {
    rmSync(join(devicePlugins, "kubelet.sock"), { force: true });
    removeIfEmpty(devicePlugins, "/var/lib");
  }
  if (existsSync("/run/containerd/s") && !containerdRunning()) {
    rmSync("/run/containerd/s", { recursive: true, force: true });
    removeIfEmpty("/run/containerd", "/run");
  }
}
