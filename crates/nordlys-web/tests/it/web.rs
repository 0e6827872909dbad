//! The self-service web as a browser without JavaScript uses it: the development sign-in,
//! sessions and CSRF, the pages of a customer, and that nothing of another customer can be
//! reached with their ids.

use crate::TestServer;

/// A client that does not follow redirects (to see them) and sends `cookie`.
pub(crate) fn request(
    method: &str,
    url: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> (u16, ureq::http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = match (method, form) {
        ("POST", Some(form)) => {
            let mut r = agent
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded");
            if let Some(cookie) = cookie {
                r = r.header("Cookie", cookie);
            }
            r.send(form.as_bytes()).unwrap()
        }
        _ => {
            let mut r = agent.get(url);
            if let Some(cookie) = cookie {
                r = r.header("Cookie", cookie);
            }
            r.call().unwrap()
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

/// Sign in as `customer`: the session cookie.
pub(crate) fn sign_in(s: &TestServer, customer: &str) -> String {
    let (status, _, body) = request(
        "POST",
        &s.url("/signin"),
        None,
        Some(&format!("who={customer}")),
    );
    assert_eq!(status, 200, "{body}");
    let code = s
        .codes
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(who, _)| who == customer)
        .map(|(_, code)| code.clone())
        .unwrap();
    let (status, headers, _) = request(
        "POST",
        &s.url("/signin/verify"),
        None,
        Some(&format!("who={customer}&code={code}")),
    );
    assert_eq!(status, 303);
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // A code is used once.
    let (status, _, _) = request(
        "POST",
        &s.url("/signin/verify"),
        None,
        Some(&format!("who={customer}&code={code}")),
    );
    assert_eq!(status, 401);
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_development_sign_in_exists_only_in_demo_mode() {
    let s = TestServer::start(3, false);
    assert_eq!(request("GET", &s.url("/signin"), None, None).0, 404);
    assert_eq!(
        request("POST", &s.url("/signin"), None, Some("who=K000001")).0,
        404
    );
    // A page without a session sends the browser to sign in.
    let (status, headers, _) = request("GET", &s.url("/"), None, None);
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/signin")
    );
}

#[test]
fn a_customer_signs_in_reads_every_page_and_changes_settings_with_csrf() {
    let s = TestServer::start_with(12, true, true);
    let customers = crate::get_json(&s.url("/api/v1/customers?limit=2"), &s.admin);
    let a = customers["items"][0]["id"].as_str().unwrap().to_owned();
    let cookie = sign_in(&s, &a);
    for path in [
        "/",
        "/consumption",
        "/consumption?resolution=hour",
        "/peaks",
        "/prices",
        "/compare",
        "/invoices",
        "/settings",
        "/move",
        "/privacy",
        "/consumption.csv",
    ] {
        let (status, headers, body) = request("GET", &s.url(path), Some(&cookie), None);
        assert_eq!(status, 200, "{path}: {body}");
        if path != "/consumption.csv" {
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("default-src 'none'")
                    && csp.contains("frame-ancestors 'none'")
                    && csp.contains("script-src 'self';"),
                "{csp}"
            );
            assert!(body.contains(nordlys_web::web::HTMX_PATH), "{path}");
            assert!(body.contains("<html lang=\"nb\">"), "{path}");
        }
    }
    // The one script the pages load (to update parts in place), from this server only.
    let (status, headers, script) = request("GET", &s.url(nordlys_web::web::HTMX_PATH), None, None);
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.contains("htmx"), "{}", &script[..80]);
    let (_, _, csv) = request("GET", &s.url("/consumption.csv"), Some(&cookie), None);
    assert!(csv.starts_with("start,end,quantity_kwh,quality\n"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        32,
        "a header and the 31 days of January: {csv}"
    );
    // The invoices page lists the customer's invoice; its page and PDF open.
    let (_, _, invoices) = request("GET", &s.url("/invoices"), Some(&cookie), None);
    let number = invoices
        .split("href=\"/invoices/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, page) = request(
        "GET",
        &s.url(&format!("/invoices/{number}")),
        Some(&cookie),
        None,
    );
    assert_eq!(status, 200);
    assert!(page.contains(&number));
    let (status, headers, _) = request(
        "GET",
        &s.url(&format!("/invoices/{number}/pdf")),
        Some(&cookie),
        None,
    );
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "application/pdf")
    );

    // Settings: without the CSRF token nothing changes; with it the channel is stored.
    let (_, _, settings) = request("GET", &s.url("/settings"), Some(&cookie), None);
    let csrf = csrf_of(&settings);
    let account = crate::get_json(&s.url(&format!("/api/v1/accounts?customer={a}")), &s.admin)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let current = crate::get_json(&s.url(&format!("/api/v1/accounts/{account}")), &s.admin)["invoice_channel"].clone();
    let wanted = if current == "efaktura" {
        "paper"
    } else {
        "efaktura"
    };
    let head = s.block_on(s.store.journal_head()).unwrap();
    let (status, _, _) = request(
        "POST",
        &s.url("/settings/channel"),
        Some(&cookie),
        Some(&format!("csrf=forged&account={account}&channel={wanted}")),
    );
    assert_eq!(status, 403);
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), head);
    let (status, headers, _) = request(
        "POST",
        &s.url("/settings/channel"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&account={account}&channel={wanted}")),
    );
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/settings?saved=1")
    );
    let stored = crate::get_json(&s.url(&format!("/api/v1/accounts/{account}")), &s.admin);
    assert_eq!(stored["invoice_channel"], wanted);
    let changes = crate::get_json(
        &s.url(&format!("/api/v1/changes?after={head}&domain=account")),
        &s.admin,
    );
    assert_eq!(
        changes["items"][0]["after"]["invoice_channel"], wanted,
        "{changes}"
    );
    // A household cannot choose EHF; a bad e-mail address is refused; nothing is stored.
    let (status, _, body) = request(
        "POST",
        &s.url("/settings/channel"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&account={account}&channel=ehf")),
    );
    assert_eq!(status, 422, "{body}");
    let (status, _, body) = request(
        "POST",
        &s.url("/settings/contact"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&email=not-an-address&phone=")),
    );
    assert_eq!(status, 422);
    assert!(body.contains("name@domain.tld"), "{body}");
    let (status, _, _) = request(
        "POST",
        &s.url("/settings/contact"),
        Some(&cookie),
        Some(&format!(
            "csrf={csrf}&email=ny%40example.no&phone=%2B47+900+00+000"
        )),
    );
    assert_eq!(status, 303);
    assert_eq!(
        crate::get_json(&s.url(&format!("/api/v1/customers/{a}")), &s.admin)["email"],
        "ny@example.no"
    );

    // Sign-out ends the session.
    let (status, _, _) = request(
        "POST",
        &s.url("/signout"),
        Some(&cookie),
        Some(&format!("csrf={csrf}")),
    );
    assert_eq!(status, 303);
    assert_eq!(request("GET", &s.url("/"), Some(&cookie), None).0, 303);
}

#[test]
fn customer_a_gets_404_for_everything_of_customer_b() {
    let s = TestServer::start_with(12, true, true);
    let customers = crate::get_json(&s.url("/api/v1/customers?limit=500"), &s.admin);
    let items = customers["items"].as_array().unwrap();
    let a = items[0]["id"].as_str().unwrap().to_owned();
    let b = &items[1];
    let b_id = b["id"].as_str().unwrap();
    let b_name = b["name"].as_str().unwrap();
    let b_account = crate::get_json(
        &s.url(&format!("/api/v1/accounts?customer={b_id}")),
        &s.admin,
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_point = crate::get_json(
        &s.url(&format!("/api/v1/metering-points?account={b_account}")),
        &s.admin,
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_invoice = crate::get_json(
        &s.url(&format!("/api/v1/invoices?account={b_account}")),
        &s.admin,
    )[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = sign_in(&s, &a);
    let (_, _, settings) = request("GET", &s.url("/settings"), Some(&cookie), None);
    let csrf = csrf_of(&settings);
    let gets = [
        format!("/invoices/{b_invoice}"),
        format!("/invoices/{b_invoice}/pdf"),
        format!("/invoices/{b_invoice}/xml"),
        format!("/invoices/{b_invoice}/data.csv"),
        format!("/consumption?point={b_point}"),
        format!("/consumption.csv?point={b_point}"),
        format!("/peaks?point={b_point}"),
        format!("/compare?point={b_point}"),
    ];
    for path in &gets {
        let (status, _, body) = request("GET", &s.url(path), Some(&cookie), None);
        assert_eq!(status, 404, "{path}");
        assert!(
            !body.contains(b_name) && !body.contains(&b_point[6..]),
            "{path} shows B's data"
        );
    }
    let head = s.block_on(s.store.journal_head()).unwrap();
    let (status, _, body) = request(
        "POST",
        &s.url("/settings/channel"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&account={b_account}&channel=paper")),
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        s.block_on(s.store.journal_head()).unwrap(),
        head,
        "B's account changed"
    );
    // Nor do A's own pages show B.
    for path in [
        "/",
        "/invoices",
        "/settings",
        "/consumption",
        "/peaks",
        "/prices",
        "/privacy",
    ] {
        let (_, _, body) = request("GET", &s.url(path), Some(&cookie), None);
        assert!(
            !body.contains(b_name) && !body.contains(&b_account),
            "{path} shows B"
        );
    }
}

#[test]
fn sign_in_attempts_are_rate_limited() {
    let s = TestServer::start_with(3, false, true);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            request(
                "POST",
                &s.url("/signin/verify"),
                None,
                Some("who=K000001&code=000000"),
            )
            .0,
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");
}

#[test]
fn the_personal_data_export_holds_the_customers_data_only_and_is_audited() {
    let s = TestServer::start_with(12, true, true);
    let customers = crate::get_json(&s.url("/api/v1/customers?limit=500"), &s.admin);
    let items = customers["items"].as_array().unwrap();
    let a = items[0]["id"].as_str().unwrap().to_owned();
    let b_name = items[1]["name"].as_str().unwrap().to_owned();
    let cookie = sign_in(&s, &a);
    let (_, _, page) = request("GET", &s.url("/privacy"), Some(&cookie), None);
    let csrf = csrf_of(&page);
    let (status, _, _) = request(
        "POST",
        &s.url("/privacy/export"),
        Some(&cookie),
        Some("csrf=forged"),
    );
    assert_eq!(status, 403);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(&s.url("/privacy/export"))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("csrf={csrf}").as_bytes())
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    names.sort();
    for expected in [
        "README.txt",
        "accounts.json",
        "changes.json",
        "contracts.json",
        "customer.json",
        "export.json",
        "invoices.json",
        "metering_points.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    let read = |archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let customer: serde_json::Value =
        serde_json::from_str(&read(&mut archive, "customer.json")).unwrap();
    assert_eq!(customer["id"], a.as_str());
    assert!(
        customer["identity"].as_str().is_some_and(|i| !i.is_empty()),
        "the export includes the identity number"
    );
    let readings: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("readings/"))
        .collect();
    assert!(!readings.is_empty());
    let csv = read(&mut archive, readings[0]);
    assert!(
        csv.starts_with("metering_point_id,start,end,quantity_kwh,quality"),
        "{csv}"
    );
    assert!(csv.lines().count() > 700, "a month of readings");
    let invoices: serde_json::Value =
        serde_json::from_str(&read(&mut archive, "invoices.json")).unwrap();
    assert!(
        invoices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["lines"].is_array())
    );
    for name in &names {
        assert!(
            !read(&mut archive, name).contains(&b_name),
            "{name} holds another customer's name"
        );
    }
    let audit = s
        .block_on(s.store.audit_log(Some(&format!("customer:{a}")), 10))
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "personal_data_export");
}

#[test]
fn staff_sign_in_with_password_and_totp_find_customers_and_every_view_is_audited() {
    let s = TestServer::start_with(12, true, true);
    let made = s
        .block_on(nordlys_app::staff::add_staff(
            &s.store,
            "kari",
            "correct horse battery",
            &nordlys_app::SystemClock,
        ))
        .unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let code = nordlys_app::staff::totp_code(&made.totp_secret, now()).unwrap();
    // A wrong password or code does not sign in.
    let (status, _, _) = request(
        "POST",
        &s.url("/staff/signin"),
        None,
        Some(&format!(
            "name=kari&password=wrong+password+here&code={code}"
        )),
    );
    assert_eq!(status, 401);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, _) = request(
        "POST",
        &s.url("/staff/signin"),
        None,
        Some(&format!(
            "name=kari&password=correct+horse+battery&code={wrong}"
        )),
    );
    assert_eq!(status, 401);
    let (status, headers, _) = request(
        "POST",
        &s.url("/staff/signin"),
        None,
        Some(&format!(
            "name=kari&password=correct+horse+battery&code={code}"
        )),
    );
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/staff")
    );
    let staff = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Find a customer by name, by metering point, by invoice number and by KID.
    let customer =
        crate::get_json(&s.url("/api/v1/customers?limit=1"), &s.admin)["items"][0].clone();
    let id = customer["id"].as_str().unwrap();
    let account = crate::get_json(&s.url(&format!("/api/v1/accounts?customer={id}")), &s.admin)["items"][0]["id"].as_str().unwrap().to_owned();
    let point = crate::get_json(
        &s.url(&format!("/api/v1/metering-points?account={account}")),
        &s.admin,
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invoice = crate::get_json(
        &s.url(&format!("/api/v1/invoices?account={account}")),
        &s.admin,
    )[0]
    .clone();
    let surname = customer["name"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_lowercase();
    for q in [
        surname.as_str(),
        point.as_str(),
        invoice["number"].as_str().unwrap(),
        invoice["kid"].as_str().unwrap(),
    ] {
        let (status, _, body) =
            request("GET", &s.url(&format!("/staff?q={q}")), Some(&staff), None);
        assert_eq!(status, 200, "{q}");
        assert!(
            body.contains(&format!("/staff/customers/{id}")),
            "searching {q:?} does not find {id}"
        );
    }
    // The 360° view, with the identity number, and the audit log that recorded it.
    let (status, _, body) = request(
        "GET",
        &s.url(&format!("/staff/customers/{id}")),
        Some(&staff),
        None,
    );
    assert_eq!(status, 200);
    for part in [
        &account,
        &point,
        invoice["number"].as_str().unwrap(),
        customer["name"].as_str().unwrap(),
    ] {
        assert!(body.contains(part), "the 360° view lacks {part}");
    }
    crate::backoffice::check_the_readings_and_journal_of_the_360_view(&s, &staff, &body, &point);
    let invoice_number = invoice["number"].as_str().unwrap();
    assert!(
        body.contains(&format!("document {invoice_number}")),
        "the journal of the 360° view lacks document {invoice_number}"
    );
    for path in ["/staff/runs", "/staff/audit", "/staff/corrections"] {
        assert_eq!(
            request("GET", &s.url(path), Some(&staff), None).0,
            200,
            "{path}"
        );
    }
    let audit = s
        .block_on(s.store.audit_log(Some(&format!("customer:{id}")), 10))
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "view_customer" && e.actor == "kari"),
        "{audit:?}"
    );
    // A customer's session does not reach the back-office.
    let customer_cookie = sign_in(&s, id);
    for path in [
        "/staff",
        "/staff/runs",
        "/staff/audit",
        "/staff/corrections",
        &format!("/staff/customers/{id}"),
        &format!("/staff/points/{point}/readings"),
    ] {
        assert_eq!(
            request("GET", &s.url(path), Some(&customer_cookie), None).0,
            404,
            "{path}"
        );
    }
}

