//! A minimal in-process MQTT broker, used by `mqtt demo` only when no system mosquitto is
//! available, so that the demo runs on a machine where nothing is installed.
//!
//! It supports what the demo shows and no more: MQTT 3.1.1 and 5.0 connections, QoS 0/1/2
//! publish in and out, subscriptions with wildcards and a maximum QoS, retained messages,
//! persistent sessions that queue QoS 1/2 messages while the client is offline. It is not a
//! production broker: no authentication, no retransmission of unacknowledged messages.

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::BytesMut;
use mqtt_proto::topic;
use mqtt_proto::{
    decode, ConnAck, Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode,
    SubAck,
};

#[derive(Default)]
struct Session {
    subscriptions: Vec<(String, QoS)>,
    /// Writer of the live connection, if any.
    stream: Option<(Arc<Mutex<TcpStream>>, ProtocolVersion)>,
    persistent: bool,
    offline: VecDeque<Publish>,
    next_id: u16,
}

#[derive(Default)]
struct State {
    sessions: BTreeMap<String, Session>,
    retained: BTreeMap<String, Publish>,
    next_client: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running demo broker; it lives until the process exits.
pub struct DemoBroker {
    pub port: u16,
}

impl DemoBroker {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Ok(Self { port })
    }
}

fn send(stream: &Mutex<TcpStream>, version: ProtocolVersion, packet: &Packet) {
    let mut buf = BytesMut::new();
    if packet.encode(version, &mut buf).is_ok() {
        let _ = lock(stream).write_all(&buf);
    }
}

/// Delivers to a session: now if it is connected, later if it is persistent and offline.
fn deliver(session: &mut Session, mut publish: Publish, max: QoS) {
    publish.qos = publish.qos.min(max);
    publish.dup = false;
    if let Some(properties) = publish.properties.get_mut() {
        properties.topic_alias = None;
    }
    publish.packet_id = None;
    if publish.qos != QoS::AtMostOnce {
        session.next_id = session.next_id.wrapping_add(1).max(1);
        publish.packet_id = Some(session.next_id);
    }
    match &session.stream {
        Some((stream, version)) => send(stream, *version, &Packet::Publish(publish)),
        None if session.persistent && publish.qos != QoS::AtMostOnce => {
            session.offline.push_back(publish)
        }
        None => {}
    }
}

fn route(state: &mut State, publish: &Publish) {
    if publish.retain {
        if publish.payload.is_empty() {
            state.retained.remove(publish.topic.as_str());
        } else {
            state
                .retained
                .insert(publish.topic.to_string(), publish.clone());
        }
    }
    for session in state.sessions.values_mut() {
        let best = session
            .subscriptions
            .iter()
            .filter(|(f, _)| topic::matches(f, &publish.topic))
            .map(|(_, q)| *q)
            .max();
        if let Some(max) = best {
            let mut copy = publish.clone();
            copy.retain = false;
            deliver(session, copy, max);
        }
    }
}

/// CONNECT: takes over or creates the session, answers CONNACK, delivers what was queued.
/// Returns the client identifier (assigned if the client sent none).
fn on_connect(
    c: &mqtt_proto::Connect,
    writer: &Arc<Mutex<TcpStream>>,
    state: &Mutex<State>,
) -> String {
    let version = c.protocol;
    let persistent = match version {
        ProtocolVersion::V311 => !c.clean_start,
        ProtocolVersion::V5 => c.properties.session_expiry_interval.unwrap_or(0) > 0,
    };
    let mut st = lock(state);
    let (id, assigned) = if c.client_id.is_empty() {
        st.next_client += 1;
        (format!("demo-client-{}", st.next_client), true)
    } else {
        (c.client_id.to_string(), false)
    };
    if c.clean_start {
        st.sessions.remove(&id);
    }
    let present = st.sessions.contains_key(&id);
    let session = st.sessions.entry(id.clone()).or_default();
    session.persistent = persistent;
    session.stream = Some((writer.clone(), version));
    let mut ack = ConnAck {
        session_present: present,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    };
    if assigned && version == ProtocolVersion::V5 {
        ack.properties.assigned_client_identifier = Some(id.as_str().into());
    }
    send(writer, version, &Packet::from(ack));
    let queued: Vec<Publish> = session.offline.drain(..).collect();
    for p in queued {
        send(writer, version, &Packet::Publish(p));
    }
    id
}

