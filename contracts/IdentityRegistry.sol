// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/**
 * @title IdentityRegistry
 * @notice An ERC-8004 ("Trustless Agents") style identity registry: one ERC-721 token per agent
 * (`agentId` = token id, from 0), whose token URI is the agent's registration file (the ChaosCore
 * agent card). Compatible with the ERC-8004 identity interface (`register` overloads,
 * `setAgentURI`, `getMetadata`/`setMetadata`, `getAgentWallet`/`setAgentWallet`, the
 * `Registered`, `URIUpdated` and `MetadataSet` events). ChaosCore adds the card hash: a versioned
 * (hash, URI) pair, so a verifier can check the card it fetched against the chain.
 */
contract IdentityRegistry is ERC721URIStorage, EIP712 {
    /// @notice An on-chain metadata entry (ERC-8004).
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    /// @notice The anchored agent card: its hash, its version (1 on registration) and the time of the last change.
    struct Card {
        bytes32 hash;
        uint64 version;
        uint64 updatedAt;
    }

    /// @notice EIP-712 type of the new wallet's consent (same as the ERC-8004 reference registry).
    bytes32 public constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");
    /// @notice The longest a wallet signature may stay valid.
    uint256 public constant MAX_DEADLINE_DELAY = 5 minutes;
    bytes32 private constant AGENT_WALLET_KEY_HASH = keccak256("agentWallet");

    uint256 private _nextId;
    mapping(uint256 agentId => Card) private _cards;
    mapping(uint256 agentId => address) private _agentWallets;
    mapping(uint256 agentId => mapping(string key => bytes)) private _metadata;

    /// @notice ERC-8004: an agent was registered.
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    /// @notice ERC-8004: the agent's URI changed.
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    /// @notice ERC-8004: an on-chain metadata entry was set (the key "agentWallet" by setAgentWallet).
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );
    /// @notice The agent card (hash and URI) was registered (version 1) or updated.
    event CardUpdated(uint256 indexed agentId, uint64 indexed version, bytes32 cardHash, string agentURI);

    /// @notice The caller is neither the agent's owner nor approved for it.
    error NotAuthorized(uint256 agentId, address caller);
    /// @notice "agentWallet" can only be set through setAgentWallet.
    error ReservedMetadataKey(string key);
    /// @notice A card hash must not be zero.
    error EmptyCardHash();
    /// @notice A card update must carry the current version plus one.
    error CardVersionMismatch(uint256 agentId, uint64 expected, uint64 given);
    /// @notice The wallet must not be the zero address.
    error ZeroWallet();
    /// @notice The wallet signature's deadline has passed.
    error SignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The wallet signature's deadline is more than MAX_DEADLINE_DELAY away.
    error DeadlineTooFar(uint256 deadline, uint256 maxDeadline);
    /// @notice The signature is not the new wallet's EIP-712 (or ERC-1271) consent.
    error InvalidWalletSignature(address wallet);

    constructor() ERC721("ChaosCore Agent", "AGENT") EIP712("ERC8004IdentityRegistry", "1") {}

    // ---- registration (ERC-8004) ------------------------------------------------------------

    /// @notice ERC-8004: registers an agent with no URI and no card (set them later).
    function register() external returns (uint256 agentId) {
        agentId = _register("");
    }

    /// @notice ERC-8004: registers an agent with its registration file URI and no card hash.
    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI);
    }

    /// @notice ERC-8004: registers an agent with its URI and on-chain metadata entries.
    function register(string calldata agentURI, MetadataEntry[] calldata metadata)
        external
        returns (uint256 agentId)
    {
        agentId = _register(agentURI);
        for (uint256 i; i < metadata.length; ++i) {
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    /// @notice Registers an agent with its agent card URI and the card's hash (card version 1).
    function register(string calldata agentURI, bytes32 cardHash) external returns (uint256 agentId) {
        if (cardHash == bytes32(0)) revert EmptyCardHash();
        agentId = _register(agentURI);
        _cards[agentId] = Card(cardHash, 1, uint64(block.timestamp));
        emit CardUpdated(agentId, 1, cardHash, agentURI);
    }

    /**
     * @notice Updates the agent card (hash and URI). `version` must be the current version plus one,
     * so a replayed or concurrent update reverts instead of applying twice.
     */
    function updateCard(uint256 agentId, string calldata agentURI, bytes32 cardHash, uint64 version)
        external
    {
        _checkAuthorized(agentId);
        if (cardHash == bytes32(0)) revert EmptyCardHash();
        Card storage card = _cards[agentId];
        uint64 expected = card.version + 1;
        if (version != expected) revert CardVersionMismatch(agentId, expected, version);
        card.hash = cardHash;
        card.version = version;
        card.updatedAt = uint64(block.timestamp);
        _setTokenURI(agentId, agentURI);
        emit URIUpdated(agentId, agentURI, msg.sender);
        emit CardUpdated(agentId, version, cardHash, agentURI);
    }

    /// @notice ERC-8004: changes the agent's URI only (the card hash and version stay).
    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _checkAuthorized(agentId);
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    /// @notice The agent's card (hash, version, updatedAt); all zero if it has none.
    function cardOf(uint256 agentId) external view returns (Card memory) {
        _requireOwned(agentId);
        return _cards[agentId];
    }

    /// @notice The number of agents registered so far (the next agentId).
    function totalAgents() external view returns (uint256) {
        return _nextId;
    }

    // ---- metadata (ERC-8004) ----------------------------------------------------------------

    /// @notice ERC-8004: an on-chain metadata value (empty if unset).
    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    /// @notice ERC-8004: sets an on-chain metadata value (not "agentWallet").
    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        _checkAuthorized(agentId);
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    // ---- agent wallet (ERC-8004) ------------------------------------------------------------

    /// @notice ERC-8004: the agent's wallet (the registering address until changed; zero after a transfer).
    function getAgentWallet(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _agentWallets[agentId];
    }

    /**
     * @notice ERC-8004: sets the agent's wallet, with the new wallet's consent: an EIP-712 signature
     * of AgentWalletSet(agentId, newWallet, owner, deadline) (ERC-1271 for contract wallets).
     */
    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature)
        external
    {
        if (newWallet == address(0)) revert ZeroWallet();
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_DEADLINE_DELAY) {
            revert DeadlineTooFar(deadline, block.timestamp + MAX_DEADLINE_DELAY);
        }
        address owner = _checkAuthorized(agentId);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, owner, deadline)));
        if (!SignatureChecker.isValidSignatureNow(newWallet, digest, signature)) {
            revert InvalidWalletSignature(newWallet);
        }
        _setWallet(agentId, newWallet);
    }

    // ---- internals --------------------------------------------------------------------------

    function _register(string memory agentURI) private returns (uint256 agentId) {
        agentId = _nextId++;
        _agentWallets[agentId] = msg.sender;
        if (bytes(agentURI).length != 0) _setTokenURI(agentId, agentURI);
        emit Registered(agentId, agentURI, msg.sender);
        _safeMint(msg.sender, agentId);
    }

    function _setMetadata(uint256 agentId, string calldata key, bytes calldata value) private {
        if (keccak256(bytes(key)) == AGENT_WALLET_KEY_HASH) revert ReservedMetadataKey(key);
        _metadata[agentId][key] = value;
        emit MetadataSet(agentId, key, key, value);
    }

    function _setWallet(uint256 agentId, address wallet) private {
        _agentWallets[agentId] = wallet;
        bytes memory value = wallet == address(0) ? bytes("") : abi.encodePacked(wallet);
        _metadata[agentId]["agentWallet"] = value;
        emit MetadataSet(agentId, "agentWallet", "agentWallet", value);
    }

    /// @dev Reverts unless the caller is the owner or approved; returns the owner.
    function _checkAuthorized(uint256 agentId) private view returns (address owner) {
        owner = _requireOwned(agentId);
        if (!_isAuthorized(owner, msg.sender, agentId)) revert NotAuthorized(agentId, msg.sender);
    }

    /// @dev A transfer clears the agent wallet (ERC-8004): the new owner must set a new one.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) _setWallet(tokenId, address(0));
    }
}