/// Sign in staff member `name` (made here): the session cookie.
pub(crate) fn staff_sign_in(s: &TestServer, name: &str) -> String {
    let made = s
        .block_on(nordlys_app::staff::add_staff(
            &s.store,
            name,
            "correct horse battery",
            &nordlys_app::SystemClock,
        ))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = nordlys_app::staff::totp_code(&made.totp_secret, now).unwrap();
    let (status, headers, _) = request(
        "POST",
        &s.url("/staff/signin"),
        None,
        Some(&format!(
            "name={name}&password=correct+horse+battery&code={code}"
        )),
    );
    assert_eq!(status, 303);
    headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_reported_move_approved_in_the_back_office_ends_the_contracts_and_a_postponement_keeps_the_rules()
 {
    let s = TestServer::start_with(12, true, true);
    let customers = crate::get_json(&s.url("/api/v1/customers?limit=1"), &s.admin);
    let id = customers["items"][0]["id"].as_str().unwrap().to_owned();
    let account = crate::get_json(&s.url(&format!("/api/v1/accounts?customer={id}")), &s.admin)["items"][0]["id"].as_str().unwrap().to_owned();
    let point = crate::get_json(
        &s.url(&format!("/api/v1/metering-points?account={account}")),
        &s.admin,
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = sign_in(&s, &id);
    let (_, _, page) = request("GET", &s.url("/move"), Some(&cookie), None);
    let csrf = csrf_of(&page);

    // A move before the contract starts is refused; a good one is reported, once.
    let (status, _, body) = request(
        "POST",
        &s.url("/move"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&point={point}&date=2000-01-01&note=")),
    );
    assert_eq!(status, 422, "{body}");
    let (status, headers, _) = request(
        "POST",
        &s.url("/move"),
        Some(&cookie),
        Some(&format!(
            "csrf={csrf}&point={point}&date=2025-01-20&note=Storgata+1"
        )),
    );
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/move?reported=1")
    );
    let (status, _, _) = request(
        "POST",
        &s.url("/move"),
        Some(&cookie),
        Some(&format!("csrf={csrf}&point={point}&date=2025-01-21&note=")),
    );
    assert_eq!(
        status, 422,
        "a second move of the same point while the first waits"
    );
    let (_, _, page) = request("GET", &s.url("/move?reported=1"), Some(&cookie), None);
    assert!(page.contains("venter på kundeservice"), "{page}");

    // Staff approve it: the contracts on the point end on the moving day, journaled and audited.
    let staff = staff_sign_in(&s, "kari");
    let (_, _, orders) = request("GET", &s.url("/staff/work-orders"), Some(&staff), None);
    let order = orders
        .split("action=\"/staff/work-orders/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let staff_csrf = csrf_of(&orders);
    let head = s.block_on(s.store.journal_head()).unwrap();
    let (status, _, _) = request(
        "POST",
        &s.url(&format!("/staff/work-orders/{order}")),
        Some(&staff),
        Some(&format!("csrf={staff_csrf}&decision=approve&note=ok")),
    );
    assert_eq!(status, 303);
    let contracts = crate::get_json(
        &s.url(&format!(
            "/api/v1/contracts?account={account}&metering_point={point}"
        )),
        &s.admin,
    );
    for contract in contracts["items"].as_array().unwrap() {
        assert_eq!(contract["end"], "2025-01-20", "{contract}");
    }
    let changes = crate::get_json(&s.url(&format!("/api/v1/changes?after={head}")), &s.admin);
    let domains: Vec<&str> = changes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["domain"].as_str().unwrap())
        .collect();
    assert!(
        domains.contains(&"work_order") && domains.contains(&"contract"),
        "{domains:?}"
    );
    let audit = s
        .block_on(s.store.audit_log(Some(&format!("customer:{id}")), 10))
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "approve_work_order" && e.actor == "kari")
    );
    // The 360° view lists the order with its decision and who decided.
    let (_, _, view) = request(
        "GET",
        &s.url(&format!("/staff/customers/{id}")),
        Some(&staff),
        None,
    );
    let row = view
        .split("<tr>")
        .find(|row| row.contains(&format!("<td>{order}</td>")))
        .unwrap_or_else(|| panic!("the 360° view lacks work order {order}"));
    assert!(
        row.contains("<td>kari</td>") && row.contains("<td>ok</td>"),
        "{row}"
    );
    // Decided once: a second decision is told so.
    let (status, _, body) = request(
        "POST",
        &s.url(&format!("/staff/work-orders/{order}")),
        Some(&staff),
        Some(&format!("csrf={staff_csrf}&decision=reject&note=")),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("approved by kari"), "{body}");

    // Postpone an invoice: beyond the rules refused, within them approved at once, only once.
    let invoice = crate::get_json(
        &s.url(&format!("/api/v1/invoices?account={account}")),
        &s.admin,
    )
    .as_array()
    .unwrap()
    .iter()
    .find(|d| d["kind"] == "invoice")
    .unwrap()
    .clone();
    let number = invoice["number"].as_str().unwrap();
    let due: jiff::civil::Date = invoice["due_date"].as_str().unwrap().parse().unwrap();
    let (_, _, page) = request(
        "GET",
        &s.url(&format!("/invoices/{number}")),
        Some(&cookie),
        None,
    );
    assert!(page.contains(&format!("action=\"/invoices/{number}/postpone\"")));
    let too_late = due.checked_add(jiff::ToSpan::days(15)).unwrap();
    let (status, _, _) = request(
        "POST",
        &s.url(&format!("/invoices/{number}/postpone")),
        Some(&cookie),
        Some(&format!("csrf={csrf}&date={too_late}")),
    );
    assert_eq!(status, 422);
    let fine = due.checked_add(jiff::ToSpan::days(7)).unwrap();
    let (status, _, _) = request(
        "POST",
        &s.url(&format!("/invoices/{number}/postpone")),
        Some(&cookie),
        Some(&format!("csrf={csrf}&date={fine}")),
    );
    assert_eq!(status, 303);
    let (_, _, page) = request(
        "GET",
        &s.url(&format!("/invoices/{number}")),
        Some(&cookie),
        None,
    );
    assert!(page.contains("Utsatt til"), "{page}");
    // The overview and the list give the new due date.
    let new_due = format!("{:02}.{:02}.{}", fine.day(), fine.month(), fine.year());
    for path in ["/", "/invoices"] {
        let (_, _, body) = request("GET", &s.url(path), Some(&cookie), None);
        assert!(
            body.contains(&new_due),
            "{path} lacks the postponed due date {new_due}"
        );
    }
    assert!(
        !page.contains("/postpone\""),
        "the form is gone after the one postponement"
    );
    let (status, _, _) = request(
        "POST",
        &s.url(&format!("/invoices/{number}/postpone")),
        Some(&cookie),
        Some(&format!("csrf={csrf}&date={fine}")),
    );
    assert_eq!(status, 422);
}

