//! The demo's billing: settle each month, then deliver corrections and settle them.

use std::sync::Arc;

use anyhow::Result;
use nordlys_app::Clock;
use nordlys_app::billing::{BillingPolicy, correct, settle};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;

use crate::bill_cmd::print_report;
use crate::progress;

/// The demo's billing: settle each month, then the grid company's corrected values arrive and
/// the correction run credits and reissues what changed.
pub async fn demo_billing(
    store: &nordlys_store::Store,
    summary: &nordlys_app::demo::DemoSummary,
    first_month: LocalPeriod,
    months: u32,
    clock: &dyn Clock,
) -> Result<()> {
    let policy = BillingPolicy::default();
    let statutory = Arc::new(Statutory::default());
    let mut month = first_month;
    for _ in 0..months {
        println!();
        let report = settle(
            store,
            month,
            None,
            &policy,
            Arc::clone(&statutory),
            clock,
            progress::for_stderr(),
            false,
        )
        .await?;
        print_report(&report);
        let next = month.end;
        month = LocalPeriod {
            start: next,
            end: next
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(next),
        };
    }
    let changed =
        nordlys_app::demo::deliver_demo_corrections(store, &summary.corrected_days, clock).await?;
    println!();
    println!(
        "The grid company re-sent {} days ({changed} readings) with corrected values.",
        summary.corrected_days.len()
    );
    let report = correct(
        store,
        &policy,
        statutory,
        clock,
        progress::for_stderr(),
        false,
    )
    .await?;
    print_report(&report);
    println!();
    println!("See the documents: nordlys invoices list; nordlys invoices show F-1");
    Ok(())
}

/// Serve the demo utility after billing, with a demo API token printed to call it with.
pub async fn serve_demo(store: nordlys_store::Store, listen: &str) -> Result<()> {
    use nordlys_app::access::Scope;
    let secret = crate::serve_cmd::create_token(&store, "demo", &Scope::ALL).await?;
    println!();
    println!("Demo API token (all scopes; shown once, made again by a new demo):");
    println!("  {secret}");
    println!("Try:");
    println!("  curl -H 'Authorization: Bearer {secret}' http://{listen}/api/v1/invoices?limit=3");
    if let Ok(page) = store.customers_page(&Default::default(), None, 1).await
        && let Some(customer) = page.items.first()
    {
        println!(
            "Self-service: open http://{listen}/signin and sign in as customer {} (or any other); the code appears here.",
            customer.customer_id
        );
    }
    let password = nordlys_app::staff::random_password();
    let staff =
        nordlys_app::staff::add_staff(&store, "admin", &password, &nordlys_app::SystemClock)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Back-office: http://{listen}/staff/signin as admin, password {password}, with a code from an authenticator app given the TOTP secret {}",
        staff.totp_secret
    );
    println!("Ctrl-C stops the server.");
    crate::serve_cmd::serve_store(store, listen, true).await
}
