/**
 * DDOs in Ocean Protocol's format, for /data/ddos/<did>: the current v4 shape (metadata, services)
 * plus the legacy `service[]` entry of type `metadata` whose `attributes.main.files` lists the files,
 * so algorithms written for either generation of Ocean read them unchanged.
 */

import type { ConsumerParameter, Contract, DataAsset } from "../contract/types.generated.js";

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

function partyName(contract: Contract, address: string): string {
  return contract.parties.find((p) => p.address.toLowerCase() === address.toLowerCase())?.name ?? address;
}

export function datasetDdo(contract: Contract, asset: DataAsset): object {
  const created = contract.business.validity.notBefore;
  const name = asset.files.map((f) => f.name).join(", ");
  const files = asset.files.map((file, index) => ({
    index,
    name: file.name,
    contentType: file.contentType ?? "application/octet-stream",
    contentLength: String(file.size),
    checksum: file.sha256,
    checksumType: "sha256",
  }));
  return {
    "@context": ["https://w3id.org/did/v1"],
    id: asset.did,
    version: "4.1.0",
    chainId: contract.chainId,
    nftAddress: ZERO_ADDRESS,
    metadata: {
      created,
      updated: created,
      type: "dataset",
      name,
      description: asset.description ?? name,
      author: partyName(contract, asset.owner),
      license: `datomspod contract ${contract.id}`,
    },
    services: [
      {
        id: asset.serviceId,
        type: "compute",
        files: "",
        datatokenAddress: ZERO_ADDRESS,
        serviceEndpoint: "",
        timeout: contract.inputs.compute.maxDurationSeconds,
        compute: { allowRawAlgorithm: false, allowNetworkAccess: false, publisherTrustedAlgorithms: [{ did: contract.inputs.algorithm.did }] },
      },
    ],
    service: [
      { type: "metadata", index: 0, attributes: { main: { type: "dataset", name, author: partyName(contract, asset.owner), dateCreated: created, files } } },
    ],
  };
}

/**
 * A consumer parameter as Ocean's DDO lists it (`metadata.algorithm.consumerParameters`): name,
 * type, label, required, description, default, and options for a select. The limits datomspod adds
 * (minimum, maximum, integer, maxLength, pattern) are enforced on the run request, not shown here.
 */
function oceanConsumerParameter(parameter: ConsumerParameter): object {
  return {
    name: parameter.name,
    type: parameter.type,
    label: parameter.label,
    required: parameter.required,
    description: parameter.description ?? parameter.label,
    default: parameter.default,
    options: parameter.options,
  };
}

export function algorithmDdo(contract: Contract): object {
  const algorithm = contract.inputs.algorithm;
  const created = contract.business.validity.notBefore;
  const name = algorithm.name ?? algorithm.did;
  const [runtime = ""] = algorithm.container.entrypoint.split(" ");
  const container = {
    entrypoint: algorithm.container.entrypoint,
    image: algorithm.container.image,
    tag: algorithm.container.tag,
    checksum: algorithm.container.digest,
  };
  return {
    "@context": ["https://w3id.org/did/v1"],
    id: algorithm.did,
    version: "4.1.0",
    chainId: contract.chainId,
    nftAddress: ZERO_ADDRESS,
    metadata: {
      created,
      updated: created,
      type: "algorithm",
      name,
      description: name,
      author: algorithm.provider === undefined ? "" : partyName(contract, algorithm.provider),
      license: `datomspod contract ${contract.id}`,
      algorithm: {
        language: runtime.replace(/[0-9.]+$/, ""),
        version: "1",
        container,
        consumerParameters: (algorithm.consumerParameters ?? []).map(oceanConsumerParameter),
      },
    },
    services: [],
    service: [
      {
        type: "metadata",
        index: 0,
        attributes: {
          main: {
            type: "algorithm",
            name,
            dateCreated: created,
            algorithm: { language: runtime.replace(/[0-9.]+$/, ""), format: "docker-image", version: "1", container },
            files: [{ index: 0, contentType: "text/plain", checksum: algorithm.code.sha256, checksumType: "sha256" }],
          },
        },
      },
    ],
  };
}
