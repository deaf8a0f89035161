//! The OpenAPI document (`openapi/openapi.json`, served at `GET /openapi.json`) stays true: it describes
//! exactly the route table `augchatd::http::ROUTES`, it is structurally OpenAPI 3.1 (every `$ref`
//! resolves, every schema is a valid JSON Schema 2020-12), and what the daemon answers to bad input, and
//! to good input on the routes tried here, matches the documented statuses and schemas (issue #7 item 3).

use std::collections::{BTreeMap, BTreeSet};

use augchatd::http::openapi::DOCUMENT;
use augchatd::http::{Mounted, ROUTES};
use serde_json::{Value, json};

use crate::server::TestServer;

pub fn document() -> Value {
    serde_json::from_str(DOCUMENT).unwrap()
}

/// The value a local `$ref` (`#/a/b`) points at.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref`s until a value without one.
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        value = resolve(doc, reference).unwrap_or_else(|| panic!("unresolved {reference}"));
    }
    value
}

/// Every `$ref` in `value`, with where it was found.
fn refs(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    out.push((at.clone(), child.as_str().unwrap_or_default().to_owned()));
                } else {
                    refs(child, format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A validator for `schema` whose `#/components/...` references resolve in the document: the
/// components ride along in the root, where JSON Schema ignores the unknown keyword.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), doc["components"].clone());
    } else {
        root = json!({"allOf": [schema], "components": doc["components"]});
    }
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema}"))
}

/// `(path, method) -> modes` as the document lists them.
fn documented(doc: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let modes = operation["x-augchatd-modes"].as_array().unwrap_or_else(|| panic!("{method} {path}: no modes"));
            let modes = modes.iter().map(|m| m.as_str().unwrap().to_owned()).collect();
            out.insert((path.clone(), method.clone()), modes);
        }
    }
    out
}

#[test]
fn the_document_describes_exactly_the_route_table() {
    let doc = document();
    let from_table: BTreeMap<(String, String), BTreeSet<String>> = ROUTES
        .iter()
        .map(|route| {
            let modes: &[&str] = match route.mounted {
                Mounted::Always => &["demo", "prod"],
                Mounted::Prod => &["prod"],
                Mounted::Demo => &["demo"],
            };
            (
                (route.openapi_path(), route.verb.openapi_key().to_owned()),
                modes.iter().map(|m| (*m).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(from_table.len(), ROUTES.len(), "a route is listed twice");
    assert_eq!(documented(&doc), from_table);
}

#[test]
fn the_document_is_structurally_openapi_3_1() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 50, "the document uses shared components");
    for (at, reference) in &found {
        assert!(reference.starts_with("#/"), "{at}: only local references are used, got {reference}");
        assert!(resolve(&doc, reference).is_some(), "{at}: {reference} does not resolve");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut operation_ids = BTreeSet::new();
    for ((path, method), _) in documented(&doc) {
        let operation = &doc["paths"][&path][&method];
        let here = format!("{method} {path}");
        assert!(operation_ids.insert(operation["operationId"].as_str().unwrap().to_owned()), "{here}: duplicate id");
        for requirement in operation["security"].as_array().or(doc["security"].as_array()).unwrap() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{here}: unknown security scheme {scheme}");
            }
        }
        // Every `{name}` in the path is a required path parameter, and nothing else is.
        let templated: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect();
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| deref(&doc, p)).filter(|p| p["in"] == "path").collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .inspect(|p| assert_eq!(p["required"], true, "{here}: path parameters are required"))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(templated, declared, "{here}: path parameters");
        let responses = operation["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{here}: no responses");
        for (status, response) in responses {
            assert!(status.len() == 3 && status.parse::<u16>().is_ok(), "{here}: status {status}");
            assert!(deref(&doc, response)["description"].is_string(), "{here} {status}: no description");
            // Every JSON error response uses the one error schema.
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &deref(&doc, response)["content"]["application/json"]["schema"];
                assert_eq!(schema, &json!({"$ref": "#/components/schemas/Error"}), "{here} {status}");
            }
        }
    }
    // Every component schema, and the schema of every request and response, is valid JSON Schema 2020-12.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        jsonschema::draft202012::meta::validate(schema).unwrap_or_else(|e| panic!("schema {name}: {e}"));
        validator(&doc, schema);
    }
}

