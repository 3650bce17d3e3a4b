/**
 * The real-cluster lab: `labUp` starts, in one folder of its own (default
 * <repo>/.datomspod/lab, env DATOMSPOD_LAB_DIR),
 *
 *   control-plane   etcd, kube-apiserver (127.0.0.1, --endpoint-reconciler-type=none),
 *                   kube-controller-manager, kube-scheduler, with a fresh PKI (openssl);
 *   node            containerd (own config, root, state and sockets in the folder), a kubelet with
 *                   a bridge CNI (dplab0, 10.213.0.0/24, no masquerade), the images it runs
 *                   (built with podman, imported by digest);
 *   network-policy  kube-router with only its NetworkPolicy controller (iptables + ipset);
 *   argocd          redis-server, Argo CD's repo server, application controller and applicationset
 *                   controller out of cluster (ARGOCD_FAKE_IN_CLUSTER=true, KUBECONFIG), its CRDs,
 *                   settings and `default` AppProject;
 *   kwok            kwok managing fake nodes (annotation kwok.x-k8s.io/node=fake) only;
 *
 * each on 127.0.0.1 and free ports, and `labDown` stops them all by pid and removes what they left
 * outside the folder (see host.ts). A piece whose programs are missing or that fails to start is
 * left out and named in `skipped` with the reason; the control plane is required. One lab per
 * machine (kube-router's chains and the kubelet's /var/log/containers are machine-wide): the
 * owner's folder is recorded in /run/datomspod-lab.json.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { daemonRecord, daemonRecords, isRunning, startDaemon, stopDaemon, type DaemonRecord } from "./daemons.js";
import { GiveUp, run, waitFor } from "./exec.js";
import {
  CGROUP_ROOT,
  makeBridge,
  makeCgroupRoot,
  overlappingRoutes,
  removeBridge,
  removeCgroups,
  removeHardCodedPaths,
  removeLabFirewall,
  stopLabProcesses,
  unmountUnder,
} from "./host.js";
import { buildLabImages, importImage, type LocalImage } from "./images.js";
import { Kube, conditionStatus, type KubeObject } from "./kube.js";
import { makePki, writeAdminKubeconfig, type Pki, type PkiOptions } from "./pki.js";
import { REPO_ROOT, labTools, missingTools, type LabTools, type Piece, type Versions } from "./tools.js";

export const PIECES: readonly Piece[] = ["control-plane", "node", "network-policy", "argocd", "kwok"];
export const NODE_NAME = "dplab-node";
export const BRIDGE = "dplab0";
export const POD_SUBNET = "10.213.0.0/24";
export const NODE_IP = "10.213.0.1";
export const SERVICE_SUBNET = "10.212.0.0/24";
export const SERVICE_IP = "10.212.0.1";
/** Where kwok's fake pods get their (unrouted) addresses. */
export const KWOK_CIDR = "10.214.0.1/16";
export const ARGOCD_NAMESPACE = "argocd";
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
const CNI_NETWORK = "dplab";
const OWNER_FILE = "/run/datomspod-lab.json";

export interface LabInfo {
  readonly dir: string;
  readonly versions: Versions;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly caCert: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** kubectl --kubeconfig … works with it. */
  readonly adminKubeconfig: string;
  readonly kubectl: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly bridge: string;
  readonly podSubnet: string;
  readonly serviceSubnet: string;
  /** The kubelet's podLogsDir: <ns>_<pod>_<uid>/<container>/<n>.log */
  readonly podLogsDir: string;
  readonly containerdSocket?: string;
  readonly images?: { readonly busybox: LocalImage; readonly pause: LocalImage };
  readonly argocd?: { readonly namespace: string; readonly repoServer: string };
  readonly running: readonly Piece[];
  /** Pieces not running, with the reason. */
  readonly skipped: Readonly<Partial<Record<Piece, string>>>;
  readonly ports: Readonly<Record<string, number>>;
  /** Milliseconds each step of `up` took. */
  readonly timingsMs: Readonly<Record<string, number>>;
}

export interface LabOptions {
  /** The lab folder (default: env DATOMSPOD_LAB_DIR, else <repo>/.datomspod/lab). */
  readonly dir?: string;
  /** The pieces to start (default: all); the control plane always runs. */
  readonly pieces?: readonly Piece[];
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export function defaultLabDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATOMSPOD_LAB_DIR ?? join(REPO_ROOT, ".datomspod", "lab"));
}