/// SUBSCRIBE: grants every filter at its requested QoS and sends the matching retained messages.
fn on_subscribe(
    s: &mqtt_proto::Subscribe,
    id: &str,
    writer: &Mutex<TcpStream>,
    version: ProtocolVersion,
    state: &Mutex<State>,
) {
    let mut st = lock(state);
    let retained: Vec<Publish> = st.retained.values().cloned().collect();
    let Some(session) = st.sessions.get_mut(id) else {
        return;
    };
    let mut codes = Vec::new();
    for sub in &s.subscriptions {
        let filter = sub.filter.to_string();
        session.subscriptions.retain(|(f, _)| *f != filter);
        session.subscriptions.push((filter, sub.options.max_qos));
        codes.push(ReasonCode::granted(sub.options.max_qos));
    }
    let ack = SubAck {
        packet_id: s.packet_id,
        properties: Default::default(),
        reason_codes: codes,
    };
    send(writer, version, &Packet::SubAck(ack));
    for sub in &s.subscriptions {
        for r in retained
            .iter()
            .filter(|r| topic::matches(&sub.filter, &r.topic))
        {
            deliver(session, r.clone(), sub.options.max_qos);
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let writer = Arc::new(Mutex::new(stream.try_clone()?));
    let mut reader = stream;
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut version = ProtocolVersion::V5;
    let mut client_id: Option<String> = None;
    loop {
        let packet = loop {
            match decode(&mut buf, version, 1 << 20) {
                Ok(Some(p)) => break Some(p),
                Ok(None) => {}
                Err(_) => break None,
            }
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                break None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let Some(packet) = packet else { break };
        match packet {
            Packet::Connect(c) => {
                version = c.protocol;
                client_id = Some(on_connect(&c, &writer, state));
            }
            Packet::Publish(p) => {
                let id = p.packet_id.unwrap_or(0);
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        send(&writer, version, &Packet::PubAck(PubResponse::new(id)))
                    }
                    QoS::ExactlyOnce => {
                        send(&writer, version, &Packet::PubRec(PubResponse::new(id)))
                    }
                }
                route(&mut lock(state), &p);
            }
            Packet::PubRel(r) => send(
                &writer,
                version,
                &Packet::PubComp(PubResponse::new(r.packet_id)),
            ),
            Packet::PubRec(r) => send(
                &writer,
                version,
                &Packet::PubRel(PubResponse::new(r.packet_id)),
            ),
            Packet::PubAck(_) | Packet::PubComp(_) => {}
            Packet::Subscribe(s) => {
                let Some(id) = &client_id else { break };
                on_subscribe(&s, id, &writer, version, state);
            }
            Packet::Unsubscribe(u) => {
                let mut st = lock(state);
                if let Some(session) = client_id.as_ref().and_then(|id| st.sessions.get_mut(id)) {
                    session
                        .subscriptions
                        .retain(|(f, _)| !u.filters.iter().any(|x| x.as_str() == f));
                }
                let codes = match version {
                    ProtocolVersion::V311 => Vec::new(),
                    ProtocolVersion::V5 => vec![ReasonCode::Success; u.filters.len()],
                };
                send(
                    &writer,
                    version,
                    &Packet::UnsubAck(SubAck {
                        packet_id: u.packet_id,
                        properties: Default::default(),
                        reason_codes: codes,
                    }),
                );
            }
            Packet::PingReq => send(&writer, version, &Packet::PingResp),
            Packet::Disconnect(_) => break,
            other if other.packet_type() == PacketType::Auth => break,
            _ => break,
        }
    }
    let mut st = lock(state);
    if let Some(id) = client_id {
        let drop_session = st.sessions.get(&id).is_some_and(|s| !s.persistent);
        if drop_session {
            st.sessions.remove(&id);
        } else if let Some(s) = st.sessions.get_mut(&id) {
            // Only if no newer connection took the session over.
            if s.stream
                .as_ref()
                .is_some_and(|(w, _)| Arc::ptr_eq(w, &writer))
            {
                s.stream = None;
            }
        }
    }
    Ok(())
}