#[test]
fn comparing_agreements_rates_the_current_one_to_what_the_invoice_asked() {
    let s = TestServer::start_with(12, true, true);
    let (customer, account, point) = single_point_customer(&s);
    let (asked, _) = january_invoice_total(&s, &account);
    let holdings = s
        .block_on(nordlys_app::self_service::Holdings::load(
            &s.store, &customer,
        ))
        .unwrap();
    let comparison = s
        .block_on(nordlys_app::compare::compare_agreements(
            &s.store,
            &holdings,
            &point,
            jiff::civil::date(2025, 1, 31),
        ))
        .unwrap();
    assert_eq!(comparison.months, vec!["2025-01".to_owned()]);
    assert!(comparison.products.len() >= 2, "{comparison:?}");
    let current = comparison.products.iter().find(|p| p.current).unwrap();
    assert_eq!(
        current.total, asked,
        "the current agreement rated again is what the invoice asked"
    );
    assert!(
        comparison
            .products
            .windows(2)
            .all(|w| w[0].total <= w[1].total),
        "cheapest first"
    );
    // The page shows every product.
    let cookie = sign_in(&s, &customer);
    let (status, _, page) = request(
        "GET",
        &s.url(&format!("/compare?point={point}")),
        Some(&cookie),
        None,
    );
    assert_eq!(status, 200);
    for p in &comparison.products {
        assert!(page.contains(&p.product), "{} missing", p.product);
    }
}

