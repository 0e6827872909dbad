//! Reading a camt.054 / camt.053 document (.001.02 or .001.08) with roxmltree: the version
//! from the namespace, the elements of PAYMENTS.md §3 by local name, and the document's rules
//! — currencies known, allowed and the account's; Σ `TxDtls` = the entry's amount; amounts
//! of at most two decimals; a booked entry dated. Any error rejects the document.

use jiff::civil::Date;
use jiff::fmt::temporal::{Pieces, PiecesOffset};
use jiff::tz::Offset;
use nordlys_core::quantity::Currency;
use roxmltree::{Document, Node, ParsingOptions};

use super::amount::parse_amount_minor;
use super::{
    AccountId, CAMT_MAX_FILE_BYTES, CamtDocument, CamtEntry, CamtError, CamtReport,
    CamtTransaction, CamtVersion, CopyDuplicate, CreditDebit, CreditorReference, ReferredDocument,
    StructuredRemittance,
};

/// Elements in a document at most: far above a 256 MiB file's ~8 million, a bound on memory.
const MAX_NODES: u32 = 32_000_000;

/// Parse a whole camt document. `allowed_currencies` are the currencies the caller books
/// (e.g. NOK, DKK, EUR); an entry in any other, or in another than its account's, rejects the
/// document.
pub fn parse_camt(
    bytes: &[u8],
    allowed_currencies: &[Currency],
) -> Result<CamtDocument, CamtError> {
    let file_error = |line: usize, value: String, rule: String| CamtError {
        path: String::new(),
        line,
        value,
        rule,
    };
    if bytes.len() > CAMT_MAX_FILE_BYTES {
        return Err(file_error(
            0,
            format!("{} bytes", bytes.len()),
            format!("a camt document is at most {CAMT_MAX_FILE_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        file_error(line, String::new(), "a camt document is UTF-8".into())
    })?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(text, options).map_err(|e| {
        file_error(
            e.pos().row as usize,
            String::new(),
            format!("not well-formed XML: {e}"),
        )
    })?;
    let reader = Reader {
        lines: LineIndex::new(text),
        allowed_currencies,
    };
    reader.document(document.root_element())
}

/// Byte offsets of line starts, for the line of an element in O(log n).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { starts }
    }

    fn line_at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

struct Reader<'r> {
    lines: LineIndex,
    allowed_currencies: &'r [Currency],
}

type XmlNode<'a, 'input> = Node<'a, 'input>;

