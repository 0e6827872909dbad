-- Peppol participant lookups, cached with the time they were made: whether a business receives
-- EHF (Peppol BIS Billing 3.0 invoices and credit notes), learnt online (SML/SMP) or from an
-- imported Peppol Directory export. Operational state like run_batches, not journaled (see
-- ARCHITECTURE.md): a copy of what the Peppol network says, refreshed on a schedule.
CREATE TABLE peppol_participants (
    participant_id          TEXT    PRIMARY KEY,  -- iso6523-actorid-upis::0192:923609016, lowercased
    source                  TEXT    NOT NULL CHECK (source IN ('directory', 'sml')),
    registered              BIGINT NOT NULL CHECK (registered IN (0, 1)),  -- SML: a NAPTR record; Directory: listed
    can_receive_invoice     BIGINT CHECK (can_receive_invoice IN (0, 1)),  -- NULL: the export does not say
    can_receive_credit_note BIGINT CHECK (can_receive_credit_note IN (0, 1)),
    name                    TEXT,
    country                 TEXT,
    smp_url                 TEXT,
    invoice_endpoint_url    TEXT,
    credit_note_endpoint_url TEXT,
    checked_at_us           BIGINT NOT NULL
);
CREATE INDEX peppol_participants_by_checked_at ON peppol_participants (source, checked_at_us);
