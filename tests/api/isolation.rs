//! Tenant and user isolation on every browser route (issue 4: IDOR and cross-tenant attempts, malformed
//! ids): another party's conversation id behaves exactly like a missing one, and nothing of the owner's
//! changes.

use serde_json::{Value, json};

use crate::resume::{BEFORE_GATE, open, read_until, resume};
use crate::server::TestServer;
use crate::tool_loop::chunks;

#[actix_web::test]
async fn no_route_reaches_another_users_or_tenants_conversation() {
    let srv = TestServer::start(|_, _| {}).await;
    let mut alice_body = srv.session_body("alice");
    alice_body["connectors"] = json!([{"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                                       "url": "https://mcp.example/mcp", "auth": {}}]);
    let (_, alice) = srv.post_session(&srv.acme, &alice_body).await;
    let alice = alice["jwt"].as_str().unwrap().to_owned();
    let turn = json!({"id": "secret", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "mine"}]}]});
    assert_eq!(srv.chat(&alice, &turn).await.0, 200);
    let (_, before) = srv.get_with_jwt("/conversations/secret/messages", &alice).await;

    let (_, bob) = srv.mint("bob").await;
    let (_, globex_alice) = srv.post_session(&srv.globex, &alice_body).await;
    let globex_alice = globex_alice["jwt"].as_str().unwrap().to_owned();
    for intruder in [&bob, &globex_alice] {
        let not_found = (404, json!({"error": "conversation_not_found"}));
        assert_eq!(srv.get_with_jwt("/conversations/secret/messages", intruder).await, not_found);
        assert_eq!(srv.get_with_jwt("/conversations/secret/connectors", intruder).await, not_found);
        let put = |path: &str, body: Value| srv.browser.put(srv.url(path)).bearer_auth(intruder).json(&body).send();
        let res = put("/conversations/secret/connectors/gh", json!({"active": false})).await.unwrap();
        assert_eq!(res.status(), 404);
        let res = put("/conversations/secret/model", json!({"model_id": "claude-haiku-4-5"})).await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(srv.delete_with_jwt("/conversations/secret", intruder).await, 404);
        assert_eq!(srv.get_with_jwt("/conversations", intruder).await.1, json!({"conversations": []}));
        // Posting to the same id makes the intruder's own conversation, in their own storage.
        assert_eq!(srv.chat(intruder, &turn).await.0, 200);
    }
    let (_, after) = srv.get_with_jwt("/conversations/secret/messages", &alice).await;
    assert_eq!(after, before, "nothing of alice's changed");
    let (_, flags) = srv.get_with_jwt("/conversations/secret/connectors", &alice).await;
    assert_eq!(flags[0]["active"], true);
}

#[actix_web::test]
async fn malformed_ids_on_every_route_are_4xx_and_change_nothing() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "keep"})).await;
    let long = "x".repeat(201);
    for bad in ["a%00b", "a%20b", "a%2Fb", "%F0%9F%98%80", long.as_str()] {
        for path in [format!("/conversations/{bad}/messages"), format!("/conversations/{bad}/connectors")] {
            let (status, _) = srv.get_with_jwt(&path, &jwt).await;
            assert_eq!(status, 404, "{path}");
        }
        assert_eq!(srv.delete_with_jwt(&format!("/conversations/{bad}"), &jwt).await, 404, "{bad}");
        for (path, body) in [
            (format!("/conversations/{bad}/connectors/x"), json!({"active": true})),
            (format!("/conversations/keep/connectors/{bad}"), json!({"active": true})),
            (format!("/conversations/{bad}/model"), json!({"model_id": "claude-haiku-4-5"})),
        ] {
            let res = srv.browser.put(srv.url(&path)).bearer_auth(&jwt).json(&body).send().await.unwrap();
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
        }
        let raw = percent_decode(bad);
        let (status, body) = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": raw})).await;
        assert_eq!((status, body), (400, json!({"error": "invalid_conversation_id"})), "{bad}");
        let turn = json!({"id": raw, "messages": [{"id": "u", "role": "user", "parts": []}]});
        assert_eq!(srv.chat(&jwt, &turn).await.0, 400, "{bad}");
    }
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    let ids: Vec<&Value> = listed["conversations"].as_array().unwrap().iter().map(|c| &c["conversation_id"]).collect();
    assert_eq!(ids, [&json!("keep")]);
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// One caller of the four-party suite: a tenant's backend, one of its users, their session and secrets.
struct Party {
    tenant: &'static str,
    user: &'static str,
    integrator: reqwest::Client,
    sid: String,
    jwt: String,
    /// The model key of this party's sessions: every model call made under it must carry only its text.
    key: String,
}