function infoFile(dir: string): string {
  return join(dir, "lab.json");
}

/** The running lab's description, or undefined when the folder has none. */
export function readLabInfo(dir: string = defaultLabDir()): LabInfo | undefined {
  try {
    return JSON.parse(readFileSync(infoFile(dir), "utf8")) as LabInfo;
  } catch {
    return undefined;
  }
}

/** An API client for the lab (admin). */
export function labKube(info: LabInfo): Kube {
  return new Kube({ server: info.server, caCert: info.caCert, clientCert: info.adminCert, clientKey: info.adminKey });
}

// --- the machine-wide owner record ---------------------------------------------------------

interface Owner {
  readonly dir: string;
  readonly since: string;
}

function anyDaemonRunning(dir: string): boolean {
  return daemonRecords(dir).some((record) => isRunning(record));
}

/** Records `dir` as the machine's lab; throws when another folder's lab is still up. */
function takeMachine(dir: string): void {
  if (existsSync(OWNER_FILE)) {
    let owner: Owner | undefined;
    try {
      owner = JSON.parse(readFileSync(OWNER_FILE, "utf8")) as Owner;
    } catch {
      owner = undefined;
    }
    if (owner !== undefined && owner.dir !== dir && anyDaemonRunning(owner.dir))
      throw new Error(
        `another lab is up on this machine (${owner.dir}, since ${owner.since}); one lab per machine: stop it with \`npm run lab -- down --dir ${owner.dir}\``,
      );
  }
  writeFileSync(OWNER_FILE, `${JSON.stringify({ dir, since: new Date().toISOString() } satisfies Owner)}\n`);
}

function releaseMachine(dir: string): void {
  try {
    const owner = JSON.parse(readFileSync(OWNER_FILE, "utf8")) as Owner;
    if (owner.dir === dir) rmSync(OWNER_FILE, { force: true });
  } catch {
    // no record
  }
}

// --- small helpers ------------------------------------------------------------------------

/** A port nobody listens on at 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether something accepts TCP connections at 127.0.0.1:port. */
export function tcpOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return answer.ok;
  } catch {
    return false;
  }
}

/**
 * Waits for `check`, failing early (with the end of its log) when the daemon exits. The time
 * limits are generous: on a shared 2-core machine under load a start can take minutes; normally
 * seconds.
 */
async function waitDaemon(record: DaemonRecord, what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  await waitFor(`${what} (${record.name}, log ${record.log})`, timeoutMs, async () => {
    if (!isRunning(record)) {
      const log = existsSync(record.log) ? readFileSync(record.log, "utf8").trim().split("\n").slice(-20).join("\n") : "";
      throw new GiveUp(`${record.name} exited while starting; end of ${record.log}:\n${log}`);
    }
    return (await check()) ? true : undefined;
  });
}

// --- up -----------------------------------------------------------------------------------

interface Context {
  readonly dir: string;
  readonly state: string;
  readonly tools: LabTools;
  readonly ports: Record<string, number>;
  readonly timings: Record<string, number>;
  readonly log: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  pki?: Pki;
  pkiOptions?: PkiOptions;
  kube?: Kube;
}

/** Starts a daemon of the lab; HOME is a folder of the lab's (so nothing writes to root's home). */
function start(ctx: Context, name: string, file: string, args: readonly string[], env?: NodeJS.ProcessEnv): DaemonRecord {
  const home = join(ctx.state, "home");
  mkdirSync(home, { recursive: true });
  return startDaemon(ctx.dir, name, file, args, { env: { ...(env ?? ctx.env), HOME: env?.HOME ?? home } });
}

