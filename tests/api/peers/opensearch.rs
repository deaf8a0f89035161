//! A scripted OpenSearch cluster on 127.0.0.1:0: `GET /` answers cluster info, `POST /<indexes>/_search`
//! answers hits from the requested indexes only. Documents carry `text_content`, `metadata.item_name`, a
//! `title`, an `embedding` and an unnamed numeric array; `_source.excludes` is deliberately ignored, so the
//! tests prove that augchatd drops vectors itself. The query text steers the answer: `nothing` gives zero
//! hits, `long` one hit with 2000 characters of text, `unscored` one hit with a null score. `fail_with`
//! makes every search answer that status with a body naming an internal URL. Every request is recorded.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

/// The internal address a failing cluster leaks in its error body.
pub const INTERNAL_URL: &str = "https://internal.example/_search";

/// Documents per search when the query asks for nothing special, capped by `size`.
const DOCUMENTS_PER_SEARCH: u64 = 3;

/// One request as the peer saw it.
#[derive(Clone, Debug)]
pub struct SearchSeen {
    pub method: String,
    /// The raw path, percent-encoding included.
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
}

#[derive(Clone, Default)]
pub struct OpenSearchPeer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Arc<Mutex<Vec<SearchSeen>>>,
    failing_status: Arc<Mutex<Option<u16>>>,
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn record(req: &HttpRequest, body: &[u8], peer: &OpenSearchPeer) {
    peer.seen.lock().unwrap().push(SearchSeen {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        authorization: header(req, "authorization"),
        content_type: header(req, "content-type"),
        body: serde_json::from_slice(body).ok(),
    });
}

async fn cluster_info(req: HttpRequest, peer: web::Data<OpenSearchPeer>) -> HttpResponse {
    record(&req, &[], &peer);
    HttpResponse::Ok().json(json!({
        "name": "peer-node", "cluster_name": "augchatd-test",
        "version": {"distribution": "opensearch", "number": "2.19.0"},
        "tagline": "The OpenSearch Project: https://opensearch.org/"
    }))
}

/// The query text, from a BM25 body or the `multi_match` inside a hybrid body.
fn query_text(body: &Value) -> String {
    let bm25 = body.pointer("/query/multi_match/query");
    let hybrid = body.pointer("/query/hybrid/queries/0/multi_match/query");
    bm25.or(hybrid).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn document(index: &str, n: u64, query: &str) -> Value {
    json!({
        "_index": index,
        "_id": format!("{index}-doc-{n}"),
        "_score": 3.0 / (n as f64 + 1.0),
        "_source": {
            "title": format!("Document {n} of {index}"),
            "text_content": format!("Passage {n} from {index} about {query}."),
            "metadata": {"item_name": format!("Item {n}"), "page": n + 1},
            "embedding": [0.125, -0.5, 0.75, 0.0625],
            "chunk_vector": [1.5, 2.5, 3.5]
        }
    })
}

async fn search(req: HttpRequest, body: web::Bytes, peer: web::Data<OpenSearchPeer>) -> HttpResponse {
    record(&req, &body, &peer);
    if let Some(status) = *peer.failing_status.lock().unwrap() {
        return HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({
            "error": {"root_cause": [{"type": "search_phase_execution_exception",
                                      "reason": format!("all shards failed, see {INTERNAL_URL}")}]},
            "status": status
        }));
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Split the raw path, then decode each name, as OpenSearch does: a decoded path would merge `%2C` into `,`.
    let raw = req.path().trim_start_matches('/').trim_end_matches("/_search");
    let requested: Vec<String> =
        raw.split(',').map(|name| percent_decode_str(name).decode_utf8_lossy().into_owned()).collect();
    let size = body["size"].as_u64().unwrap_or(10);
    let query = query_text(&body);
    let hits: Vec<Value> = if query.contains("nothing") {
        Vec::new()
    } else if query.contains("long") {
        let mut hit = document(&requested[0], 0, &query);
        hit["_source"]["text_content"] = json!("L".repeat(2000));
        vec![hit]
    } else if query.contains("unscored") {
        let mut hit = document(&requested[0], 0, &query);
        hit["_score"] = Value::Null;
        vec![hit]
    } else {
        (0..size.min(DOCUMENTS_PER_SEARCH))
            .map(|n| document(&requested[(n as usize) % requested.len()], n, &query))
            .collect()
    };
    HttpResponse::Ok().json(json!({
        "took": 3, "timed_out": false,
        "hits": {"total": {"value": hits.len(), "relation": "eq"}, "max_score": 3.0, "hits": hits}
    }))
}

async fn anything_else(req: HttpRequest, body: web::Bytes, peer: web::Data<OpenSearchPeer>) -> HttpResponse {
    record(&req, &body, &peer);
    HttpResponse::NotFound().json(json!({"error": "no handler", "status": 404}))
}

pub async fn start() -> OpenSearchPeer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let peer = OpenSearchPeer { url, ..Default::default() };
    let data = web::Data::new(peer.clone());
    super::serve(listener, move |cfg| {
        cfg.app_data(data.clone())
            .route("/", web::get().to(cluster_info))
            .route("/{indexes}/_search", web::post().to(search))
            .default_service(web::to(anything_else));
    });
    peer
}

impl OpenSearchPeer {
    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<SearchSeen> {
        self.seen.lock().unwrap().clone()
    }

    /// Answers every search with this status until cleared with `None`.
    pub fn fail_with(&self, status: Option<u16>) {
        *self.failing_status.lock().unwrap() = status;
    }
}