impl Party {
    fn name(&self) -> String {
        format!("{}/{}", self.tenant, self.user)
    }

    /// Text only this party ever wrote.
    fn secret(&self) -> String {
        format!("secret-of-{}-{}", self.tenant, self.user)
    }

    /// The conversation only this party has.
    fn own_cid(&self) -> String {
        format!("c-{}-{}", self.tenant, self.user)
    }

    fn turn(&self, cid: &str) -> Value {
        self.turn_with(cid, "")
    }

    /// A turn whose text is this party's secret after `prefix` (a scripted-model keyword).
    fn turn_with(&self, cid: &str, prefix: &str) -> Value {
        let text = format!("{prefix} {}", self.secret());
        json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text.trim_start()}]}]})
    }
}

/// Every route `augchatd::http::ROUTES` mounts in production, as this suite probes it. A route added to
/// the table without a probe here fails the suite, so no route escapes the isolation check.
const PROBED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/session/models"),
    ("GET", "/conversations"),
    ("POST", "/conversations"),
    ("DELETE", "/conversations/{cid}"),
    ("GET", "/conversations/{cid}/messages"),
    ("GET", "/conversations/{cid}/connectors"),
    ("PUT", "/conversations/{cid}/connectors/{did}"),
    ("PUT", "/conversations/{cid}/model"),
    ("POST", "/chat"),
    ("GET", "/chat/{cid}/stream"),
    ("POST", "/chat/{cid}/stop"),
    ("POST", "/sessions"),
    ("DELETE", "/sessions/{session_id}"),
    ("POST", "/users/{user_id}/export"),
    ("POST", "/users/{user_id}/erase"),
];

#[test]
fn every_production_route_is_probed_by_the_four_party_suite() {
    for route in augchatd::http::ROUTES.iter().filter(|r| r.mounted.in_mode(augchatd::config::Mode::Prod)) {
        let verb = format!("{:?}", route.verb).to_uppercase();
        assert!(
            PROBED.contains(&(verb.as_str(), route.path)),
            "{verb} {} is not probed by every_route_keeps_two_tenants_and_two_users_each_apart",
            route.path
        );
    }
}

