//! Secrets audit of the cluster resources through real terraform at trace level, against the local
//! region (127.83.x.y): one apply creates a dev cluster, a worker pool, an add-on and a manifest
//! with `TF_LOG=trace`; then no secret of the state (the Kubernetes and Talos client keys, every
//! key and token of the Talos secrets bundle, the key material of the kubeconfig and talosconfig)
//! may appear in terraform's log, in any form a logger would print it (raw, base64-encoded or
//! decoded, JSON-escaped). The log must be a real trace of the provider, not an empty file. The
//! schema must mark `access`, `kubeconfig`, `talosconfig` and `cluster` sensitive wherever they
//! appear.

mod common;

use acceptance::terraform::Terraform;
use acceptance::{CheckError, CheckResult, RunContext, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::{CLOUDTEMPLE, LocalRegion, LogFile, lines_with, on_each_terraform};
use serde_json::Value;

/// Subnets of the runs, one per terraform binary (each run has a region of its own).
const SUBNETS: [u8; 2] = [1, 2];
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";

/// A dev cluster, one worker, an add-on and a manifest: every resource that holds or uses the
/// cluster's credentials, in one apply.
fn config(subnet: u8) -> String {
    let net = [127, 83, subnet];
    let cluster = ClusterHcl::dev("ctsecr", net);
    let workers = PoolHcl::workers(net, &[2]);
    format!(
        r#"{CLOUDTEMPLE_REQUIRED}{cluster}{workers}
resource "cloudtemple_kubernetes_addon" "kyverno" {{
  cluster = cloudtemple_kubernetes_cluster.dev.access
  name    = "kyverno"
}}

resource "cloudtemple_kubernetes_manifest" "team" {{
  cluster   = cloudtemple_kubernetes_cluster.dev.access
  yaml_body = <<-YAML
    apiVersion: v1
    kind: Namespace
    metadata:
      name: team
      labels:
        owner: platform
  YAML
  depends_on = [cloudtemple_kubernetes_node_pool.workers]
}}
"#
    )
}

/// Keys of YAML lines (secrets bundle, kubeconfig, talosconfig) whose value is secret.
const SECRET_YAML_KEYS: &[&str] = &[
    "secret",
    "bootstraptoken",
    "secretboxencryptionsecret",
    "aescbcencryptionsecret",
    "token",
    "key",
    "client-key-data",
];

/// A secret of the state, named by where it was found.
struct Secret {
    origin: String,
    value: String,
}

/// The `key: value` lines of a YAML text whose key is in [`SECRET_YAML_KEYS`] (the bundle, the
/// kubeconfig and the talosconfig put every secret on one line).
fn yaml_secrets(origin: &str, text: &str, out: &mut Vec<Secret>) {
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if SECRET_YAML_KEYS.contains(&key.trim()) && !value.is_empty() {
            out.push(Secret { origin: format!("{origin}: {}", key.trim()), value: value.to_owned() });
        }
    }
}

/// Every secret of the cluster in the state: `access` (client keys and the secrets bundle),
/// `kubeconfig` and `talosconfig`.
fn state_secrets(state: &State) -> Result<Vec<Secret>, CheckError> {
    let cluster = &state.resource(CLUSTER).ok_or("the cluster is not in the state")?.values;
    let text = |value: &Value, what: &str| -> Result<String, CheckError> {
        value.as_str().map(str::to_owned).ok_or_else(|| format!("{what} is not a string in the state").into())
    };
    let access = cluster.get("access").ok_or("no access in the state")?;
    let mut secrets = Vec::new();
    for field in ["client_key", "talos_client_key"] {
        let value = text(&access[field], field)?;
        secrets.push(Secret { origin: format!("access.{field}"), value });
    }
    yaml_secrets("access.secrets", &text(&access["secrets"], "access.secrets")?, &mut secrets);
    yaml_secrets("kubeconfig", &text(&cluster["kubeconfig"], "kubeconfig")?, &mut secrets);
    yaml_secrets("talosconfig", &text(&cluster["talosconfig"], "talosconfig")?, &mut secrets);
    // The bundle has a cluster secret, a bootstrap token, an encryption secret, a trustd token
    // and five CA or service-account keys; the kubeconfig a client key; the talosconfig a key.
    if secrets.len() < 11 {
        let found: Vec<&str> = secrets.iter().map(|s| s.origin.as_str()).collect();
        return Err(format!("expected at least 11 secrets in the state, found {found:?}").into());
    }
    Ok(secrets)
}