async function timed<T>(ctx: Context, step: string, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await body();
  } finally {
    ctx.timings[step] = Date.now() - start;
    ctx.log(`lab: ${step} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}

async function ports(names: readonly string[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  const taken = new Set<number>();
  for (const name of names) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    result[name] = port;
  }
  return result;
}

/** Starts etcd, the API server (then calls `apiserverReady`), the controller manager and the scheduler. */
async function startControlPlane(ctx: Context, apiserverReady: () => void): Promise<void> {
  const { dir, state, tools, ports: p } = ctx;
  const server = `https://127.0.0.1:${p.apiserver}`;
  ctx.pkiOptions = { dir: join(dir, "pki"), openssl: tools.openssl, apiserverUrl: server, serviceIp: SERVICE_IP, nodeName: NODE_NAME };
  const pki = await timed(ctx, "pki", () => makePki(ctx.pkiOptions!));
  ctx.pki = pki;
  await timed(ctx, "etcd", async () => {
    const etcd = start(ctx, "etcd", tools.etcd, [
      "--name=dplab",
      `--data-dir=${join(state, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${p.etcd}`,
      `--advertise-client-urls=http://127.0.0.1:${p.etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
      `--initial-cluster=dplab=http://127.0.0.1:${p.etcdPeer}`,
      // a throw-away store: no fsync (much faster on a shared disk)
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitDaemon(etcd, "etcd /health", 60_000, () => httpOk(`http://127.0.0.1:${p.etcd}/health`));
  });
  const kube = new Kube({ server, caCert: pki.caCert, clientCert: join(pki.dir, "admin.crt"), clientKey: join(pki.dir, "admin.key") });
  ctx.kube = kube;
  await timed(ctx, "kube-apiserver", async () => {
    const apiserver = start(ctx, "kube-apiserver", tools.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${p.etcd}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${p.apiserver}`,
      "--advertise-address=127.0.0.1",
      "--endpoint-reconciler-type=none",
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      "--authorization-mode=Node,RBAC",
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      "--profiling=false",
      "--event-ttl=30m",
      "--v=0",
    ]);
    await waitDaemon(apiserver, "kube-apiserver /readyz", 180_000, async () => (await kube.request<string>("GET", "/readyz").catch(() => "")) === "ok");
  });
  apiserverReady();
  await timed(ctx, "controller-manager+scheduler", async () => {
    const kcm = start(ctx, "kube-controller-manager", tools.kubeControllerManager, [
      `--kubeconfig=${pki.kubeconfigs["controller-manager"]}`,
      `--authentication-kubeconfig=${pki.kubeconfigs["controller-manager"]}`,
      `--authorization-kubeconfig=${pki.kubeconfigs["controller-manager"]}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${p.controllerManager}`,
      "--leader-elect=false",
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      "--use-service-account-credentials=true",
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      "--profiling=false",
    ]);
    const scheduler = start(ctx, "kube-scheduler", tools.kubeScheduler, [
      `--kubeconfig=${pki.kubeconfigs.scheduler}`,
      `--authentication-kubeconfig=${pki.kubeconfigs.scheduler}`,
      `--authorization-kubeconfig=${pki.kubeconfigs.scheduler}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${p.scheduler}`,
      "--leader-elect=false",
      "--profiling=false",
    ]);
    await waitDaemon(
      kcm,
      "the default ServiceAccount (made by kube-controller-manager)",
      120_000,
      async () => (await kube.find("/api/v1/namespaces/default/serviceaccounts/default")) !== undefined,
    );
    await waitDaemon(scheduler, "kube-scheduler /healthz", 60_000, async () => tcpOpen(p.scheduler));
  });
}

function containerdConfig(state: string, pauseImage: string): string {
  const c = join(state, "containerd");
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    "version = 2",
    `root = "${c}/root"`,
    `state = "${c}/state"`,
    // Plugins this lab does not use (io.containerd.runtime.v1.linux must stay: containerd 1.6's task service needs it).
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]',
    "[grpc]",
    `  address = "${c}/containerd.sock"`,
    "[ttrpc]",
    `  address = "${c}/containerd.sock.ttrpc"`,
    "[debug]",
    '  address = ""',
    "[metrics]",
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${c}/opt"`,
    `[${cri}]`,
    `  sandbox_image = "${pauseImage}"`,
    // The machine lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID from pipe").
    "  restrict_oom_score_adj = true",
    // Pods' network namespaces under the state folder, not /run/netns (where podman's live too).
    "  netns_mounts_under_state_dir = true",
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    "  enable_selinux = false",
    `  [${cri}.containerd]`,
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    `    [${cri}.containerd.runtimes.runc]`,
    '      runtime_type = "io.containerd.runc.v2"',
    `      [${cri}.containerd.runtimes.runc.options]`,
    "        SystemdCgroup = false",
    '        BinaryName = "/usr/sbin/runc"',
    `        Root = "${c}/runc"`,
    `  [${cri}.cni]`,
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = "${state}/cni/net.d"`,
    "    max_conf_num = 1",
    "",
  ].join("\n");
}

function cniConfig(state: string): string {
  const [, prefix] = POD_SUBNET.split("/");
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          // pod traffic stays on the lab's bridge: no NAT to the outside
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]], dataDir: join(state, "cni", "ipam") },
        },
      ],
      _comment: `node address ${NODE_IP}/${prefix}`,
    },
    null,
    2,
  );
}

function kubeletConfig(ctx: Context, podLogsDir: string): string {
  return JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      cgroupRoot: CGROUP_ROOT,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${join(ctx.state, "containerd", "containerd.sock")}`,
      address: "127.0.0.1",
      port: ctx.ports.kubelet,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: ctx.ports.kubeletHealthz,
      podLogsDir,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: ctx.pki!.caCert } },
      authorization: { mode: "Webhook" },
      clusterDomain: "cluster.local",
      resolvConf: "/etc/resolv.conf",
      serializeImagePulls: false,
      // never delete the lab's imported images (there is no registry to pull them back from)
      imageGCHighThresholdPercent: 100,
      evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
      maxPods: 110,
      shutdownGracePeriod: "0s",
    },
    null,
    2,
  );
}

async function ctr(ctx: Context, args: readonly string[]): Promise<string> {
  return (await run(ctx.tools.ctr, ["--address", join(ctx.state, "containerd", "containerd.sock"), ...args], { timeoutMs: 60_000 })).stdout;
}

async function startNode(ctx: Context, images: Promise<{ busybox: LocalImage; pause: LocalImage }>): Promise<void> {
  const { state, tools } = ctx;
  const clash = await overlappingRoutes(POD_SUBNET, BRIDGE);
  if (clash.length > 0) throw new Error(`routes of this machine overlap the lab's pod subnet ${POD_SUBNET}: ${clash.join("; ")}`);
  await timed(ctx, "bridge+cgroups", async () => {
    await makeBridge({ name: BRIDGE, address: NODE_IP, prefixLength: Number(POD_SUBNET.split("/")[1]) });
    makeCgroupRoot();
  });
  const built = await timed(ctx, "images (podman build)", () => images);
  mkdirSync(join(state, "containerd"), { recursive: true });
  mkdirSync(join(state, "cni", "net.d"), { recursive: true });
  writeFileSync(join(state, "cni", "net.d", "10-dplab.conflist"), cniConfig(state));
  writeFileSync(join(state, "containerd", "config.toml"), containerdConfig(state, built.pause.pinned));
  await timed(ctx, "containerd", async () => {
    const containerd = start(ctx, "containerd", tools.containerd, ["--config", join(state, "containerd", "config.toml")]);
    await waitDaemon(containerd, "containerd", 120_000, async () => {
      try {
        await ctr(ctx, ["version"]);
        return true;
      } catch {
        return false;
      }
    });
  });
  await timed(ctx, "images (import by digest)", async () => {
    const access = { ctr: tools.ctr, address: join(state, "containerd", "containerd.sock"), skopeo: tools.skopeo };
    await importImage(access, built.pause, join(state, "images"));
    await importImage(access, built.busybox, join(state, "images"));
  });
  const podLogsDir = join(state, "pod-logs");
  mkdirSync(podLogsDir, { recursive: true });
  mkdirSync(join(state, "kubelet"), { recursive: true });
  writeFileSync(join(state, "kubelet", "config.json"), kubeletConfig(ctx, podLogsDir));
  await timed(ctx, "kubelet (node Ready)", async () => {
    const kubelet = start(ctx, "kubelet", tools.kubelet, [
      `--config=${join(state, "kubelet", "config.json")}`,
      `--kubeconfig=${ctx.pki!.kubeconfigs.node}`,
      `--root-dir=${join(state, "kubelet", "root")}`,
      `--cert-dir=${join(state, "kubelet", "pki")}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      "--v=1",
    ]);
    await waitDaemon(
      kubelet,
      `node ${NODE_NAME} Ready`,
      180_000,
      async () => conditionStatus(await ctx.kube!.find(`/api/v1/nodes/${NODE_NAME}`), "Ready") === "True",
    );
  });
}

async function startNetworkPolicy(ctx: Context): Promise<void> {
  const { tools } = ctx;
  await timed(ctx, "kube-router (network policy)", async () => {
    const router = start(ctx, "kube-router", tools.kubeRouter, [
      `--kubeconfig=${ctx.pki!.kubeconfigs.admin}`,
      `--hostname-override=${NODE_NAME}`,
      "--run-firewall=true",
      "--run-router=false",
      "--run-service-proxy=false",
      "--enable-ipv4=true",
      "--enable-ipv6=false",
      "--enable-cni=false",
      // 0 = no health and no metrics listener (the health one would listen on every address)
      "--health-port=0",
      "--metrics-port=0",
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      "--iptables-sync-period=1m",
      "--v=1",
    ]);
    await waitDaemon(router, "kube-router's KUBE-ROUTER-FORWARD chain", 120_000, async () => {
      const result = await run(tools.iptables, ["-w", "5", "-t", "filter", "-S", "KUBE-ROUTER-FORWARD"], { allowFailure: true });
      return result.code === 0;
    });
  });
}

/**
 * Creates Argo CD's CRDs; started as soon as the API server is up, so that the seconds it takes
 * the API server to establish the ApplicationSet CRD (1.5 MB of schema; 3 to 20 s here) pass
 * while the node starts. Created, not server-side applied: a fresh store, and applying would
 * compute managed fields over that schema too.
 */
async function createArgoCdCrds(ctx: Context): Promise<void> {
  const crds = ctx.tools.argocdCrds.flatMap((file) => parseAllDocuments(readFileSync(file, "utf8")).map((doc) => doc.toJS() as KubeObject | null));
  await Promise.all(crds.filter((crd) => crd !== null).map((crd) => ctx.kube!.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)));
}

async function startArgoCd(ctx: Context, crdsCreated: Promise<void>): Promise<void> {
  const { state, tools, ports: p } = ctx;
  const kube = ctx.kube!;
  await timed(ctx, "redis", async () => {
    mkdirSync(join(state, "redis"), { recursive: true });
    const redis = start(ctx, "redis", tools.redisServer, [
      "--bind",
      "127.0.0.1",
      "--port",
      String(p.redis),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      join(state, "redis"),
      "--protected-mode",
      "yes",
    ]);
    await waitDaemon(redis, "redis", 60_000, () => tcpOpen(p.redis));
  });
  await timed(ctx, "argocd CRDs+settings", async () => {
    await crdsCreated;
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ARGOCD_NAMESPACE } });
    // Argo CD reads its settings only from objects labelled part-of=argocd.
    const labels = { "app.kubernetes.io/part-of": "argocd" };
    for (const name of ["argocd-cm", "argocd-rbac-cm", "argocd-cmd-params-cm", "argocd-gpg-keys-cm", "argocd-ssh-known-hosts-cm", "argocd-tls-certs-cm"])
      await kube.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: ARGOCD_NAMESPACE, labels: { ...labels, "app.kubernetes.io/name": name } },
      });
    await kube.apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "argocd-secret", namespace: ARGOCD_NAMESPACE, labels: { ...labels, "app.kubernetes.io/name": "argocd-secret" } },
      type: "Opaque",
    });
    for (const crd of ["applications", "applicationsets", "appprojects"]) {
      await waitFor(`CRD ${crd}.argoproj.io Established`, 180_000, async () =>
        conditionStatus(await kube.find(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.argoproj.io`), "Established") === "True"
          ? true
          : undefined,
      );
    }
    await kube.apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: "default", namespace: ARGOCD_NAMESPACE },
      spec: { sourceRepos: ["*"], destinations: [{ namespace: "*", server: "*" }], clusterResourceWhitelist: [{ group: "*", kind: "*" }] },
    });
  });
  const home = join(state, "argocd");
  for (const sub of ["tls", "ssh", "gpg/keys", "gpg/source", "cmp", "tmp", "home"]) mkdirSync(join(home, sub), { recursive: true });
  const kubeconfig = join(home, "kubeconfig");
  writeAdminKubeconfig(ctx.pkiOptions!, kubeconfig, ARGOCD_NAMESPACE);
  const env: NodeJS.ProcessEnv = {
    // git-verify-wrapper.sh must be on PATH (else manifest generation fails with "permission denied")
    PATH: `${tools.argocdBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: join(home, "home"),
    KUBECONFIG: kubeconfig,
    ARGOCD_FAKE_IN_CLUSTER: "true",
    ARGOCD_TLS_DATA_PATH: join(home, "tls"),
    ARGOCD_SSH_DATA_PATH: join(home, "ssh"),
    ARGOCD_GNUPGHOME: join(home, "gpg", "keys"),
    ARGOCD_GPG_DATA_PATH: join(home, "gpg", "source"),
    ARGOCD_GPG_ENABLED: "false",
    ARGOCD_PLUGINSOCKFILEPATH: join(home, "cmp"),
    TMPDIR: join(home, "tmp"),
    GIT_CONFIG_NOSYSTEM: "1",
  };
  const repoServer = `127.0.0.1:${p.repoServer}`;
  await timed(ctx, "argocd controllers", async () => {
    const repo = start(
      ctx,
      "argocd-repo-server",
      join(tools.argocdBin, "argocd-repo-server"),
      [
        "--address=127.0.0.1",
        `--port=${p.repoServer}`,
        "--metrics-address=127.0.0.1",
        `--metrics-port=${p.repoServerMetrics}`,
        "--disable-tls",
        // no mTLS client CA (default is a path inside Argo CD's container image)
        "--client-ca-path=",
        `--redis=127.0.0.1:${p.redis}`,
        // resolved revisions cached 10 s (default 3 min); refreshes bypass it anyway
        "--revision-cache-expiration=10s",
        "--loglevel=info",
      ],
      env,
    );
    const controller = start(
      ctx,
      "argocd-application-controller",
      join(tools.argocdBin, "argocd-application-controller"),
      [
        `--redis=127.0.0.1:${p.redis}`,
        `--repo-server=${repoServer}`,
        "--repo-server-plaintext",
        // (Argo CD v3.6.1 binds this one to 0.0.0.0, hard-coded: controller/appcontroller.go)
        `--metrics-port=${p.controllerMetrics}`,
        // every Application compared again every 10 min: what the lab tests and benches wait for is refreshed
        // by annotation (as a webhook would); at 60 s, 1,000 Applications would mean 17 full compares a second,
        // most of the 2 cores (about 0.1 CPU-s each: 70 CPU-s for 724 compares and 50 syncs at N=50)
        "--app-resync=600",
        // Argo CD's own numbers for 1,000 Applications (its high-availability guide; defaults 20 and 10).
        // They are goroutines that mostly wait on the API server and the repo server: with 4 each, 1,000
        // Applications queued behind 4 compares and 4 syncs at a time (bench/cluster-scale.mjs, docs/cluster-lab.md).
        "--status-processors=50",
        "--operation-processors=25",
        "--loglevel=info",
      ],
      env,
    );
    const appset = start(
      ctx,
      "argocd-applicationset-controller",
      join(tools.argocdBin, "argocd-applicationset-controller"),
      [
        `--argocd-repo-server=${repoServer}`,
        "--repo-server-plaintext",
        `--metrics-addr=127.0.0.1:${p.appsetMetrics}`,
        `--probe-addr=127.0.0.1:${p.appsetProbe}`,
        `--webhook-addr=127.0.0.1:${p.appsetWebhook}`,
        "--enable-scm-providers=false",
        "--loglevel=info",
      ],
      env,
    );
    await waitDaemon(repo, "argocd-repo-server", 180_000, () => tcpOpen(p.repoServer));
    await waitDaemon(controller, "argocd-application-controller /healthz", 180_000, () => httpOk(`http://127.0.0.1:${p.controllerMetrics}/healthz`));
    // (its probe server registers no checks: /healthz and /readyz answer 404) its metrics answer, its workers run
    await waitDaemon(
      appset,
      "argocd-applicationset-controller's workers",
      180_000,
      async () => (await httpOk(`http://127.0.0.1:${p.appsetMetrics}/metrics`)) && readFileSync(appset.log, "utf8").includes('"msg":"Starting workers"'),
    );
  });
}