/// Two tenants with two users each (one user id in both tenants). Every party's conversations go to cold
/// storage and come back through fresh sessions; then every party tries every route with every other
/// party's ids, session ids and a token carrying another party's claims. Nothing of another party is
/// ever read, changed, deleted or sent to a model under another party's key.
#[actix_web::test]
async fn every_route_keeps_two_tenants_and_two_users_each_apart() {
    let srv = TestServer::start(|_, _| {}).await;
    let gh = json!([{"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                     "url": "https://mcp.example/mcp", "auth": {}}]);
    let mut parties = Vec::new();
    for (tenant, user) in [("acme", "alice"), ("acme", "bob"), ("globex", "alice"), ("globex", "carol")] {
        let integrator = if tenant == "acme" { srv.acme.clone() } else { srv.globex.clone() };
        let key = format!("sk-{tenant}-{user}");
        srv.llm.accept(&key);
        parties.push(Party { tenant, user, integrator, sid: String::new(), jwt: String::new(), key });
    }
    for party in &mut parties {
        (party.sid, party.jwt) = mint(&srv, party, &gh).await;
        for cid in [party.own_cid().as_str(), "shared"] {
            assert_eq!(srv.chat(&party.jwt, &party.turn(cid)).await.0, 200, "{}", party.name());
        }
        let res = srv.browser.put(srv.url("/conversations/shared/connectors/gh")).bearer_auth(&party.jwt);
        assert_eq!(res.json(&json!({"active": false})).send().await.unwrap().status(), 204);
        // The session ends with a final flush: what follows is read back from cold storage.
        let ended = party.integrator.delete(srv.url(&format!("/sessions/{}", party.sid))).send().await.unwrap();
        assert_eq!(ended.status(), 204, "{}", party.name());
        let hot = srv.dir.path().join(format!("data/{}/{}.sqlite", party.tenant, party.user));
        assert!(crate::cold::gone(&hot).await, "{}'s hot file is evicted once cold has everything", party.name());
        (party.sid, party.jwt) = mint(&srv, party, &gh).await;
    }
    let mut before = Vec::new();
    for party in &parties {
        let own = srv.get_with_jwt(&format!("/conversations/{}/messages", party.own_cid()), &party.jwt).await;
        assert_eq!(own.0, 200, "{} reads its own conversation back from cold", party.name());
        assert!(own.1.to_string().contains(&party.secret()));
        before.push(snapshot(&srv, party).await);
    }

    let not_found = (404, json!({"error": "conversation_not_found"}));
    for intruder in &parties {
        for victim in parties.iter().filter(|v| v.name() != intruder.name()) {
            let at = format!("{} → {}", intruder.name(), victim.name());
            let cid = victim.own_cid();
            let jwt = &intruder.jwt;
            for path in [format!("/conversations/{cid}/messages"), format!("/conversations/{cid}/connectors")] {
                assert_eq!(srv.get_with_jwt(&path, jwt).await, not_found, "{at}: GET {path}");
            }
            let put = |path: String, body: Value| srv.browser.put(srv.url(&path)).bearer_auth(jwt).json(&body).send();
            let res = put(format!("/conversations/{cid}/connectors/gh"), json!({"active": false})).await.unwrap();
            assert_eq!(res.status(), 404, "{at}: toggle");
            let res =
                put(format!("/conversations/{cid}/model"), json!({"model_id": "claude-haiku-4-5"})).await.unwrap();
            assert_eq!(res.status(), 404, "{at}: model");
            assert_eq!(srv.delete_with_jwt(&format!("/conversations/{cid}"), jwt).await, 404, "{at}: delete");
            let resumed = srv.browser.get(srv.url(&format!("/chat/{cid}/stream"))).bearer_auth(jwt).send().await;
            let stopped = srv.browser.post(srv.url(&format!("/chat/{cid}/stop"))).bearer_auth(jwt).send().await;
            for (route, res) in [("resume", resumed), ("stop", stopped)] {
                let res = res.unwrap();
                assert_eq!((res.status().as_u16(), res.json().await.unwrap()), not_found, "{at}: {route}");
            }
            // A token with the victim's claims under the intruder's signature is no token at all.
            let forged = forge(jwt, &victim.jwt);
            for path in ["/conversations", "/session/models", &format!("/conversations/{cid}/messages")] {
                let (status, body) = srv.get_with_jwt(path, &forged).await;
                assert_eq!(status, 401, "{at}: forged token on {path}: {body}");
            }
            assert_eq!(srv.chat(&forged, &intruder.turn(&cid)).await.0, 401, "{at}: forged token on /chat");
            // The integrator API: a session of another tenant does not exist for this one, and a user id
            // names the caller's own tenant's user, whatever another tenant has under that name.
            if victim.tenant != intruder.tenant {
                let path = format!("/sessions/{}", victim.sid);
                let res = intruder.integrator.delete(srv.url(&path)).send().await.unwrap();
                assert_eq!(res.status(), 404, "{at}: DELETE {path}");
                let storage = json!({"storage": srv.storage()});
                let path = format!("/users/{}/export", victim.user);
                let res = intruder.integrator.post(srv.url(&path)).json(&storage).send().await.unwrap();
                let exported = res.text().await.unwrap();
                assert!(!exported.contains(&victim.secret()), "{at}: export shows the victim's text: {exported}");
                // Erasing the name in the intruder's own tenant must leave the victim whole (the snapshots
                // below); a name the intruder's tenant also has would erase that party, so it is skipped.
                if !parties.iter().any(|p| p.tenant == intruder.tenant && p.user == victim.user) {
                    let path = format!("/users/{}/erase", victim.user);
                    let res = intruder.integrator.post(srv.url(&path)).json(&storage).send().await.unwrap();
                    assert!(res.status().is_success(), "{at}: erase of a name unknown here: {}", res.status());
                }
            }
        }
    }

    // Each party's model list is fetched with its own key.
    for party in &parties {
        let (status, _) = srv.get_with_jwt("/session/models", &party.jwt).await;
        assert_eq!(status, 200, "{}", party.name());
        let listed = srv.llm.seen().into_iter().rev().find(|s| s.path.ends_with("/models")).unwrap();
        assert_eq!(listed.credential.as_deref(), Some(party.key.as_str()), "{}", party.name());
    }
    // The routes without a caller identity show nothing of anyone.
    for path in ["/healthz", "/openapi.json", "/metrics"] {
        let text = srv.browser.get(srv.url(path)).send().await.unwrap().text().await.unwrap();
        for party in &parties {
            for private in [party.secret(), party.own_cid(), party.sid.clone(), party.key.clone()] {
                assert!(!text.contains(&private), "{path} shows {private}");
            }
        }
    }

    // Taking another party's conversation id only ever makes one's own conversation, in one's own storage.
    for intruder in &parties {
        for victim in parties.iter().filter(|v| v.name() != intruder.name()) {
            let at = format!("{} → {}", intruder.name(), victim.name());
            let (status, _, stream) = srv.chat(&intruder.jwt, &intruder.turn(&victim.own_cid())).await;
            assert_eq!(status, 200, "{at}");
            assert!(!stream.contains(&victim.secret()), "{at}: the stream shows the victim's text");
            let listed =
                srv.get_with_jwt(&format!("/conversations/{}/messages", victim.own_cid()), &intruder.jwt).await;
            assert!(!listed.1.to_string().contains(&victim.secret()), "{at}: {}", listed.1);
        }
    }

    for (party, before) in parties.iter().zip(before) {
        let own = srv.get_with_jwt(&format!("/conversations/{}/messages", party.own_cid()), &party.jwt).await;
        assert!(own.1.to_string().contains(&party.secret()), "{} still has its conversation", party.name());
        let mut after = snapshot(&srv, party).await;
        // The list now also holds the conversations this party made under the others' ids.
        let listed = after.pop().unwrap().1;
        let ids: Vec<&str> =
            listed["conversations"].as_array().unwrap().iter().filter_map(|c| c["conversation_id"].as_str()).collect();
        for other in &parties {
            assert!(ids.contains(&other.own_cid().as_str()), "{}: {ids:?}", party.name());
        }
        for other in parties.iter().filter(|p| p.name() != party.name()) {
            assert!(!listed.to_string().contains(&other.secret()), "{} lists {}'s text", party.name(), other.name());
        }
        assert_eq!(after, before[..2], "nothing of {}'s changed", party.name());
    }
    // A turn running on the id every party has is reached only by its own user: each party's resume
    // replays its own turn, and one party's stop ends its own turn alone.
    let mut running = Vec::new();
    for party in &parties {
        let mut res = open(&srv, &party.jwt, &party.turn_with("shared", "gated")).await;
        let head = read_until(&mut res, BEFORE_GATE).await;
        running.push((res, chunks(&head)[0]["messageId"].as_str().unwrap().to_owned()));
    }
    for (party, (_, message_id)) in parties.iter().zip(&running) {
        let replay = read_until(&mut resume(&srv, &party.jwt, "shared").await, BEFORE_GATE).await;
        assert_eq!(chunks(&replay)[0]["messageId"], message_id.as_str(), "{} resumes its own turn", party.name());
    }
    let stop = srv.browser.post(srv.url("/chat/shared/stop")).bearer_auth(&parties[0].jwt).send().await.unwrap();
    assert_eq!(stop.status(), 204);
    srv.llm.release();
    for (party, (res, _)) in parties.iter().zip(running) {
        let rest = res.text().await.unwrap();
        let stopped = rest.contains(r#""type":"abort""#);
        assert_eq!(stopped, party.name() == parties[0].name(), "{}: {rest}", party.name());
    }

    // Every model call carried only the text of the party whose key it used.
    for call in srv.llm.seen().into_iter().filter(|s| s.body.is_some()) {
        let body = call.body.unwrap().to_string();
        let owner = parties.iter().find(|p| call.credential.as_deref() == Some(p.key.as_str())).unwrap();
        for other in parties.iter().filter(|p| p.name() != owner.name()) {
            assert!(!body.contains(&other.secret()), "{}'s key carried {}'s text", owner.name(), other.name());
        }
    }
}

/// A session for `party` with its own model key and the `gh` connector.
async fn mint(srv: &TestServer, party: &Party, connectors: &Value) -> (String, String) {
    let mut body = srv.session_body(party.user);
    body["model"]["api_key"] = json!(party.key);
    body["connectors"] = connectors.clone();
    let (status, minted) = srv.post_session(&party.integrator, &body).await;
    assert_eq!(status, 200, "{minted}");
    (minted["session_id"].as_str().unwrap().to_owned(), minted["jwt"].as_str().unwrap().to_owned())
}

/// What `party` sees of the conversation every party has, and its list.
async fn snapshot(srv: &TestServer, party: &Party) -> Vec<(u16, Value)> {
    let mut seen = Vec::new();
    for path in ["/conversations/shared/messages", "/conversations/shared/connectors", "/conversations"] {
        seen.push(srv.get_with_jwt(path, &party.jwt).await);
    }
    seen
}

/// `intruder`'s header and signature around `victim`'s claims.
fn forge(intruder: &str, victim: &str) -> String {
    let parts: Vec<&str> = intruder.split('.').collect();
    let claims = victim.split('.').nth(1).unwrap();
    format!("{}.{claims}.{}", parts[0], parts[2])
}