/// Standard base64 (with or without padding); `None` if `text` is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The strings whose presence in a log means `secret` leaked: the whole value when it fits on
/// one line, 40-character pieces of long values (a logger may cut or wrap them), the base64
/// lines of a PEM (its newlines may be escaped), and the same for a base64-encoded PEM decoded.
fn needles(secret: &str) -> Vec<String> {
    const PIECE: usize = 40;
    let mut out = Vec::new();
    for line in secret.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")) {
        let chars: Vec<char> = line.chars().collect();
        if chars.len() <= PIECE * 2 {
            out.push(line.to_owned());
        } else {
            out.extend(chars.chunks(PIECE).filter(|c| c.len() == PIECE).map(|c| c.iter().collect()));
        }
    }
    let single_line = secret.trim();
    if !single_line.contains('\n')
        && single_line.len() > 64
        && let Some(decoded) = base64_decode(single_line).and_then(|b| String::from_utf8(b).ok())
        && decoded.contains("-----BEGIN")
    {
        out.extend(needles(&decoded));
    }
    // Tokens shorter than this are formats, not secrets (and would match by chance); a piece that
    // only encodes a PEM armor line (`-----BEGIN EC PRIVATE KEY-----`) is the same in every key.
    out.retain(|needle| {
        needle.len() >= 16 && !base64_decode(needle).is_some_and(|b| b.windows(5).any(|w| w == b"-----"))
    });
    out.sort();
    out.dedup();
    out
}

/// No secret of the state in the log; the log is a trace of the provider at work.
fn log_has_no_secret(ctx: &mut RunContext<'_>, log: &LogFile) -> CheckResult {
    let secrets = state_secrets(&ctx.state()?)?;
    let text = log.read()?;
    let provider_lines =
        text.lines().filter(|l| l.contains("provider.terraform-provider-cloudtemple:")).count();
    if !text.contains("[TRACE]") || provider_lines < 10 {
        return Err(format!(
            "{} is not a trace of the provider ({provider_lines} provider lines, {} bytes)",
            log.path().display(),
            text.len()
        )
        .into());
    }
    // The audited paths did log: the plugin layer's RPCs and the Kubernetes client the add-on and
    // the manifest talk through.
    for marker in ["ApplyResourceChange", "PlanResourceChange", "@module=kube_client"] {
        if !text.contains(marker) {
            return Err(format!("no {marker} in the trace log {}", log.path().display()).into());
        }
    }
    // Control: the state file holds every secret JSON-escaped, as a logged JSON value would be;
    // needles that do not find them there would not find them in the log either.
    let stored = std::fs::read_to_string(ctx.dir().join("terraform.tfstate"))?;
    if let Some(secret) =
        secrets.iter().find(|s| !needles(&s.value).iter().any(|n| stored.contains(n.as_str())))
    {
        return Err(format!("no needle of {} finds it in the state file", secret.origin).into());
    }
    let mut leaks = Vec::new();
    for secret in &secrets {
        for needle in needles(&secret.value) {
            if text.contains(&needle) {
                leaks.push(format!("{} leaks: {:?}", secret.origin, lines_with(&text, &needle)));
                break;
            }
        }
    }
    match leaks.is_empty() {
        true => Ok(()),
        false => {
            Err(format!("secrets in the trace log {}:\n{}", log.path().display(), leaks.join("\n")).into())
        }
    }
}

/// Attributes that hold credentials, wherever a resource has them.
const CREDENTIALS: &[&str] = &["access", "kubeconfig", "talosconfig", "cluster"];