async function startKwok(ctx: Context): Promise<void> {
  const { tools, ports: p } = ctx;
  await timed(ctx, "kwok", async () => {
    const kwok = start(ctx, "kwok", tools.kwok, [
      `--kubeconfig=${ctx.pki!.kubeconfigs.admin}`,
      `--config=${tools.kwokStages}`,
      "--manage-all-nodes=false",
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--cidr=${KWOK_CIDR}`,
      `--node-ip=${KWOK_CIDR.split("/")[0]}`,
      "--node-lease-duration-seconds=40",
      `--server-address=127.0.0.1:${p.kwok}`,
    ]);
    await waitDaemon(kwok, "kwok /healthz", 120_000, () => httpOk(`http://127.0.0.1:${p.kwok}/healthz`));
  });
}

/** Stops the named daemons of a piece that failed to start (so the rest of the lab stays clean). */
async function stopPiece(dir: string, names: readonly string[]): Promise<void> {
  for (const name of names) await stopDaemon(dir, name, 5000);
}

const PIECE_DAEMONS: Readonly<Record<Piece, readonly string[]>> = {
  "control-plane": ["kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"],
  node: ["kubelet", "containerd"],
  "network-policy": ["kube-router"],
  argocd: ["argocd-applicationset-controller", "argocd-application-controller", "argocd-repo-server", "redis"],
  kwok: ["kwok"],
};

/** Starts the lab (after cleaning what a previous run in the same folder left). */
export async function labUp(options: LabOptions = {}): Promise<LabInfo> {
  const started = Date.now();
  const dir = resolve(options.dir ?? defaultLabDir(options.env));
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const wanted = new Set<Piece>(["control-plane", ...(options.pieces ?? PIECES)]);
  if (process.getuid?.() !== 0) throw new Error("the lab runs as root (kubelet, containerd, iptables, cgroups)");
  const tools = labTools(env);
  const skipped: Partial<Record<Piece, string>> = {};
  for (const piece of PIECES) {
    if (!wanted.has(piece)) skipped[piece] = "not requested";
    else {
      const missing = missingTools(tools, piece);
      if (missing !== undefined) skipped[piece] = missing;
    }
  }
  if (skipped["control-plane"] !== undefined) throw new Error(`the lab's control plane cannot run: ${skipped["control-plane"]}`);
  if (skipped.node !== undefined && skipped["network-policy"] === undefined) skipped["network-policy"] = `needs the node (${skipped.node})`;

  takeMachine(dir);
  await labDown({ dir, log, keepOwner: true });
  // the previous run's logs stay one more run, in logs.previous/
  if (existsSync(join(dir, "logs"))) {
    rmSync(join(dir, "logs.previous"), { recursive: true, force: true });
    renameSync(join(dir, "logs"), join(dir, "logs.previous"));
  }
  const state = join(dir, "state");
  mkdirSync(state, { recursive: true });
  const ctx: Context = {
    dir,
    state,
    tools,
    log,
    env,
    timings: {},
    ports: await ports([
      "etcd",
      "etcdPeer",
      "apiserver",
      "controllerManager",
      "scheduler",
      "kubelet",
      "kubeletHealthz",
      "redis",
      "repoServer",
      "repoServerMetrics",
      "controllerMetrics",
      "appsetMetrics",
      "appsetProbe",
      "appsetWebhook",
      "kwok",
    ]),
  };
  const running: Piece[] = [];
  let images: { busybox: LocalImage; pause: LocalImage } | undefined;
  try {
    // podman builds while the control plane starts
    const imagesBuilt = skipped.node === undefined ? buildLabImages(tools.podman) : undefined;
    imagesBuilt?.catch(() => undefined);
    let argoCrds: Promise<void> | undefined;
    await startControlPlane(ctx, () => {
      if (skipped.argocd !== undefined) return;
      argoCrds = createArgoCdCrds(ctx);
      argoCrds.catch(() => undefined);
    });
    running.push("control-plane");

    const optional = async (piece: Piece, start: () => Promise<void>): Promise<void> => {
      if (skipped[piece] !== undefined) return;
      try {
        await start();
        running.push(piece);
      } catch (error) {
        skipped[piece] = `failed to start: ${(error as Error).message}`;
        log(`lab: ${piece} left out: ${skipped[piece]}`);
        await stopPiece(dir, PIECE_DAEMONS[piece]);
      }
    };
    await optional("node", async () => {
      await startNode(ctx, imagesBuilt!);
      images = await imagesBuilt!;
    });
    if (skipped.node !== undefined && skipped["network-policy"] === undefined) skipped["network-policy"] = `needs the node (${skipped.node})`;
    await optional("network-policy", () => startNetworkPolicy(ctx));
    await optional("argocd", () => startArgoCd(ctx, argoCrds!));
    await optional("kwok", () => startKwok(ctx));
  } catch (error) {
    ctx.kube?.close();
    log(`lab: up failed: ${(error as Error).message}`);
    await labDown({ dir, log, keepLogs: true });
    throw error;
  }
  ctx.kube?.close();
  ctx.timings.total = Date.now() - started;
  const pki = ctx.pki!;
  const info: LabInfo = {
    dir,
    versions: tools.versions,
    server: `https://127.0.0.1:${ctx.ports.apiserver}`,
    caCert: pki.caCert,
    adminCert: join(pki.dir, "admin.crt"),
    adminKey: join(pki.dir, "admin.key"),
    adminKubeconfig: pki.kubeconfigs.admin,
    kubectl: tools.kubectl,
    nodeName: NODE_NAME,
    nodeIp: NODE_IP,
    bridge: BRIDGE,
    podSubnet: POD_SUBNET,
    serviceSubnet: SERVICE_SUBNET,
    podLogsDir: join(state, "pod-logs"),
    ...(running.includes("node") ? { containerdSocket: join(state, "containerd", "containerd.sock"), images } : {}),
    ...(running.includes("argocd") ? { argocd: { namespace: ARGOCD_NAMESPACE, repoServer: `127.0.0.1:${ctx.ports.repoServer}` } } : {}),
    running,
    skipped,
    ports: ctx.ports,
    timingsMs: ctx.timings,
  };
  writeFileSync(infoFile(dir), `${JSON.stringify(info, null, 2)}\n`);
  log(
    `lab: up in ${(ctx.timings.total / 1000).toFixed(1)} s (${running.join(", ")})${Object.keys(skipped).length > 0 ? `; not running: ${JSON.stringify(skipped)}` : ""}`,
  );
  return info;
}

// --- down ---------------------------------------------------------------------------------

export interface DownOptions {
  readonly dir?: string;
  readonly log?: (line: string) => void;
  /** Keep <dir>/logs (default true). */
  readonly keepLogs?: boolean;
  /** Keep the machine-wide owner record (used by `up`, which cleans before it starts). */
  readonly keepOwner?: boolean;
}

export interface DownReport {
  readonly stopped: readonly string[];
  /** Processes stopped because their command line named the lab folder (containerd shims, …). */
  readonly strays: readonly string[];
  readonly unmounted: number;
  readonly cgroupsLeft: readonly string[];
  readonly ms: number;
}

/** Daemons in the order `down` stops them: what would re-create pods first, the store last. */
const STOP_ORDER = [
  "kwok",
  "argocd-applicationset-controller",
  "argocd-application-controller",
  "argocd-repo-server",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-router",
  "containerd",
  "kube-apiserver",
  "etcd",
  "redis",
];

/**
 * Stops the lab in `dir` by pid and removes what it left on the machine (also after a crash:
 * everything is found from the folder's records, the lab's names and its cgroups). Safe to run
 * when nothing is up.
 */
export async function labDown(options: DownOptions = {}): Promise<DownReport> {
  const started = Date.now();
  const dir = resolve(options.dir ?? defaultLabDir());
  const log = options.log ?? (() => undefined);
  const stopped: string[] = [];
  const records = daemonRecords(dir);
  const order = [...STOP_ORDER, ...records.map((r) => r.name).filter((name) => !STOP_ORDER.includes(name))];
  for (const name of order) {
    const record = daemonRecord(dir, name);
    if (record === undefined) continue;
    if (isRunning(record)) stopped.push(name);
    await stopDaemon(dir, name, name === "kubelet" || name === "containerd" ? 15_000 : 10_000);
  }
  // What the lab's processes left: shims, pod processes, mounts, the bridge, chains, files.
  const strays = await stopLabProcesses(dir, ["containerd-shim-runc-v2", "containerd-shim", "redis-server", ...order]);
  const cgroupsLeft = await removeCgroups();
  const unmounted = await unmountUnder(dir);
  await removeBridge(BRIDGE);
  const tools = labTools();
  await removeLabFirewall(tools.iptables, tools.iptablesSave, tools.ipset).catch((error: Error) => log(`lab: firewall cleanup: ${error.message}`));
  removeHardCodedPaths(dir, CNI_NETWORK);
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    if ((entry === "logs" || entry === "logs.previous") && options.keepLogs !== false) continue;
    rmSync(join(dir, entry), { recursive: true, force: true });
  }
  if (options.keepOwner !== true) releaseMachine(dir);
  const report = { stopped, strays, unmounted, cgroupsLeft, ms: Date.now() - started };
  if (stopped.length + strays.length + unmounted > 0 || cgroupsLeft.length > 0)
    log(
      `lab: down in ${(report.ms / 1000).toFixed(1)} s: stopped ${stopped.join(", ") || "nothing"}${strays.length > 0 ? `; ${strays.length} stray process(es)` : ""}; ${unmounted} mount(s)${cgroupsLeft.length > 0 ? `; cgroups left: ${cgroupsLeft.join(", ")}` : ""}`,
    );
  return report;
}
