// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IdentityRegistry: a minimal ERC-8004 identity registry for local tests.
/// @notice Written for pm_mcp from the ERC-8004 interface (Draft, 2026-01 revision): an ERC-721 whose
///         tokenURI is the agent URI, with key/value metadata and an agent wallet proven by an
///         EIP-712 (EOA) or ERC-1271 (contract) signature. Not upgradeable; no admin.
contract IdentityRegistry {
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    // ---- ERC-721 state ----
    string public constant name = "AgentIdentity";
    string public constant symbol = "AGENT";
    uint256 private _lastId;
    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => address) private _tokenApprovals;
    mapping(address => mapping(address => bool)) private _operatorApprovals;
    mapping(uint256 => string) private _uris;

    // ---- ERC-8004 state ----
    mapping(uint256 => mapping(string => bytes)) private _metadata;
    mapping(uint256 => address) private _agentWallet;

    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _WALLET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");
    uint256 private constant _MAX_DEADLINE_DELAY = 5 minutes;

    // ---- events ----
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);

    error ERC721NonexistentToken(uint256 tokenId);
    error ERC721InsufficientApproval(address operator, uint256 tokenId);
    error ERC721InvalidReceiver(address receiver);

    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------- registration
    function register() external returns (uint256 agentId) {
        agentId = _mintAgent(msg.sender, "");
    }

    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _mintAgent(msg.sender, agentURI);
    }

    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        agentId = _mintAgent(msg.sender, agentURI);
        for (uint256 i = 0; i < metadata.length; i++) {
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    function _mintAgent(address to, string memory agentURI) private returns (uint256 agentId) {
        agentId = _lastId++;
        _owners[agentId] = to;
        _balances[to] += 1;
        _uris[agentId] = agentURI;
        emit Transfer(address(0), to, agentId);
        _agentWallet[agentId] = to;
        emit Registered(agentId, agentURI, to);
        emit MetadataSet(agentId, "agentWallet", "agentWallet", abi.encodePacked(to));
        _checkReceiver(address(0), to, agentId, "");
    }

    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _requireAuthorized(msg.sender, agentId);
        _uris[agentId] = newURI;
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _requireOwned(tokenId);
        return _uris[tokenId];
    }

    // ---------------------------------------------------------------- metadata
    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        if (keccak256(bytes(metadataKey)) == keccak256("agentWallet")) {
            address w = _agentWallet[agentId];
            return w == address(0) ? bytes("") : abi.encodePacked(w);
        }
        return _metadata[agentId][metadataKey];
    }

    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        _requireAuthorized(msg.sender, agentId);
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    function _setMetadata(uint256 agentId, string calldata key, bytes calldata value) private {
        require(keccak256(bytes(key)) != keccak256("agentWallet"), "reserved key");
        _metadata[agentId][key] = value;
        emit MetadataSet(agentId, key, key, value);
    }

    // ---------------------------------------------------------------- agent wallet
    function getAgentWallet(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _agentWallet[agentId];
    }

    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        address owner = _requireAuthorized(msg.sender, agentId);
        require(newWallet != address(0), "zero wallet");
        require(block.timestamp <= deadline, "expired");
        require(deadline <= block.timestamp + _MAX_DEADLINE_DELAY, "deadline too far");
        bytes32 digest = keccak256(abi.encodePacked(
            "\x19\x01",
            _domainSeparator(),
            keccak256(abi.encode(_WALLET_TYPEHASH, agentId, newWallet, owner, deadline))
        ));
        require(_validSignature(newWallet, digest, signature), "invalid wallet signature");
        _agentWallet[agentId] = newWallet;
        emit MetadataSet(agentId, "agentWallet", "agentWallet", abi.encodePacked(newWallet));
    }

    function unsetAgentWallet(uint256 agentId) external {
        _requireAuthorized(msg.sender, agentId);
        _agentWallet[agentId] = address(0);
        emit MetadataSet(agentId, "agentWallet", "agentWallet", "");
    }

    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(
            _DOMAIN_TYPEHASH, keccak256("ERC8004IdentityRegistry"), keccak256("1"), block.chainid, address(this)
        ));
    }

    function _validSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (signer.code.length > 0) {
            (bool ok, bytes memory ret) = signer.staticcall(
                abi.encodeWithSelector(0x1626ba7e, digest, signature) // ERC-1271 isValidSignature
            );
            return ok && ret.length >= 32 && abi.decode(ret, (bytes4)) == bytes4(0x1626ba7e);
        }
        if (signature.length != 65) return false;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == signer;
    }

    // ---------------------------------------------------------------- authorization
    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        address owner = _requireOwned(agentId);
        return spender == owner || _operatorApprovals[owner][spender] || _tokenApprovals[agentId] == spender;
    }

    function _requireAuthorized(address spender, uint256 agentId) private view returns (address owner) {
        owner = _requireOwned(agentId);
        if (!(spender == owner || _operatorApprovals[owner][spender] || _tokenApprovals[agentId] == spender)) {
            revert ERC721InsufficientApproval(spender, agentId);
        }
    }

    function _requireOwned(uint256 tokenId) private view returns (address owner) {
        owner = _owners[tokenId];
        if (owner == address(0)) revert ERC721NonexistentToken(tokenId);
    }

    // ---------------------------------------------------------------- ERC-721
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd || interfaceId == 0x5b5e139f;
    }

    function balanceOf(address owner) external view returns (uint256) {
        require(owner != address(0), "zero address");
        return _balances[owner];
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        return _requireOwned(tokenId);
    }

    function approve(address to, uint256 tokenId) external {
        address owner = _requireOwned(tokenId);
        require(msg.sender == owner || _operatorApprovals[owner][msg.sender], "not owner nor operator");
        _tokenApprovals[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    function getApproved(uint256 tokenId) external view returns (address) {
        _requireOwned(tokenId);
        return _tokenApprovals[tokenId];
    }

    function setApprovalForAll(address operator, bool approved) external {
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    function transferFrom(address from, address to, uint256 tokenId) public {
        address owner = _requireAuthorized(msg.sender, tokenId);
        require(owner == from, "wrong from");
        require(to != address(0), "zero address");
        _tokenApprovals[tokenId] = address(0);
        _balances[from] -= 1;
        _balances[to] += 1;
        _owners[tokenId] = to;
        // a new owner must prove its own wallet: the old one is cleared
        _agentWallet[tokenId] = address(0);
        emit Transfer(from, to, tokenId);
        emit MetadataSet(tokenId, "agentWallet", "agentWallet", "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        _checkReceiver(from, to, tokenId, data);
    }

    function _checkReceiver(address from, address to, uint256 tokenId, bytes memory data) private {
        if (to.code.length == 0) return;
        (bool ok, bytes memory ret) = to.call(
            abi.encodeWithSelector(0x150b7a02, msg.sender, from, tokenId, data) // onERC721Received
        );
        if (!ok || ret.length < 32 || abi.decode(ret, (bytes4)) != bytes4(0x150b7a02)) {
            revert ERC721InvalidReceiver(to);
        }
    }
}
