//! What the group is asked and what it answers: the arguments of JoinGroup and SyncGroup as the
//! group sees them, their results, the descriptions it gives, its committed offsets, and the
//! [`Effect`]s (records to write) it hands back to the actor.

use super::*;

/// A JoinGroup, as the group sees it.
#[derive(Debug, Clone, Default)]
pub struct JoinArgs {
    /// The member id, or empty on a first join.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// The request's client id.
    pub client_id: String,
    /// The client's address (`/127.0.0.1`).
    pub client_host: String,
    /// Session timeout in ms.
    pub session_timeout_ms: i32,
    /// Rebalance timeout in ms (the session timeout for v0).
    pub rebalance_timeout_ms: i32,
    /// The protocol type, e.g. `consumer`.
    pub protocol_type: String,
    /// Supported protocols (assignors), most preferred first, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// v4+ dynamic members: a first join gets MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
    /// v9+: the leader may be told to skip the assignment (KIP-814).
    pub supports_skip_assignment: bool,
}

/// A member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its metadata for the selected protocol.
    pub metadata: Bytes,
}

/// The outcome of a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// The error, or NONE.
    pub error: ErrorCode,
    /// The generation, or -1 on error.
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected protocol.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// KIP-814: the leader need not compute an assignment.
    pub skip_assignment: bool,
    /// The member's id (new on a first join).
    pub member_id: String,
    /// Every member, for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// An error answer (Kafka's `joinError`).
    pub fn error(member_id: &str, error: ErrorCode) -> Self {
        Self {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// A member of a classic group as an online upgrade takes it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeMember {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its address.
    pub client_host: String,
    /// Its session timeout.
    pub session_timeout_ms: i32,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Its protocols, most preferred first.
    pub protocols: Vec<(String, Bytes)>,
    /// Its subscription for the group's protocol.
    pub subscription: Bytes,
    /// Its assignment of the current generation.
    pub assignment: Bytes,
}

/// A SyncGroup, as the group sees it.
#[derive(Debug, Clone, Default)]
pub struct SyncArgs {
    /// The generation the member joined.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// v5: checked against the group's.
    pub protocol_type: Option<String>,
    /// v5: checked against the group's.
    pub protocol_name: Option<String>,
    /// The leader's assignment per member; empty from followers.
    pub assignments: Vec<(String, Bytes)>,
}

/// The outcome of a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    /// The error, or NONE.
    pub error: ErrorCode,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The group's protocol.
    pub protocol_name: Option<String>,
    /// The member's assignment.
    pub assignment: Bytes,
}

impl SyncResult {
    /// An error answer.
    pub fn error(error: ErrorCode) -> Self {
        Self {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// A member named in a LeaveGroup (or a heartbeat, commit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberIdentity {
    /// The member id (may be empty for a static member leaving by instance id, v4+).
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
}

/// A member, as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its address.
    pub client_host: String,
    /// Its metadata for the selected protocol (Stable groups only).
    pub metadata: Bytes,
    /// Its assignment (Stable groups only).
    pub assignment: Bytes,
}

/// What DescribeGroups reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The state.
    pub state: GroupState,
    /// The protocol type, or empty.
    pub protocol_type: String,
    /// The selected protocol when Stable, else empty (as Kafka).
    pub protocol: String,
    /// The members.
    pub members: Vec<MemberDescription>,
}

/// A record the actor must write for the group.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Store the group's metadata; nothing waits for it (the group became empty).
    StoreGroup(GroupMetadataValue),
    /// Store the leader's assignment for `generation`; the outcome goes back to
    /// [`Group::assignment_stored`], which completes the SyncGroups.
    StoreAssignment {
        /// The generation the assignment is for.
        generation: i32,
        /// The record to write.
        record: GroupMetadataValue,
        /// The assignment per member (missing members get an empty one).
        assignment: HashMap<String, Bytes>,
    },
}
