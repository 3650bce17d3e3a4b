// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title datomspod local dollar (worthless, local chain only)
/// @author datomspod
/// @notice The ERC-20 token of ad hoc mode's local chain (anvil), so that the whole settlement
/// (deposit, release, withdrawal) can be played on one machine. Anyone can mint any amount: it is
/// worth nothing and lives on a development chain only. Six decimals, like the usual stablecoins.
/// @dev Deployed by `datomspod escrow` on the local chain through the deterministic CREATE2 deployer,
/// so its address depends on its bytecode only.
contract LocalToken is ERC20 {
    /// @notice Names the token.
    constructor() ERC20("datomspod local dollar", "DLD") {}

    /// @notice Mints `amount` to `to`. Open to anyone: a worthless development token.
    /// @param to The receiver.
    /// @param amount The amount, in the smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Six decimals.
    /// @return The number of decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
