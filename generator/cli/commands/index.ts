import type { Command } from "../command.js";
import { algorithmApprove, algorithmList, algorithmNew, algorithmPublish, algorithmRevoke, algorithmShow, algorithmUse } from "./algorithm.js";
import { anchor, anchorAuthorise, anchorDeploy } from "./anchor.js";
import { auditVerify } from "./audit.js";
import { check } from "./check.js";
import { clusterDoctor } from "./cluster.js";
import { compile } from "./compile.js";
import { approve, contractFill, contractHash, contractNew, contractSign, contractStatus, contractTypedData, contractVerify } from "./contract.js";
import { ackDelivery, fetchOutputs, releaseOutputs } from "./delivery.js";
import { dataPlace } from "./data.js";
import { demo } from "./demo.js";
import { envBuild, envList, envLock, envNew, envShow } from "./env.js";
import { auditReviewsCommand, githubCodeowners, githubPrStatus, githubReceiveReceipt, githubRecordReviews } from "./github.js";
import { escrowDeploy, escrowDeposit, escrowRefund, escrowRelease, escrowStatus, escrowWithdraw } from "./escrow.js";
import { imagesBuild } from "./images.js";
import { keysNew, keysShow } from "./keys.js";
import { report, serve } from "./report.js";
import { request } from "./request.js";
import { roleDatomspaceIn, roleDatomspaceOut, roleOracle } from "./role.js";
import { operator } from "./operator.js";
import { run } from "./run.js";
import { settle } from "./settle.js";

/** Every command, in the order `datomspod --help` lists them: the pipeline's order; the in-pod roles last. */
export const COMMANDS: readonly Command[] = [
  keysNew,
  keysShow,
  contractNew,
  contractFill,
  contractHash,
  contractTypedData,
  contractSign,
  contractVerify,
  contractStatus,
  algorithmList,
  algorithmShow,
  algorithmNew,
  algorithmPublish,
  algorithmApprove,
  algorithmRevoke,
  algorithmUse,
  approve,
  request,
  compile,
  check,
  clusterDoctor,
  dataPlace,
  imagesBuild,
  envList,
  envShow,
  envNew,
  envLock,
  envBuild,
  run,
  operator,
  fetchOutputs,
  releaseOutputs,
  ackDelivery,
  anchor,
  anchorDeploy,
  anchorAuthorise,
  settle,
  escrowDeploy,
  escrowDeposit,
  escrowStatus,
  escrowRelease,
  escrowRefund,
  escrowWithdraw,
  auditVerify,
  auditReviewsCommand,
  githubPrStatus,
  githubRecordReviews,
  githubReceiveReceipt,
  githubCodeowners,
  report,
  serve,
  demo,
  roleDatomspaceIn,
  roleDatomspaceOut,
  roleOracle,
];
