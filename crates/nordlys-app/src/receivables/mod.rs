//! Receivables: the ledger of each account (charges as issued, payments in, credits), payment
//! files imported and matched to open invoices, and the worklist of what did not match.

pub mod import;
pub mod ledger;
pub mod matching;
