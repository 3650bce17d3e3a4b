// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title datomspod evidence anchor
/// @author datomspod
/// @notice Records the Merkle roots of datomspod evidence batches, so that anyone holding a
/// datomspod repository and this chain can check that every evidence item existed, unchanged, when
/// it was anchored. The roots of one data usage contract form a chain: each names the root before
/// it, and a root is accepted only on top of the contract's current head, so a later batch can never
/// replace or reorder an earlier one. Nothing is ever removed or changed: not by an anchorer, not by
/// the owner. Only anchorers authorised by the owner may write.
/// @dev A root is the RFC 6962 (SHA-256) Merkle tree head over a batch of evidence items of one
/// data usage contract. The contract never sees the items themselves. Walking back from
/// `headOf(contractIdHash)` through `anchorOf(root).previousRoot` to zero lists every root of a
/// contract, newest first, without reading events.
contract Anchor {
    /// @notice What is known about an anchored root. Three slots: `contractIdHash`,
    /// `previousRoot`, and the rest packed into one.
    /// @param contractIdHash keccak256 of the UTF-8 contract id (the EIP-712 salt of the contract).
    /// @param previousRoot The contract's head when this root was anchored (zero for its first root).
    /// @param kind The lifecycle stage the batch evidences: 1 agreement, 2 instance, 3 run,
    /// 4 deletion, 5 settlement.
    /// @param batchSize Number of evidence items (leaves) under the root.
    /// @param blockNumber Block in which the root was anchored; 0 means "not anchored".
    /// @param anchorer The authorised account that anchored the root.
    struct Record {
        bytes32 contractIdHash;
        bytes32 previousRoot;
        uint8 kind;
        uint32 batchSize;
        uint48 blockNumber;
        address anchorer;
    }

    /// @notice The highest valid batch kind.
    uint8 public constant MAX_KIND = 5;

    /// @notice The account that manages anchorers and may hand the contract over.
    address public owner;

    /// @notice Whether an account may anchor roots.
    mapping(address account => bool authorised) public isAnchorer;

    /// @notice The newest root of each contract (zero before its first).
    mapping(bytes32 contractIdHash => bytes32 root) public headOf;

    /// @notice How many roots each contract has; the newest root's sequence number.
    mapping(bytes32 contractIdHash => uint256 count) public countOf;

    /// @notice The record of each anchored root.
    mapping(bytes32 root => Record) private records;

    /// @notice The caller is not the owner.
    /// @param caller The account that called.
    error Anchor__NotOwner(address caller);

    /// @notice The caller is not an authorised anchorer.
    /// @param caller The account that called.
    error Anchor__Unauthorised(address caller);

    /// @notice The root has been anchored before.
    /// @param root The Merkle root.
    /// @param blockNumber The block in which it was anchored.
    error Anchor__Duplicate(bytes32 root, uint256 blockNumber);

    /// @notice The batch does not build on the contract's newest root: history cannot fork,
    /// be reordered or be replaced.
    /// @param contractIdHash keccak256 of the contract id.
    /// @param previousRoot The root the batch says it follows.
    /// @param head The contract's newest root on chain.
    error Anchor__NotHead(bytes32 contractIdHash, bytes32 previousRoot, bytes32 head);

    /// @notice The root is zero, which no RFC 6962 tree produces.
    error Anchor__ZeroRoot();

    /// @notice The contract-id hash is zero.
    error Anchor__ZeroContractId();

    /// @notice The batch has no items.
    error Anchor__EmptyBatch();

    /// @notice The kind is not 1 to MAX_KIND.
    /// @param kind The kind given.
    error Anchor__InvalidKind(uint8 kind);

    /// @notice The zero address was given where an account is needed.
    error Anchor__ZeroAddress();

    /// @notice A root was anchored on top of its contract's previous head.
    /// @param root The Merkle root.
    /// @param contractIdHash keccak256 of the contract id.
    /// @param anchorer The account that anchored it.
    /// @param previousRoot The contract's head before (zero for its first root).
    /// @param sequence The root's position in its contract's chain, from 1.
    /// @param kind The lifecycle stage of the batch.
    /// @param batchSize Number of evidence items.
    event Anchored(
        bytes32 indexed root,
        bytes32 indexed contractIdHash,
        address indexed anchorer,
        bytes32 previousRoot,
        uint64 sequence,
        uint8 kind,
        uint32 batchSize
    );

    /// @notice An account was authorised to anchor.
    /// @param account The account.
    /// @param by The owner who authorised it.
    event AnchorerAuthorised(address indexed account, address indexed by);

    /// @notice An account's authorisation to anchor was revoked.
    /// @param account The account.
    /// @param by The owner who revoked it.
    event AnchorerRevoked(address indexed account, address indexed by);

    /// @notice Ownership moved to another account (from the zero address: the deployment).
    /// @param previousOwner The former owner.
    /// @param newOwner The new owner.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice Only the owner may call.
    modifier onlyOwner() {
        if (msg.sender != owner) revert Anchor__NotOwner(msg.sender);
        _;
    }

    /// @notice Deploys the anchor with `initialOwner` as owner and first authorised anchorer.
    /// @param initialOwner The owner.
    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert Anchor__ZeroAddress();
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
        isAnchorer[initialOwner] = true;
        emit AnchorerAuthorised(initialOwner, initialOwner);
    }

    /// @notice Anchors the Merkle root of an evidence batch as the contract's new head.
    /// @param root The RFC 6962 Merkle tree head of the batch.
    /// @param contractIdHash keccak256 of the contract id.
    /// @param previousRoot The contract's current head (zero for its first batch).
    /// @param kind The lifecycle stage of the batch (1 to MAX_KIND).
    /// @param batchSize Number of evidence items in the batch.
    function anchor(bytes32 root, bytes32 contractIdHash, bytes32 previousRoot, uint8 kind, uint32 batchSize) external {
        if (!isAnchorer[msg.sender]) revert Anchor__Unauthorised(msg.sender);
        if (root == bytes32(0)) revert Anchor__ZeroRoot();
        if (contractIdHash == bytes32(0)) revert Anchor__ZeroContractId();
        if (kind == 0 || kind > MAX_KIND) revert Anchor__InvalidKind(kind);
        if (batchSize == 0) revert Anchor__EmptyBatch();
        uint48 anchoredAt = records[root].blockNumber;
        if (anchoredAt != 0) revert Anchor__Duplicate(root, anchoredAt);
        bytes32 head = headOf[contractIdHash];
        if (previousRoot != head) revert Anchor__NotHead(contractIdHash, previousRoot, head);
        uint256 sequence = countOf[contractIdHash] + 1;
        records[root] = Record({
            contractIdHash: contractIdHash,
            previousRoot: previousRoot,
            kind: kind,
            batchSize: batchSize,
            blockNumber: uint48(block.number),
            anchorer: msg.sender
        });
        headOf[contractIdHash] = root;
        countOf[contractIdHash] = sequence;
        emit Anchored(root, contractIdHash, msg.sender, previousRoot, uint64(sequence), kind, batchSize);
    }

    /// @notice The record of a root; `blockNumber` is 0 when the root was never anchored.
    /// @param root The Merkle root.
    /// @return record What was anchored with the root.
    function anchorOf(bytes32 root) external view returns (Record memory record) {
        return records[root];
    }

    /// @notice Authorises `account` to anchor roots (it can add roots, never change one).
    /// @param account The account.
    function authorise(address account) external onlyOwner {
        if (account == address(0)) revert Anchor__ZeroAddress();
        isAnchorer[account] = true;
        emit AnchorerAuthorised(account, msg.sender);
    }

    /// @notice Revokes the authorisation of `account` to anchor roots.
    /// @param account The account.
    function revoke(address account) external onlyOwner {
        isAnchorer[account] = false;
        emit AnchorerRevoked(account, msg.sender);
    }

    /// @notice Hands the contract over to `newOwner`.
    /// @param newOwner The new owner.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert Anchor__ZeroAddress();
        address previousOwner = owner;
        owner = newOwner;
        emit OwnershipTransferred(previousOwner, newOwner);
    }
}
