/**
 * The compiled anchor contract (generator/anchor/anchor-artifact.json, written by
 * `npm run build:contracts` from Anchor.sol with solc-js and committed), so nothing at run time
 * needs a Solidity compiler. `.ci/checks/anchor-artifact` fails when it drifts from the source.
 */

import type { InterfaceAbi } from "ethers";
import artifact from "./anchor-artifact.json" with { type: "json" };

export const ANCHOR_ABI = artifact.abi as InterfaceAbi;
export const ANCHOR_BYTECODE: string = artifact.bytecode;
export const ANCHOR_DEPLOYED_BYTECODE: string = artifact.deployedBytecode;
export const ANCHOR_COMPILER: string = artifact.compiler.version;
