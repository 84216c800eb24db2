//! The real-client suite with kubectl (v1.32, on this machine) against a served API: get nodes,
//! server-side apply, conflicts with and without --force-conflicts, get -A, delete, and wait for
//! Available, plus client-side apply, CRDs, namespace cascade and authentication failures.

mod kube_support;

use ct_emulator::kube::{Timings, certs};
use kube_support::Cluster;

fn deployment(namespace: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
  labels:
    app: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: {image}
        ports:
        - containerPort: 80
"
    )
}

async fn cluster() -> Cluster {
    let c = Cluster::serve(Timings { workload_ready_ms: 1_000, ..Timings::fast() }).await;
    c.server
        .upsert_node("cp-1", &[("node-role.kubernetes.io/control-plane", "")], "v1.32.3", true)
        .expect("node");
    c.server.upsert_node("worker-1", &[], "v1.32.3", false).expect("node");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_nodes_prints_status_roles_and_version() {
    let mut c = cluster().await;
    let (ok, out, _) = c.kubectl(&["get", "nodes"], None).await;
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("STATUS") && lines[0].contains("VERSION"),
        "{out}"
    );
    let cp = lines.iter().find(|l| l.starts_with("cp-1")).expect("cp-1 listed");
    assert!(cp.contains(" Ready ") && cp.contains("control-plane") && cp.contains("v1.32.3"), "{cp}");
    assert!(lines.iter().any(|l| l.starts_with("worker-1") && l.contains("NotReady")), "{out}");
    let (ok, out, _) = c.kubectl(&["version", "-o", "json"], None).await;
    assert!(ok && out.contains("\"gitVersion\": \"v1.32.3\""), "{out}");
    let (ok, out, _) =
        c.kubectl(&["get", "nodes", "-l", "node-role.kubernetes.io/control-plane", "-o", "name"], None).await;
    assert!(ok);
    assert_eq!(out.trim(), "node/cp-1");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_force_get_all_wait_and_delete() {
    let mut c = cluster().await;
    // A client-side apply makes `kubectl-client-side-apply` own .spec.replicas.
    let (ok, out, _) = c.kubectl(&["apply", "-f", "-"], Some(&deployment("default", 2, "nginx:1.27"))).await;
    assert!(ok && out.contains("deployment.apps/web created"), "{out}");
    let (ok, out, _) = c.kubectl(&["apply", "-f", "-"], Some(&deployment("default", 2, "nginx:1.27"))).await;
    assert!(ok && out.contains("deployment.apps/web unchanged"), "{out}");

    let (ok, _, err) = c
        .kubectl(&["apply", "--server-side", "-f", "-"], Some(&deployment("default", 3, "nginx:1.27")))
        .await;
    assert!(!ok);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"),
        "{err}"
    );
    let (ok, out, err) = c
        .kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(&deployment("default", 3, "nginx:1.27")),
        )
        .await;
    assert!(ok && out.contains("deployment.apps/web serverside-applied"), "{out}{err}");
    let (ok, out, _) =
        c.kubectl(&["get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"], None).await;
    assert!(ok);
    assert_eq!(out, "3");
    let (ok, out, _) =
        c.kubectl(&["get", "deployment", "web", "-o", "json", "--show-managed-fields"], None).await;
    assert!(
        ok && out.contains("\"manager\": \"kubectl\"") && out.contains("\"operation\": \"Apply\""),
        "{out}"
    );

    // A second namespace, then everything across namespaces.
    let (ok, _, _) = c
        .kubectl(&["apply", "-f", "-"], Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"))
        .await;
    assert!(ok);
    let (ok, _, _) =
        c.kubectl(&["apply", "--server-side", "-f", "-"], Some(&deployment("team", 1, "nginx:1.27"))).await;
    assert!(ok);
    let (ok, out, _) = c.kubectl(&["get", "deployments", "-A"], None).await;
    assert!(ok);
    assert!(out.lines().next().is_some_and(|h| h.starts_with("NAMESPACE")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("default")) && out.lines().any(|l| l.starts_with("team")),
        "{out}"
    );

    let (ok, out, err) = c
        .kubectl(
            &["wait", "--for=condition=Available", "deployment/web", "-n", "default", "--timeout=30s"],
            None,
        )
        .await;
    assert!(ok && out.contains("deployment.apps/web condition met"), "{out}{err}");
    let (ok, out, _) = c.kubectl(&["get", "deployment", "web"], None).await;
    assert!(ok && out.contains("3/3"), "{out}");

    let (ok, out, err) = c.kubectl(&["delete", "deployment", "web"], None).await;
    assert!(ok && out.contains("deployment.apps \"web\" deleted"), "{out}{err}");
    let (ok, _, err) = c.kubectl(&["get", "deployment", "web"], None).await;
    assert!(!ok && err.contains("deployments.apps \"web\" not found"), "{err}");

    // Deleting the namespace cascades to what it holds.
    let (ok, out, err) = c.kubectl(&["delete", "namespace", "team", "--timeout=30s"], None).await;
    assert!(ok && out.contains("namespace \"team\" deleted"), "{out}{err}");
    let (ok, out, _) = c.kubectl(&["get", "deployments", "-A", "-o", "name"], None).await;
    assert!(ok && out.trim().is_empty(), "{out}");
    c.stop().await;
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - name: Size
      type: string
      jsonPath: .spec.size
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_add_kinds_that_kubectl_discovers() {
    let mut c = cluster().await;
    let (ok, out, err) = c.kubectl(&["apply", "--server-side", "-f", "-"], Some(CRD)).await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = c
        .kubectl(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s"], None)
        .await;
    assert!(ok && out.contains("condition met"), "{out}");
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: large\n";
    let (ok, out, err) = c.kubectl(&["apply", "--server-side", "-f", "-"], Some(widget)).await;
    assert!(ok && out.contains("widget.example.com/w1 serverside-applied"), "{out}{err}");
    let (ok, out, _) = c.kubectl(&["get", "wd"], None).await;
    assert!(ok && out.contains("SIZE") && out.contains("large"), "{out}");
    let (ok, out, _) = c.kubectl(&["api-resources", "--api-group=example.com"], None).await;
    assert!(ok && out.contains("widgets") && out.contains("wd"), "{out}");
    let (ok, _, _) = c.kubectl(&["delete", "crd", "widgets.example.com"], None).await;
    assert!(ok);
    let (ok, _, err) = c.kubectl(&["get", "widgets.example.com"], None).await;
    assert!(!ok, "{err}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_foreign_certificates_are_refused() {
    let mut c = cluster().await;
    let mut anonymous = c.kubeconfig_for(&c.admin);
    let cut = anonymous.find("    client-certificate-data").expect("user block");
    // A token the server does not know: the request is anonymous, as with an unknown bearer token.
    anonymous
        .replace_range(cut..anonymous.find("contexts:").expect("contexts"), "    token: not-a-valid-token\n");
    let anon_path = c.dir.path().join("anon");
    std::fs::write(&anon_path, anonymous).expect("write");
    let (ok, _, err) =
        kube_support::kubectl(&anon_path, &c.dir.path().join("cache-anon"), &["get", "pods"], None).await;
    assert!(!ok && err.contains("You must be logged in to the server"), "{err}");

    let foreign_ca = certs::generate_ca("someone-else").expect("ca");
    let foreign =
        certs::issue_client_cert(&foreign_ca.cert_pem, &foreign_ca.key_pem, "admin", Some("system:masters"))
            .expect("cert");
    let path = c.dir.path().join("foreign");
    std::fs::write(&path, c.kubeconfig_for(&foreign)).expect("write");
    let (ok, _, err) =
        kube_support::kubectl(&path, &c.dir.path().join("cache-foreign"), &["get", "pods"], None).await;
    // The handshake is refused; with TLS 1.3 the client may see the alert or only the closed pipe.
    assert!(
        !ok && ["certificate", "tls", "broken pipe", "connection reset"].iter().any(|m| err.contains(m)),
        "{err}"
    );

    let bob = certs::issue_client_cert(&c.ca.cert_pem, &c.ca.key_pem, "bob", Some("devs")).expect("cert");
    let path = c.dir.path().join("bob");
    std::fs::write(&path, c.kubeconfig_for(&bob)).expect("write");
    let (ok, _, err) =
        kube_support::kubectl(&path, &c.dir.path().join("cache-bob"), &["get", "secrets"], None).await;
    assert!(!ok && err.contains("User \"bob\" cannot list resource \"secrets\""), "{err}");
    let bob_cache = c.dir.path().join("cache-bob");
    let (ok, out, _) =
        kube_support::kubectl(&path, &bob_cache, &["auth", "can-i", "list", "secrets"], None).await;
    assert!(!ok && out.trim() == "no", "{out}");
    let (ok, out, _) = kube_support::kubectl(&path, &bob_cache, &["auth", "whoami"], None).await;
    assert!(ok && out.contains("bob") && out.contains("devs"), "{out}");
    let grant = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: default}
rules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-reads, namespace: default}
subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: cm-reader, apiGroup: rbac.authorization.k8s.io}
";
    let (ok, _, _) = c.kubectl(&["apply", "--server-side", "-f", "-"], Some(grant)).await;
    assert!(ok);
    for (args, want) in [
        (&["auth", "can-i", "get", "configmaps"][..], "yes"),
        (&["auth", "can-i", "get", "configmaps", "-n", "kube-system"][..], "no"),
        (&["auth", "can-i", "delete", "configmaps"][..], "no"),
    ] {
        let (_, out, _) = kube_support::kubectl(&path, &bob_cache, args, None).await;
        assert_eq!(out.trim(), want, "{args:?}");
    }
    let (ok, out, _) = c.kubectl(&["auth", "can-i", "delete", "nodes"], None).await;
    assert!(ok && out.trim() == "yes", "{out}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_creates_sent_as_protobuf_are_understood() {
    let mut c = cluster().await;
    let (ok, out, _) = c.kubectl(&["create", "namespace", "team"], None).await;
    assert!(ok && out.contains("namespace/team created"), "{out}");
    let (ok, _, _) = c
        .kubectl(
            &["-n", "team", "create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=2"],
            None,
        )
        .await;
    assert!(ok);
    let (ok, _, _) = c
        .kubectl(&["-n", "team", "create", "secret", "generic", "pw", "--from-literal=password=s3cr3t"], None)
        .await;
    assert!(ok);
    let (ok, _, _) = c.kubectl(&["-n", "team", "create", "serviceaccount", "robot"], None).await;
    assert!(ok);
    let (ok, out, _) = c
        .kubectl(&["-n", "team", "get", "configmap", "cfg", "-o", "jsonpath={.data.a}{.data.b}"], None)
        .await;
    assert!(ok);
    assert_eq!(out, "12");
    let (ok, out, _) = c
        .kubectl(&["-n", "team", "get", "secret", "pw", "-o", "jsonpath={.type} {.data.password}"], None)
        .await;
    assert!(ok);
    assert_eq!(out, "Opaque czNjcjN0");
    let (ok, out, _) = c.kubectl(&["get", "namespace", "team", "-o", "jsonpath={.status.phase}"], None).await;
    assert!(ok);
    assert_eq!(out, "Active");
    let (ok, out, _) = c.kubectl(&["-n", "team", "get", "sa"], None).await;
    assert!(ok && out.contains("robot"), "{out}");
    let (ok, _, err) = c
        .kubectl(
            &[
                "-n",
                "team",
                "run",
                "box",
                "--image=busybox:1.36",
                "--port=8080",
                "--env=A=1",
                "--",
                "sleep",
                "60",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let (ok, out, _) = c
        .kubectl(&["-n", "team", "get", "pod", "box", "-o", "jsonpath={.metadata.labels.run} {.spec.containers[0].image} {.spec.containers[0].ports[0].containerPort} {.spec.containers[0].env[0].value} {.spec.containers[0].args} {.spec.restartPolicy}"], None)
        .await;
    assert!(ok);
    assert_eq!(out, "box busybox:1.36 8080 1 [\"sleep\",\"60\"] Always");
    let (ok, _, err) = c
        .kubectl(
            &["-n", "team", "create", "deployment", "api", "--image=nginx:1.27", "--replicas=3", "--port=80"],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let (ok, out, _) = c
        .kubectl(&["-n", "team", "get", "deploy", "api", "-o", "jsonpath={.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.metadata.labels.app} {.spec.template.spec.containers[0].image}"], None)
        .await;
    assert!(ok);
    assert_eq!(out, "3 api api nginx:1.27");
    let (ok, _, err) = c
        .kubectl(
            &[
                "-n",
                "team",
                "expose",
                "deployment",
                "api",
                "--port=443",
                "--target-port=80",
                "--type=LoadBalancer",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let (ok, out, _) = c
        .kubectl(&["-n", "team", "get", "svc", "api", "-o", "jsonpath={.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}"], None)
        .await;
    assert!(ok);
    assert_eq!(out, "LoadBalancer 443 80 api");
    let (ok, _, err) =
        c.kubectl(&["-n", "team", "create", "service", "clusterip", "named", "--tcp=8443:https"], None).await;
    assert!(ok, "{err}");
    let (ok, out, _) = c
        .kubectl(
            &[
                "-n",
                "team",
                "get",
                "svc",
                "named",
                "-o",
                "jsonpath={.spec.ports[0].port} {.spec.ports[0].targetPort}",
            ],
            None,
        )
        .await;
    assert!(ok);
    assert_eq!(out, "8443 https");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_on_nodes_and_drain_moves_them() {
    let mut c = cluster().await;
    c.server.upsert_node("worker-1", &[], "v1.32.3", true).expect("ready now");
    c.server.upsert_node("worker-2", &[], "v1.32.3", true).expect("node");
    let (ok, _, _) = c
        .kubectl(&["apply", "--server-side", "-f", "-"], Some(&deployment("default", 2, "nginx:1.27")))
        .await;
    assert!(ok);
    let (ok, out, err) = c.kubectl(&["rollout", "status", "deployment/web", "--timeout=30s"], None).await;
    assert!(ok && out.contains("successfully rolled out"), "{out}{err}");
    let (ok, out, _) = c.kubectl(&["get", "pods", "-o", "wide"], None).await;
    assert!(ok && out.matches("Running").count() == 2, "{out}");
    let (ok, out, err) =
        c.kubectl(&["drain", "worker-1", "--ignore-daemonsets", "--timeout=20s"], None).await;
    assert!(ok && out.contains("node/worker-1 drained"), "{out}{err}");
    let (ok, out, _) = c.kubectl(&["get", "pods", "-o", "jsonpath={.items[*].spec.nodeName}"], None).await;
    assert!(ok && !out.contains("worker-1") && out.split(' ').count() == 2, "{out}");
    let (ok, out, _) = c.kubectl(&["get", "node", "worker-1"], None).await;
    assert!(ok && out.contains("SchedulingDisabled"), "{out}");
    let (ok, _, err) = c.kubectl(&["delete", "namespace", "default"], None).await;
    assert!(
        !ok && err.contains("namespaces \"default\" is forbidden: this namespace may not be deleted"),
        "{err}"
    );
    c.stop().await;
}
