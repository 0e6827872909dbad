//! Work orders through the API: moves out and in reported for a customer, listed and read,
//! approved or rejected under the billing scope, once; what an approval does to the contracts
//! and to the next settlement run; bad input refused with its field and nothing stored.

use std::sync::Arc;

use nordlys_app::access::{Scope, create_token};
use nordlys_app::billing::{BillingPolicy, settle};
use nordlys_app::{FixedClock, NoProgress, SystemClock};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;
use serde_json::{Value, json};

use crate::{TestServer, get, get_json, post};

/// A customer of the demo, an account of theirs and a metering point of that account.
pub struct Holder {
    pub customer: String,
    pub account: String,
    pub point: String,
    /// `NO` (see [`holder`]).
    pub market: String,
}

/// The `index`-th customer of the demo served in Norway (so pages are in Norwegian).
pub fn holder(s: &TestServer, index: usize) -> Holder {
    let customers = get_json(&s.url("/api/v1/customers?limit=50"), &s.admin);
    customers["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let customer = c["id"].as_str().unwrap().to_owned();
            let account = get_json(
                &s.url(&format!("/api/v1/accounts?customer={customer}")),
                &s.admin,
            )["items"][0]["id"]
                .as_str()?
                .to_owned();
            let point = get_json(
                &s.url(&format!("/api/v1/metering-points?account={account}")),
                &s.admin,
            )["items"][0]
                .clone();
            (point["market"] == "NO").then(|| Holder {
                customer,
                account,
                point: point["id"].as_str().unwrap().to_owned(),
                market: point["market"].as_str().unwrap().to_owned(),
            })
        })
        .nth(index)
        .unwrap()
}

/// The demo's supplier product of a market.
pub fn spot_product(market: &str) -> &'static str {
    if market == "DK" { "dk-spot" } else { "no-spot" }
}

/// Today where the server is (the rules allow some days either side, so the zone is no matter).
/// Today where the metering points are (the server counts a move's day in the point's zone,
/// Norway and Denmark alike): at 23:30 UTC it is already tomorrow there.
pub fn today() -> jiff::civil::Date {
    let now = jiff::Timestamp::now();
    nordlys_core::model::Market::No
        .time_zone()
        .to_offset(now)
        .to_datetime(now)
        .date()
}

fn post_json(s: &TestServer, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let (status, _, value) = post(
        &s.url(path),
        token,
        "application/json",
        &[],
        body.to_string().as_bytes(),
    );
    (status, value)
}

