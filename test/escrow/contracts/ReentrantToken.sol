// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Called by the token on every transfer (like an ERC-777 hook).
interface ITransferHook {
    function onTransfer(address from, address to, uint256 value) external;
}

/// @title An ERC-20 that calls a hook contract in the middle of every transfer (TEST ONLY), so the
/// hook can try to re-enter whoever moves the tokens.
contract ReentrantToken is ERC20 {
    ITransferHook public hook;

    constructor() ERC20("Reentrant Dollar", "RED") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setHook(ITransferHook newHook) external {
        hook = newHook;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (address(hook) != address(0) && from != address(0)) hook.onTransfer(from, to, value);
    }
}
