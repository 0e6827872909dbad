# Norsk bokmål: every label of an invoice or credit note as printed (PDF).
# Numbers, amounts and dates arrive formatted; the messages only place them.

kind-invoice = Faktura
kind-credit-note = Kreditnota
kind-final-settlement = Sluttfaktura
kind-difference = Differansefaktura
document-title = { $kind } { $number }

seller-organisation-number = Org.nr. { $number }
seller-cvr-number = CVR-nr. { $number }
seller-vat-id = Mva-nr. { $vat_id }
buyer-organisation-number = Org.nr. { $number }
buyer-cvr-number = CVR-nr. { $number }
contact-phone = Tlf. { $phone }

invoice-number = Fakturanummer
credit-note-number = Kreditnotanummer
issue-date = Fakturadato
customer-number = Kundenummer
period = Periode
period-range = { $from }–{ $to }
buyer-reference = Deres referanse
order-reference = Ordre/avtale
due-date = Forfallsdato
page-number = Side { $page } av { $pages }

payment-heading = Betalingsinformasjon
amount-due = Å betale
account-number = Kontonummer
iban = IBAN
bic = BIC
kid = KID
credited-amount = Kreditert beløp
credit-note-no-payment = Beløpet trekkes fra neste faktura eller betales tilbake til deg. Du skal ikke betale noe.

summary-heading = Sammendrag
summary-service = Tjeneste
delivery-place = Leveringssted
delivery-period = Leveringsperiode
metering-point = Målepunkt-ID
net-total = Sum eks. mva.
vat-line = Mva. { $percent } % av { $base }
vat-zero-line = Mva. 0 % (fritatt) av { $base }
vat-exempt-line = Unntatt fra mva. { $base }
vat-other-line = Mva. 0 % ({ $category }) av { $base }
vat-total = Sum mva.
gross-total = Sum inkl. mva.
amounts-in = Beløp i { $currency }
vat-in-nok = Mva. i NOK: { $amount }

corrects-heading = Korrigerer
corrects-document = Denne kreditnotaen korrigerer { $documents }.
corrects-document-invoice = Denne fakturaen erstatter { $documents }.
corrected-document = faktura { $number } datert { $date }
correction-reason = Årsak: { $reason }

details-heading = Spesifikasjon: { $label }
column-description = Beskrivelse
column-period = Periode
column-quantity = Mengde
column-unit-price = Enhetspris
column-vat = Mva.
column-amount = Beløp
point-subtotal = Sum { $label }

chart-title = Forbruk per dag og spotpris
chart-consumption = Forbruk (kWh)
chart-spot-price = Spotpris ({ $currency }/kWh eks. mva.)
chart-total = Forbruk i perioden: { $energy } kWh
chart-no-price = Ingen spotpris for perioden.

peaks-heading = Kapasitetsledd: de tre høyeste timene
peaks-date = Dato
peaks-hour = Time
peaks-energy = kWh
peaks-average = Snitt av de tre timene: { $average } kW
peaks-step = Gir trinn { $from }–{ $to } kW ({ $rule })
peaks-step-open = Gir trinn over { $from } kW ({ $rule })
peaks-rule-higher = en verdi på en grense hører til trinnet over
peaks-rule-lower = en verdi på en grense hører til trinnet under

subsidy-heading = Strømstøtte og Norgespris
subsidy-effect = { $scheme } i perioden: { $amount }.
subsidy-credit = Dette er trukket fra det du betaler.
subsidy-charge = Dette er lagt til det du betaler.

address-page-heading = Utskrift
cover-heading = Utskriftsliste
cover-run = { $count } dokumenter, { $pages } sider
cover-column-number = Nr.
cover-column-buyer = Mottaker
cover-column-postcode = Postnr.
cover-column-pages = Sider
cover-column-amount = Beløp

unit-month = mnd.
unit-day = dager
unit-piece = stk.
unit-hour = timer

explain-prorated = { $days } av { $days_in_month } dager i { $month }
explain-main-fuse = Hovedsikring { $amperes } A
explain-max-demand = Høyeste effekt { $demand } kW, { $date } kl. { $hour }
explain-energy-share = { $period } ({ $hours }): { $energy } av { $total } kWh
explain-spot-weighted = Forbruksveid områdepris { $price } per kWh
explain-spot-monthly = Månedens områdepris { $price } per kWh
explain-spot-factor = × { $factor }
explain-spot-markup = påslag { $markup } per kWh
explain-rate-period = Sats { $rate } per kWh { $from }–{ $to }
explain-subsidy = { $percent } % av prisen over { $threshold } per kWh, på { $covered } kWh
explain-subsidy-capped = { $capped } kWh over månedstaket
explain-tier = Trinn { $from }–{ $to } kWh
explain-tier-open = Over { $from } kWh
explain-corrects = Korrigerer { $documents }
explain-replaces = Erstatter { $documents }
