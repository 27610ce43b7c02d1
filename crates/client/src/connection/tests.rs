//! Connection behaviour against a scripted fake broker: the cases a real broker does not
//! produce on demand (old ApiVersions, protocol errors, hang-ups).

use super::*;
use bytes::BufMut;
use streamctl_protocol::frame::decode_request;
use streamctl_protocol::messages::api_versions::ApiVersionsResponseApiVersion;
use streamctl_protocol::RequestBody;
use tokio::net::TcpListener;

/// How the fake broker answers one request.
enum Answer {
    Frame(BytesMut),
    Raw(Vec<u8>),
    Nothing,
    /// Close the socket.
    Hangup,
}

/// A one-connection fake broker that answers with `answer(header, body)`.
async fn fake_broker(
    answer: impl Fn(&RequestHeader, RequestBody) -> Answer + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        loop {
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                let (header, body) = decode_request(frame).unwrap();
                match answer(&header, body.unwrap()) {
                    Answer::Frame(out) => socket.write_all(&out).await.unwrap(),
                    Answer::Raw(out) => socket.write_all(&out).await.unwrap(),
                    Answer::Nothing => {}
                    Answer::Hangup => return,
                }
            }
            if socket.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
    });
    addr
}

fn respond(header: &RequestHeader, version: i16, body: impl Into<ResponseBody>) -> Answer {
    let mut out = BytesMut::new();
    frame::encode_response(header.correlation_id, version, &body.into(), &mut out).unwrap();
    Answer::Frame(out)
}

/// ApiVersions 0..=2, Metadata 0..=5.
fn old_broker_versions() -> ApiVersionsResponse {
    let v = |api_key: ApiKey, max_version| ApiVersionsResponseApiVersion {
        api_key: api_key.code(),
        min_version: 0,
        max_version,
        ..Default::default()
    };
    ApiVersionsResponse {
        api_keys: vec![v(ApiKey::ApiVersions, 2), v(ApiKey::Metadata, 5)],
        ..Default::default()
    }
}

fn config() -> ClientConfig {
    ClientConfig::default()
        .request_timeout(Duration::from_secs(5))
        .socket_connection_setup_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn falls_back_when_the_broker_does_not_know_our_api_versions_version() {
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) if header.api_version > 2 => {
            // What Kafka does (KIP-511): a v0 body with the error and its range.
            let mut response = old_broker_versions();
            response.error_code = ErrorCode::UnsupportedVersion.code();
            respond(header, 0, response)
        }
        RequestBody::ApiVersions(_) => respond(header, header.api_version, old_broker_versions()),
        RequestBody::Metadata(_) => respond(
            header,
            header.api_version,
            MetadataResponse {
                controller_id: 42,
                ..Default::default()
            },
        ),
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    assert_eq!(conn.negotiated_version(ApiKey::ApiVersions), Some(2));
    assert_eq!(conn.negotiated_version(ApiKey::Metadata), Some(5));
    assert_eq!(conn.negotiated_version(ApiKey::Fetch), None);
    assert_eq!(conn.broker_versions(ApiKey::Metadata), Some((0, 5)));
    let response = conn.call(MetadataRequest::default()).await.unwrap();
    assert_eq!(response.controller_id, 42);

    let e = conn.call(FetchRequest::default()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedVersion {
                api: ApiKey::Fetch,
                ..
            }
        ),
        "{e}"
    );
    let e = conn
        .call_at(MetadataRequest::default(), 9, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnsupportedVersion { .. }), "{e}");
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn an_unknown_correlation_id_fails_everything_in_flight() {
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) => respond(header, header.api_version, old_broker_versions()),
        // Answer the third Metadata request with a correlation id nobody sent.
        RequestBody::Metadata(_) if header.correlation_id == 3 => {
            let fake = RequestHeader {
                correlation_id: 999,
                ..header.clone()
            };
            respond(&fake, header.api_version, MetadataResponse::default())
        }
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call(MetadataRequest::default()).await })
        })
        .collect();
    for call in calls {
        let e = call.await.unwrap().unwrap_err();
        assert!(
            matches!(
                &e,
                Error::ConnectionLost {
                    reason: Disconnect::UnknownCorrelationId(999),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(&addr), "{e}");
    }
    assert!(conn.is_closed());
    // Later calls fail at once with the same reason.
    let e = conn.call(MetadataRequest::default()).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::ConnectionLost {
                reason: Disconnect::UnknownCorrelationId(999),
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn an_undecodable_response_fails_the_connection() {
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) => respond(header, header.api_version, old_broker_versions()),
        RequestBody::Metadata(_) => {
            // A correct header followed by a body cut short.
            let mut raw = vec![0, 0, 0, 6];
            raw.extend_from_slice(&header.correlation_id.to_be_bytes());
            raw.extend_from_slice(&[0, 0]);
            Answer::Raw(raw)
        }
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    let e = conn.call(MetadataRequest::default()).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::ConnectionLost {
                reason: Disconnect::Decode(_),
                ..
            }
        ),
        "{e}"
    );
    assert!(conn.is_closed());
}

