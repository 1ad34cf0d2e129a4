//! Credentials, ACLs and TLS against a real mosquitto, with certificates generated at test time.

mod broker;

use std::time::Duration;

use broker::{Broker, BrokerConfig, Pki, T};
use transport_std::{Client, Error, ProtocolVersion, QoS, ReasonCode, TlsConfig};

fn users() -> BrokerConfig {
    BrokerConfig {
        users: vec![("alice".into(), "secret".into())],
        ..Default::default()
    }
}

#[test]
fn right_password_connects() {
    let broker = Broker::start(users());
    let c = Client::builder(&broker.url())
        .client_id("alice-1")
        .credentials("alice", "secret")
        .build()
        .expect("build");
    c.connect().expect("connect");
}

#[test]
fn wrong_password_is_a_typed_refusal_in_both_versions() {
    let broker = Broker::start(users());
    for (version, expected) in [
        (ProtocolVersion::V311, ReasonCode::NotAuthorized),
        (ProtocolVersion::V5, ReasonCode::NotAuthorized),
    ] {
        let c = Client::builder(&broker.url())
            .protocol(version)
            .credentials("alice", "wrong")
            .build()
            .expect("build");
        match c.connect() {
            // mosquitto answers a bad password with "not authorized" (3.1.1 code 5, MQTT 5 0x87).
            Err(Error::ConnectionRefused(code)) => {
                assert!(
                    code == expected || code == ReasonCode::BadUserNameOrPassword,
                    "{version:?}: {code:?}"
                );
            }
            other => panic!("{version:?}: expected a refusal, got {other:?}"),
        }
        // run() returns the same error in the foreground.
        let c = Client::builder(&broker.url())
            .protocol(version)
            .credentials("alice", "wrong")
            .build()
            .expect("build");
        assert!(matches!(c.run(), Err(Error::ConnectionRefused(_))));
    }
}

#[test]
fn acl_denied_publish_is_reported_by_mqtt5_puback() {
    let acl = "user alice\ntopic readwrite allowed/#\n".to_string();
    let broker = Broker::start(BrokerConfig {
        acl: Some(acl),
        ..users()
    });
    let c = Client::builder(&broker.url())
        .client_id("alice-acl")
        .credentials("alice", "secret")
        .build()
        .expect("build");
    c.connect().expect("connect");
    let ok = c
        .publish("allowed/x", "yes", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    // Accepted; mosquitto adds "no matching subscribers" (0x10), still a success code.
    assert!(ok.is_success(), "{ok:?}");
    let denied = c
        .publish("forbidden/x", "no", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert_eq!(denied, ReasonCode::NotAuthorized);
}

fn tls_broker(pki: &Pki, require_client_cert: bool) -> Broker {
    Broker::start(BrokerConfig {
        tls: Some(pki.broker_files(require_client_cert)),
        ..Default::default()
    })
}

#[test]
fn tls_with_a_trusted_ca_and_matching_host() {
    let pki = Pki::generate();
    let broker = tls_broker(&pki, false);
    let c = Client::builder(&format!("mqtts://localhost:{}", broker.port))
        .tls(TlsConfig::from_pem(&pki.ca_pem).expect("ca"))
        .build()
        .expect("build");
    c.connect().expect("TLS connect");
    c.publish("tls/x", "secret", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack over TLS");
    c.disconnect(T).expect("disconnect");
}

#[test]
fn tls_wrong_hostname_is_refused() {
    let pki = Pki::generate();
    let broker = tls_broker(&pki, false);
    // The certificate is for "localhost", not for the IP address.
    let c = Client::builder(&format!("mqtts://127.0.0.1:{}", broker.port))
        .tls(TlsConfig::from_pem(&pki.ca_pem).expect("ca"))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("build");
    match c.connect() {
        Err(Error::Tls(rustls::Error::InvalidCertificate(e))) => {
            assert!(format!("{e:?}").contains("NotValidForName"), "{e:?}");
        }
        other => panic!("expected a name mismatch, got {other:?}"),
    }
}

#[test]
fn tls_untrusted_ca_is_refused() {
    let pki = Pki::generate();
    let other = Pki::generate();
    let broker = tls_broker(&pki, false);
    let c = Client::builder(&format!("mqtts://localhost:{}", broker.port))
        .tls(TlsConfig::from_pem(&other.ca_pem).expect("ca"))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("build");
    match c.connect() {
        // webpki reports an issuer it cannot verify as unknown or as a bad signature.
        Err(Error::Tls(rustls::Error::InvalidCertificate(e))) => {
            let why = format!("{e:?}");
            assert!(
                why.contains("UnknownIssuer") || why.contains("BadSignature"),
                "{why}"
            );
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
}

#[test]
fn tls_client_certificate_required_and_given() {
    let pki = Pki::generate();
    let broker = tls_broker(&pki, true);
    let address = format!("mqtts://localhost:{}", broker.port);
    let with_cert = TlsConfig::from_pem(&pki.ca_pem)
        .expect("ca")
        .client_cert(&pki.client_cert_pem, &pki.client_key_pem)
        .expect("client cert");
    let c = Client::builder(&address)
        .tls(with_cert)
        .build()
        .expect("build");
    c.connect().expect("connect with a client certificate");
    c.disconnect(T).expect("disconnect");

    let without = Client::builder(&address)
        .tls(TlsConfig::from_pem(&pki.ca_pem).expect("ca"))
        .no_reconnect()
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("build");
    assert!(
        without.connect().is_err(),
        "a client without certificate is refused"
    );
}

#[test]
fn invalid_pem_is_a_certificate_error() {
    assert!(matches!(
        TlsConfig::from_pem("not a certificate"),
        Err(Error::Certificate(_))
    ));
}
