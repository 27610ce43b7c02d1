//! What a listener lets through before the handlers run: replica fetches only on the
//! replication listener; on a SASL listener, the SASL exchange itself (SaslHandshake,
//! SaslAuthenticate, raw v0 tokens) and nothing but ApiVersions until the client has
//! authenticated.

use bytes::BytesMut;
use streamctl_protocol::frame::RequestHeader;
use streamctl_protocol::messages::{RequestBody, ResponseBody};
use tracing::debug;

use super::{encode, BrokerShared, ListenerKind, Reply};
use crate::security::sasl::{Authenticator, Outcome};
use crate::{faults, handlers};

/// What one connection has established: SASL progress on a SASL listener.
pub(super) struct ConnectionState {
    pub(super) kind: ListenerKind,
    /// `Some` on a SASL listener.
    pub(super) auth: Option<Authenticator>,
}

impl ConnectionState {
    pub(super) fn sasl_enabled(&self) -> bool {
        self.auth.is_some()
    }

    pub(super) fn unauthenticated(&self) -> bool {
        self.auth.as_ref().is_some_and(|a| !a.is_authenticated())
    }
}

/// What the listener allows before the handlers run: the replication listener serves replica
/// fetches only; a SASL listener answers the SASL APIs itself and serves nothing else but
/// ApiVersions until the client has authenticated (and closes a connection whose session
/// outlived `connections.max.reauth.ms`, KIP-368). `None`: go on to the handler.
pub(super) fn gate(
    shared: &BrokerShared,
    conn: &mut ConnectionState,
    header: &RequestHeader,
    body: &RequestBody,
) -> Option<Reply> {
    let api = || {
        header.api().map_or_else(
            || format!("api key {}", header.api_key),
            |k| k.name().to_string(),
        )
    };
    if conn.kind == ListenerKind::Replication {
        return (!faults::is_inter_broker(body, header.api_version)).then(|| {
            Reply::Close(format!(
                "{} on the replication listener, which serves broker-to-broker requests only",
                api()
            ))
        });
    }
    let (Some(auth), Some(settings)) = (conn.auth.as_mut(), shared.security.sasl.as_deref()) else {
        return None;
    };
    match body {
        RequestBody::ApiVersions(_) => None,
        RequestBody::SaslHandshake(req) => {
            let response =
                handlers::sasl_handshake::handle(auth, settings, req, header.api_version);
            Some(encode(header, &ResponseBody::SaslHandshake(response)))
        }
        RequestBody::SaslAuthenticate(req) => {
            let (response, refused) = handlers::sasl_authenticate::handle(auth, settings, req);
            if let Some(user) = auth.principal().filter(|_| refused.is_none()) {
                debug!(broker = shared.node_id, principal = user, "authenticated");
            }
            let reply = encode(header, &ResponseBody::SaslAuthenticate(response));
            match (reply, refused) {
                (Reply::Send(bytes), Some(reason)) => Some(Reply::SendAndClose(bytes, reason)),
                (reply, _) => Some(reply),
            }
        }
        _ if auth.principal().is_some() && auth.session_expired() => Some(Reply::Close(format!(
            "{} after the SASL session expired without re-authentication (KIP-368)",
            api()
        ))),
        _ if !auth.is_authenticated() => Some(Reply::Close(format!(
            "{} before SASL authentication",
            api()
        ))),
        _ => None,
    }
}

/// A SASL token in the SaslHandshake v0 framing: raw bytes in a size-prefixed frame, answered
/// the same way; a refusal closes the connection (this framing has no error field).
pub(super) fn raw_sasl_token(
    shared: &BrokerShared,
    conn: &mut ConnectionState,
    token: &[u8],
) -> Reply {
    let (Some(auth), Some(settings)) = (conn.auth.as_mut(), shared.security.sasl.as_deref()) else {
        return Reply::Close("raw SASL token on a listener without SASL".into());
    };
    let reply = match auth.authenticate(settings, token) {
        Outcome::Continue(t) | Outcome::Success { token: t, .. } => t,
        Outcome::Failure(code, message) => {
            return Reply::Close(format!("SASL authentication failed ({code}): {message}"))
        }
    };
    let mut out = BytesMut::with_capacity(reply.len() + 4);
    out.extend_from_slice(&u32::try_from(reply.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&reply);
    Reply::Send(out)
}
