# Dansk: every label of an invoice or credit note as printed (PDF).
# Numbers, amounts and dates arrive formatted; the messages only place them.

kind-invoice = Faktura
kind-credit-note = Kreditnota
kind-final-settlement = Slutafregning
kind-difference = Differencefaktura
document-title = { $kind } { $number }

seller-organisation-number = Org.nr. { $number }
seller-cvr-number = CVR-nr. { $number }
seller-vat-id = Momsnr. { $vat_id }
buyer-organisation-number = Org.nr. { $number }
buyer-cvr-number = CVR-nr. { $number }
contact-phone = Tlf. { $phone }

invoice-number = Fakturanummer
credit-note-number = Kreditnotanummer
issue-date = Fakturadato
customer-number = Kundenummer
period = Periode
period-range = { $from }–{ $to }
buyer-reference = Jeres reference
order-reference = Ordre/aftale
due-date = Forfaldsdato
page-number = Side { $page } af { $pages }

payment-heading = Betalingsoplysninger
amount-due = At betale
account-number = Kontonummer
iban = IBAN
bic = BIC
kid = KID
credited-amount = Krediteret beløb
credit-note-no-payment = Beløbet trækkes fra næste faktura eller betales tilbage til dig. Du skal ikke betale noget.

summary-heading = Oversigt
summary-service = Ydelse
delivery-place = Leveringssted
delivery-period = Leveringsperiode
metering-point = Målepunkts-ID
net-total = I alt ekskl. moms
vat-line = Moms { $percent } % af { $base }
vat-zero-line = Moms 0 % (nulsats) af { $base }
vat-exempt-line = Momsfritaget { $base }
vat-other-line = Moms 0 % ({ $category }) af { $base }
vat-total = Moms i alt
gross-total = I alt inkl. moms
amounts-in = Beløb i { $currency }
vat-in-nok = Moms i NOK: { $amount }

corrects-heading = Korrigerer
corrects-document = Denne kreditnota korrigerer { $documents }.
corrects-document-invoice = Denne faktura erstatter { $documents }.
corrected-document = faktura { $number } af { $date }
correction-reason = Årsag: { $reason }

details-heading = Specifikation: { $label }
column-description = Beskrivelse
column-period = Periode
column-quantity = Mængde
column-unit-price = Enhedspris
column-vat = Moms
column-amount = Beløb
point-subtotal = I alt { $label }

chart-title = Forbrug pr. dag og spotpris
chart-consumption = Forbrug (kWh)
chart-spot-price = Spotpris ({ $currency }/kWh ekskl. moms)
chart-total = Forbrug i perioden: { $energy } kWh
chart-no-price = Ingen spotpris for perioden.

peaks-heading = Effektled: de tre højeste timer
peaks-date = Dato
peaks-hour = Time
peaks-energy = kWh
peaks-average = Gennemsnit af de tre timer: { $average } kW
peaks-step = Giver trin { $from }–{ $to } kW ({ $rule })
peaks-step-open = Giver trin over { $from } kW ({ $rule })
peaks-rule-higher = en værdi på en grænse hører til trinnet over
peaks-rule-lower = en værdi på en grænse hører til trinnet under

subsidy-heading = Elstøtte og Norgespris
subsidy-effect = { $scheme } i perioden: { $amount }.
subsidy-credit = Det er trukket fra det, du betaler.
subsidy-charge = Det er lagt til det, du betaler.

address-page-heading = Udskrift
cover-heading = Udskriftsliste
cover-run = { $count } dokumenter, { $pages } sider
cover-column-number = Nr.
cover-column-buyer = Modtager
cover-column-postcode = Postnr.
cover-column-pages = Sider
cover-column-amount = Beløb

unit-month = md.
unit-day = dage
unit-piece = stk.
unit-hour = timer

explain-prorated = { $days } af { $days_in_month } dage i { $month }
explain-main-fuse = Hovedsikring { $amperes } A
explain-max-demand = Højeste effekt { $demand } kW, { $date } kl. { $hour }
explain-energy-share = { $period } ({ $hours }): { $energy } af { $total } kWh
explain-spot-weighted = Forbrugsvægtet områdepris { $price } pr. kWh
explain-spot-monthly = Månedens områdepris { $price } pr. kWh
explain-spot-factor = × { $factor }
explain-spot-markup = tillæg { $markup } pr. kWh
explain-rate-period = Sats { $rate } pr. kWh { $from }–{ $to }
explain-subsidy = { $percent } % af prisen over { $threshold } pr. kWh, på { $covered } kWh
explain-subsidy-capped = { $capped } kWh over månedsloftet
explain-tier = Trin { $from }–{ $to } kWh
explain-tier-open = Over { $from } kWh
explain-corrects = Korrigerer { $documents }
explain-replaces = Erstatter { $documents }
