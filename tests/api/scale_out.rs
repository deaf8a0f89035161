//! Scale-out (issue #7 item 5, README "Scale-out"): the routing key a balancer hashes on, the daemon's
//! refusal of a routing header naming another user, certificates forwarded only by the pinned proxy,
//! and two daemon processes behind a real HAProxy running `config/haproxy.cfg` on loopback.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::binary::{Daemon, ProdRig, RestartPeers, free_port};
use crate::openapi::{check, document};
use crate::server::{TestServer, claims};

const ROUTE: &str = "X-Augchatd-Route";
const FORWARDED: &str = "X-Augchatd-Client-Cert";

/// The README's recipe: `printf 'augchatd-route\0%s\0%s' "$tenant" "$user" | sha256sum | cut -c1-16`.
fn route_key(tenant: &str, user: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("augchatd-route\0{tenant}\0{user}").as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

/// The DER of the first certificate of a PEM identity.
fn leaf_der(identity_pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(identity_pem.as_bytes()).next().unwrap().unwrap().to_vec()
}

#[actix_web::test]
async fn the_route_key_is_minted_into_the_jwt_and_a_header_naming_another_user_is_refused() {
    let doc = document();
    let srv = TestServer::start(|_, _| {}).await;
    let (alice_rk, bob_rk) = (route_key("acme", "alice"), route_key("acme", "bob"));
    let (status, minted) = srv.post_session(&srv.acme, &srv.session_body("alice")).await;
    assert_eq!(status, 200, "{minted}");
    let jwt = minted["jwt"].as_str().unwrap();
    assert_eq!(minted["route_key"], alice_rk.as_str());
    assert_eq!(claims(jwt)["rk"], alice_rk.as_str());
    assert_ne!(alice_rk, bob_rk);

    let list = |rk: &str| srv.browser.get(srv.url("/conversations")).bearer_auth(jwt).header(ROUTE, rk);
    assert_eq!(check(&doc, "get", "/conversations", list(&alice_rk)).await.0, 200);
    let mismatch = check(&doc, "get", "/conversations", list(&bob_rk)).await;
    assert_eq!((mismatch.0, &mismatch.1["error"]), (400, &json!("route_mismatch")), "{}", mismatch.1);
    let chat = srv.browser.post(srv.url("/chat")).bearer_auth(jwt).header(ROUTE, &bob_rk).json(&turn("c1", "hi"));
    assert_eq!(check(&doc, "post", "/chat", chat).await, (400, mismatch.1.clone()));
    let (_, listed) = srv.get_with_jwt("/conversations", jwt).await;
    assert_eq!(listed["conversations"], json!([]), "the refused turn stored nothing");
    // Authentication comes first: a bad token is a 401 whatever the header says.
    let forged = srv.browser.get(srv.url("/conversations")).bearer_auth("x.y.z").header(ROUTE, &bob_rk);
    assert_eq!(check(&doc, "get", "/conversations", forged).await.0, 401);

    // The integrator's routes check the header against the tenant and the user they name.
    let mint_bob = |rk: &str| srv.acme.post(srv.url("/sessions")).header(ROUTE, rk).json(&srv.session_body("bob"));
    assert_eq!(check(&doc, "post", "/sessions", mint_bob(&alice_rk)).await, (400, mismatch.1.clone()));
    assert_eq!(check(&doc, "post", "/sessions", mint_bob(&bob_rk)).await.0, 200);
    let export =
        srv.acme.post(srv.url("/users/alice/export")).header(ROUTE, &bob_rk).json(&json!({"storage": srv.storage()}));
    assert_eq!(check(&doc, "post", "/users/{user_id}/export", export).await, (400, mismatch.1.clone()));
    let sid = minted["session_id"].as_str().unwrap();
    let end =
        |client: &reqwest::Client, rk: &str| client.delete(srv.url(&format!("/sessions/{sid}"))).header(ROUTE, rk);
    assert_eq!(check(&doc, "delete", "/sessions/{session_id}", end(&srv.acme, &bob_rk)).await, (400, mismatch.1));
    // Another tenant learns nothing from the header: the session is not theirs, so 404 as ever.
    assert_eq!(check(&doc, "delete", "/sessions/{session_id}", end(&srv.globex, &bob_rk)).await.0, 404);
    assert_eq!(srv.get_with_jwt("/conversations", jwt).await.0, 200, "the refused DELETE ended nothing");
    assert_eq!(check(&doc, "delete", "/sessions/{session_id}", end(&srv.acme, &alice_rk)).await.0, 204);
}

#[actix_web::test]
async fn a_forwarded_client_certificate_counts_only_on_the_pinned_proxys_connections() {
    let doc = document();
    let rig = ProdRig::new();
    let peers = RestartPeers::start(&rig).await;
    let proxy_identity = rig.pki.integrator("augchatd-lb");
    // As `openssl x509 -fingerprint -sha256` prints it: uppercase pairs with colons.
    let hex = fingerprint_hex(&proxy_identity).to_uppercase();
    let fingerprint: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    let fingerprint = fingerprint.join(":");
    let mut env = peers.env("600000").to_vec();
    env.push(("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS", &fingerprint));
    let audit_log = rig.dir.path().join("audit.jsonl");
    env.push(("AUGCHATD_AUDIT_LOG", audit_log.to_str().unwrap()));
    let daemon = rig.start(&env).await;

    let client = |identity: &str| {
        let ca = reqwest::Certificate::from_pem(rig.pki.ca_pem.as_bytes()).unwrap();
        let identity = reqwest::Identity::from_pem(identity.as_bytes()).unwrap();
        reqwest::Client::builder().tls_certs_only([ca]).identity(identity).build().unwrap()
    };
    let (proxy, globex) = (client(&proxy_identity), client(&rig.pki.integrator("globex")));
    let b64 = |identity: &str| base64::engine::general_purpose::STANDARD.encode(leaf_der(identity));
    let acme_cert = b64(&rig.pki.integrator("acme"));
    let mint = |client: &reqwest::Client, forwarded: Option<&str>| {
        let request = client.post(rig.url("/sessions")).json(&peers.session_body("u"));
        let request = match forwarded {
            Some(value) => request.header(FORWARDED, value),
            None => request,
        };
        check(&doc, "post", "/sessions", request)
    };

    // Anyone but the proxy: the header is refused, whether or not the peer has a certificate of its own.
    for (who, peer) in [("a browser", &rig.browser), ("another integrator", &globex)] {
        let (status, body) = mint(peer, Some(&acme_cert)).await;
        assert_eq!((status, &body["error"]), (403, &json!("untrusted_forwarded_certificate")), "{who}: {body}");
    }
    // The proxy itself is no tenant, and forwards only certificates of the client CA.
    assert_eq!(mint(&proxy, None).await.0, 401, "the proxy's own certificate names no tenant");
    for junk in [b64(&rig.pki.rogue()), "bm90IGEgY2VydGlmaWNhdGU=".to_owned(), "%%%".to_owned()] {
        let (status, body) = mint(&proxy, Some(&junk)).await;
        assert_eq!((status, &body["error"]), (401, &json!("client_certificate_required")), "{junk:.20}: {body}");
    }

    // Forwarded by the proxy, acme's certificate is acme: globex cannot end the session, acme can.
    let (status, minted) = mint(&proxy, Some(&acme_cert)).await;
    assert_eq!(status, 200, "{minted}");
    let end = |client: &reqwest::Client| {
        client.delete(rig.url(&format!("/sessions/{}", minted["session_id"].as_str().unwrap()))).send()
    };
    assert_eq!(end(&globex).await.unwrap().status(), 404);
    assert_eq!(end(&rig.integrator).await.unwrap().status(), 204);
    // nginx's `$ssl_client_escaped_cert` form (URL-escaped PEM) works too.
    let pem = rig.pki.integrator("acme");
    let pem = &pem[..pem.find("-----END CERTIFICATE-----").unwrap() + 25];
    let escaped = percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).to_string();
    assert_eq!(mint(&proxy, Some(&escaped)).await.0, 200);

    // A refused request's audit line names the client: on the proxy's connections, the address it
    // appended last to X-Forwarded-For; from anyone else, the peer itself, whatever the header says.
    let refused = |client: &reqwest::Client, forwarded_for: &str| {
        client.get(rig.url("/conversations")).bearer_auth("x.y.z").header("x-forwarded-for", forwarded_for).send()
    };
    assert_eq!(refused(&proxy, "198.51.100.1, 203.0.113.7").await.unwrap().status(), 401);
    // What a client sent through nginx comes first in the same header, non-ASCII bytes and all.
    let mangled = reqwest::header::HeaderValue::from_bytes(b"\x80\xff, 203.0.113.8").unwrap();
    let request = proxy.get(rig.url("/conversations")).bearer_auth("x.y.z").header("x-forwarded-for", mangled);
    assert_eq!(request.send().await.unwrap().status(), 401);
    assert_eq!(refused(&rig.browser, "203.0.113.9").await.unwrap().status(), 401);
    let refusal_from = |peer: &'static str| {
        move |line: &Value| line["event"] == "auth.failed" && line["route"] == "/conversations" && line["peer"] == peer
    };
    crate::audit::audited(&audit_log, refusal_from("203.0.113.7")).await;
    crate::audit::audited(&audit_log, refusal_from("203.0.113.8")).await;
    crate::audit::audited(&audit_log, refusal_from("127.0.0.1")).await;
    let lines = crate::audit::audit_lines(&audit_log);
    assert!(!lines.iter().any(|l| l["peer"] == "198.51.100.1" || l["peer"] == "203.0.113.9"), "{lines:?}");
    let out = daemon.stop().await;
    assert!(!out.stderr.contains(&acme_cert), "a forwarded certificate is not logged");
}

