// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IIdentityRegistry {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
    function ownerOf(uint256 agentId) external view returns (address);
}

/// @title ReputationRegistry: a minimal ERC-8004 reputation registry for local tests.
/// @notice Written for pm_mcp from the ERC-8004 interface (Draft, 2026-01 revision): permissionless
///         feedback as an int128 value with decimals and two tags; revocation by the original client;
///         responses appended by anyone. endpoint, feedbackURI, feedbackHash and response URIs are
///         only emitted in events, as in the spec.
contract ReputationRegistry {
    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        string tag1;
        string tag2;
    }

    IIdentityRegistry private immutable _identity;
    // agentId => client => feedbackIndex (1-based) => feedback
    mapping(uint256 => mapping(address => mapping(uint64 => Feedback))) private _feedback;
    mapping(uint256 => mapping(address => uint64)) private _lastIndex;
    mapping(uint256 => address[]) private _clients;
    mapping(uint256 => mapping(address => bool)) private _isClient;
    // agentId => client => feedbackIndex => responder => count
    mapping(uint256 => mapping(address => mapping(uint64 => mapping(address => uint64)))) private _responseCount;
    mapping(uint256 => mapping(address => mapping(uint64 => address[]))) private _responders;

    event NewFeedback(
        uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, int128 value, uint8 valueDecimals,
        string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);
    event ResponseAppended(
        uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, address indexed responder,
        string responseURI, bytes32 responseHash
    );

    int256 private constant _MAX_ABS_VALUE = 1e38;

    constructor(address identityRegistry_) {
        _identity = IIdentityRegistry(identityRegistry_);
    }

    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    function getIdentityRegistry() external view returns (address) {
        return address(_identity);
    }

    function giveFeedback(
        uint256 agentId, int128 value, uint8 valueDecimals, string calldata tag1, string calldata tag2,
        string calldata endpoint, string calldata feedbackURI, bytes32 feedbackHash
    ) external {
        require(valueDecimals <= 18, "too many decimals");
        require(value <= _MAX_ABS_VALUE && value >= -_MAX_ABS_VALUE, "value out of range");
        // reverts for an agent that does not exist
        require(!_identity.isAuthorizedOrOwner(msg.sender, agentId), "Self-feedback not allowed");
        uint64 index = ++_lastIndex[agentId][msg.sender];
        _feedback[agentId][msg.sender][index] = Feedback(value, valueDecimals, false, tag1, tag2);
        if (!_isClient[agentId][msg.sender]) {
            _isClient[agentId][msg.sender] = true;
            _clients[agentId].push(msg.sender);
        }
        emit NewFeedback(agentId, msg.sender, index, value, valueDecimals, tag1, tag1, tag2, endpoint, feedbackURI,
                         feedbackHash);
    }

    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        require(feedbackIndex > 0 && feedbackIndex <= _lastIndex[agentId][msg.sender], "index out of bounds");
        Feedback storage f = _feedback[agentId][msg.sender][feedbackIndex];
        require(!f.isRevoked, "already revoked");
        f.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    function appendResponse(
        uint256 agentId, address clientAddress, uint64 feedbackIndex, string calldata responseURI, bytes32 responseHash
    ) external {
        require(feedbackIndex > 0 && feedbackIndex <= _lastIndex[agentId][clientAddress], "index out of bounds");
        require(bytes(responseURI).length > 0, "empty URI");
        if (_responseCount[agentId][clientAddress][feedbackIndex][msg.sender] == 0) {
            _responders[agentId][clientAddress][feedbackIndex].push(msg.sender);
        }
        _responseCount[agentId][clientAddress][feedbackIndex][msg.sender] += 1;
        emit ResponseAppended(agentId, clientAddress, feedbackIndex, msg.sender, responseURI, responseHash);
    }

    // ---------------------------------------------------------------- reads
    function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external view returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        require(feedbackIndex > 0 && feedbackIndex <= _lastIndex[agentId][clientAddress], "index out of bounds");
        Feedback storage f = _feedback[agentId][clientAddress][feedbackIndex];
        return (f.value, f.valueDecimals, f.tag1, f.tag2, f.isRevoked);
    }

    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    function getLastIndex(uint256 agentId, address clientAddress) external view returns (uint64) {
        return _lastIndex[agentId][clientAddress];
    }

    function getResponseCount(uint256 agentId, address clientAddress, uint64 feedbackIndex, address[] calldata responders)
        external view returns (uint64 count)
    {
        address[] memory who = responders;
        if (who.length == 0) who = _responders[agentId][clientAddress][feedbackIndex];
        for (uint256 i = 0; i < who.length; i++) {
            count += _responseCount[agentId][clientAddress][feedbackIndex][who[i]];
        }
    }

    function _matches(Feedback storage f, bytes32 t1, bytes32 t2, bool includeRevoked) private view returns (bool) {
        if (f.isRevoked && !includeRevoked) return false;
        if (t1 != bytes32(0) && keccak256(bytes(f.tag1)) != t1) return false;
        if (t2 != bytes32(0) && keccak256(bytes(f.tag2)) != t2) return false;
        return true;
    }

    function _tagHash(string calldata tag) private pure returns (bytes32) {
        return bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
    }

    /// @notice Average of the matching, non-revoked feedback: values normalised to 18 decimals, the
    ///         result expressed at the most frequent valueDecimals. Units are not checked across tags.
    function getSummary(uint256 agentId, address[] calldata clientAddresses, string calldata tag1, string calldata tag2)
        external view returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        require(clientAddresses.length > 0, "clientAddresses required");
        bytes32 t1 = _tagHash(tag1);
        bytes32 t2 = _tagHash(tag2);
        int256 total;
        uint64[19] memory decimalsSeen;
        for (uint256 c = 0; c < clientAddresses.length; c++) {
            address client = clientAddresses[c];
            uint64 last = _lastIndex[agentId][client];
            for (uint64 i = 1; i <= last; i++) {
                Feedback storage f = _feedback[agentId][client][i];
                if (!_matches(f, t1, t2, false)) continue;
                total += int256(f.value) * int256(10 ** (18 - uint256(f.valueDecimals)));
                decimalsSeen[f.valueDecimals] += 1;
                count++;
            }
        }
        if (count == 0) return (0, 0, 0);
        uint8 mode;
        for (uint8 d = 1; d <= 18; d++) {
            if (decimalsSeen[d] > decimalsSeen[mode]) mode = d;
        }
        int256 avg18 = total / int256(uint256(count));
        summaryValue = int128(avg18 / int256(10 ** (18 - uint256(mode))));
        summaryValueDecimals = mode;
    }

    function readAllFeedback(
        uint256 agentId, address[] calldata clientAddresses, string calldata tag1, string calldata tag2, bool includeRevoked
    )
        external view
        returns (
            address[] memory clients, uint64[] memory feedbackIndexes, int128[] memory values,
            uint8[] memory valueDecimals, string[] memory tag1s, string[] memory tag2s, bool[] memory revokedStatuses
        )
    {
        address[] memory who = clientAddresses;
        if (who.length == 0) who = _clients[agentId];
        bytes32 t1 = _tagHash(tag1);
        bytes32 t2 = _tagHash(tag2);
        uint256 n;
        for (uint256 c = 0; c < who.length; c++) {
            uint64 last = _lastIndex[agentId][who[c]];
            for (uint64 i = 1; i <= last; i++) {
                if (_matches(_feedback[agentId][who[c]][i], t1, t2, includeRevoked)) n++;
            }
        }
        clients = new address[](n);
        feedbackIndexes = new uint64[](n);
        values = new int128[](n);
        valueDecimals = new uint8[](n);
        tag1s = new string[](n);
        tag2s = new string[](n);
        revokedStatuses = new bool[](n);
        uint256 k;
        for (uint256 c = 0; c < who.length; c++) {
            uint64 last = _lastIndex[agentId][who[c]];
            for (uint64 i = 1; i <= last; i++) {
                Feedback storage f = _feedback[agentId][who[c]][i];
                if (!_matches(f, t1, t2, includeRevoked)) continue;
                clients[k] = who[c];
                feedbackIndexes[k] = i;
                values[k] = f.value;
                valueDecimals[k] = f.valueDecimals;
                tag1s[k] = f.tag1;
                tag2s[k] = f.tag2;
                revokedStatuses[k] = f.isRevoked;
                k++;
            }
        }
    }
}