#[test]
fn two_postponements_of_one_invoice_at_once_give_one() {
    let s = TestServer::start_with(6, true, true);
    let id = crate::get_json(&s.url("/api/v1/customers?limit=1"), &s.admin)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = crate::get_json(&s.url(&format!("/api/v1/accounts?customer={id}")), &s.admin)["items"][0]["id"].as_str().unwrap().to_owned();
    let invoice = crate::get_json(
        &s.url(&format!("/api/v1/invoices?account={account}")),
        &s.admin,
    )[0]
    .clone();
    let number = invoice["number"].as_str().unwrap().to_owned();
    let due: jiff::civil::Date = invoice["due_date"].as_str().unwrap().parse().unwrap();
    let cookie = sign_in(&s, &id);
    let (_, _, page) = request("GET", &s.url("/settings"), Some(&cookie), None);
    let csrf = csrf_of(&page);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = [3, 5]
            .map(|days| {
                let (url, cookie, csrf) = (
                    s.url(&format!("/invoices/{number}/postpone")),
                    cookie.clone(),
                    csrf.clone(),
                );
                let date = due.checked_add(jiff::ToSpan::days(days)).unwrap();
                scope.spawn(move || {
                    request(
                        "POST",
                        &url,
                        Some(&cookie),
                        Some(&format!("csrf={csrf}&date={date}")),
                    )
                    .0
                })
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, vec![303, 422], "{statuses:?}");
    let orders = s
        .block_on(s.store.work_orders(Some(&id), Some("approved"), 10))
        .unwrap();
    assert_eq!(orders.iter().filter(|o| o.subject == number).count(), 1);
}

/// A customer whose account has one metering point and nothing else: (customer, account,
/// metering point).
fn single_point_customer(s: &TestServer) -> (String, String, String) {
    let customers = crate::get_json(&s.url("/api/v1/customers?limit=50"), &s.admin);
    customers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| {
            let id = c["id"].as_str().unwrap().to_owned();
            let accounts =
                crate::get_json(&s.url(&format!("/api/v1/accounts?customer={id}")), &s.admin);
            let account = accounts["items"][0]["id"].as_str()?.to_owned();
            let contracts = crate::get_json(
                &s.url(&format!("/api/v1/contracts?account={account}")),
                &s.admin,
            );
            let points: std::collections::BTreeSet<String> = contracts["items"]
                .as_array()?
                .iter()
                .map(|k| k["metering_point"].as_str().unwrap_or("").to_owned())
                .collect();
            (points.len() == 1 && !points.contains(""))
                .then(|| (id, account, points.into_iter().next().unwrap()))
        })
        .unwrap()
}