/// The load balancers `config/` has a configuration for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `config/haproxy.cfg`, which reads its values from the environment.
    HaProxy,
    /// `config/nginx.conf`, whose `${…}` placeholders are filled in first (as `envsubst` would).
    Nginx,
}

/// A load balancer running its `config/` file in the foreground; killed with the test.
struct Balancer {
    child: tokio::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Balancer {
    /// Starts `kind` in front of `daemons` (their ports), or `None` when it is not installed.
    async fn start(kind: Kind, rig: &ProdRig, proxy_identity: &str, daemons: [u16; 2]) -> Option<Self> {
        let program = match kind {
            Kind::HaProxy => "haproxy",
            Kind::Nginx => "nginx",
        };
        if std::process::Command::new(program).arg("-v").output().is_err() {
            return None;
        }
        let dir = rig.dir.path();
        let (front, client_pem, log) = (dir.join("lb-front.pem"), dir.join("lb-client.pem"), dir.join("lb.log"));
        let server_pem = std::fs::read_to_string(&rig.pki.server_cert).unwrap();
        std::fs::write(&front, server_pem + &std::fs::read_to_string(&rig.pki.server_key).unwrap()).unwrap();
        std::fs::write(&client_pem, proxy_identity).unwrap();
        let port = free_port();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        let values = [
            ("AUGCHATD_LB_BIND", format!("127.0.0.1:{port}")),
            ("AUGCHATD_LB_CERT", path(&front)),
            ("AUGCHATD_LB_KEY", path(&front)),
            ("AUGCHATD_CLIENT_CA", path(&rig.pki.client_ca)),
            ("AUGCHATD_LB_CLIENT_CERT", path(&client_pem)),
            ("AUGCHATD_LB_CLIENT_KEY", path(&client_pem)),
            ("AUGCHATD_SERVER_CA", path(&rig.pki.client_ca)),
            ("AUGCHATD_SERVER_NAME", "localhost".to_owned()),
            ("AUGCHATD_D1", format!("127.0.0.1:{}", daemons[0])),
            ("AUGCHATD_D2", format!("127.0.0.1:{}", daemons[1])),
        ];
        let config = format!("{}/config/{}", env!("CARGO_MANIFEST_DIR"), ["haproxy.cfg", "nginx.conf"][kind as usize]);
        let mut command = tokio::process::Command::new(program);
        match kind {
            Kind::HaProxy => command.args(["-db", "-f", &config]).envs(values),
            Kind::Nginx => {
                let mut text = std::fs::read_to_string(&config).unwrap();
                for (name, value) in &values {
                    text = text.replace(&format!("${{{name}}}"), value);
                }
                let rendered = dir.join("nginx.conf");
                std::fs::write(&rendered, text).unwrap();
                // One process: killing it with the test leaves no orphaned workers behind.
                let globals = format!("daemon off; master_process off; pid {};", path(&dir.join("nginx.pid")));
                command.args(["-e", "stderr", "-g", &globals, "-c", &path(&rendered)])
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let balancer = Self { child, port, log };
        for _ in 0..100 {
            if rig.browser.get(balancer.url("/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                return Some(balancer);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{program} did not answer /healthz: {}", balancer.log());
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The integrator mints a session for `user` through the balancer, routed by the key it computes for
/// the user; returns the JWT.
async fn mint_through(rig: &ProdRig, peers: &RestartPeers, lb: &Balancer, user: &str) -> String {
    let request = rig.integrator.post(lb.url("/sessions")).header(ROUTE, route_key("acme", user));
    let res = request.json(&peers.session_body(user)).send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 200, "mint for {user}: {body}\n{}", lb.log());
    assert_eq!(body["route_key"], route_key("acme", user).as_str());
    body["jwt"].as_str().unwrap().to_owned()
}

/// Which of the daemons' data directories hold `user`'s hot file.
fn holders(data: &[std::path::PathBuf; 2], user: &str) -> Vec<usize> {
    (0..2).filter(|i| data[*i].join(format!("acme/{user}.sqlite")).exists()).collect()
}

#[actix_web::test]
async fn two_daemons_behind_haproxy_keep_each_users_conversations_on_one_daemon() {
    two_daemons_behind(Kind::HaProxy).await;
}

#[actix_web::test]
async fn two_daemons_behind_nginx_keep_each_users_conversations_on_one_daemon() {
    two_daemons_behind(Kind::Nginx).await;
}

/// Two daemon processes behind `kind`: each user's traffic reaches one daemon, a second session sees the
/// same conversations, a disagreeing header is refused, and a stopped daemon's users move to the other.
async fn two_daemons_behind(kind: Kind) {
    let rig = ProdRig::new();
    let peers = RestartPeers::start(&rig).await;
    let proxy_identity = rig.pki.integrator("augchatd-lb");
    let fingerprint = fingerprint_hex(&proxy_identity);
    let ports = [free_port(), free_port()];
    let data = [rig.dir.path().join("data-d1"), rig.dir.path().join("data-d2")];
    let mut daemons = Vec::new();
    for (port, dir) in ports.iter().zip(&data) {
        let (port, dir) = (port.to_string(), dir.to_str().unwrap().to_owned());
        let mut extra: Vec<(&str, &str)> = peers.env("200").to_vec();
        extra.extend([("AUGCHATD_PORT", port.as_str()), ("AUGCHATD_DATA_DIR", dir.as_str())]);
        extra.push(("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS", &fingerprint));
        let env = rig.env(&extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        daemons.push(Some(Daemon::start(rig.dir.path(), &[], &pairs).await));
    }
    let Some(lb) = Balancer::start(kind, &rig, &proxy_identity, ports).await else {
        println!("SKIPPED: {kind:?} is not installed (apt-get install haproxy nginx)");
        return;
    };
    let browser = &rig.browser;
    let mint = |user: &'static str| mint_through(&rig, &peers, &lb, user);
    // As the bundled UI does: the JWT, and its rk claim in the routing header.
    let get = |jwt: &str, path: &str| {
        browser.get(lb.url(path)).bearer_auth(jwt).header(ROUTE, claims(jwt)["rk"].as_str().unwrap())
    };

    // nginx places daemons on its ring by address, so the ports of this run decide who goes where: with
    // twelve users, both daemons get some but once in 2,000 runs.
    let users =
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"];
    for user in users {
        let jwt = mint(user).await;
        let res = browser.post(lb.url("/chat")).bearer_auth(&jwt).header(ROUTE, claims(&jwt)["rk"].as_str().unwrap());
        let res = res.json(&turn(&format!("c-{user}"), &format!("hello from {user}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "{user}");
        assert!(res.text().await.unwrap().contains("finish"), "{user}'s turn streamed through the balancer");
    }
    let mut placed = [Vec::new(), Vec::new()];
    for user in users {
        let on = holders(&data, user);
        assert_eq!(on.len(), 1, "{user}'s hot file is on exactly one daemon: {on:?}");
        placed[on[0]].push(user);
    }
    assert!(placed.iter().all(|users| !users.is_empty()), "the hash spreads users over both daemons: {placed:?}");

    for user in users {
        // A second session of the same user sees the same conversations, through the header...
        let jwt = mint(user).await;
        let (status, listed) = check(&document(), "get", "/conversations", get(&jwt, "/conversations")).await;
        assert_eq!(status, 200, "{user}: {listed}");
        let cids: Vec<&str> = listed["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["conversation_id"].as_str().unwrap())
            .collect();
        assert_eq!(cids, [format!("c-{user}")], "{user}");
        let messages: Value =
            get(&jwt, &format!("/conversations/c-{user}/messages")).send().await.unwrap().json().await.unwrap();
        assert_eq!(messages["messages"][0]["parts"][0]["text"], format!("hello from {user}"));
        // ...and, with HAProxy (nginx cannot read it), through the JWT's rk claim alone: every request finds
        // the session, where round-robin would send every other one to the daemon that does not know it.
        for _ in 0..if kind == Kind::HaProxy { 4 } else { 0 } {
            let res = browser.get(lb.url("/conversations")).bearer_auth(&jwt).send().await.unwrap();
            assert_eq!(res.status(), 200, "{user}, routed by the JWT claim");
        }
        assert_eq!(holders(&data, user).len(), 1, "{user} still has one hot file");
    }

    // A header that disagrees with the JWT is refused wherever it lands.
    let alice = mint("alice").await;
    let res = browser.get(lb.url("/conversations")).bearer_auth(&alice).header(ROUTE, route_key("acme", "bob"));
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "route_mismatch");

    // Failover: the first daemon stops (its final flush puts the conversations in the bucket); its users'
    // next sessions land on the other daemon, which reads their history back from the bucket.
    let moved = placed[0][0];
    let out = daemons[0].take().unwrap().stop().await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(peers.s3.object(&format!("p/acme/{moved}/c-{moved}.json")).is_some(), "flushed at shutdown");
    let jwt = mint(moved).await;
    let (status, listed) = check(&document(), "get", "/conversations", get(&jwt, "/conversations")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["conversations"][0]["conversation_id"], format!("c-{moved}"), "{listed}");
    assert!(holders(&data, moved).contains(&1), "the survivor made {moved}'s hot file from the bucket");
}

/// The SHA-256 fingerprint of an identity's certificate, as AUGCHATD_TRUSTED_PROXY_FINGERPRINTS takes it.
fn fingerprint_hex(identity_pem: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, &leaf_der(identity_pem));
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