/// Checks one answer against the document: `status` is documented for the operation, the body has the
/// documented content type, and a JSON body validates against the documented schema.
fn conforms(doc: &Value, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
    let here = format!("{method} {path} → {status}");
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "{here}: not documented");
    let response = operation["responses"].get(status.to_string()).unwrap_or_else(|| panic!("{here}: undocumented"));
    let response = deref(doc, response);
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(body.is_empty(), "{here}: documented without a body");
        return;
    };
    let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_owned();
    let documented = content.get(&media).unwrap_or_else(|| panic!("{here}: content type {media:?} undocumented"));
    if media == "application/json" {
        let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{here}: not JSON: {e}"));
        let validator = validator(doc, &documented["schema"]);
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{here}: {instance} does not match its schema: {errors:?}");
    }
}

/// Sends `request`, checks the answer against the document for `(method, template)`, and returns the
/// status and the JSON body (null when there is none).
pub async fn check(doc: &Value, method: &str, template: &str, request: reqwest::RequestBuilder) -> (u16, Value) {
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let body = res.bytes().await.unwrap();
    conforms(doc, method, template, status, content_type.as_deref(), &body);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn the_document_is_served_without_auth_in_both_modes() {
    for srv in [TestServer::start(|_, _| {}).await, TestServer::offline_demo().await] {
        let res = srv.browser.get(srv.url("/openapi.json")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.json::<Value>().await.unwrap(), document());
    }
}

#[actix_web::test]
async fn browser_route_answers_to_good_and_bad_input_match_the_document() {
    let doc = document();
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let c = &srv.browser;
    let u = |p: &str| srv.url(p);
    let thread =
        json!({"id": "talk", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});

    // The three 401s, on every browser route (auth comes before the body).
    let browser_routes = [
        ("get", "/session/models", "/session/models"),
        ("get", "/conversations", "/conversations"),
        ("post", "/conversations", "/conversations"),
        ("delete", "/conversations/{cid}", "/conversations/x"),
        ("get", "/conversations/{cid}/messages", "/conversations/x/messages"),
        ("get", "/conversations/{cid}/connectors", "/conversations/x/connectors"),
        ("put", "/conversations/{cid}/connectors/{did}", "/conversations/x/connectors/y"),
        ("put", "/conversations/{cid}/model", "/conversations/x/model"),
        ("post", "/chat", "/chat"),
        ("get", "/chat/{cid}/stream", "/chat/x/stream"),
        ("post", "/chat/{cid}/stop", "/chat/x/stop"),
    ];
    for (method, template, path) in browser_routes {
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let bare = || c.request(m.clone(), u(path)).body("{nope");
        assert_eq!(check(&doc, method, template, bare()).await, (401, json!({"error": "missing_jwt"})));
        let bad = bare().bearer_auth("not.a.jwt");
        assert_eq!(check(&doc, method, template, bad).await, (401, json!({"error": "invalid_jwt"})));
        // A routing key of another user, right after the signature (README "Scale-out").
        let misrouted = bare().bearer_auth(&jwt).header("x-augchatd-route", "0123456789abcdef");
        let (status, body) = check(&doc, method, template, misrouted).await;
        assert_eq!((status, &body["error"]), (400, &json!("route_mismatch")), "{method} {path}");
    }

    // Bad bodies and ids, each with its token.
    let chat = |body: &str| {
        c.post(u("/chat")).bearer_auth(&jwt).header("content-type", "application/json").body(body.to_owned())
    };
    for (body, token) in [
        ("not json", "invalid_json"),
        (r#"{"id":"c"}"#, "missing_messages"),
        (r#"{"messages":[{}]}"#, "missing_conversation_id"),
        (r#"{"id":"../x","messages":[{}]}"#, "invalid_conversation_id"),
        (r#"{"id":"c","messages":[{"id":"m","role":"tool","parts":[]}]}"#, "invalid_messages"),
    ] {
        let (status, got) = check(&doc, "post", "/chat", chat(body)).await;
        assert_eq!((status, got["error"].as_str()), (400, Some(token)), "{body}");
    }
    let create = c.post(u("/conversations")).bearer_auth(&jwt).json(&json!({"conversation_id": ".."}));
    assert_eq!(check(&doc, "post", "/conversations", create).await, (400, json!({"error": "invalid_conversation_id"})));
    let toggle = |body: &str| c.put(u("/conversations/talk/connectors/none")).bearer_auth(&jwt).body(body.to_owned());
    for (body, token) in [
        ("{nope", "invalid_json"),
        ("[]", "body_must_be_object"),
        (r#"{"active":true,"x":1}"#, "only_active_field_allowed"),
        (r#"{"active":"yes"}"#, "active_must_be_boolean"),
    ] {
        let (status, got) = check(&doc, "put", "/conversations/{cid}/connectors/{did}", toggle(body)).await;
        assert_eq!((status, got["error"].as_str()), (400, Some(token)), "{body}");
    }
    let set_model = |cid: &str, body: &str| {
        c.put(u(&format!("/conversations/{cid}/model"))).bearer_auth(&jwt).body(body.to_owned())
    };
    for (body, token) in [
        ("7", "body_must_be_object"),
        (r#"{}"#, "only_model_id_field_allowed"),
        (r#"{"model_id":""}"#, "model_id_must_be_non_empty_string"),
    ] {
        let (status, got) = check(&doc, "put", "/conversations/{cid}/model", set_model("talk", body)).await;
        assert_eq!((status, got["error"].as_str()), (400, Some(token)), "{body}");
    }

    // Unknown conversations are 404 everywhere but `GET …/connectors`, which reports the defaults.
    let not_found = json!({"error": "conversation_not_found"});
    let missing = c.get(u("/conversations/nope/messages")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "get", "/conversations/{cid}/messages", missing).await, (404, not_found.clone()));
    let missing = c.delete(u("/conversations/no%20pe")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "delete", "/conversations/{cid}", missing).await, (404, not_found.clone()));
    let missing = set_model("nope", r#"{"model_id":"m"}"#);
    assert_eq!(check(&doc, "put", "/conversations/{cid}/model", missing).await, (404, not_found.clone()));
    let missing = c.get(u("/chat/nope/stream")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "get", "/chat/{cid}/stream", missing).await, (404, not_found.clone()));
    let missing = c.post(u("/chat/nope/stop")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "post", "/chat/{cid}/stop", missing).await, (404, not_found.clone()));

    // Good input, checked against the success schemas.
    let (status, _) = check(&doc, "post", "/chat", chat(&thread.to_string())).await;
    assert_eq!(status, 200);
    let replayed = check(&doc, "get", "/chat/{cid}/stream", c.get(u("/chat/talk/stream")).bearer_auth(&jwt)).await;
    assert_eq!(replayed.0, 200, "the turn just read is replayable for a few seconds");
    let stopped = check(&doc, "post", "/chat/{cid}/stop", c.post(u("/chat/talk/stop")).bearer_auth(&jwt)).await;
    assert_eq!(stopped.0, 204, "an ended turn stops as a no-op");
    let listed = check(&doc, "get", "/conversations", c.get(u("/conversations")).bearer_auth(&jwt)).await;
    assert_eq!(listed.1["conversations"][0]["conversation_id"], "talk");
    let history =
        check(&doc, "get", "/conversations/{cid}/messages", c.get(u("/conversations/talk/messages")).bearer_auth(&jwt));
    assert_eq!(history.await.1["messages"].as_array().unwrap().len(), 2);
    let connectors = c.get(u("/conversations/talk/connectors")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "get", "/conversations/{cid}/connectors", connectors).await, (200, json!([])));
    let toggled = check(&doc, "put", "/conversations/{cid}/connectors/{did}", toggle(r#"{"active":true}"#)).await;
    assert_eq!(toggled, (404, json!({"error": "connector_not_in_scope"})));
    let models = check(&doc, "get", "/session/models", c.get(u("/session/models")).bearer_auth(&jwt)).await;
    let model_id = models.1["current_model_id"].as_str().unwrap().to_owned();
    let unknown = set_model("talk", r#"{"model_id":"no-such-model"}"#);
    assert_eq!(check(&doc, "put", "/conversations/{cid}/model", unknown).await.1["error"], "unknown_model_id");
    let chosen = set_model("talk", &json!({"model_id": model_id}).to_string());
    assert_eq!(check(&doc, "put", "/conversations/{cid}/model", chosen).await.0, 204);
    let created = c.post(u("/conversations")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "post", "/conversations", created).await.0, 201);
    let deleted = c.delete(u("/conversations/talk")).bearer_auth(&jwt);
    assert_eq!(check(&doc, "delete", "/conversations/{cid}", deleted).await.0, 204);
    check(&doc, "get", "/healthz", c.get(u("/healthz"))).await;
    check(&doc, "post", "/demo/sessions", c.post(u("/demo/sessions"))).await;
    check(&doc, "get", "/demo/jwt", c.get(u("/demo/jwt"))).await;
    check(&doc, "get", "/demo", c.get(u("/demo"))).await;
    check(&doc, "get", "/demo/{tail}", c.get(u("/demo/c/abc"))).await;

    // Outside the document's operations: a route of the other mode, an unknown API path and a known
    // path with another method still answer with the documented error body.
    let error = validator(&doc, &json!({"$ref": "#/components/schemas/Error"}));
    for (request, status, token, allow) in [
        (c.post(u("/sessions")), 404, "not_found", None),
        (c.get(u("/conversations/x/nothing")), 404, "not_found", None),
        (c.patch(u("/conversations")).bearer_auth(&jwt), 405, "method_not_allowed", Some("GET, POST")),
        (c.get(u("/chat")), 405, "method_not_allowed", Some("POST")),
    ] {
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), status);
        assert_eq!(res.headers().get("allow").map(|v| v.to_str().unwrap()), allow);
        let body: Value = res.json().await.unwrap();
        assert!(error.is_valid(&body) && body["error"] == token, "{body}");
    }
}

#[actix_web::test]
async fn integrator_route_errors_match_the_document() {
    let doc = document();
    let srv = TestServer::start(|_, _| {}).await;
    let url = srv.url("/sessions");
    let limited = |limits: Value| {
        let mut body = srv.session_body("u");
        body["limits"] = limits;
        body
    };
    let (status, body) = check(&doc, "post", "/sessions", srv.browser.post(&url).json(&srv.session_body("u"))).await;
    assert_eq!((status, body), (401, json!({"error": "client_certificate_required"})));
    for (request, token) in [
        (srv.acme.post(&url).body("{nope"), "invalid_json"),
        (srv.acme.post(&url).body("[1]"), "body_must_be_object"),
        (srv.acme.post(&url).json(&json!({"user_id": "u"})), "invalid_field"),
        (srv.acme.post(&url).json(&json!({"user_id": "a/b", "system_prompt": "x"})), "invalid_user_id"),
        (srv.acme.post(&url).json(&limited(json!({"max_turns": 0}))), "invalid_limits"),
    ] {
        let (status, body) = check(&doc, "post", "/sessions", request).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(token)), "{body}");
    }
    let mut bad_key = srv.session_body("u");
    bad_key["model"]["api_key"] = json!("sk-wrong");
    let (status, body) = check(&doc, "post", "/sessions", srv.acme.post(&url).json(&bad_key)).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("llm_credential_probe_failed")));
    let (status, body) = check(&doc, "post", "/sessions", srv.acme.post(&url).json(&srv.session_body("u"))).await;
    assert_eq!(status, 200, "{body}");
    let sid = body["session_id"].as_str().unwrap();
    let end = |client: &reqwest::Client| client.delete(srv.url(&format!("/sessions/{sid}")));
    let template = "/sessions/{session_id}";
    assert_eq!(check(&doc, "delete", template, end(&srv.globex)).await, (404, json!({"error": "session_not_found"})));
    assert_eq!(check(&doc, "delete", template, end(&srv.acme)).await.0, 204);
    assert_eq!(check(&doc, "delete", template, end(&srv.acme)).await, (404, json!({"error": "session_not_found"})));

    // A session's limits refuse a turn with a documented 429 and its Retry-After.
    let request = srv.acme.post(&url).json(&limited(json!({"requests_per_minute": 1, "max_turns": null})));
    let (status, minted) = check(&doc, "post", "/sessions", request).await;
    assert_eq!(status, 200, "{minted}");
    let jwt = minted["jwt"].as_str().unwrap();
    let thread =
        json!({"id": "c", "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    assert_eq!(
        check(&doc, "post", "/chat", srv.browser.post(srv.url("/chat")).bearer_auth(jwt).json(&thread)).await.0,
        200
    );
    let again = srv.browser.post(srv.url("/chat")).bearer_auth(jwt).json(&thread);
    assert_eq!(
        check(&doc, "post", "/chat", again).await,
        (
            429,
            json!({"error": "rate_limited",
        "detail": "this session has made the requests its limits.requests_per_minute allows; retry after Retry-After seconds"})
        )
    );
}
