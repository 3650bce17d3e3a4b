/**
 * The compiled escrow and local token (generator/escrow/escrow-artifact.json, written by
 * `npm run build:contracts` from Escrow.sol and LocalToken.sol with solc-js and committed), and
 * where they live on a chain: each is deployed through the deterministic CREATE2 deployer that
 * anvil and most public chains carry, with a zero salt, so its address is a function of its
 * bytecode alone. A contract that names the escrow's address names its exact code.
 * `.ci/checks/escrow-artifact` fails when the artifact drifts from the sources.
 */

import { Interface, ZeroHash, getCreate2Address, keccak256, type InterfaceAbi } from "ethers";
import artifact from "./escrow-artifact.json" with { type: "json" };

/** The deterministic CREATE2 deployer (Arachnid's), at the same address on anvil and most chains. */
export const CREATE2_DEPLOYER = "0x4e59b44847b379578588920cA78FbF26c0B4956C";
export const CREATE2_SALT = ZeroHash;

export interface CompiledContract {
  readonly abi: InterfaceAbi;
  readonly bytecode: string;
  readonly deployedBytecode: string;
  /** Its CREATE2 address through CREATE2_DEPLOYER with CREATE2_SALT. */
  readonly address: string;
}

function compiled(name: keyof typeof artifact.contracts): CompiledContract {
  const entry = artifact.contracts[name];
  return {
    abi: entry.abi,
    bytecode: entry.bytecode,
    deployedBytecode: entry.deployedBytecode,
    address: getCreate2Address(CREATE2_DEPLOYER, CREATE2_SALT, keccak256(entry.bytecode)),
  };
}

export const ESCROW = compiled("Escrow");
/** The worthless token of the local chain (anyone mints). */
export const LOCAL_TOKEN = compiled("LocalToken");
export const ESCROW_INTERFACE = new Interface(ESCROW.abi);
export const LOCAL_TOKEN_INTERFACE = new Interface(LOCAL_TOKEN.abi);
export const ESCROW_COMPILER: string = artifact.compiler.version;
export const ESCROW_LIBRARIES: Readonly<Record<string, string>> = artifact.libraries;

/** The local chain's token as a contract's currency names it (ad hoc mode only: it is worth nothing). */
export const LOCAL_CURRENCY = { symbol: "DLD", decimals: 6, token: LOCAL_TOKEN.address } as const;
