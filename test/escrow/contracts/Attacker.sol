// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title A hostile party (TEST ONLY): a contract wallet (ERC-1271) that signs what its owner
/// approved, withdraws from the escrow, and, when the token calls its hook mid-transfer, sends a
/// prepared call back into the escrow. It records whether that re-entry went through.
contract Attacker {
    address public immutable owner;
    address public escrow;
    bytes public attack;
    uint256 public attempts;
    bool public reentered;
    bytes public reentryError;
    mapping(bytes32 digest => bool approved) public approved;

    constructor(address escrow_) {
        owner = msg.sender;
        escrow = escrow_;
    }

    function approveDigest(bytes32 digest) external {
        approved[digest] = true;
    }

    function setAttack(bytes calldata data) external {
        attack = data;
    }

    /// @notice ERC-1271: valid for the digests approved here.
    function isValidSignature(bytes32 hash, bytes calldata) external view returns (bytes4) {
        return approved[hash] ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }

    /// @notice Calls the escrow as this wallet (deposit, withdraw, ...).
    function exec(bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory result) = escrow.call(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        return result;
    }

    function approveToken(IERC20 token, uint256 amount) external {
        token.approve(escrow, amount);
    }

    /// @notice The token's hook: re-enter the escrow once with the prepared call.
    function onTransfer(address, address, uint256) external {
        if (attack.length == 0 || attempts > 0) return;
        attempts += 1;
        (bool ok, bytes memory result) = escrow.call(attack);
        reentered = ok;
        reentryError = result;
    }
}
