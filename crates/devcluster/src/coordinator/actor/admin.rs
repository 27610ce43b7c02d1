//! DeleteGroups and OffsetDelete on the actor: tombstones for the group (of either type) or
//! for single offsets, answered once the in-sync replicas have them.

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;

use super::{encode_consumer, Actor, Membership};
use crate::coordinator::group::Group;
use crate::coordinator::records::RecordKey;
use crate::coordinator::store::offset_write_error;

impl Actor {
    pub(super) fn delete(&mut self, reply: oneshot::Sender<ErrorCode>) {
        let checked = match &self.group {
            Membership::Classic(g) => g.check_deletable(),
            Membership::Consumer(g) if g.members().is_empty() => Ok(()),
            Membership::Consumer(_) => Err(ErrorCode::NonEmptyGroup),
        };
        if let Err(error) = checked {
            let _ = reply.send(error);
            return;
        }
        let group = self.group_id.clone();
        let mut records = match &self.group {
            Membership::Classic(_) => Vec::new(),
            Membership::Consumer(g) => match encode_consumer(&group, &g.tombstones()) {
                Ok(r) => r,
                Err(_) => {
                    let _ = reply.send(ErrorCode::UnknownServerError);
                    return;
                }
            },
        };
        let mut keys = vec![RecordKey::Group {
            group: group.clone(),
        }];
        keys.extend(
            self.offsets
                .all()
                .keys()
                .map(|(topic, partition)| RecordKey::Offset {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                }),
        );
        let keys: Result<Vec<(Bytes, Option<Bytes>)>, _> =
            keys.iter().map(|k| k.encode().map(|k| (k, None))).collect();
        let Ok(keys) = keys else {
            let _ = reply.send(ErrorCode::UnknownServerError);
            return;
        };
        records.extend(keys);
        match self.log.append(&records) {
            Err(e) => {
                let _ = reply.send(offset_write_error(&e));
            }
            Ok(appended) => {
                tracing::info!(group = %group, "group deleted");
                let mut dead = Group::new(group.clone(), Default::default());
                dead.mark_dead();
                self.group = Membership::Classic(dead);
                self.offsets.clear();
                self.spawn_waiter(async move {
                    let error = match appended.durable().await {
                        Ok(()) => ErrorCode::None,
                        Err(e) => offset_write_error(&e),
                    };
                    let _ = reply.send(error);
                });
            }
        }
    }

    pub(super) fn delete_offsets(
        &mut self,
        partitions: &[(String, i32)],
        reply: oneshot::Sender<Result<Vec<ErrorCode>, ErrorCode>>,
    ) {
        let checked = match &self.group {
            Membership::Classic(g) => g.check_offset_delete(),
            Membership::Consumer(_) => Ok(()),
        };
        if let Err(error) = checked {
            let _ = reply.send(Err(error));
            return;
        }
        let mut errors = Vec::with_capacity(partitions.len());
        let mut doomed = Vec::new();
        for (topic, partition) in partitions {
            let subscribed = match &self.group {
                Membership::Classic(g) => g.is_subscribed_to(topic),
                Membership::Consumer(g) => g.is_subscribed_to(topic),
            };
            if subscribed {
                errors.push(ErrorCode::GroupSubscribedToTopic);
            } else {
                if self.offsets.get(topic, *partition).is_some() {
                    doomed.push((errors.len(), topic.clone(), *partition));
                }
                errors.push(ErrorCode::None);
            }
        }
        let records: Result<Vec<(Bytes, Option<Bytes>)>, _> = doomed
            .iter()
            .map(|(_, topic, partition)| {
                RecordKey::Offset {
                    group: self.group_id.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                }
                .encode()
                .map(|k| (k, None))
            })
            .collect();
        let records = match records {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => {
                let _ = reply.send(Ok(errors));
                return;
            }
            Err(_) => {
                let _ = reply.send(Err(ErrorCode::UnknownServerError));
                return;
            }
        };
        match self.log.append(&records) {
            Err(e) => {
                let code = offset_write_error(&e);
                for (i, ..) in &doomed {
                    if let Some(slot) = errors.get_mut(*i) {
                        *slot = code;
                    }
                }
                let _ = reply.send(Ok(errors));
            }
            Ok(appended) => {
                for (n, (_, topic, partition)) in doomed.iter().enumerate() {
                    self.offsets
                        .delete(topic, *partition, appended.base_offset + n as i64);
                }
                self.spawn_waiter(async move {
                    if let Err(e) = appended.durable().await {
                        let code = offset_write_error(&e);
                        for (i, ..) in &doomed {
                            if let Some(slot) = errors.get_mut(*i) {
                                *slot = code;
                            }
                        }
                    }
                    let _ = reply.send(Ok(errors));
                });
            }
        }
    }
}