fn contracts_of(s: &TestServer, point: &str) -> Vec<Value> {
    get_json(
        &s.url(&format!("/api/v1/contracts?metering_point={point}")),
        &s.admin,
    )["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn writer(s: &TestServer) -> String {
    s.block_on(create_token(
        &s.store,
        "crm",
        &[Scope::Read, Scope::Write],
        &SystemClock,
    ))
    .unwrap()
    .secret
}

#[test]
fn a_move_in_after_the_move_out_is_approved_over_the_api_starts_the_new_customers_contracts() {
    let s = TestServer::start(12, false);
    let crm = writer(&s);
    let (a, b) = (holder(&s, 0), holder(&s, 1));
    let day = today().to_string();
    let (status, out) = post_json(
        &s,
        "/api/v1/work-orders",
        &crm,
        &json!({"kind": "move_out", "customer_id": a.customer, "metering_point": a.point, "date": day}),
    );
    assert_eq!(status, 201, "{out}");
    let (status, moving_in) = post_json(
        &s,
        "/api/v1/work-orders",
        &crm,
        &json!({"kind": "move_in", "customer_id": b.customer, "metering_point": a.point,
                "date": day, "product": spot_product(&a.market), "note": "from Storgata 2"}),
    );
    assert_eq!(status, 201, "{moving_in}");
    assert_eq!(
        (
            &moving_in["status"],
            &moving_in["kind"],
            &moving_in["product"]
        ),
        (
            &json!("requested"),
            &json!("move_in"),
            &json!(spot_product(&a.market))
        )
    );
    let (out_id, in_id) = (
        out["id"].as_i64().unwrap(),
        moving_in["id"].as_i64().unwrap(),
    );
    let before = contracts_of(&s, &a.point);

    // The write token cannot decide; approving the move in while A's contracts run is refused.
    let approve_in = format!("/api/v1/work-orders/{in_id}/approve");
    let (status, body) = post_json(&s, &approve_in, &crm, &json!({}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_json(&s, &approve_in, &s.admin, &json!({}));
    assert_eq!(
        (status, &body["field"]),
        (422, &json!("metering_point")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("move out first"),
        "{body}"
    );
    assert_eq!(contracts_of(&s, &a.point), before);
    assert_eq!(
        get_json(&s.url(&format!("/api/v1/work-orders/{in_id}")), &s.reader)["status"],
        "requested"
    );

    // Out, then in: A's contracts end on the day, B's start on it, with A's grid product.
    let (status, decided) = post_json(
        &s,
        &format!("/api/v1/work-orders/{out_id}/approve"),
        &s.admin,
        &json!({"note": "meter read"}),
    );
    assert_eq!(status, 200, "{decided}");
    assert_eq!(
        (
            &decided["status"],
            &decided["decided_by"],
            &decided["decision_note"]
        ),
        (&json!("approved"), &json!("admin"), &json!("meter read"))
    );
    let (status, _, decided) = post(&s.url(&approve_in), &s.admin, "application/json", &[], b"");
    assert_eq!(
        (status, &decided["status"]),
        (200, &json!("approved")),
        "{decided}"
    );
    let after = contracts_of(&s, &a.point);
    let grid_of_a = before.iter().find(|c| c["role"] == "grid_owner").unwrap()["product"].clone();
    for role in ["supplier", "grid_owner"] {
        let old = after
            .iter()
            .find(|c| c["account"] == a.account.as_str() && c["role"] == role)
            .unwrap();
        assert_eq!(old["end"], day.as_str(), "{old}");
        let new = after
            .iter()
            .find(|c| c["account"] == b.account.as_str() && c["role"] == role)
            .unwrap_or_else(|| panic!("no {role} contract of B: {after:?}"));
        assert_eq!((&new["start"], &new["end"]), (&json!(day), &Value::Null));
        if role == "supplier" {
            assert_eq!(new["product"], spot_product(&a.market));
        } else {
            assert_eq!(new["product"], grid_of_a);
        }
    }
    let audit = s
        .block_on(
            s.store
                .audit_log(Some(&format!("customer:{}", b.customer)), 10),
        )
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "approve_work_order"
            && e.actor == "admin"
            && e.actor_kind == "service_account"
            && e.detail.contains(&in_id.to_string())),
        "{audit:?}"
    );

    // Decided once: another decision is a 409 that says so, and changes nothing.
    let head = s.block_on(s.store.journal_head()).unwrap();
    let (status, body) = post_json(
        &s,
        &format!("/api/v1/work-orders/{in_id}/reject"),
        &s.admin,
        &json!({}),
    );
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("already_decided")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("approved by admin"),
        "{body}"
    );
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), head);
}

