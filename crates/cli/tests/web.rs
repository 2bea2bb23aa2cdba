//! The operations dashboard (`metal web`) over real HTTP against an inventory enrolled from
//! simulated boards: login and sessions, pages and the JSON API (checked against the OpenAPI
//! document), changes refused without a session or its CSRF token, hostile board text escaped,
//! `/metrics` parsed by a Prometheus text-format parser, and the same flow driven in headless
//! Chromium through chromedriver.

use std::net::SocketAddr;
use std::time::Duration;

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::process::Running;
use metal_test_support::sim::SimProcess;
use metal_test_support::web::Client;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Web-Passw0rd!";
const OPERATOR_PASSWORD: &str = "correct horse battery";
const HOSTILE_MODEL: &str = "<script>alert(1)</script>\u{1b}]0;owned\u{7}";

struct Setup {
    _sim: SimProcess,
    metal: Metal,
    _web: Running,
    server: SocketAddr,
    block: Block,
}

/// Four simulated boards enrolled into rack `web` (board 4 reports a hostile model name),
/// operator `alice`, and `metal web` with `extra` flags.
fn setup(extra: &[&str]) -> Setup {
    let block = Block::allocate();
    let hostile = format!("{}:CIM_Card.Model={HOSTILE_MODEL}", block.ip(4));
    let sim = SimProcess::builder(BIN, PASSWORD, block.ip(1))
        .boards(4)
        .args(["--quiet", "--boot-output-ms", "200", "--report", &hostile])
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let (code, doc) = metal
        .command([
            "enroll",
            &block.list(4),
            "--rack",
            "web",
            "--pool",
            "10.61.0.0/24",
        ])
        .json();
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(4)), "{doc}");
    let mut add = metal.command(["user", "add", "alice"]).into_command();
    add.stdin(std::process::Stdio::piped());
    let mut child = add.spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{OPERATOR_PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success(), "metal user add");
    let listen = format!("{}:0", block.ip(200));
    let consoles = metal.dir().join("consoles");
    std::fs::create_dir_all(&consoles).unwrap();
    let consoles = consoles.to_str().unwrap().to_string();
    let mut args = vec![
        "web",
        "--listen",
        listen.as_str(),
        "--consoles",
        consoles.as_str(),
    ];
    args.extend_from_slice(extra);
    let web = Running::spawn(metal.command(&args).into_command(), "metal web");
    let ready = web.wait_for(|l| l.starts_with("ready web="));
    let server: SocketAddr = ready
        .trim_start_matches("ready web=http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{ready}: {e}"));
    Setup {
        _sim: sim,
        metal,
        _web: web,
        server,
        block,
    }
}

fn openapi() -> Value {
    serde_json::from_str(include_str!("../../web/openapi.json")).unwrap()
}

