// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title datomspod settlement escrow
/// @author datomspod
/// @notice Holds what the consumer of a datomspod data usage contract deposits, up to the cap the
/// parties agreed, and pays it out only against a settlement that every party recorded at deposit
/// signed. Payees withdraw what they are owed (pull payments); what the settlement does not pay goes
/// back to the consumer. If nothing is released before the expiry, anyone can send the whole
/// deposit back to the consumer.
/// @dev A deposit is keyed by the contract's hash (sha256 of its RFC 8785 form) and the consumer, so
/// nobody can occupy another consumer's deposit. Signatures are EIP-712 typed data with the domain
/// {name "datomspod", version "1", chainId, verifyingContract (this escrow), salt keccak256(contract
/// id)}: a settlement cannot be replayed on another escrow, chain or contract, and a deposit is
/// released once. Parties that are contracts sign with ERC-1271. Nothing trusts the payee: the
/// signatures of all parties are the only way to release funds.
contract Escrow is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Where a deposit is in its life.
    enum Status {
        None,
        Open,
        Released,
        Refunded
    }

    /// @notice What a consumer deposits against: the agreed terms of the data usage contract.
    /// @param contractHash sha256 of the contract's RFC 8785 canonical JSON (what the parties signed).
    /// @param contractId The contract id (its keccak256 is the EIP-712 domain salt).
    /// @param token The ERC-20 token of the contract's currency.
    /// @param cap The most that may be deposited, in the token's smallest unit.
    /// @param expiry Unix time from which nothing can be released and anyone can refund.
    /// @param parties Every party of the contract; each must sign the settlement.
    struct Terms {
        bytes32 contractHash;
        string contractId;
        IERC20 token;
        uint256 cap;
        uint48 expiry;
        address[] parties;
    }

    /// @notice One payment of a settlement.
    /// @param payee The party paid.
    /// @param amount The amount, in the token's smallest unit.
    struct Payout {
        address payee;
        uint256 amount;
    }

    /// @notice A deposit as stored.
    /// @param consumer The account that deposited; it gets the rest back.
    /// @param expiry Unix time from which nothing can be released and anyone can refund.
    /// @param status Where the deposit is in its life.
    /// @param token The ERC-20 token held.
    /// @param cap The most that may be deposited.
    /// @param amount What the escrow received for this deposit (a fee-on-transfer token's fee excluded).
    /// @param contractIdHash keccak256 of the contract id (the EIP-712 domain salt).
    /// @param parties The parties whose signatures release the deposit, in the order signatures are given.
    struct Deposit {
        address consumer;
        uint48 expiry;
        Status status;
        IERC20 token;
        uint256 cap;
        uint256 amount;
        bytes32 contractIdHash;
        address[] parties;
    }

    /// @notice The EIP-712 domain type: every field, so that escrow, chain and contract all bind.
    bytes32 public constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)");

    /// @notice The EIP-712 type of one payout.
    bytes32 public constant PAYOUT_TYPEHASH = keccak256("Payout(address payee,uint256 amount)");

    /// @notice The EIP-712 type of a settlement, as `datomspod settle` has every party sign it.
    bytes32 public constant SETTLEMENT_TYPEHASH = keccak256(
        "Settlement(string contractId,bytes32 contractHash,bytes32 settlementHash,address token,address consumer,Payout[] payouts)Payout(address payee,uint256 amount)"
    );

    /// @notice The most parties a deposit may record (as many as a contract may have).
    uint256 public constant MAX_PARTIES = 16;

    bytes32 private constant NAME_HASH = keccak256("datomspod");
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @notice The deposits, by escrow id (see `escrowIdOf`).
    mapping(bytes32 escrowId => Deposit) private deposits;

    /// @notice What each account may withdraw, by token.
    mapping(IERC20 token => mapping(address account => uint256 amount)) public owed;

    /// @notice The token is the zero address.
    error Escrow__ZeroToken();

    /// @notice The contract id is empty.
    error Escrow__EmptyContractId();

    /// @notice The cap is zero.
    error Escrow__ZeroCap();

    /// @notice The amount is zero.
    error Escrow__ZeroAmount();

    /// @notice The expiry is not in the future.
    /// @param expiry The expiry given.
    /// @param now The block's time.
    error Escrow__ExpiryPassed(uint256 expiry, uint256 now);

    /// @notice There are no parties, or more than MAX_PARTIES.
    /// @param count The number given.
    error Escrow__PartyCount(uint256 count);

    /// @notice A party is the zero address.
    /// @param index Its position.
    error Escrow__ZeroParty(uint256 index);

    /// @notice A party is listed twice.
    /// @param party The party.
    error Escrow__DuplicateParty(address party);

    /// @notice The consumer (the caller) is not among the parties.
    /// @param consumer The caller.
    error Escrow__ConsumerNotParty(address consumer);

    /// @notice This consumer has deposited against this contract before.
    /// @param escrowId The deposit.
    error Escrow__AlreadyOpened(bytes32 escrowId);

    /// @notice The deposit is not open (never made, released or refunded).
    /// @param escrowId The deposit.
    /// @param status Its status.
    error Escrow__NotOpen(bytes32 escrowId, Status status);

    /// @notice The deposit would exceed the cap.
    /// @param cap The cap.
    /// @param deposited What is deposited already.
    /// @param amount What was to be added.
    error Escrow__AboveCap(uint256 cap, uint256 deposited, uint256 amount);

    /// @notice The token transferred nothing to the escrow.
    error Escrow__NothingReceived();

    /// @notice The deposit has expired: nothing can be added or released, only refunded.
    /// @param expiry The expiry.
    error Escrow__Expired(uint256 expiry);

    /// @notice The deposit has not expired yet, so it cannot be refunded without a settlement.
    /// @param expiry The expiry.
    error Escrow__NotExpired(uint256 expiry);

    /// @notice There is not one signature per recorded party.
    /// @param expected The number of parties.
    /// @param given The number of signatures.
    error Escrow__SignatureCount(uint256 expected, uint256 given);

    /// @notice A party's signature does not sign this settlement.
    /// @param party The party.
    error Escrow__InvalidSignature(address party);

    /// @notice A payee is not a recorded party.
    /// @param payee The payee.
    error Escrow__PayeeNotParty(address payee);

    /// @notice A payee is listed twice.
    /// @param payee The payee.
    error Escrow__DuplicatePayee(address payee);

    /// @notice A payout of zero.
    /// @param payee The payee.
    error Escrow__ZeroPayout(address payee);

    /// @notice The payouts add up to more than was deposited.
    /// @param total Their sum.
    /// @param deposited What was deposited.
    error Escrow__PayoutsExceedDeposit(uint256 total, uint256 deposited);

    /// @notice The caller is owed nothing in this token.
    /// @param account The caller.
    error Escrow__NothingOwed(address account);

    /// @notice A consumer opened a deposit against a contract.
    /// @param escrowId The deposit (see `escrowIdOf`).
    /// @param contractHash The contract's hash.
    /// @param consumer The consumer.
    /// @param token The token.
    /// @param cap The cap.
    /// @param expiry The expiry.
    /// @param contractId The contract id.
    /// @param parties The parties that must sign the settlement.
    event Opened(
        bytes32 indexed escrowId,
        bytes32 indexed contractHash,
        address indexed consumer,
        IERC20 token,
        uint256 cap,
        uint48 expiry,
        string contractId,
        address[] parties
    );

    /// @notice Tokens were deposited.
    /// @param escrowId The deposit.
    /// @param consumer The consumer.
    /// @param amount What the escrow received.
    /// @param total What the deposit holds now.
    event Deposited(bytes32 indexed escrowId, address indexed consumer, uint256 amount, uint256 total);

    /// @notice A settlement signed by every party released the deposit.
    /// @param escrowId The deposit.
    /// @param settlementHash sha256 of the settlement's RFC 8785 canonical JSON.
    /// @param paid What the payees are owed.
    /// @param refunded What the consumer is owed back.
    event Released(bytes32 indexed escrowId, bytes32 indexed settlementHash, uint256 paid, uint256 refunded);

    /// @notice An account is owed an amount from a deposit (withdraw it with `withdraw`).
    /// @param escrowId The deposit.
    /// @param account The account.
    /// @param amount The amount.
    event Credited(bytes32 indexed escrowId, address indexed account, uint256 amount);

    /// @notice An expired deposit went back to the consumer.
    /// @param escrowId The deposit.
    /// @param consumer The consumer.
    /// @param amount The amount.
    /// @param by Who triggered it.
    event Refunded(bytes32 indexed escrowId, address indexed consumer, uint256 amount, address by);

    /// @notice An account withdrew what it was owed.
    /// @param token The token.
    /// @param account The account.
    /// @param amount The amount.
    event Withdrawn(IERC20 indexed token, address indexed account, uint256 amount);

    /// @notice The id of a consumer's deposit against a contract.
    /// @param contractHash The contract's hash.
    /// @param consumer The consumer.
    /// @return escrowId keccak256(abi.encode(contractHash, consumer)).
    function escrowIdOf(bytes32 contractHash, address consumer) public pure returns (bytes32 escrowId) {
        return keccak256(abi.encode(contractHash, consumer));
    }

    /// @notice Opens a deposit against `terms` with a first `amount`; the caller is the consumer.
    /// @dev Credits what the escrow actually received, so a fee-on-transfer token cannot make it
    /// owe more than it holds.
    /// @param terms The contract's terms.
    /// @param amount The amount to deposit, in the token's smallest unit.
    /// @return escrowId The deposit.
    function deposit(Terms calldata terms, uint256 amount) external nonReentrant returns (bytes32 escrowId) {
        if (address(terms.token) == address(0)) revert Escrow__ZeroToken();
        if (bytes(terms.contractId).length == 0) revert Escrow__EmptyContractId();
        if (terms.cap == 0) revert Escrow__ZeroCap();
        if (terms.expiry <= block.timestamp) revert Escrow__ExpiryPassed(terms.expiry, block.timestamp);
        uint256 count = terms.parties.length;
        if (count == 0 || count > MAX_PARTIES) revert Escrow__PartyCount(count);
        bool consumerListed = false;
        for (uint256 i = 0; i < count; ++i) {
            address party = terms.parties[i];
            if (party == address(0)) revert Escrow__ZeroParty(i);
            for (uint256 j = 0; j < i; ++j) {
                if (terms.parties[j] == party) revert Escrow__DuplicateParty(party);
            }
            if (party == msg.sender) consumerListed = true;
        }
        if (!consumerListed) revert Escrow__ConsumerNotParty(msg.sender);
        escrowId = escrowIdOf(terms.contractHash, msg.sender);
        Deposit storage d = deposits[escrowId];
        if (d.status != Status.None) revert Escrow__AlreadyOpened(escrowId);
        d.consumer = msg.sender;
        d.expiry = terms.expiry;
        d.status = Status.Open;
        d.token = terms.token;
        d.cap = terms.cap;
        d.contractIdHash = keccak256(bytes(terms.contractId));
        d.parties = terms.parties;
        emit Opened(escrowId, terms.contractHash, msg.sender, terms.token, terms.cap, terms.expiry, terms.contractId, terms.parties);
        _receive(escrowId, d, amount);
    }

    /// @notice Adds `amount` to the caller's open deposit against `contractHash`, up to the cap.
    /// @param contractHash The contract's hash.
    /// @param amount The amount, in the token's smallest unit.
    function topUp(bytes32 contractHash, uint256 amount) external nonReentrant {
        bytes32 escrowId = escrowIdOf(contractHash, msg.sender);
        Deposit storage d = deposits[escrowId];
        if (d.status != Status.Open) revert Escrow__NotOpen(escrowId, d.status);
        if (block.timestamp >= d.expiry) revert Escrow__Expired(d.expiry);
        _receive(escrowId, d, amount);
    }

    /// @notice Releases a deposit against a settlement every recorded party signed: each payee is
    /// credited its amount, the consumer the rest. Anyone may send it; only the signatures count.
    /// @param contractHash The contract's hash.
    /// @param consumer The consumer whose deposit it is.
    /// @param settlementHash sha256 of the settlement's RFC 8785 canonical JSON.
    /// @param payouts What each payee gets (each a recorded party, at most once, more than zero).
    /// @param signatures One EIP-712 (or ERC-1271) signature per recorded party, in their order.
    function release(
        bytes32 contractHash,
        address consumer,
        bytes32 settlementHash,
        Payout[] calldata payouts,
        bytes[] calldata signatures
    ) external nonReentrant {
        bytes32 escrowId = escrowIdOf(contractHash, consumer);
        Deposit storage d = deposits[escrowId];
        if (d.status != Status.Open) revert Escrow__NotOpen(escrowId, d.status);
        if (block.timestamp >= d.expiry) revert Escrow__Expired(d.expiry);
        uint256 total = _checkPayouts(d.parties, payouts);
        uint256 deposited = d.amount;
        if (total > deposited) revert Escrow__PayoutsExceedDeposit(total, deposited);
        _checkSignatures(d.parties, _settlementDigest(d, contractHash, settlementHash, payouts), signatures);

        d.status = Status.Released;
        d.amount = 0;
        uint256 refunded = deposited - total;
        _credit(escrowId, d.token, consumer, payouts, refunded);
        emit Released(escrowId, settlementHash, total, refunded);
    }

    /// @notice Sends an expired, unreleased deposit back to its consumer. Anyone may call it.
    /// @param contractHash The contract's hash.
    /// @param consumer The consumer whose deposit it is.
    function refund(bytes32 contractHash, address consumer) external nonReentrant {
        bytes32 escrowId = escrowIdOf(contractHash, consumer);
        Deposit storage d = deposits[escrowId];
        if (d.status != Status.Open) revert Escrow__NotOpen(escrowId, d.status);
        if (block.timestamp < d.expiry) revert Escrow__NotExpired(d.expiry);
        uint256 amount = d.amount;
        d.status = Status.Refunded;
        d.amount = 0;
        emit Refunded(escrowId, consumer, amount, msg.sender);
        if (amount > 0) d.token.safeTransfer(consumer, amount);
    }

    /// @notice Pays the caller everything it is owed in `token`.
    /// @param token The token.
    function withdraw(IERC20 token) external nonReentrant {
        uint256 amount = owed[token][msg.sender];
        if (amount == 0) revert Escrow__NothingOwed(msg.sender);
        owed[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice A deposit.
    /// @param escrowId The deposit (see `escrowIdOf`).
    /// @return deposit_ The deposit; status None when there is none.
    function depositOf(bytes32 escrowId) external view returns (Deposit memory deposit_) {
        return deposits[escrowId];
    }

    /// @notice The EIP-712 domain separator of a contract's settlements on this escrow.
    /// @param contractIdHash keccak256 of the contract id.
    /// @return separator The domain separator.
    function domainSeparatorOf(bytes32 contractIdHash) public view returns (bytes32 separator) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this), contractIdHash));
    }

    /// @notice The EIP-712 digest the parties sign to release a deposit with these payouts.
    /// @param contractHash The contract's hash.
    /// @param consumer The consumer whose deposit it is.
    /// @param settlementHash The settlement's hash.
    /// @param payouts The payouts.
    /// @return digest The digest; zero when there is no such deposit.
    function settlementDigest(
        bytes32 contractHash,
        address consumer,
        bytes32 settlementHash,
        Payout[] calldata payouts
    ) external view returns (bytes32 digest) {
        Deposit storage d = deposits[escrowIdOf(contractHash, consumer)];
        if (d.status == Status.None) return bytes32(0);
        return _settlementDigest(d, contractHash, settlementHash, payouts);
    }

    function _receive(bytes32 escrowId, Deposit storage d, uint256 amount) private {
        if (amount == 0) revert Escrow__ZeroAmount();
        uint256 deposited = d.amount;
        if (amount > d.cap - deposited) revert Escrow__AboveCap(d.cap, deposited, amount);
        IERC20 token = d.token;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert Escrow__NothingReceived();
        if (received > d.cap - deposited) revert Escrow__AboveCap(d.cap, deposited, received);
        d.amount = deposited + received;
        emit Deposited(escrowId, msg.sender, received, deposited + received);
    }

    function _settlementDigest(
        Deposit storage d,
        bytes32 contractHash,
        bytes32 settlementHash,
        Payout[] calldata payouts
    ) private view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](payouts.length);
        for (uint256 i = 0; i < payouts.length; ++i) {
            hashes[i] = keccak256(abi.encode(PAYOUT_TYPEHASH, payouts[i].payee, payouts[i].amount));
        }
        bytes32 structHash = keccak256(
            abi.encode(
                SETTLEMENT_TYPEHASH,
                d.contractIdHash,
                contractHash,
                settlementHash,
                d.token,
                d.consumer,
                keccak256(abi.encodePacked(hashes))
            )
        );
        return MessageHashUtils.toTypedDataHash(domainSeparatorOf(d.contractIdHash), structHash);
    }

    function _checkPayouts(address[] storage parties, Payout[] calldata payouts) private view returns (uint256 total) {
        for (uint256 i = 0; i < payouts.length; ++i) {
            address payee = payouts[i].payee;
            if (payouts[i].amount == 0) revert Escrow__ZeroPayout(payee);
            if (!_contains(parties, payee)) revert Escrow__PayeeNotParty(payee);
            for (uint256 j = 0; j < i; ++j) {
                if (payouts[j].payee == payee) revert Escrow__DuplicatePayee(payee);
            }
            total += payouts[i].amount;
        }
    }

    function _checkSignatures(address[] storage parties, bytes32 digest, bytes[] calldata signatures) private view {
        uint256 count = parties.length;
        if (signatures.length != count) revert Escrow__SignatureCount(count, signatures.length);
        for (uint256 i = 0; i < count; ++i) {
            address party = parties[i];
            if (!SignatureChecker.isValidSignatureNowCalldata(party, digest, signatures[i])) revert Escrow__InvalidSignature(party);
        }
    }

    function _credit(bytes32 escrowId, IERC20 token, address consumer, Payout[] calldata payouts, uint256 refunded) private {
        for (uint256 i = 0; i < payouts.length; ++i) {
            owed[token][payouts[i].payee] += payouts[i].amount;
            emit Credited(escrowId, payouts[i].payee, payouts[i].amount);
        }
        if (refunded > 0) {
            owed[token][consumer] += refunded;
            emit Credited(escrowId, consumer, refunded);
        }
    }

    function _contains(address[] storage list, address value) private view returns (bool) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == value) return true;
        }
        return false;
    }
}