#[test]
fn work_orders_are_listed_by_page_and_filter_read_by_id_and_carry_no_identity_numbers() {
    let s = TestServer::start(12, false);
    let crm = writer(&s);
    let day = today().to_string();
    let mut ids = Vec::new();
    let holders: Vec<Holder> = (0..3).map(|i| holder(&s, i)).collect();
    for h in &holders {
        let (status, body) = post_json(
            &s,
            "/api/v1/work-orders",
            &crm,
            &json!({"kind": "move_out", "customer_id": h.customer, "metering_point": h.point, "date": day}),
        );
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    let (status, _) = post_json(
        &s,
        &format!("/api/v1/work-orders/{}/reject", ids[1]),
        &s.admin,
        &json!({"note": "still lives there"}),
    );
    assert_eq!(status, 200);

    // Pages of one follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut url = s.url("/api/v1/work-orders?limit=1");
    loop {
        let page = get_json(&url, &s.reader);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => url = s.url(&format!("/api/v1/work-orders?limit=1&after={next}")),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let ids_of = |query: &str| -> Vec<i64> {
        get_json(&s.url(&format!("/api/v1/work-orders?{query}")), &s.reader)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids_of("status=rejected"), [ids[1]]);
    assert_eq!(ids_of("status=requested&kind=move_out"), [ids[0], ids[2]]);
    assert_eq!(ids_of("kind=move_in"), Vec::<i64>::new());
    assert_eq!(
        ids_of(&format!("customer_id={}", holders[2].customer)),
        [ids[2]]
    );

    let one = get_json(
        &s.url(&format!("/api/v1/work-orders/{}", ids[1])),
        &s.reader,
    );
    assert_eq!(
        (&one["status"], &one["decision_note"], &one["subject"]),
        (
            &json!("rejected"),
            &json!("still lives there"),
            &json!(holders[1].point)
        )
    );
    // Identity numbers appear nowhere, even for a token that may see them.
    let (_, _, listed) = get(&s.url("/api/v1/work-orders"), Some(&s.admin));
    let listed = String::from_utf8(listed).unwrap();
    for h in &holders {
        let customer = get_json(
            &s.url(&format!("/api/v1/customers/{}", h.customer)),
            &s.admin,
        );
        if let Some(identity) = customer["identity"].as_str() {
            assert!(!listed.contains(identity), "{identity} in {listed}");
        }
    }

    for (query, field) in [
        ("status=done", "status"),
        ("kind=move", "kind"),
        ("after=x", "after"),
        ("limit=0", "limit"),
        ("customer=1", "customer"),
    ] {
        let (status, headers, body) = get(
            &s.url(&format!("/api/v1/work-orders?{query}")),
            Some(&s.reader),
        );
        let problem = crate::problem(status, &headers, &body);
        assert_eq!(
            (status, &problem["field"]),
            (400, &json!(field)),
            "{query}: {problem}"
        );
    }
    let (status, _, _) = get(&s.url("/api/v1/work-orders/999999"), Some(&s.reader));
    assert_eq!(status, 404);
    let (status, _, _) = get(&s.url("/api/v1/work-orders"), None);
    assert_eq!(status, 401);
}

#[test]
fn a_rejected_move_in_changes_no_contract_and_a_reader_cannot_decide() {
    let s = TestServer::start(12, false);
    let crm = writer(&s);
    let (a, b) = (holder(&s, 0), holder(&s, 1));
    let (status, order) = post_json(
        &s,
        "/api/v1/work-orders",
        &crm,
        &json!({"kind": "move_in", "customer_id": b.customer, "metering_point": a.point,
                "date": today().to_string(), "product": spot_product(&a.market)}),
    );
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_i64().unwrap();
    let before = contracts_of(&s, &a.point);
    for path in ["approve", "reject"] {
        let (status, _, body) = post(
            &s.url(&format!("/api/v1/work-orders/{id}/{path}")),
            &s.reader,
            "application/json",
            &[],
            b"{}",
        );
        assert_eq!(status, 403, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("billing"),
            "{body}"
        );
    }
    let (status, body) = post_json(
        &s,
        &format!("/api/v1/work-orders/{id}/reject"),
        &s.admin,
        &json!({"note": "no such move"}),
    );
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("rejected")),
        "{body}"
    );
    assert_eq!(contracts_of(&s, &a.point), before);
    let audit = s
        .block_on(
            s.store
                .audit_log(Some(&format!("customer:{}", b.customer)), 10),
        )
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "reject_work_order" && e.actor == "admin")
    );
}

