//! ICE candidates between the `webrtc` types and the protocol's wire shape
//! (the browsers' `RTCIceCandidateInit` JSON).

use protocol::media::IceCandidate;
use webrtc::peer_connection::RTCIceCandidateInit;

/// A candidate of the node, as browsers take it.
pub fn to_wire(c: RTCIceCandidateInit) -> IceCandidate {
    IceCandidate {
        candidate: c.candidate,
        sdp_mid: c.sdp_mid,
        sdp_mline_index: c.sdp_mline_index,
        username_fragment: c.username_fragment,
    }
}

/// A browser's candidate, as the node takes it.
pub fn from_wire(c: IceCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: c.candidate,
        sdp_mid: c.sdp_mid,
        sdp_mline_index: c.sdp_mline_index,
        username_fragment: c.username_fragment,
        url: None,
    }
}