/// The invoice of `account` for January 2025, as the API lists it.
fn january_invoice(s: &TestServer, account: &str) -> serde_json::Value {
    let invoices = crate::get_json(
        &s.url(&format!(
            "/api/v1/invoices?account={account}&period=2025-01"
        )),
        &s.admin,
    );
    let invoices = invoices.as_array().unwrap();
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    invoices[0].clone()
}

/// What the invoice of `account` for January 2025 asked, VAT included, and its currency.
fn january_invoice_total(s: &TestServer, account: &str) -> (rust_decimal::Decimal, String) {
    let invoice = january_invoice(s, account);
    (
        invoice["total"].as_str().unwrap().parse().unwrap(),
        invoice["currency"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn the_cost_of_a_month_is_what_its_invoice_asked_and_the_month_so_far_has_a_forecast() {
    let s = TestServer::start_with(12, true, true);
    let (customer, account, point) = single_point_customer(&s);
    let (asked, currency) = january_invoice_total(&s, &account);
    let currency = nordlys_core::quantity::Currency::parse(&currency).unwrap();
    let shown =
        nordlys_documents::i18n::format::money(asked, currency, nordlys_core::model::Language::Nb);
    let cookie = sign_in(&s, &customer);
    // January at month resolution: the month's cost, in the total and in the table, is what
    // its invoice asked.
    let (status, _, page) = request(
        "GET",
        &s.url(&format!(
            "/consumption?point={point}&from=2025-01-01&to=2025-02-01&resolution=month"
        )),
        Some(&cookie),
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches(&shown).count(), 2, "{shown} in {page}");
    // December 2024 and January 2024 have no readings: no comparison, and no cost.
    assert!(!page.contains("Samme periode i fjor:"), "{page}");
    // The overview: the last readings are of 31 January, so January is complete: its cost
    // is the invoice's and there is nothing to forecast.
    let (status, _, overview) = request("GET", &s.url("/"), Some(&cookie), None);
    assert_eq!(status, 200);
    assert!(overview.contains(&shown), "{shown} in {overview}");
    assert!(
        !overview.contains("Hele måneden i samme tempo"),
        "{overview}"
    );
    assert!(
        overview.contains(&format!(
            "Neste faktura: januar 2025, lages tidlig i februar 2025, omtrent {shown}"
        )),
        "{overview}"
    );

    // Halfway through the month: the cost of the fifteen days, and the month at that pace.
    let holdings = s
        .block_on(nordlys_app::self_service::Holdings::load(
            &s.store, &customer,
        ))
        .unwrap();
    let mut rater = s
        .block_on(nordlys_app::cost::CostRater::new(&s.store))
        .unwrap();
    let half = s
        .block_on(rater.month_to_date(&s.store, &holdings, jiff::civil::date(2025, 1, 15)))
        .unwrap()
        .unwrap();
    let fifteen_days = s
        .block_on(rater.cost(
            &s.store,
            &holdings,
            nordlys_app::cost::CostScope::Customer,
            jiff::civil::date(2025, 1, 1),
            jiff::civil::date(2025, 1, 16),
        ))
        .unwrap()
        .unwrap();
    assert_eq!((half.days_elapsed, half.days_in_month), (15, 31));
    assert_eq!(half.so_far, fifteen_days.gross);
    assert!(half.so_far < asked, "{half:?} against {asked}");
    let forecast = half.forecast.unwrap();
    assert!(
        forecast > half.so_far
            && forecast > asked / rust_decimal::Decimal::TWO
            && forecast < asked * rust_decimal::Decimal::TWO,
        "a forecast of {forecast} for a month that cost {asked}"
    );
    // A span with a day without readings has no cost.
    assert_eq!(
        s.block_on(rater.cost(
            &s.store,
            &holdings,
            nordlys_app::cost::CostScope::MeteringPoint(&point),
            jiff::civil::date(2025, 1, 20),
            jiff::civil::date(2025, 2, 3),
        ))
        .unwrap(),
        None
    );
}

#[test]
fn the_data_behind_an_invoice_is_its_readings_with_their_prices() {
    let s = TestServer::start_with(12, true, true);
    let (customer, account, point) = single_point_customer(&s);
    let invoice = &january_invoice(&s, &account);
    let number = invoice["number"].as_str().unwrap();
    let cookie = sign_in(&s, &customer);
    let (status, headers, csv) = request(
        "GET",
        &s.url(&format!("/invoices/{number}/data.csv")),
        Some(&cookie),
        None,
    );
    assert_eq!(status, 200, "{csv}");
    assert_eq!(
        headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some(nordlys_app::invoice_data::INVOICE_DATA_HEADER)
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    // Every interval of January, of the invoice's one metering point, each with a price.
    let per_day = rows.len() / 31;
    assert!(per_day == 24 || per_day == 96, "{} rows", rows.len());
    assert_eq!(rows.len() % 31, 0);
    assert!(
        rows.iter().all(|r| r[0] == point && !r[6].is_empty()),
        "{csv}"
    );
    assert!(rows[0][1].starts_with("2025-01-01T00:00"), "{:?}", rows[0]);
    // The energy in the file is the energy the invoice's spot line billed.
    let energy_kwh: rust_decimal::Decimal = rows
        .iter()
        .map(|r| r[3].parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    let whole = crate::get_json(&s.url(&format!("/api/v1/invoices/{number}")), &s.admin);
    let lines = whole["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("{whole}"));
    let spot = lines
        .iter()
        .find(|l| l["line_kind"] == "spot")
        .unwrap_or_else(|| panic!("a spot line in {lines:?}"));
    let billed: rust_decimal::Decimal = spot["quantity"].as_str().unwrap().parse().unwrap();
    assert_eq!(energy_kwh, billed);
}

/// The overview's card of what is unpaid, as HTML.
fn unpaid_card(s: &TestServer, cookie: &str) -> String {
    let (_, _, overview) = request("GET", &s.url("/"), Some(cookie), None);
    overview
        .split("id=\"open-h\"")
        .nth(1)
        .and_then(|card| card.split("</section>").next())
        .unwrap_or_else(|| panic!("no unpaid card in {overview}"))
        .to_owned()
}

#[test]
fn a_paid_invoice_leaves_the_unpaid_list_and_cannot_be_postponed() {
    use nordlys_payments::{OcrAssignment, OcrPayment, OcrTransactionType, OcrTransmission};
    let s = TestServer::start_with(12, true, true);
    let (customer, account, _) = single_point_customer(&s);
    let invoice = &january_invoice(&s, &account);
    let number = invoice["number"].as_str().unwrap().to_owned();
    // The server's clock is today's: the 2025 invoice is long overdue, and unpaid.
    assert_eq!(invoice["status"], "overdue", "{invoice}");
    let cookie = sign_in(&s, &customer);
    let unpaid = unpaid_card(&s, &cookie);
    assert!(
        unpaid.contains(&number) && unpaid.contains("Forfalt"),
        "{unpaid}"
    );

    // The bank's OCR file pays it by KID.
    let day = jiff::civil::date(2025, 2, 10);
    let amount: rust_decimal::Decimal = invoice["total"].as_str().unwrap().parse().unwrap();
    let file = nordlys_payments::write_ocr(&OcrTransmission {
        sender: "00008080".into(),
        transmission_number: "0000001".into(),
        recipient: "00010200".into(),
        nets_date: day,
        assignments: vec![OcrAssignment {
            agreement_id: "001008566".into(),
            assignment_number: "0000001".into(),
            payee_account: "15030100001".into(),
            nets_date: day,
            payments: vec![OcrPayment {
                transaction_type: OcrTransactionType::GiroDebitedAccount,
                transaction_number: 1,
                settlement_date: day,
                centre_id: "13".into(),
                day_code: "10".into(),
                partial_settlement: "1".into(),
                serial_number: "00001".into(),
                amount_minor: i64::try_from(amount * rust_decimal::Decimal::from(100)).unwrap(),
                kid: Some(invoice["kid"].as_str().unwrap().to_owned()),
                form_number: "9000000001".into(),
                archive_reference: "000100001".into(),
                bank_date: Some(day),
                debit_account: None,
                free_text: None,
                line: 0,
            }],
        }],
    })
    .unwrap();
    let report = s
        .block_on(nordlys_app::receivables::import::import_payment_file(
            &s.store,
            "ocr.txt",
            &file,
            &nordlys_app::SystemClock,
        ))
        .unwrap();
    assert_eq!(report.matched_by_kid, 1, "{report:?}");

    let unpaid = unpaid_card(&s, &cookie);
    assert!(
        !unpaid.contains(&number) && unpaid.contains("Ingenting å betale"),
        "{unpaid}"
    );
    let (_, _, invoices) = request("GET", &s.url("/invoices"), Some(&cookie), None);
    assert!(invoices.contains("Betalt"), "{invoices}");
    assert_eq!(
        crate::get_json(
            &s.url(&format!("/api/v1/invoices?account={account}")),
            &s.admin
        )[0]["status"],
        "paid"
    );
    // Postponing a paid invoice is refused, and nothing is stored.
    let (_, _, page) = request(
        "GET",
        &s.url(&format!("/invoices/{number}")),
        Some(&cookie),
        None,
    );
    assert!(page.contains("Betalt"), "{page}");
    let head = s.block_on(s.store.journal_head()).unwrap();
    let (status, _, body) = request(
        "POST",
        &s.url(&format!("/invoices/{number}/postpone")),
        Some(&cookie),
        Some(&format!("csrf={}&date=2025-02-25", csrf_of(&page))),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("nothing to postpone"), "{body}");
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), head);
}

#[test]
fn a_move_in_reported_on_the_move_page_and_approved_in_the_back_office_starts_the_contracts() {
    let s = TestServer::start_with(12, false, true);
    let (a, b) = (
        crate::work_orders::holder(&s, 0),
        crate::work_orders::holder(&s, 1),
    );
    let product = crate::work_orders::spot_product(&a.market);
    let day = crate::work_orders::today().to_string();
    let cookie_a = sign_in(&s, &a.customer);
    let cookie_b = sign_in(&s, &b.customer);
    let (_, _, page) = request("GET", &s.url("/move"), Some(&cookie_a), None);
    let csrf_a = csrf_of(&page);
    assert!(page.contains("action=\"/move/in\""), "{page}");
    assert!(
        page.contains(&format!("<option value=\"{product}\"")),
        "{page}"
    );
    assert!(page.contains("<label for=\"in-gsrn\">"), "{page}");
    let (status, _, _) = request(
        "POST",
        &s.url("/move"),
        Some(&cookie_a),
        Some(&format!("csrf={csrf_a}&point={}&date={day}&note=", a.point)),
    );
    assert_eq!(status, 303);

    // B sees nothing of A's, and cannot move A out.
    let (_, _, page) = request("GET", &s.url("/move"), Some(&cookie_b), None);
    let csrf_b = csrf_of(&page);
    assert!(!page.contains(&a.point), "{page}");
    let (status, _, _) = request(
        "POST",
        &s.url("/move"),
        Some(&cookie_b),
        Some(&format!("csrf={csrf_b}&point={}&date={day}&note=", a.point)),
    );
    assert_eq!(status, 404);

    // A bad number is refused at its field; without the CSRF token nothing is taken.
    let (status, _, page) = request(
        "POST",
        &s.url("/move/in"),
        Some(&cookie_b),
        Some(&format!(
            "csrf={csrf_b}&gsrn=707057500000000000&date={day}&product={product}&note="
        )),
    );
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("aria-describedby=\"in-gsrn-hint in-gsrn-error\" aria-invalid=\"true\""),
        "{page}"
    );
    assert!(page.contains("id=\"in-gsrn-error\""), "{page}");
    assert!(
        page.contains("value=\"707057500000000000\""),
        "typed value kept: {page}"
    );
    let (status, _, _) = request(
        "POST",
        &s.url("/move/in"),
        Some(&cookie_b),
        Some(&format!(
            "csrf=forged&gsrn={}&date={day}&product={product}&note=",
            a.point
        )),
    );
    assert_eq!(status, 403);
    let (status, headers, _) = request(
        "POST",
        &s.url("/move/in"),
        Some(&cookie_b),
        Some(&format!(
            "csrf={csrf_b}&gsrn={}&date={day}&product={product}&note=Ny+adresse",
            a.point
        )),
    );
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/move?reported=in")
    );
    let (_, _, page) = request("GET", &s.url("/move?reported=in"), Some(&cookie_b), None);
    assert!(page.contains("Innflyttingen er meldt"), "{page}");
    assert!(
        page.contains(&format!("Flytting inn i {}", a.point)),
        "{page}"
    );

    // Staff approve the move out, then the move in: B's contracts start on the day.
    let staff = staff_sign_in(&s, "per");
    for _ in 0..2 {
        let (_, _, orders) = request("GET", &s.url("/staff/work-orders"), Some(&staff), None);
        let mut open: Vec<i64> = orders
            .split("action=\"/staff/work-orders/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect();
        open.sort();
        let (status, _, body) = request(
            "POST",
            &s.url(&format!("/staff/work-orders/{}", open[0])),
            Some(&staff),
            Some(&format!("csrf={}&decision=approve&note=", csrf_of(&orders))),
        );
        assert_eq!(status, 303, "{body}");
    }
    let contracts = crate::get_json(
        &s.url(&format!(
            "/api/v1/contracts?account={}&metering_point={}",
            b.account, a.point
        )),
        &s.admin,
    );
    let roles: Vec<(&str, &str)> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["role"].as_str().unwrap(), c["start"].as_str().unwrap()))
        .collect();
    let mut roles = roles;
    roles.sort();
    assert_eq!(
        roles,
        [("grid_owner", day.as_str()), ("supplier", day.as_str())]
    );
    let (_, _, page) = request("GET", &s.url("/move"), Some(&cookie_b), None);
    assert!(
        page.contains(&format!("Flytting inn i {}", a.point)) && page.contains("godkjent"),
        "{page}"
    );
}