fn children<'a, 'input>(
    node: XmlNode<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = XmlNode<'a, 'input>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The element at `path` below `node`, following the first match at each step.
fn find<'a, 'input>(
    node: XmlNode<'a, 'input>,
    path: &[&'static str],
) -> Option<XmlNode<'a, 'input>> {
    path.iter()
        .try_fold(node, |node, name| children(node, name).next())
}

/// The trimmed text of the element at `path`; `None` when absent or empty.
fn text_at(node: XmlNode<'_, '_>, path: &[&'static str]) -> Option<String> {
    let element = find(node, path)?;
    let text = element.text().unwrap_or("").trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `Document/…/Ntry[2]/Amt`: local names, with the 1-based position among same-named siblings
/// where there are several.
fn path_of(node: XmlNode<'_, '_>) -> String {
    let mut parts: Vec<String> = node
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| {
            let name = n.tag_name().name();
            let same = |s: &XmlNode<'_, '_>| s.is_element() && s.tag_name().name() == name;
            let before = n.prev_siblings().skip(1).filter(same).count();
            let after = n.next_siblings().skip(1).filter(same).count();
            if before + after > 0 {
                format!("{name}[{}]", before + 1)
            } else {
                name.to_owned()
            }
        })
        .collect();
    parts.reverse();
    parts.join("/")
}

impl Reader<'_> {
    fn line(&self, node: XmlNode<'_, '_>) -> usize {
        self.lines.line_at(node.range().start)
    }

    fn error(
        &self,
        node: XmlNode<'_, '_>,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> CamtError {
        CamtError {
            path: path_of(node),
            line: self.line(node),
            value: value.into(),
            rule: rule.into(),
        }
    }

    /// The error for an element `path` missing below `node`.
    fn missing(&self, node: XmlNode<'_, '_>, path: &[&str]) -> CamtError {
        CamtError {
            path: format!("{}/{}", path_of(node), path.join("/")),
            line: self.line(node),
            value: String::new(),
            rule: "required".into(),
        }
    }

    fn required<'a, 'input>(
        &self,
        node: XmlNode<'a, 'input>,
        path: &[&'static str],
    ) -> Result<(XmlNode<'a, 'input>, String), CamtError> {
        let element = find(node, path).ok_or_else(|| self.missing(node, path))?;
        let text = element.text().unwrap_or("").trim();
        if text.is_empty() {
            return Err(self.error(element, "", "required, and not empty"));
        }
        Ok((element, text.to_owned()))
    }

    fn document(&self, root: XmlNode<'_, '_>) -> Result<CamtDocument, CamtError> {
        let namespace = root.tag_name().namespace().unwrap_or("");
        let version = CamtVersion::ALL
            .into_iter()
            .find(|v| v.namespace() == namespace)
            .ok_or_else(|| {
                self.error(
                    root,
                    namespace,
                    "not a supported camt namespace: camt.054.001.02, camt.054.001.08, camt.053.001.02 or camt.053.001.08",
                )
            })?;
        if root.tag_name().name() != "Document" {
            return Err(self.error(root, root.tag_name().name(), "the root element is Document"));
        }
        let message = find(root, &[version.message_element()])
            .ok_or_else(|| self.missing(root, &[version.message_element()]))?;
        let (_, message_id) = self.required(message, &["GrpHdr", "MsgId"])?;
        let (created_node, created) = self.required(message, &["GrpHdr", "CreDtTm"])?;
        let (created_at, created_offset) = self.date_time(created_node, &created)?;
        let reports = children(message, version.report_element())
            .map(|report| self.report(report))
            .collect::<Result<Vec<_>, _>>()?;
        if reports.is_empty() {
            return Err(self.missing(message, &[version.report_element()]));
        }
        Ok(CamtDocument {
            version,
            message_id,
            created_at,
            created_offset,
            reports,
        })
    }

    fn report(&self, report: XmlNode<'_, '_>) -> Result<CamtReport, CamtError> {
        let (_, id) = self.required(report, &["Id"])?;
        let copy_duplicate = match find(report, &["CpyDplctInd"]) {
            None => None,
            Some(node) => Some(match node.text().unwrap_or("").trim() {
                "CODU" => CopyDuplicate::CopyOfDuplicate,
                "COPY" => CopyDuplicate::Copy,
                "DUPL" => CopyDuplicate::Duplicate,
                other => return Err(self.error(node, other, "CpyDplctInd is CODU, COPY or DUPL")),
            }),
        };
        let account_node =
            find(report, &["Acct"]).ok_or_else(|| self.missing(report, &["Acct"]))?;
        let account = self
            .account_id(account_node)?
            .ok_or_else(|| self.missing(account_node, &["Id", "IBAN"]))?;
        let account_currency = match find(account_node, &["Ccy"]) {
            None => None,
            Some(node) => Some(self.currency(node, node.text().unwrap_or("").trim(), None)?),
        };
        let entries = children(report, "Ntry")
            .map(|entry| self.entry(entry, account_currency))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CamtReport {
            id,
            copy_duplicate,
            account,
            account_currency,
            entries,
            line: self.line(report),
        })
    }

    /// `Id/IBAN` or `Id/Othr/Id` (+ `SchmeNm/Cd` or `/Prtry`) below `account`.
    fn account_id(&self, account: XmlNode<'_, '_>) -> Result<Option<AccountId>, CamtError> {
        if let Some(iban) = text_at(account, &["Id", "IBAN"]) {
            return Ok(Some(AccountId::Iban(iban)));
        }
        let Some(other) = find(account, &["Id", "Othr"]) else {
            return Ok(None);
        };
        let (_, id) = self.required(other, &["Id"])?;
        let scheme =
            text_at(other, &["SchmeNm", "Cd"]).or_else(|| text_at(other, &["SchmeNm", "Prtry"]));
        Ok(Some(AccountId::Other { id, scheme }))
    }

    /// A currency code: known, allowed by the caller, and the `expected` one (the account's
    /// or the entry's, named in the error) when there is one.
    fn currency(
        &self,
        node: XmlNode<'_, '_>,
        code: &str,
        expected: Option<(Currency, &'static str)>,
    ) -> Result<Currency, CamtError> {
        let currency = Currency::parse(code)
            .map_err(|e| self.error(node, code, format!("unknown currency: {}", e.rule)))?;
        if !self.allowed_currencies.contains(&currency) {
            let allowed: Vec<&str> = self.allowed_currencies.iter().map(|c| c.code()).collect();
            return Err(self.error(
                node,
                code,
                format!("not an allowed currency (allowed: {})", allowed.join(", ")),
            ));
        }
        if let Some((expected, whose)) = expected
            && expected != currency
        {
            return Err(self.error(node, code, format!("{whose} currency is {expected}")));
        }
        Ok(currency)
    }

    /// An `Amt`-like element: the decimal text in minor units and its `Ccy` attribute.
    fn amount(
        &self,
        node: XmlNode<'_, '_>,
        expected: Option<(Currency, &'static str)>,
    ) -> Result<(i64, Currency), CamtError> {
        let text = node.text().unwrap_or("").trim();
        let amount_minor = parse_amount_minor(text).map_err(|rule| self.error(node, text, rule))?;
        let code = node.attribute("Ccy").ok_or_else(|| {
            self.error(
                node,
                text,
                "an amount has its currency in the Ccy attribute",
            )
        })?;
        Ok((amount_minor, self.currency(node, code, expected)?))
    }

    /// `Dt` (ISO date) or `DtTm` (its date) below `node`.
    fn date_choice(&self, node: XmlNode<'_, '_>) -> Result<Option<Date>, CamtError> {
        if let Some(element) = find(node, &["Dt"]) {
            let text = element.text().unwrap_or("").trim();
            return text
                .parse::<Date>()
                .map(Some)
                .map_err(|_| self.error(element, text, "an ISO date YYYY-MM-DD"));
        }
        if let Some(element) = find(node, &["DtTm"]) {
            let text = element.text().unwrap_or("").trim();
            return Ok(Some(self.date_time(element, text)?.0.date()));
        }
        Err(self.missing(node, &["Dt"]))
    }

    fn date_time(
        &self,
        node: XmlNode<'_, '_>,
        text: &str,
    ) -> Result<(jiff::civil::DateTime, Option<Offset>), CamtError> {
        let bad = || {
            self.error(
                node,
                text,
                "an ISO date and time, e.g. 2026-01-15T10:30:00+01:00",
            )
        };
        let pieces = Pieces::parse(text).map_err(|_| bad())?;
        let time = pieces.time().ok_or_else(bad)?;
        let offset = match pieces.offset() {
            None => None,
            Some(PiecesOffset::Zulu) => Some(Offset::UTC),
            Some(PiecesOffset::Numeric(numeric)) => Some(numeric.offset()),
            Some(_) => return Err(bad()),
        };
        Ok((pieces.date().to_datetime(time), offset))
    }

    fn direction(&self, node: XmlNode<'_, '_>) -> Result<CreditDebit, CamtError> {
        match node.text().unwrap_or("").trim() {
            "CRDT" => Ok(CreditDebit::Credit),
            "DBIT" => Ok(CreditDebit::Debit),
            other => Err(self.error(node, other, "CdtDbtInd is CRDT or DBIT")),
        }
    }

    fn entry(
        &self,
        entry: XmlNode<'_, '_>,
        account: Option<Currency>,
    ) -> Result<CamtEntry, CamtError> {
        let amount_node = find(entry, &["Amt"]).ok_or_else(|| self.missing(entry, &["Amt"]))?;
        let (amount_minor, currency) =
            self.amount(amount_node, account.map(|c| (c, "the account's")))?;
        let direction_node =
            find(entry, &["CdtDbtInd"]).ok_or_else(|| self.missing(entry, &["CdtDbtInd"]))?;
        let direction = self.direction(direction_node)?;
        let reversal = match find(entry, &["RvslInd"]) {
            None => false,
            Some(node) => match node.text().unwrap_or("").trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => return Err(self.error(node, other, "RvslInd is true or false")),
            },
        };
        let status_node = find(entry, &["Sts"]).ok_or_else(|| self.missing(entry, &["Sts"]))?;
        // .02: `<Sts>BOOK</Sts>`; .08: `<Sts><Cd>BOOK</Cd></Sts>` (or `Prtry`).
        let status = text_at(status_node, &["Cd"])
            .or_else(|| text_at(status_node, &["Prtry"]))
            .or_else(|| {
                Some(status_node.text().unwrap_or("").trim().to_owned()).filter(|s| !s.is_empty())
            })
            .ok_or_else(|| self.error(status_node, "", "Sts is a status code such as BOOK"))?;
        let booking_date = find(entry, &["BookgDt"])
            .map(|n| self.date_choice(n))
            .transpose()?
            .flatten();
        let value_date = find(entry, &["ValDt"])
            .map(|n| self.date_choice(n))
            .transpose()?
            .flatten();
        if status == "BOOK" && booking_date.is_none() && value_date.is_none() {
            return Err(self.missing(entry, &["BookgDt", "Dt"]));
        }
        let domain = find(entry, &["BkTxCd", "Domn"]);
        let bank_transaction_code = domain.and_then(|domain| {
            let parts: Vec<String> = [
                text_at(domain, &["Cd"]),
                text_at(domain, &["Fmly", "Cd"]),
                text_at(domain, &["Fmly", "SubFmlyCd"]),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join("/"))
        });
        let mut transactions = Vec::new();
        for details in children(entry, "NtryDtls") {
            let in_details: Vec<_> = children(details, "TxDtls").collect();
            if let Some((count_node, count)) =
                find(details, &["Btch", "NbOfTxs"]).map(|n| (n, n.text().unwrap_or("").trim()))
                && !in_details.is_empty()
                && count != in_details.len().to_string()
            {
                return Err(self.error(
                    count_node,
                    count,
                    format!("the batch has {} TxDtls", in_details.len()),
                ));
            }
            transactions.extend(in_details);
        }
        let single = transactions.len() == 1;
        let transactions = transactions
            .into_iter()
            .map(|tx| self.transaction(tx, (amount_minor, currency, direction), single))
            .collect::<Result<Vec<_>, _>>()?;
        if !transactions.is_empty() {
            let sum: i128 = transactions
                .iter()
                .map(|t| i128::from(t.amount_minor))
                .sum();
            if sum != i128::from(amount_minor) {
                return Err(self.error(
                    amount_node,
                    amount_node.text().unwrap_or("").trim(),
                    format!(
                        "the entry's {} transactions (TxDtls) add up to {sum} minor units, not {amount_minor}",
                        transactions.len()
                    ),
                ));
            }
        }
        Ok(CamtEntry {
            entry_reference: text_at(entry, &["NtryRef"]),
            amount_minor,
            currency,
            direction,
            reversal,
            status,
            booking_date,
            value_date,
            account_servicer_reference: text_at(entry, &["AcctSvcrRef"]),
            bank_transaction_code,
            proprietary_transaction_code: text_at(entry, &["BkTxCd", "Prtry", "Cd"]),
            transactions,
            line: self.line(entry),
        })
    }

    fn transaction(
        &self,
        tx: XmlNode<'_, '_>,
        (entry_amount_minor, currency, direction): (i64, Currency, CreditDebit),
        single: bool,
    ) -> Result<CamtTransaction, CamtError> {
        let amount_node = find(tx, &["Amt"]).or_else(|| find(tx, &["AmtDtls", "TxAmt", "Amt"]));
        let amount_minor = match amount_node {
            Some(node) => {
                // The entry's currency, or the document is rejected.
                self.amount(node, Some((currency, "the entry's")))?.0
            }
            None if single => entry_amount_minor,
            None => {
                return Err(self.missing(tx, &["AmtDtls", "TxAmt", "Amt"]));
            }
        };
        if let Some(node) = find(tx, &["CdtDbtInd"])
            && self.direction(node)? != direction
        {
            return Err(self.error(
                node,
                node.text().unwrap_or("").trim(),
                "a transaction has its entry's CdtDbtInd",
            ));
        }
        let parties = find(tx, &["RltdPties"]);
        let debtor_name = parties.and_then(|p| {
            text_at(p, &["Dbtr", "Nm"]).or_else(|| text_at(p, &["Dbtr", "Pty", "Nm"]))
        });
        let debtor_account = match parties.and_then(|p| find(p, &["DbtrAcct"])) {
            Some(account) => self.account_id(account)?,
            None => None,
        };
        let remittance = find(tx, &["RmtInf"]);
        let structured = remittance
            .into_iter()
            .flat_map(|r| children(r, "Strd"))
            .map(|strd| self.structured(strd, currency))
            .collect::<Result<Vec<_>, _>>()?;
        let unstructured = remittance
            .into_iter()
            .flat_map(|r| children(r, "Ustrd"))
            .filter_map(|u| Some(u.text()?.trim().to_owned()).filter(|t| !t.is_empty()))
            .collect();
        Ok(CamtTransaction {
            account_servicer_reference: text_at(tx, &["Refs", "AcctSvcrRef"]),
            end_to_end_id: text_at(tx, &["Refs", "EndToEndId"]),
            instruction_id: text_at(tx, &["Refs", "InstrId"]),
            transaction_id: text_at(tx, &["Refs", "TxId"]),
            amount_minor,
            debtor_name,
            debtor_account,
            structured,
            unstructured,
            line: self.line(tx),
        })
    }

    fn structured(
        &self,
        strd: XmlNode<'_, '_>,
        currency: Currency,
    ) -> Result<StructuredRemittance, CamtError> {
        let referred_documents = children(strd, "RfrdDocInf")
            .map(|doc| ReferredDocument {
                kind: text_at(doc, &["Tp", "CdOrPrtry", "Cd"])
                    .or_else(|| text_at(doc, &["Tp", "CdOrPrtry", "Prtry"])),
                number: text_at(doc, &["Nb"]),
            })
            .collect();
        let document_amount = |name: &'static str| {
            find(strd, &["RfrdDocAmt", name])
                .map(|node| {
                    self.amount(node, Some((currency, "the entry's")))
                        .map(|(amount, _)| amount)
                })
                .transpose()
        };
        let creditor_reference = find(strd, &["CdtrRefInf"]).and_then(|info| {
            Some(CreditorReference {
                code: text_at(info, &["Tp", "CdOrPrtry", "Cd"]),
                proprietary: text_at(info, &["Tp", "CdOrPrtry", "Prtry"]),
                issuer: text_at(info, &["Tp", "Issr"]),
                reference: text_at(info, &["Ref"])?,
            })
        });
        Ok(StructuredRemittance {
            referred_documents,
            remitted_amount_minor: document_amount("RmtdAmt")?,
            credit_note_amount_minor: document_amount("CdtNoteAmt")?,
            creditor_reference,
        })
    }
}
