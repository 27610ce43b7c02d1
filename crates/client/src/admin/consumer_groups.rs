//! Consumer-protocol groups (KIP-848) as the admin client sees them: ConsumerGroupDescribe,
//! with group and member epochs and each member's current and target assignment.

use std::collections::BTreeMap;

use streamctl_protocol::messages::consumer_group_describe::ConsumerGroupDescribeAssignment;
use streamctl_protocol::messages::ConsumerGroupDescribeRequest;
use streamctl_protocol::{ApiKey, ErrorCode};

use super::groups::{
    check_group, result_for, retry_coordinator, GroupDescription, MemberDescription,
};
use super::Admin;
use crate::error::Result;

fn by_topic(a: ConsumerGroupDescribeAssignment) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in a.topic_partitions {
        out.entry(tp.topic_name).or_default().extend(tp.partitions);
    }
    for ps in out.values_mut() {
        ps.sort_unstable();
        ps.dedup();
    }
    out
}

impl Admin {
    /// The group described by ConsumerGroupDescribe; `None` when it is not a
    /// consumer-protocol group or the coordinator does not serve the API.
    pub(super) async fn describe_consumer_protocol_group(
        &self,
        group: &str,
    ) -> Result<Option<GroupDescription>> {
        let described = retry_coordinator(self, "ConsumerGroupDescribe", || async move {
            let conn = self.coordinator(group).await?;
            if conn
                .broker_versions(ApiKey::ConsumerGroupDescribe)
                .is_none()
            {
                return Ok(None);
            }
            let response = conn
                .call(ConsumerGroupDescribeRequest {
                    group_ids: vec![group.to_string()],
                    ..Default::default()
                })
                .await?;
            let described = result_for(response.groups, group, "ConsumerGroupDescribe", |x| {
                &x.group_id
            })?;
            // Not a consumer-protocol group, or a broker that lists the API without the
            // protocol switched on: DescribeGroups answers instead.
            if matches!(
                ErrorCode::from_code(described.error_code),
                ErrorCode::GroupIdNotFound | ErrorCode::UnsupportedVersion
            ) {
                return Ok(None);
            }
            check_group(described.error_code, described.error_message.clone(), group)?;
            Ok(Some(described))
        })
        .await?;
        let Some(d) = described else {
            return Ok(None);
        };
        let members = d
            .members
            .into_iter()
            .map(|m| MemberDescription {
                member_id: m.member_id,
                group_instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                assignment: by_topic(m.assignment),
                member_epoch: Some(m.member_epoch),
                target_assignment: Some(by_topic(m.target_assignment)),
            })
            .collect();
        Ok(Some(GroupDescription {
            group_id: d.group_id,
            state: d.group_state,
            group_type: "consumer".to_string(),
            group_epoch: Some(d.group_epoch),
            assignment_epoch: Some(d.assignment_epoch),
            protocol_type: "consumer".to_string(),
            protocol: d.assignor_name,
            members,
        }))
    }
}