/// `terraform providers schema -json` marks every credential attribute sensitive, and each
/// resource that acts on a cluster has its `cluster` argument.
fn schema_marks_credentials_sensitive(ctx: &mut RunContext<'_>) -> CheckResult {
    let out = ctx.terraform_command(&["providers", "schema", "-json"])?;
    if !out.success() {
        return Err(format!("terraform providers schema failed:\n{}", out.combined).into());
    }
    let schemas: Value = serde_json::from_str(out.stdout.trim())?;
    let resources = schemas["provider_schemas"][CLOUDTEMPLE]["resource_schemas"]
        .as_object()
        .ok_or("no resource schemas for cloudtemple")?;
    let mut found = Vec::new();
    for (resource, schema) in resources {
        for name in CREDENTIALS {
            let Some(attribute) = schema["block"]["attributes"].get(*name) else { continue };
            if attribute["sensitive"] != Value::Bool(true) {
                return Err(format!("{resource}.{name} is not sensitive: {attribute}").into());
            }
            found.push(format!("{resource}.{name}"));
        }
    }
    for expected in [
        "cloudtemple_kubernetes_cluster.access",
        "cloudtemple_kubernetes_cluster.kubeconfig",
        "cloudtemple_kubernetes_cluster.talosconfig",
        "cloudtemple_kubernetes_node_pool.cluster",
        "cloudtemple_kubernetes_addon.cluster",
        "cloudtemple_kubernetes_manifest.cluster",
    ] {
        if !found.iter().any(|f| f == expected) {
            return Err(format!("{expected} is not in the schema; credential attributes: {found:?}").into());
        }
    }
    Ok(())
}

#[test]
fn no_secret_of_the_state_reaches_the_trace_log() {
    let mut subnets = SUBNETS.iter().copied();
    on_each_terraform(|terraform: &Terraform| {
        let subnet = subnets.next().expect("a subnet per terraform binary");
        let region = LocalRegion::start([127, 83, subnet], 2);
        let log = LogFile::new();
        let report = TestCase::new("secrets_in_logs")
            .provider(CLOUDTEMPLE)
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", log.path_str())
            .step(Step::config(config(subnet)))
            .step(Step::run(|ctx| log_has_no_secret(ctx, &log)))
            .step(Step::run(schema_marks_credentials_sensitive))
            .run_with(terraform);
        drop(region);
        report
    });
}

#[test]
fn needles_cover_every_form_of_a_secret() {
    let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yQ7Q2A0EJbTTKx0XBCeJ9E8bUnnoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n";
    let encoded = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzRMVldNOW51d05TazN5UTdRMkEwRUpiVFRLeDBYQkNlSjlFOGJVbm5vQW9HQ0NxR1NNNDkKQXdFSG9VUURRZ0FFCi0tLS0tRU5EIEVDIFBSSVZBVEUgS0VZLS0tLS0K";
    assert_eq!(base64_decode(encoded).map(String::from_utf8), Some(Ok(pem.to_owned())));
    let from_pem = needles(pem);
    assert!(
        from_pem.contains(&"MHcCAQEEIBkg4LVWM9nuwNSk3yQ7Q2A0EJbTTKx0XBCeJ9E8bUnnoAoGCCqGSM49".to_owned())
    );
    assert!(!from_pem.iter().any(|n| n.contains("BEGIN") || n == "AwEHoUQDQgAE"), "{from_pem:?}");
    // The encoded form yields its own pieces and the PEM's lines.
    let from_encoded = needles(encoded);
    assert!(from_encoded.iter().any(|n| encoded.contains(n.as_str()) && !encoded.starts_with(n.as_str())));
    assert!(!from_encoded.iter().any(|n| encoded.starts_with(n.as_str())), "the armor is no needle");
    assert!(from_pem.iter().all(|n| from_encoded.contains(n)));
    assert_eq!(needles("abcdef.0123456789abcdef"), vec!["abcdef.0123456789abcdef".to_owned()]);
    let mut found = Vec::new();
    yaml_secrets("t", "context:\n  key: c2VjcmV0LWtleS1tYXRlcmlhbA==\n  ca: not-secret\n", &mut found);
    assert_eq!(found.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(), ["c2VjcmV0LWtleS1tYXRlcmlhbA=="]);
}