#[test]
fn two_approvals_of_one_move_at_once_give_one_and_one_conflict() {
    let s = TestServer::start(12, false);
    let crm = writer(&s);
    let a = holder(&s, 0);
    let (status, order) = post_json(
        &s,
        "/api/v1/work-orders",
        &crm,
        &json!({"kind": "move_out", "customer_id": a.customer, "metering_point": a.point,
                "date": "2025-01-20"}),
    );
    assert_eq!(status, 201, "{order}");
    let url = s.url(&format!("/api/v1/work-orders/{}/approve", order["id"]));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = [0, 1]
            .map(|_| {
                let (url, token) = (url.clone(), s.admin.clone());
                scope.spawn(move || post(&url, &token, "application/json", &[], b"{}").0)
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{statuses:?}");
    let approvals = s
        .block_on(
            s.store
                .audit_log(Some(&format!("customer:{}", a.customer)), 10),
        )
        .unwrap()
        .iter()
        .filter(|e| e.action == "approve_work_order")
        .count();
    assert_eq!(approvals, 1);
}

#[test]
fn bad_moves_are_refused_with_the_field_at_fault_and_store_nothing() {
    let s = TestServer::start(12, false);
    let crm = writer(&s);
    let (a, b) = (holder(&s, 0), holder(&s, 1));
    let product = spot_product(&a.market);
    let today = today();
    let long_ago = today
        .checked_sub(jiff::ToSpan::days(31))
        .unwrap()
        .to_string();
    let far_ahead = today
        .checked_add(jiff::ToSpan::days(181))
        .unwrap()
        .to_string();
    let unknown_point = nordlys_core::ids::Gsrn::from_body("70705750009999999").unwrap();
    let mut bad_check_digit = a.point.clone();
    let last = bad_check_digit.pop().unwrap();
    bad_check_digit.push(if last == '0' { '1' } else { '0' });
    let day = today.to_string();
    let move_in = |point: &str, date: &str, product: &str| {
        json!({"kind": "move_in", "customer_id": b.customer, "metering_point": point,
               "date": date, "product": product})
    };
    let head = s.block_on(s.store.journal_head()).unwrap();
    for (body, status, field) in [
        (
            move_in(&bad_check_digit, &day, product),
            422,
            "metering_point",
        ),
        (move_in("70705750", &day, product), 422, "metering_point"),
        (
            move_in(unknown_point.as_str(), &day, product),
            422,
            "metering_point",
        ),
        (move_in(&a.point, &long_ago, product), 422, "date"),
        (move_in(&a.point, &far_ahead, product), 422, "date"),
        (move_in(&a.point, "2025-02-30", product), 422, "date"),
        (move_in(&a.point, &day, "no-such-product"), 422, "product"),
        (
            json!({"kind": "move_in", "customer_id": b.customer, "metering_point": a.point, "date": day}),
            422,
            "product",
        ),
        (
            json!({"kind": "move_in", "customer_id": "nobody", "metering_point": a.point, "date": day, "product": product}),
            422,
            "customer_id",
        ),
        (
            json!({"kind": "postpone", "customer_id": b.customer, "metering_point": a.point, "date": day}),
            422,
            "kind",
        ),
        (
            json!({"kind": "move_in", "customer_id": b.customer, "metering_point": a.point,
                   "date": day, "product": product, "colour": "red"}),
            422,
            "body",
        ),
        // Customer B moves out of A's point: not B's.
        (
            json!({"kind": "move_out", "customer_id": b.customer, "metering_point": a.point, "date": day}),
            422,
            "metering_point",
        ),
        // A moves in where A lives already.
        (
            move_in(&a.point, &day, product)
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("customer_id".into(), json!(a.customer));
                    Value::Object(o)
                })
                .unwrap(),
            422,
            "metering_point",
        ),
    ] {
        let (got, _, problem) = post(
            &s.url("/api/v1/work-orders"),
            &crm,
            "application/json",
            &[],
            body.to_string().as_bytes(),
        );
        assert_eq!(
            (got, &problem["field"]),
            (status, &json!(field)),
            "{body}: {problem}"
        );
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(
        s.block_on(s.store.journal_head()).unwrap(),
        head,
        "nothing stored"
    );
    let (status, _, _) = post(
        &s.url("/api/v1/work-orders"),
        &s.reader,
        "application/json",
        &[],
        move_in(&a.point, &day, product).to_string().as_bytes(),
    );
    assert_eq!(status, 403);

    // One good move in, its key replayed; a second one of the point while it waits is refused.
    let key = [("Idempotency-Key", "move-in-1")];
    let good = move_in(&a.point, &day, product).to_string();
    let (status, headers, first) = post(
        &s.url("/api/v1/work-orders"),
        &crm,
        "application/json",
        &key,
        good.as_bytes(),
    );
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, headers, again) = post(
        &s.url("/api/v1/work-orders"),
        &crm,
        "application/json",
        &key,
        good.as_bytes(),
    );
    assert_eq!((status, &again), (201, &first));
    assert_eq!(headers["idempotent-replayed"], "true");
    let (status, _, problem) = post(
        &s.url("/api/v1/work-orders"),
        &crm,
        "application/json",
        &[],
        good.as_bytes(),
    );
    assert_eq!(
        (status, &problem["field"]),
        (422, &json!("metering_point")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already reported")
    );
    let orders = get_json(&s.url("/api/v1/work-orders?kind=move_in"), &s.reader);
    assert_eq!(orders["items"].as_array().unwrap().len(), 1);
}

#[test]
fn after_an_approved_move_out_the_next_settlement_of_the_month_bills_up_to_the_moving_day() {
    let s = TestServer::start(12, false);
    let a = holder(&s, 0);
    let (status, order) = post_json(
        &s,
        "/api/v1/work-orders",
        &s.admin,
        &json!({"kind": "move_out", "customer_id": a.customer, "metering_point": a.point,
                "date": "2025-01-20"}),
    );
    assert_eq!(status, 201, "{order}");
    let (status, _) = post_json(
        &s,
        &format!("/api/v1/work-orders/{}/approve", order["id"]),
        &s.admin,
        &json!({}),
    );
    assert_eq!(status, 200);
    s.block_on(settle(
        &s.store,
        LocalPeriod::parse_month("2025-01").unwrap(),
        None,
        &BillingPolicy::default(),
        Arc::new(Statutory::default()),
        &FixedClock(jiff::Timestamp::from_second(1_738_800_000).unwrap()),
        Arc::new(NoProgress),
        false,
    ))
    .unwrap();
    let invoices = get_json(
        &s.url(&format!("/api/v1/invoices?account={}", a.account)),
        &s.admin,
    );
    let number = invoices[0]["number"].as_str().unwrap();
    let invoice = get_json(&s.url(&format!("/api/v1/invoices/{number}")), &s.admin);
    let lines: Vec<&Value> = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["metering_point"] == a.point.as_str())
        .collect();
    assert!(!lines.is_empty(), "{invoice}");
    for line in &lines {
        assert!(line["to"].as_str().unwrap() <= "2025-01-20", "{line}");
    }
    assert!(lines.iter().any(|l| l["to"] == "2025-01-20"), "{lines:?}");
    // The energy billed is the energy measured up to the moving day, and none after it.
    let measured_wh = get_json(
        &s.url(&format!(
            "/api/v1/metering-points/{}/consumption?from=2025-01-01&to=2025-01-20&resolution=day",
            a.point
        )),
        &s.admin,
    )["total_wh"]
        .as_i64()
        .unwrap();
    let supplier_kwh: rust_decimal::Decimal = lines
        .iter()
        .filter(|l| l["unit"] == "kWh" && l["line_kind"] == "spot")
        .map(|l| {
            l["quantity"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        supplier_kwh,
        rust_decimal::Decimal::new(measured_wh, 3),
        "{lines:?}"
    );
}
