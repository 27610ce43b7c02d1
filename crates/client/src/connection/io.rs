//! The socket side of a connection: the state the reader and writer tasks share with the
//! handles (requests in flight by correlation id, and why the connection died), and the two
//! tasks themselves. Everything here runs without the caller: a response is delivered, or the
//! connection fails every request in flight with one reason.

use super::*;

/// What the reader does with a response: decode it and hand it to the caller.
///
/// Type-erased so one map can hold requests of every API. It returns the decode error, if
/// any, so the reader can close the connection.
pub(super) type Deliver =
    Box<dyn FnOnce(Result<Bytes, Disconnect>) -> Result<(), DecodeError> + Send>;

/// A request in flight.
pub(super) struct Pending {
    /// The request's API, to pick the response header version.
    pub(super) api: ApiKey,
    /// The version it was sent at, for the same reason.
    pub(super) version: i16,
    /// Decodes and delivers the response.
    pub(super) deliver: Deliver,
}

/// The part of the connection's state the tasks share with the handles.
pub(super) struct State {
    /// Requests in flight by correlation id.
    pub(super) pending: HashMap<i32, Pending>,
    /// Why the connection stopped working; `Some` once and for all.
    pub(super) dead: Option<Disconnect>,
}

/// State shared by the handles and the reader and writer tasks.
pub(super) struct Shared {
    /// The broker's `host:port`, for errors and logs.
    pub(super) broker: String,
    /// In-flight requests and liveness. A std mutex: only held to insert, remove or drain,
    /// never across an await.
    pub(super) state: Mutex<State>,
    /// Cancelled when the connection dies; both tasks stop on it.
    pub(super) closed: CancellationToken,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("broker", &self.broker)
            .field("closed", &self.closed.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than losing the connection; keep going with the data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection dead (once) and fails every request in flight.
    pub(super) fn fail(&self, reason: Disconnect) {
        let pending = {
            let mut state = self.lock();
            if state.dead.is_some() {
                return;
            }
            state.dead = Some(reason.clone());
            std::mem::take(&mut state.pending)
        };
        self.closed.cancel();
        match &reason {
            Disconnect::ClosedByClient => {
                debug!(broker = %self.broker, in_flight = pending.len(), "connection closed")
            }
            Disconnect::Closed => {
                debug!(broker = %self.broker, in_flight = pending.len(), "broker closed the connection")
            }
            other => {
                warn!(broker = %self.broker, in_flight = pending.len(), reason = %other, "connection failed")
            }
        }
        for (_, p) in pending {
            // Delivering an error never fails to decode.
            let _ = (p.deliver)(Err(reason.clone()));
        }
    }

    pub(super) fn dead_reason(&self) -> Option<Disconnect> {
        self.lock().dead.clone()
    }

    pub(super) fn lost(&self, reason: Disconnect) -> Error {
        Error::ConnectionLost {
            broker: self.broker.clone(),
            reason,
        }
    }

    /// Hands one response frame to its request.
    pub(super) fn dispatch(&self, mut frame: Bytes) -> Result<(), Disconnect> {
        let correlation_id = frame
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_be_bytes)
            .ok_or(Disconnect::Decode(DecodeError::Truncated {
                what: "response header",
                needed: 4,
            }))?;
        let Some(pending) = self.lock().pending.remove(&correlation_id) else {
            return Err(Disconnect::UnknownCorrelationId(correlation_id));
        };
        let (api, version) = (pending.api, pending.version);
        trace!(broker = %self.broker, correlation_id, api = %api, "response");
        // The connection's failure says only "undecodable"; which answer and why is here.
        let undecodable = |e: DecodeError| {
            warn!(broker = %self.broker, api = %api, version, error = %e, "cannot decode a response");
            Disconnect::Decode(e)
        };
        let header_version = frame::response_header_version(api, version);
        if let Err(e) = ResponseHeader::decode(&mut frame, header_version) {
            let _ = (pending.deliver)(Err(Disconnect::Decode(e.clone())));
            return Err(undecodable(e));
        }
        (pending.deliver)(Ok(frame)).map_err(undecodable)
    }
}

/// A frame for the writer task.
pub(super) struct Outgoing {
    /// The whole request frame, size prefix included.
    pub(super) frame: Bytes,
    /// Told once the frame is on the socket (fire-and-forget requests wait for that).
    pub(super) written: Option<oneshot::Sender<()>>,
}

/// The reader task: frames in, responses out, until the connection dies.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(mut socket: R, shared: Arc<Shared>) {
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Err(reason) = shared.dispatch(frame) {
                        shared.fail(reason);
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    shared.fail(Disconnect::Decode(e));
                    return;
                }
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            () = shared.closed.cancelled() => return,
            read = socket.read_buf(&mut buf) => read,
        };
        match read {
            Ok(0) => {
                shared.fail(Disconnect::Closed);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                shared.fail(Disconnect::Io(Arc::new(e)));
                return;
            }
        }
    }
}

/// The writer task: queued frames to the socket, coalescing what is queued into one flush.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    socket: W,
    mut queue: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
) {
    let mut socket = BufWriter::with_capacity(WRITE_BUFFER, socket);
    let mut written = Vec::new();
    loop {
        let first = tokio::select! {
            () = shared.closed.cancelled() => break,
            next = queue.recv() => next,
        };
        // `None`: every handle is gone, and `Inner::drop` has cancelled `closed` already.
        let Some(mut next) = first else { break };
        let result = async {
            loop {
                socket.write_all(&next.frame).await?;
                written.extend(next.written.take());
                match queue.try_recv() {
                    Ok(more) => next = more,
                    Err(_) => break,
                }
            }
            socket.flush().await
        };
        let result = tokio::select! {
            () = shared.closed.cancelled() => break,
            result = result => result,
        };
        if let Err(e) = result {
            shared.fail(Disconnect::Io(Arc::new(e)));
            break;
        }
        for done in written.drain(..) {
            let _ = done.send(());
        }
    }
    // Best effort FIN so the broker sees a clean close; bounded, as the socket may be stuck.
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.get_mut().shutdown()).await;
}