/// Checks `value` against the document's schema `name` (JSON Schema 2020-12).
fn conforms(doc: &Value, name: &str, value: &Value) {
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{value:#}");
}

fn events_of(metal: &Metal, host: &str) -> Vec<Value> {
    let (code, doc) = metal.json(&["events", host]);
    assert_eq!(code, 0, "{doc}");
    doc["events"].as_array().cloned().unwrap_or_default()
}

#[test]
fn reads_need_a_login_and_answer_what_the_inventory_holds() {
    let s = setup(&[]);
    let mut anon = Client::new(s.server);
    let page = anon.get("/racks/web");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2Fracks%2Fweb"));
    assert_eq!(anon.get("/api/overview").status, 401);
    assert_eq!(anon.get("/metrics").status, 401);

    let mut c = Client::new(s.server);
    let wrong = c.log_in("alice", "not her password");
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("wrong name or password"),
        "{}",
        wrong.body
    );
    let ok = c.log_in("alice", OPERATOR_PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("x-frame-options"), Some("DENY"));
    let cookie = ok.header("set-cookie").unwrap_or_default().to_lowercase();
    for attr in ["metal_session=", "httponly", "samesite=strict", "path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }

    let doc = openapi();
    // The overview and the rack by slot.
    let overview = c.get("/api/overview");
    assert_eq!(overview.status, 200, "{}", overview.body);
    let overview = overview.json();
    conforms(&doc, "Overview", &overview);
    assert_eq!(overview["machines"], 4);
    assert_eq!(overview["states"]["enrolled"], 4);
    let rack = c.get("/api/racks/web").json();
    conforms(&doc, "RackView", &rack);
    let slots: Vec<u64> = rack["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slot"].as_u64().unwrap())
        .collect();
    assert_eq!(slots, [1, 2, 3, 4]);
    // No agent has reported: load is unknown (null), never zero.
    assert!(
        rack["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["load"].is_null()),
        "{rack:#}"
    );
    let html = c.get("/racks/web");
    assert_eq!(html.status, 200);
    assert_eq!(
        html.body.matches("class=\"slot ").count(),
        4,
        "{}",
        html.body
    );
    assert!(html.body.contains("load unknown"));

    // Paging and search by MAC (any case and separator), UUID and serial.
    let page = c.get("/api/machines?per_page=3&page=2").json();
    conforms(&doc, "MachinePage", &page);
    assert_eq!(
        (page["total"].as_u64(), page["pages"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let board = page["items"][0].clone();
    let mac = board["mac"]
        .as_str()
        .unwrap()
        .to_uppercase()
        .replace(':', "-");
    let found = c.get(&format!("/api/machines?q={mac}")).json();
    assert_eq!(found["total"], 1, "{found:#}");
    assert_eq!(found["items"][0]["hostname"], board["hostname"]);
    let by_serial = c.get(&format!("/search?q={}", board["serial"].as_str().unwrap()));
    assert_eq!(by_serial.status, 303);
    assert_eq!(
        by_serial.header("location"),
        Some(format!("/machines/{}", board["hostname"].as_str().unwrap()).as_str())
    );
    let uuid = board["uuid"].as_str().unwrap();
    assert_eq!(
        c.get(&format!("/api/machines?q={}", &uuid[..8])).json()["total"],
        1
    );
    // A LIKE wildcard is a character like any other.
    assert_eq!(c.get("/api/machines?q=%25").json()["total"], 0);
    assert_eq!(c.get("/api/machines?state=nonsense").status, 400);

    // The board page, with the hostile model escaped on the page and kept intact in JSON.
    let host4 = rack["slots"][3]["hostname"].as_str().unwrap().to_string();
    let api = c.get(&format!("/api/machines/{host4}")).json();
    conforms(&doc, "Board", &api);
    assert!(api["events"].as_array().unwrap().len() >= 2, "{api:#}");
    let page = c.get(&format!("/machines/{host4}"));
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>alert"),
        "raw markup on the page"
    );
    assert!(
        !page.body.contains('\u{1b}'),
        "a raw escape character on the page"
    );
    assert!(
        page.body.contains("&#60;script&#62;alert(1)")
            || page.body.contains("&lt;script&gt;alert(1)"),
        "{}",
        page.body
    );
    assert!(api["console"].is_null(), "no recording yet: {api:#}");
    // The end of its recorded console, escapes shown escaped; a symbolic link is not followed.
    let consoles = s.metal.dir().join("consoles");
    let mut recording = String::new();
    for n in 0..2000 {
        recording.push_str(&format!("line {n:04} of the console\n"));
    }
    recording.push_str("\u{1b}]0;title\u{7}last <b>line</b>\n");
    std::fs::write(consoles.join(format!("{}.log", s.block.ip(4))), &recording).unwrap();
    std::os::unix::fs::symlink(
        "/etc/passwd",
        consoles.join(format!("{}.log", s.block.ip(3))),
    )
    .unwrap();
    let api = c.get(&format!("/api/machines/{host4}")).json();
    conforms(&doc, "Board", &api);
    let tail = api["console"]["text"].as_str().unwrap();
    assert!(api["console"]["truncated"].as_bool().unwrap());
    // 16 KiB of the file, whole lines; its escapes shown longer.
    assert!(
        tail.len() <= (16 << 10) + 64 && tail.starts_with("line ") && !tail.contains("line 0000"),
        "{tail}"
    );
    assert!(
        tail.ends_with("\\u{1b}]0;title\\u{7}last <b>line</b>"),
        "{tail}"
    );
    let page = c.get(&format!("/machines/{host4}"));
    assert!(
        page.body.contains("last &#60;b&#62;line&#60;/b&#62;")
            || page.body.contains("last &lt;b&gt;line&lt;/b&gt;"),
        "{}",
        page.body
    );
    let host3 = rack["slots"][2]["hostname"].as_str().unwrap();
    let linked = c.get(&format!("/api/machines/{host3}")).json();
    assert!(
        linked["console"].is_null(),
        "followed a symbolic link: {linked:#}"
    );
    assert_eq!(c.get("/api/machines/nosuch").status, 404);
    assert_eq!(c.get("/racks/nosuch").status, 404);

    // The event log, newest first, a page at a time.
    let events = c.get("/api/events?limit=3").json();
    let list = events.as_array().unwrap();
    assert_eq!(list.len(), 3);
    for e in list {
        conforms(&doc, "NumberedEvent", e);
    }
    let last = list[2]["id"].as_i64().unwrap();
    let older = c
        .get(&format!("/api/events?before={last}&limit=500"))
        .json();
    assert!(
        older
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_i64().unwrap() < last)
    );

    // Every /api/ route is in the OpenAPI document, which the server serves itself.
    let served = c.get("/api/openapi.json").json();
    assert_eq!(served, doc);
    for path in [
        "/api/overview",
        "/api/racks/{rack}",
        "/api/machines",
        "/api/machines/{host}",
        "/api/machines/{host}/power",
        "/api/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }

    // Logging out ends the session.
    let logout_token = c.get("/").input("csrf").unwrap();
    assert_eq!(
        c.post_form("/logout", &[("csrf", &logout_token)]).status,
        303
    );
    assert_eq!(c.get("/api/overview").status, 401);
}

#[test]
fn changes_need_a_session_and_its_csrf_token_and_name_the_operator() {
    let s = setup(&["--open", "127.0.0.0/8"]);
    let host = "web-h01";
    let before = events_of(&s.metal, host).len();

    // An open network may read without logging in, but not act.
    let mut anon = Client::new(s.server);
    assert_eq!(anon.get("/racks/web").status, 200);
    assert!(
        anon.get(&format!("/machines/{host}"))
            .body
            .contains("Log in</a> to act")
    );
    let refused = anon.post_form(
        &format!("/machines/{host}/power"),
        &[("action", "cycle"), ("csrf", "x")],
    );
    assert_eq!(refused.status, 401, "{}", refused.body);

    let mut c = Client::new(s.server);
    assert_eq!(c.log_in("alice", OPERATOR_PASSWORD).status, 303);
    let page = c.get(&format!("/machines/{host}"));
    let csrf = page.input("csrf").expect("the power form's token");
    for bad in ["", "0000", &"f".repeat(64)] {
        let r = c.post_form(
            &format!("/machines/{host}/power"),
            &[("action", "cycle"), ("csrf", bad)],
        );
        assert_eq!(r.status, 403, "token {bad:?}: {}", r.body);
    }
    let no_token = c.post_form(&format!("/machines/{host}/power"), &[("action", "cycle")]);
    assert_eq!(no_token.status, 403);
    assert_eq!(
        events_of(&s.metal, host).len(),
        before,
        "a refused change left an event"
    );

    // With the token: the board is cycled and the event names the operator.
    let done = c.post_form(
        &format!("/machines/{host}/power"),
        &[("action", "cycle"), ("csrf", &csrf)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let page = c.get(&format!("/machines/{host}"));
    assert!(page.body.contains("id=\"flash\""), "{}", page.body);
    let events = events_of(&s.metal, host);
    let last = events.last().unwrap();
    assert_eq!(last["actor"], "alice (metal web)", "{last}");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("power cycle: on -> on"),
        "{last}"
    );

    // The API takes the token in a header; /api/session gives it to a script.
    let session = c.get("/api/session").json();
    conforms(&openapi(), "Session", &session);
    assert_eq!(
        (session["operator"].as_str(), session["csrf"].as_str()),
        (Some("alice"), Some(csrf.as_str()))
    );
    assert_eq!(anon.get("/api/session").status, 401);
    let unknown = c.send(
        "POST",
        "/api/machines/nosuch/power",
        &[
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", &csrf),
        ],
        r#"{"action":"cycle"}"#,
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    conforms(&openapi(), "Problem", &unknown.json());
    // (AMT refuses a change while the last one is still in progress.)
    std::thread::sleep(Duration::from_millis(300));
    let no_header = c.send(
        "POST",
        &format!("/api/machines/{host}/power"),
        &[("Content-Type", "application/json")],
        r#"{"action":"off"}"#,
    );
    assert_eq!(no_header.status, 403);
    conforms(&openapi(), "Problem", &no_header.json());
    let off = c.send(
        "POST",
        &format!("/api/machines/{host}/power"),
        &[
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", &csrf),
        ],
        r#"{"action":"off"}"#,
    );
    assert_eq!(off.status, 200, "{}", off.body);
    conforms(&openapi(), "PowerResult", &off.json());
    let (_, status) = s.metal.json(&["power", "status", host]);
    assert_eq!(status["hosts"][0]["power"], "off", "{status}");

    // A state change, with its reason, by the operator.
    let r = c.post_form(
        &format!("/machines/{host}/state"),
        &[("to", "broken"), ("reason", "fan rattles"), ("csrf", &csrf)],
    );
    assert_eq!(r.status, 303);
    let (_, ls) = s.metal.json(&["ls", host]);
    assert_eq!(ls["machines"][0]["state"], "broken", "{ls}");
    let last = events_of(&s.metal, host).pop().unwrap();
    assert_eq!(
        (last["actor"].as_str(), last["reason"].as_str()),
        (Some("alice (metal web)"), Some("fan rattles"))
    );

    // /metrics: the text format, parsed; the action and the AMT latency are in it.
    let metrics = anon.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let lines = metrics.body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses as Prometheus text");
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(value("metal_machines", &[("state", "broken")]), Some(1.0));
    assert_eq!(value("metal_machines", &[("state", "enrolled")]), Some(3.0));
    assert_eq!(
        value(
            "metal_power_actions_total",
            &[("action", "cycle"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "metal_power_actions_total",
            &[("action", "off"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "metal_amt_operation_seconds"
                && matches!(s.value, prometheus_parse::Value::Histogram(_))),
        "{}",
        metrics.body
    );
    let _ = s.block;
}

#[test]
fn failed_logins_from_one_address_are_throttled() {
    let s = setup(&[]);
    let mut c = Client::new(s.server);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(c.log_in("alice", "guess").status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    // Even the right password waits out the minute.
    assert_eq!(c.log_in("alice", OPERATOR_PASSWORD).status, 429);
    // A login form posted without the cookie it was bound to is refused outright.
    let mut other = Client::new(s.server);
    let r = other.post_form(
        "/login",
        &[
            ("name", "alice"),
            ("password", OPERATOR_PASSWORD),
            ("csrf", "x"),
        ],
    );
    assert_eq!(r.status, 403);
}

/// chromedriver on a free loopback port, until dropped.
struct Chromedriver {
    process: Running,
    port: u16,
}

fn chromedriver() -> Chromedriver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = std::process::Command::new("chromedriver");
    cmd.arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .env("HOME", std::env::temp_dir());
    let process = Running::spawn(cmd, "chromedriver");
    process.wait_for(|l| l.contains("started successfully"));
    Chromedriver { process, port }
}

/// Headless Chromium that reaches nothing but the loopback dashboard: no name resolution, no
/// proxy, no background services.
fn capabilities(server: std::net::IpAddr) -> fantoccini::wd::Capabilities {
    let options = serde_json::json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-domain-reliability", "--no-proxy-server",
            format!("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {server}"), "--window-size=1280,1600"
        ]
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    caps
}

fn artefact(name: &str, png: &[u8]) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_drives_the_dashboard_in_headless_chromium() {
    use fantoccini::Locator;
    let s = setup(&[]);
    let driver = chromedriver();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = fantoccini::ClientBuilder::new(connector)
        .capabilities(capabilities(s.server.ip()))
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromedriver session");
    let base = format!("http://{}", s.server);

    // Logging in.
    browser.goto(&format!("{base}/racks/web")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login")
    );
    browser
        .find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(OPERATOR_PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back where it was going: the rack, by slot.
    browser
        .wait()
        .for_element(Locator::Css("#rack"))
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/racks/web");
    let slots = browser
        .find_all(Locator::Css("#rack tr.slot"))
        .await
        .unwrap();
    assert_eq!(slots.len(), 4);
    let rack_png = artefact("rack.png", &browser.screenshot().await.unwrap());

    // Finding a board by its MAC.
    let mac = slots[1]
        .attr("data-mac")
        .await
        .unwrap()
        .expect("a MAC on the slot");
    let search = browser.find(Locator::Css("#search")).await.unwrap();
    search.send_keys(&mac.to_uppercase()).await.unwrap();
    search.send_keys("\u{E007}").await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css("#power"))
        .await
        .unwrap();
    let board_url = browser.current_url().await.unwrap();
    assert_eq!(board_url.path(), "/machines/web-h02", "{board_url}");
    assert_eq!(
        browser
            .wait()
            .for_element(Locator::Css("#mac"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        mac
    );

    // Power-cycling it through the page; the event appears on the page and in the log.
    browser
        .find(Locator::Css("#power-action"))
        .await
        .unwrap()
        .select_by_value("cycle")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#power-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let flash = browser
        .wait()
        .for_element(Locator::Css("#flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("power cycle"), "{flash}");
    let first_event = browser
        .find(Locator::Css("#events tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        first_event.contains("alice (metal web)") && first_event.contains("power cycle"),
        "{first_event}"
    );
    let board_png = artefact("board.png", &browser.screenshot().await.unwrap());
    let logged = events_of(&s.metal, "web-h02");
    assert!(
        logged.iter().any(|e| e["actor"] == "alice (metal web)"),
        "{logged:?}"
    );
    let before = logged.len();

    // A form whose CSRF token was tampered with is refused, and nothing happens.
    browser
        .execute(
            "document.querySelector('#power input[name=csrf]').value = 'forged';",
            vec![],
        )
        .await
        .unwrap();
    browser
        .find(Locator::Css("#power-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = browser
        .wait()
        .for_element(Locator::Css("#message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(message.contains("CSRF"), "{message}");

    // Logged out, a POST (with the token that was valid) is refused too.
    browser.goto(board_url.as_str()).await.unwrap();
    let token = browser
        .find(Locator::Css("#power input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    browser
        .find(Locator::Css("#logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("#login-form"))
        .await
        .unwrap();
    let status = browser
        .execute_async(
            "const [token, done] = arguments; \
             fetch('/machines/web-h02/power', {method: 'POST', credentials: 'same-origin', \
               body: new URLSearchParams({action: 'cycle', csrf: token})}).then(r => done(r.status));",
            vec![Value::String(token)],
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        events_of(&s.metal, "web-h02").len(),
        before,
        "a refused change left an event"
    );
    browser.close().await.unwrap();
    drop(driver.process);
    eprintln!(
        "screenshots: {} {}",
        rack_png.display(),
        board_png.display()
    );
}
