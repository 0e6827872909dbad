# English: every label of an invoice or credit note as printed (PDF).
# Numbers, amounts and dates arrive formatted; the messages only place them.
# "MVA" and "Foretaksregisteret" are Norwegian legal words and stay so in every language.

kind-invoice = Invoice
kind-credit-note = Credit note
kind-final-settlement = Final invoice
kind-difference = Difference invoice
document-title = { $kind } { $number }

seller-organisation-number = Org. no. { $number }
seller-cvr-number = CVR no. { $number }
seller-vat-id = VAT no. { $vat_id }
buyer-organisation-number = Org. no. { $number }
buyer-cvr-number = CVR no. { $number }
contact-phone = Tel. { $phone }

invoice-number = Invoice number
credit-note-number = Credit note number
issue-date = Invoice date
customer-number = Customer number
period = Period
period-range = { $from } – { $to }
buyer-reference = Your reference
order-reference = Order/contract
due-date = Due date
page-number = Page { $page } of { $pages }

payment-heading = Payment details
amount-due = Amount due
account-number = Account number
iban = IBAN
bic = BIC
kid = KID
credited-amount = Amount credited
credit-note-no-payment = The amount is deducted from your next invoice or paid back to you. You do not need to pay anything.

summary-heading = Summary
summary-service = Service
delivery-place = Place of delivery
delivery-period = Delivery period
metering-point = Metering point ID
net-total = Total excl. VAT
vat-line = VAT { $percent } % of { $base }
vat-zero-line = VAT 0 % (zero-rated) of { $base }
vat-exempt-line = Exempt from VAT { $base }
vat-other-line = VAT 0 % ({ $category }) of { $base }
vat-total = Total VAT
gross-total = Total incl. VAT
amounts-in = Amounts in { $currency }
vat-in-nok = VAT in NOK: { $amount }

corrects-heading = Corrects
corrects-document = This credit note corrects { $documents }.
corrects-document-invoice = This invoice replaces { $documents }.
corrected-document = invoice { $number } dated { $date }
correction-reason = Reason: { $reason }

details-heading = Details: { $label }
column-description = Description
column-period = Period
column-quantity = Quantity
column-unit-price = Unit price
column-vat = VAT
column-amount = Amount
point-subtotal = Total { $label }

chart-title = Consumption per day and spot price
chart-consumption = Consumption (kWh)
chart-spot-price = Spot price ({ $currency }/kWh excl. VAT)
chart-total = Consumption in the period: { $energy } kWh
chart-no-price = No spot price for the period.

peaks-heading = Capacity charge: the three highest hours
peaks-date = Date
peaks-hour = Hour
peaks-energy = kWh
peaks-average = Average of the three hours: { $average } kW
peaks-step = Gives step { $from }–{ $to } kW ({ $rule })
peaks-step-open = Gives step above { $from } kW ({ $rule })
peaks-rule-higher = a value on a threshold belongs to the higher step
peaks-rule-lower = a value on a threshold belongs to the lower step

subsidy-heading = Electricity support and Norgespris
subsidy-effect = { $scheme } in the period: { $amount }.
subsidy-credit = This is deducted from what you pay.
subsidy-charge = This is added to what you pay.

address-page-heading = Print
cover-heading = Print list
cover-run = { $count } documents, { $pages } pages
cover-column-number = No.
cover-column-buyer = Recipient
cover-column-postcode = Postcode
cover-column-pages = Pages
cover-column-amount = Amount

unit-month = months
unit-day = days
unit-piece = pcs
unit-hour = hours

explain-prorated = { $days } of { $days_in_month } days in { $month }
explain-main-fuse = Main fuse { $amperes } A
explain-max-demand = Highest demand { $demand } kW, { $date } at { $hour }
explain-energy-share = { $period } ({ $hours }): { $energy } of { $total } kWh
explain-spot-weighted = Consumption-weighted area price { $price } per kWh
explain-spot-monthly = The month's area price { $price } per kWh
explain-spot-factor = × { $factor }
explain-spot-markup = markup { $markup } per kWh
explain-rate-period = Rate { $rate } per kWh { $from } – { $to }
explain-subsidy = { $percent } % of the price above { $threshold } per kWh, on { $covered } kWh
explain-subsidy-capped = { $capped } kWh above the monthly cap
explain-tier = Block { $from }–{ $to } kWh
explain-tier-open = Above { $from } kWh
explain-corrects = Corrects { $documents }
explain-replaces = Replaces { $documents }
