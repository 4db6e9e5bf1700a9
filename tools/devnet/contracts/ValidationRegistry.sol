// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IIdentityRegistryV {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
}

/// @title ValidationRegistry: a minimal ERC-8004 validation registry for local tests.
/// @notice Written for pm_mcp from the ERC-8004 interface (Draft, 2026-01 revision). The agent's
///         owner asks a validator; only that validator answers (0..100, repeatable). A pending request
///         reads response 0 through getValidationStatus, exactly as in the spec; request and response
///         URIs live in events only.
contract ValidationRegistry {
    struct Status {
        address validatorAddress;
        uint256 agentId;
        uint8 response;
        bytes32 responseHash;
        string tag;
        uint256 lastUpdate;
        bool hasResponse;
    }

    IIdentityRegistryV private immutable _identity;
    mapping(bytes32 => Status) private _status;
    mapping(bytes32 => bool) private _exists;
    mapping(uint256 => bytes32[]) private _agentValidations;
    mapping(address => bytes32[]) private _validatorRequests;

    event ValidationRequest(
        address indexed validatorAddress, uint256 indexed agentId, string requestURI, bytes32 indexed requestHash
    );
    event ValidationResponse(
        address indexed validatorAddress, uint256 indexed agentId, bytes32 indexed requestHash, uint8 response,
        string responseURI, bytes32 responseHash, string tag
    );

    constructor(address identityRegistry_) {
        _identity = IIdentityRegistryV(identityRegistry_);
    }

    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    function getIdentityRegistry() external view returns (address) {
        return address(_identity);
    }

    function validationRequest(address validatorAddress, uint256 agentId, string calldata requestURI, bytes32 requestHash)
        external
    {
        require(validatorAddress != address(0), "bad validator");
        require(!_exists[requestHash], "exists");
        require(_identity.isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        _exists[requestHash] = true;
        Status storage s = _status[requestHash];
        s.validatorAddress = validatorAddress;
        s.agentId = agentId;
        s.lastUpdate = block.timestamp;
        _agentValidations[agentId].push(requestHash);
        _validatorRequests[validatorAddress].push(requestHash);
        emit ValidationRequest(validatorAddress, agentId, requestURI, requestHash);
    }

    function validationResponse(
        bytes32 requestHash, uint8 response, string calldata responseURI, bytes32 responseHash, string calldata tag
    ) external {
        require(_exists[requestHash], "unknown");
        Status storage s = _status[requestHash];
        require(msg.sender == s.validatorAddress, "not validator");
        require(response <= 100, "resp>100");
        s.response = response;
        s.responseHash = responseHash;
        s.tag = tag;
        s.lastUpdate = block.timestamp;
        s.hasResponse = true;
        emit ValidationResponse(s.validatorAddress, s.agentId, requestHash, response, responseURI, responseHash, tag);
    }

    function getValidationStatus(bytes32 requestHash)
        external view
        returns (address validatorAddress, uint256 agentId, uint8 response, bytes32 responseHash, string memory tag,
                 uint256 lastUpdate)
    {
        require(_exists[requestHash], "unknown");
        Status storage s = _status[requestHash];
        return (s.validatorAddress, s.agentId, s.response, s.responseHash, s.tag, s.lastUpdate);
    }

    /// @notice Count and average of ANSWERED requests (pending ones are not counted as 0).
    function getSummary(uint256 agentId, address[] calldata validatorAddresses, string calldata tag)
        external view returns (uint64 count, uint8 avgResponse)
    {
        bytes32 tagHash = bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
        bytes32[] storage hashes = _agentValidations[agentId];
        uint256 total;
        for (uint256 i = 0; i < hashes.length; i++) {
            Status storage s = _status[hashes[i]];
            if (!s.hasResponse) continue;
            if (tagHash != bytes32(0) && keccak256(bytes(s.tag)) != tagHash) continue;
            if (validatorAddresses.length > 0) {
                bool found;
                for (uint256 j = 0; j < validatorAddresses.length; j++) {
                    if (validatorAddresses[j] == s.validatorAddress) { found = true; break; }
                }
                if (!found) continue;
            }
            total += s.response;
            count++;
        }
        avgResponse = count == 0 ? 0 : uint8(total / count);
    }

    function getAgentValidations(uint256 agentId) external view returns (bytes32[] memory) {
        return _agentValidations[agentId];
    }

    function getValidatorRequests(address validatorAddress) external view returns (bytes32[] memory) {
        return _validatorRequests[validatorAddress];
    }
}
