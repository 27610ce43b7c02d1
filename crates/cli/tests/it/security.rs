//! `streamctl dev up --tls --sasl` and the client commands against it: the printed settings
//! and the `dev` profile are enough to connect, the password comes from
//! `$STREAMCTL_SASL_PASSWORD` (or `-X sasl.password`), and a wrong or missing password is
//! refused without the password appearing anywhere.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::support::*;

/// Runs the binary with an environment variable set.
async fn streamctl_env(config: &Path, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = command(config);
    cmd.env_remove("STREAMCTL_SASL_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(cmd, args, stdin).await
}

#[tokio::test]
async fn dev_up_tls_sasl_prints_settings_that_connect_and_refuses_wrong_passwords() {
    let dir = std::env::temp_dir().join(format!("streamctl-cli-sec-{}", std::process::id()));
    let config = dir.join("config.toml");
    let data = dir.join("data");
    let (mut dev, printed) = dev_up_printing(
        &config,
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--tls",
            "--sasl-user",
            "alice:alice-secret",
        ],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(printed["SECURITY_PROTOCOL"], "SASL_SSL", "{printed:?}");
    assert_eq!(printed["SASL_USERNAME"], "alice");
    assert!(
        !printed.contains_key("SASL_PASSWORD"),
        "a given password is never printed"
    );
    let ca = printed["SSL_CA_LOCATION"].clone();
    assert_eq!(Path::new(&ca), data.join("tls/ca.pem"));
    let profile = std::fs::read_to_string(&config).unwrap();
    assert!(
        profile.contains("SASL_SSL") && !profile.contains("alice-secret"),
        "{profile}"
    );

    // The profile written by dev up, plus the password from the environment.
    let password = [("STREAMCTL_SASL_PASSWORD", "alice-secret")];
    let out = streamctl_env(&config, &password, &["produce", "secured"], b"one\ntwo\n").await;
    ok(&out);
    // The schema registry serves HTTPS with the cluster's certificate, and the profile
    // trusts it through the same CA.
    let registry = printed["SCHEMA_REGISTRY"].clone();
    assert!(registry.starts_with("https://"), "{registry}");
    assert!(
        profile.contains(&format!("\"schema.registry.ssl.ca.location\" = \"{ca}\""))
            || profile.contains(&format!("schema.registry.ssl.ca.location = \"{ca}\"")),
        "{profile}"
    );
    let schema = dir.join("reading.avsc");
    std::fs::write(
        &schema,
        r#"{"type":"record","name":"R","fields":[{"name":"c","type":"double"}]}"#,
    )
    .unwrap();
    let out = streamctl_env(
        &config,
        &[],
        &[
            "schema",
            "register",
            "readings-value",
            schema.to_str().unwrap(),
        ],
        b"",
    )
    .await;
    ok(&out);
    let out = streamctl_env(
        &config,
        &password,
        &["produce", "readings", "-s", "value=avro"],
        b"{\"c\": 21.5}\n",
    )
    .await;
    ok(&out);
    let out = streamctl_env(
        &config,
        &password,
        &["consume", "readings", "-e", "-s", "value=avro"],
        b"",
    )
    .await;
    assert_eq!(stdout_of(&out), "{\"c\":21.5}\n");
    // Explicit -X flags, as printed, with a literal password and another mechanism.
    let brokers = printed["BROKERS"].clone();
    let ca_flag = format!("ssl.ca.location={ca}");
    let flags = [
        "-b",
        &brokers,
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        &ca_flag,
        "-X",
        "sasl.mechanism=SCRAM-SHA-512",
        "-X",
        "sasl.username=alice",
    ];
    let mut args = flags.to_vec();
    args.extend([
        "-X",
        "sasl.password=alice-secret",
        "consume",
        "secured",
        "-e",
        "-f",
        "%s\n",
    ]);
    let out = streamctl_env(&config, &[], &args, b"").await;
    assert_eq!(stdout_of(&out), "one\ntwo\n");

    // Wrong password: refused, exit 1, and the password is not in the output.
    let wrong = [("STREAMCTL_SASL_PASSWORD", "not-alice-secret")];
    let mut args = flags.to_vec();
    args.extend(["consume", "secured", "-e"]);
    let out = streamctl_env(&config, &wrong, &args, b"").await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("SASL_AUTHENTICATION_FAILED"), "{err}");
    assert!(
        err.contains("check the security settings") && !err.contains("is the cluster up"),
        "{err}"
    );
    assert!(!err.contains("not-alice-secret"), "{err}");

    // No password and no terminal: a clear error instead of a prompt nobody sees.
    let out = streamctl_env(&config, &[], &args, b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("STREAMCTL_SASL_PASSWORD"),
        "{}",
        stderr_of(&out)
    );

    // A bad secret property is named, its value is not.
    let mut args = flags.to_vec();
    args.extend([
        "-X",
        "sasl.jaas.config=password=\"hunter2\"",
        "consume",
        "secured",
        "-e",
    ]);
    let out = streamctl_env(&config, &[], &args, b"").await;
    let err = stderr_of(&out);
    assert!(
        err.contains("sasl.jaas.config") && !err.contains("hunter2"),
        "{err}"
    );

    dev.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
