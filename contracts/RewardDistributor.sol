// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/**
 * @title RewardDistributor
 * @notice Pays rewards in one ERC-20 token from studio budgets. An admin creates a studio with its
 * operator; anyone funds a studio's budget (ERC-20 `transferFrom`, after `approve`); the operator
 * pays several recipients in one call. Each payout has an id, unique per studio: paying the same id
 * again reverts with `PayoutAlreadyExecuted`, so a retried payout never pays twice.
 */
contract RewardDistributor is AccessControl {
    using SafeERC20 for IERC20;

    /// @notice The role allowed to create studios.
    bytes32 public constant STUDIO_ADMIN_ROLE = keccak256("STUDIO_ADMIN_ROLE");

    /// @notice A studio: its operator (zero if the studio does not exist) and its remaining budget.
    struct Studio {
        address operator;
        uint256 budget;
    }

    /// @notice The token paid out.
    IERC20 public immutable token;

    mapping(bytes32 studioId => Studio) private _studios;
    mapping(bytes32 studioId => mapping(bytes32 payoutId => bool)) private _paid;

    event StudioCreated(bytes32 indexed studioId, address indexed operator);
    event OperatorChanged(bytes32 indexed studioId, address indexed previousOperator, address indexed newOperator);
    event Funded(bytes32 indexed studioId, address indexed from, uint256 amount, uint256 budget);
    event Withdrawn(bytes32 indexed studioId, address indexed to, uint256 amount, uint256 budget);
    /// @notice One payout: `count` recipients received `total` in all (see the token's Transfer events).
    event PayoutExecuted(
        bytes32 indexed studioId, bytes32 indexed payoutId, address indexed operator, uint256 count, uint256 total
    );

    error StudioNotFound(bytes32 studioId);
    error StudioExists(bytes32 studioId);
    error NotOperator(bytes32 studioId, address caller);
    error ZeroAddress();
    error ZeroAmount();
    error EmptyPayout();
    error LengthMismatch(uint256 recipients, uint256 amounts);
    error ZeroRecipient(uint256 index);
    error InsufficientBudget(bytes32 studioId, uint256 budget, uint256 requested);
    error PayoutAlreadyExecuted(bytes32 studioId, bytes32 payoutId);

    /// @param admin receives DEFAULT_ADMIN_ROLE and STUDIO_ADMIN_ROLE.
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(STUDIO_ADMIN_ROLE, admin);
    }

    /// @notice Creates a studio with its operator (STUDIO_ADMIN_ROLE only).
    function createStudio(bytes32 studioId, address operator) external onlyRole(STUDIO_ADMIN_ROLE) {
        if (operator == address(0)) revert ZeroAddress();
        if (_studios[studioId].operator != address(0)) revert StudioExists(studioId);
        _studios[studioId].operator = operator;
        emit StudioCreated(studioId, operator);
    }

    /// @notice Hands the studio to a new operator (the operator or STUDIO_ADMIN_ROLE).
    function setOperator(bytes32 studioId, address newOperator) external {
        Studio storage studio = _existing(studioId);
        address previous = studio.operator;
        if (msg.sender != previous && !hasRole(STUDIO_ADMIN_ROLE, msg.sender)) {
            revert NotOperator(studioId, msg.sender);
        }
        if (newOperator == address(0)) revert ZeroAddress();
        studio.operator = newOperator;
        emit OperatorChanged(studioId, previous, newOperator);
    }

    /// @notice Adds `amount` tokens from the caller (who approved this contract) to the studio's budget.
    function fund(bytes32 studioId, uint256 amount) external {
        Studio storage studio = _existing(studioId);
        if (amount == 0) revert ZeroAmount();
        uint256 budget = studio.budget + amount;
        studio.budget = budget;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Funded(studioId, msg.sender, amount, budget);
    }

    /// @notice Returns `amount` of the studio's unspent budget to `to` (the operator only).
    function withdraw(bytes32 studioId, address to, uint256 amount) external {
        Studio storage studio = _operated(studioId);
        if (to == address(0)) revert ZeroAddress();
        uint256 budget = studio.budget;
        if (amount > budget) revert InsufficientBudget(studioId, budget, amount);
        budget -= amount;
        studio.budget = budget;
        token.safeTransfer(to, amount);
        emit Withdrawn(studioId, to, amount, budget);
    }

    /**
     * @notice Pays `amounts[i]` to `recipients[i]` from the studio's budget (the operator only).
     * Reverts with PayoutAlreadyExecuted if `payoutId` was already paid by this studio.
     */
    function payout(bytes32 studioId, bytes32 payoutId, address[] calldata recipients, uint256[] calldata amounts)
        external
    {
        Studio storage studio = _operated(studioId);
        if (_paid[studioId][payoutId]) revert PayoutAlreadyExecuted(studioId, payoutId);
        uint256 n = recipients.length;
        if (n == 0) revert EmptyPayout();
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (recipients[i] == address(0)) revert ZeroRecipient(i);
            total += amounts[i];
        }
        uint256 budget = studio.budget;
        if (total > budget) revert InsufficientBudget(studioId, budget, total);
        studio.budget = budget - total;
        _paid[studioId][payoutId] = true;
        for (uint256 i; i < n; ++i) {
            token.safeTransfer(recipients[i], amounts[i]);
        }
        emit PayoutExecuted(studioId, payoutId, msg.sender, n, total);
    }

    /// @notice A studio's operator and remaining budget.
    function studioOf(bytes32 studioId) external view returns (Studio memory) {
        return _studios[studioId];
    }

    /// @notice Whether the studio already executed the payout `payoutId`.
    function isPaid(bytes32 studioId, bytes32 payoutId) external view returns (bool) {
        return _paid[studioId][payoutId];
    }

    function _existing(bytes32 studioId) private view returns (Studio storage studio) {
        studio = _studios[studioId];
        if (studio.operator == address(0)) revert StudioNotFound(studioId);
    }

    function _operated(bytes32 studioId) private view returns (Studio storage studio) {
        studio = _existing(studioId);
        if (msg.sender != studio.operator) revert NotOperator(studioId, msg.sender);
    }
}