#[tokio::test]
async fn acks_zero_produce_needs_no_response_and_others_are_refused() {
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) => {
            let mut versions = old_broker_versions();
            versions.api_keys.push(ApiVersionsResponseApiVersion {
                api_key: ApiKey::Produce.code(),
                min_version: 3,
                max_version: 9,
                ..Default::default()
            });
            respond(header, header.api_version, versions)
        }
        RequestBody::Metadata(_) => {
            respond(header, header.api_version, MetadataResponse::default())
        }
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    conn.send_no_response(ProduceRequest::default())
        .await
        .unwrap();
    let e = conn
        .send_no_response(ProduceRequest {
            acks: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRequest(_)), "{e}");
    // The stream is still in step after the fire-and-forget request.
    conn.call(MetadataRequest::default()).await.unwrap();
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn a_broker_hanging_up_fails_every_call_in_flight() {
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let addr = fake_broker(move |header, body| match body {
        RequestBody::ApiVersions(_) => respond(header, header.api_version, old_broker_versions()),
        // Hold the first nine Metadata requests, hang up on the tenth.
        RequestBody::Metadata(_) if counter.fetch_add(1, Ordering::SeqCst) < 9 => Answer::Nothing,
        _ => Answer::Hangup,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call(MetadataRequest::default()).await })
        })
        .collect();
    for call in calls {
        let e = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&e, Error::ConnectionLost { reason: Disconnect::Closed, broker } if *broker == addr),
            "{e}"
        );
    }
    assert_eq!(seen.load(Ordering::SeqCst), 10);
    assert!(conn.is_closed());
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn a_pending_response_keeps_its_connection_open() {
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) => respond(header, header.api_version, old_broker_versions()),
        RequestBody::Metadata(_) => respond(
            header,
            header.api_version,
            MetadataResponse {
                controller_id: 7,
                ..Default::default()
            },
        ),
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    let first = conn.send(MetadataRequest::default()).await.unwrap();
    let second = conn.send(MetadataRequest::default()).await.unwrap();
    assert!(first.correlation_id() < second.correlation_id());
    drop(conn);
    assert_eq!(second.response().await.unwrap().controller_id, 7);
    assert_eq!(first.response().await.unwrap().controller_id, 7);
}

#[tokio::test]
async fn an_unsupported_version_answer_in_a_broken_encoding_still_leads_to_v0() {
    // librdkafka's mock cluster answers an ApiVersions version it lacks with
    // UNSUPPORTED_VERSION, a one-byte array count and no tagged fields: neither v0 nor the
    // version asked. The error code is enough to retry at v0.
    let addr = fake_broker(|header, body| match body {
        RequestBody::ApiVersions(_) if header.api_version > 0 => {
            let mut out = BytesMut::new();
            frame::with_size_prefix(&mut out, |buf| {
                buf.put_i32(header.correlation_id);
                buf.put_i16(ErrorCode::UnsupportedVersion.code());
                buf.put_u8(3); // two entries, as a compact array count
                for (key, max) in [(ApiKey::ApiVersions, 3), (ApiKey::Metadata, 12)] {
                    buf.put_i16(key.code());
                    buf.put_i16(0);
                    buf.put_i16(max);
                }
                buf.put_i32(0);
                Ok(())
            })
            .unwrap();
            Answer::Frame(out)
        }
        RequestBody::ApiVersions(_) => respond(header, 0, old_broker_versions()),
        _ => Answer::Nothing,
    })
    .await;
    let conn = Connection::connect(&addr, &config()).await.unwrap();
    // What the v0 answer listed.
    assert_eq!(conn.negotiated_version(ApiKey::Metadata), Some(5));
}
