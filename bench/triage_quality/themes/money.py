"""Invoices to pay, receipts to file, payment problems."""

from mailkit import Attachment, Mail, at, pdf_stub

MAILS = [
    Mail(
        slug="cloud-invoice-autopaid",
        sender="Nimbus Cloud Billing <billing@nimbuscloud.example>",
        subject="Your Nimbus Cloud invoice for November 2026 is available",
        date=at("12-01 04:03", 0),
        text="""\
Hello Fernhill GmbH,

Your invoice for the billing period 1-30 November 2026 is now available.

  Invoice number:   NC-DE-2026-11-0048813
  Amount:           EUR 8,412.37 (incl. VAT)
  Payment method:   SEPA direct debit, account ending 4471
  Debit date:       on or after 4 December 2026

No action is needed: the amount will be collected automatically.

View or download: https://console.nimbuscloud.example/billing/invoices

Nimbus Cloud Billing
""",
        priority="low", action="archive", category="receipt",
        why="A bill that is paid by direct debit; keep it for the records, nothing to do.",
    ),
    Mail(
        slug="freelancer-invoice-due",
        sender="Lotte Brandt Design <hello@lottebrandt.example>",
        subject="Invoice 2026-041 - Fernhill onboarding illustrations (due 7 Dec)",
        date=at("12-01 15:44"),
        text="""\
Hi Sam,

attached is my invoice for the onboarding illustration set (12 illustrations, 2 revision
rounds) as agreed in October.

Amount: EUR 3,480.00, payable to the IBAN on the invoice by 7 December.

Could you confirm it reached the right person? Last time it sat in someone's inbox for
six weeks.

Thanks and best,
Lotte
""",
        attachments=(Attachment("Invoice_2026-041_Fernhill.pdf", "application/pdf",
                                pdf_stub("Invoice 2026-041")),),
        priority="high", action="flag", category="action",
        why="An invoice Sam has to approve and pass on within days; the sender asks for a "
            "confirmation.",
        tags=("attachment",),
    ),
    Mail(
        slug="registrar-overdue-suspension",
        sender="DomainHafen Accounts <accounts@domainhafen.example>",
        subject="2nd reminder: invoice 88213 overdue - domains suspended on 3 Dec",
        date=at("12-02 07:00"),
        text="""\
Dear Sam Keller,

we have not received payment for invoice 88213 (EUR 214.80, due 16 November 2026) covering
the renewal of:

  fernhill.example
  fernhill-status.example

If the payment is not received by 3 December 2026, 12:00 CET, both domains will be
suspended and DNS resolution will stop. Reactivation costs EUR 45.00 per domain.

Pay now by card: https://my.domainhafen.example/invoices/88213
Bank transfer: see the invoice PDF in your customer account.

If you have already paid, please send us the remittance advice.

DomainHafen Accounts
""",
        priority="urgent", action="flag", category="action",
        why="Company domains go dark tomorrow at noon unless paid; a deadline with real "
            "consequences.",
    ),
    Mail(
        slug="bahn-invoice-de",
        sender="DB Reisezentrum <buchungsbestaetigung@bahn-reise.example>",
        subject="Ihre Rechnung zur Fahrt Berlin Hbf – München Hbf am 24.11.2026",
        date=at("11-30 10:12"),
        html="""\
<html><body>
<table width="600" style="font-family:Helvetica,Arial">
<tr><td><img src="https://bahn-reise.example/logo.png" alt="Bahn"></td></tr>
<tr><td><h1>Ihre Rechnung</h1>
<p>Sehr geehrter Herr Keller,</p>
<p>vielen Dank für Ihre Reise. Anbei erhalten Sie die Rechnung zu Ihrer Buchung.</p>
<table>
<tr><td>Auftragsnummer</td><td>4820 1193 7740</td></tr>
<tr><td>Verbindung</td><td>Berlin Hbf → München Hbf, ICE 1005, 24.11.2026</td></tr>
<tr><td>Betrag</td><td>129,90 € (inkl. 7 % MwSt. 8,50 €)</td></tr>
<tr><td>Zahlungsart</td><td>Firmenkreditkarte ****2290</td></tr>
</table>
<p>Die Rechnung als PDF finden Sie jederzeit unter <a href="https://bahn-reise.example/
meine-buchungen">Meine Buchungen</a>.</p>
<p>Gute Reise wünscht Ihnen<br>Ihr Reisezentrum</p>
</td></tr></table></body></html>
""",
        encoding="quoted-printable",
        priority="low", action="archive", category="receipt",
        why="An invoice for a past, paid trip: file it for expenses (German, HTML-only).",
        tags=("german", "html-only", "quoted-printable"),
    ),
    Mail(
        slug="stripe-payout",
        sender="Stripe <notifications@stripe-mail.example>",
        subject="Your payout of €4,210.55 is on the way",
        date=at("12-01 09:30", 0),
        text="""\
A payout of €4,210.55 EUR to your bank account DE•• 4471 is on the way.

Expected arrival: 3 December 2026
Payout ID: po_1QxT88Fernhill02

This payout includes 131 payments and 2 refunds from 24 to 30 November.

View payout details: https://dashboard.stripe-mail.example/payouts/po_1QxT88Fernhill02

You're receiving this email because you're an administrator of Fernhill GmbH on Stripe.
""",
        priority="low", action="archive", category="receipt",
        why="A routine payout confirmation; nothing to do.",
    ),
    Mail(
        slug="expense-claim-returned",
        sender="Tom Becker <tom.becker@fernhill.example>",
        subject="Expense claim EXP-2291 returned: hotel receipt missing",
        date=at("12-01 14:05"),
        text="""\
Hi Sam,

I had to send your expense claim for the Lyon customer visit (EXP-2291, EUR 612.40) back
to you: the hotel line (Hôtel des Célestins, 2 nights, EUR 318) has no receipt attached,
only the booking confirmation.

Could you upload the actual invoice from the hotel in the expense tool? Claims for
November close on 10 December; after that it moves to the January payroll.

Thanks,
Tom
Finance
""",
        priority="normal", action="flag", category="action",
        why="A small task for Sam with a deadline next week.",
    ),
    Mail(
        slug="shop-order-confirmation",
        sender="Buchhaus Online <bestellung@buchhaus.example>",
        subject="Order confirmation #BH-2026-558102",
        date=at("11-29 21:17"),
        text="""\
Thank you for your order!

Order #BH-2026-558102 - 29 November 2026

1 x  "Designing Data-Intensive Applications" (2nd ed.)   EUR 49.90
1 x  "The Staff Engineer's Path"                         EUR 38.00
Shipping                                                  EUR  0.00
Total (incl. 7% VAT)                                      EUR 87.90

Paid with PayPal. We will let you know when your parcel ships.
""",
        html="""\
<html><body><div style="max-width:560px;margin:auto;font-family:Georgia">
<h2>Thank you for your order!</h2>
<p>Order <b>#BH-2026-558102</b> &middot; 29 November 2026</p>
<table style="width:100%;border-collapse:collapse">
<tr><td>1 &times; &ldquo;Designing Data-Intensive Applications&rdquo; (2nd ed.)</td>
<td align="right">EUR 49.90</td></tr>
<tr><td>1 &times; &ldquo;The Staff Engineer&rsquo;s Path&rdquo;</td>
<td align="right">EUR 38.00</td></tr>
<tr><td>Shipping</td><td align="right">EUR 0.00</td></tr>
<tr><td><b>Total (incl. 7% VAT)</b></td><td align="right"><b>EUR 87.90</b></td></tr>
</table>
<p>Paid with PayPal. We will let you know when your parcel ships.</p>
</div></body></html>
""",
        priority="low", action="archive", category="receipt",
        why="An order confirmation for a purchase already paid.",
        tags=("multipart-alternative",),
    ),
    Mail(
        slug="translation-invoice-es",
        sender="Lucía Fernández <lucia@traducciones-fernandez.example>",
        subject="Factura F-2026-311 – Servicios de traducción noviembre",
        date=at("12-01 12:48"),
        text="""\
Hola Sam:

Te adjunto la factura F-2026-311 por la traducción al español de la documentación de la
API (capítulos 4 a 9, 18.400 palabras) entregada el 20 de noviembre.

Importe: 1.656,00 € (IVA intracomunitario, inversión del sujeto pasivo).
Plazo de pago: 30 días, por transferencia a la cuenta indicada en la factura.

Si necesitas que la factura vaya a otro departamento, dímelo y la reenvío.

Un saludo,
Lucía Fernández
Traducciones Fernández – Madrid
""",
        attachments=(Attachment("Factura_F-2026-311.pdf", "application/pdf",
                                pdf_stub("Factura F-2026-311")),),
        priority="normal", action="flag", category="action",
        why="An invoice to approve, payable within 30 days (Spanish, PDF attached).",
        tags=("spanish", "attachment"),
    ),
    Mail(
        slug="isp-invoice-fr",
        sender="Free Pro <facturation@freepro.example>",
        subject="Votre facture Free Pro de novembre 2026 est disponible",
        date=at("12-01 06:00"),
        html="""\
<html><body style="font-family:Verdana">
<p>Bonjour,</p>
<p>Votre facture du mois de <b>novembre 2026</b> est disponible dans votre Espace
Abonné.</p>
<ul>
<li>Numéro de facture : FP-75-2611-00981</li>
<li>Montant : 59,99 € TTC</li>
<li>Prélèvement prévu le : 05/12/2026</li>
</ul>
<p>Aucune action n'est nécessaire de votre part.</p>
<p>L'équipe Free Pro</p>
<p style="font-size:10px">Cet e-mail est envoyé automatiquement, merci de ne pas y
répondre.</p>
</body></html>
""",
        priority="low", action="archive", category="receipt",
        why="A monthly bill collected automatically (French, HTML-only).",
        tags=("french", "html-only"),
    ),
    Mail(
        slug="coworking-receipt-ja",
        sender="シェアオフィス梅田 <info@umeda-share.example>",
        subject="【領収書】ご利用ありがとうございました（11月分）",
        date=at("12-01 10:00", 9),
        text="""\
Sam Keller 様

いつもシェアオフィス梅田をご利用いただき、誠にありがとうございます。
11月分のご利用料金の領収書をお送りいたします。

　ご利用期間：2026年11月4日〜11月6日
　ご利用プラン：ドロップイン（3日間）
　金額：9,900円（税込）
　お支払い方法：クレジットカード（末尾2290）

領収書PDFはマイページからダウンロードいただけます。
またのご利用を心よりお待ちしております。

シェアオフィス梅田　運営事務局
""",
        charset="iso-2022-jp", encoding="7bit",
        priority="low", action="archive", category="receipt",
        why="A receipt for a past, paid co-working stay (Japanese, ISO-2022-JP).",
        tags=("japanese", "charset"),
    ),
    Mail(
        slug="payslip-available-de",
        sender="Personalportal Fernhill <noreply@hr.fernhill.example>",
        subject="Ihre Entgeltabrechnung November 2026 ist verfügbar",
        date=at("11-30 18:00"),
        text="""\
Hallo Sam Keller,

Ihre Entgeltabrechnung für November 2026 steht ab sofort im Personalportal zum Abruf
bereit: https://hr.fernhill.example/dokumente

Aus Datenschutzgründen versenden wir Abrechnungen nicht per E-Mail.

Diese Nachricht wurde automatisch erstellt.
""",
        priority="low", action="archive", category="notification",
        why="A routine automated notice that a document exists; nothing to do (German).",
        tags=("german",),
    ),
    Mail(
        slug="github-card-declined",
        sender="GitHub Billing <billing@github-notify.example>",
        subject="[GitHub] Payment failed for fernhill: update your payment method",
        date=at("12-01 19:22", 0),
        text="""\
We were unable to charge the card on file for the fernhill organization.

  Plan:          GitHub Team, 38 seats
  Amount:        $152.00
  Card:          Visa ending in 0917 (expired 11/2026)

Please update your payment method within 7 days to avoid a downgrade to GitHub Free, which
would disable protected branches, required reviewers and Actions minutes beyond the free
tier for private repositories.

Update payment method: https://github-notify.example/organizations/fernhill/settings/billing
""",
        priority="high", action="flag", category="action",
        why="The team's GitHub plan is downgraded in a week unless Sam updates the card.",
    ),
    Mail(
        slug="refund-processed",
        sender="Kabelwelt Kundenservice <service@kabelwelt.example>",
        subject="Refund processed for order 2231-774",
        date=at("11-28 13:40"),
        text="""\
Hello,

we have received your return (2 x USB-C docking station) and refunded EUR 259.98 to your
original payment method. Depending on your bank it may take 3-5 business days to appear.

Order: 2231-774
Return received: 27 November 2026

Kabelwelt Customer Service
""",
        priority="low", action="archive", category="receipt",
        why="A refund confirmation; keep for records.",
    ),
    Mail(
        slug="laptop-quote-deadline",
        sender="Marco Ritter <m.ritter@itsystemhaus.example>",
        subject="Angebot/Quote 2026-1187: 6x ThinkPad T14s - valid until Friday",
        date=at("12-01 16:20"),
        text="""\
Hello Mr Keller,

as discussed on the phone, please find our quote for the six developer laptops:

  6 x Lenovo ThinkPad T14s Gen 6, 32 GB, 1 TB, 3y on-site    EUR 1,489.00 each
  Total net                                                 EUR 8,934.00

Because of the supplier price change on 1 January, I can only hold this price until
Friday, 4 December. If you confirm by then, delivery is in calendar week 51.

Please reply with your order confirmation or any changes.

Best regards
Marco Ritter
IT Systemhaus Ritter
""",
        attachments=(Attachment("Angebot_2026-1187.pdf", "application/pdf",
                                pdf_stub("Angebot 2026-1187")),),
        priority="high", action="flag", category="action",
        why="A purchase decision Sam must take by Friday or lose the price.",
        tags=("attachment",),
    ),
    Mail(
        slug="bike-repair-receipt-cp1252",
        sender="Fahrradwerkstatt Kiezrad <werkstatt@kiezrad.example>",
        subject="Quittung – Reparatur Auftrag 1187",
        date=at("11-28 17:55"),
        text="""\
Hallo Herr Keller,

anbei Ihre Quittung für die Reparatur vom 28.11.:

  Schlauch + Mantel hinten “Marathon Plus”   54,90 €
  Bremsbeläge vorn                           18,50 €
  Arbeitszeit 0,75 h                         33,75 €
  ––––––––––––––––––––––––––––––––––––––––––––––––––
  Summe (bar bezahlt)                       107,15 €

Danke und allzeit gute Fahrt!
Ihr Kiezrad-Team
""",
        charset="windows-1252", encoding="quoted-printable",
        priority="low", action="archive", category="receipt",
        why="A receipt for a repair already paid in cash (German, windows-1252).",
        tags=("german", "charset", "quoted-printable"),
    ),
    Mail(
        slug="ide-renewal-notice",
        sender="JetBrains Sales <sales@jetbrains-notify.example>",
        subject="Your subscription will renew on 15 December 2026",
        date=at("12-01 08:00", 0),
        text="""\
Dear Sam Keller,

This is a reminder that your All Products Pack subscription (organization: Fernhill GmbH,
12 licenses) will renew automatically on 15 December 2026.

  Renewal amount: EUR 3,468.00 (excl. VAT)
  Payment method: Mastercard ending in 6120

If you wish to change the number of licenses or cancel, do so in your JetBrains Account
before the renewal date.

JetBrains Sales Team
""",
        priority="low", action="mark_read", category="notification",
        why="An automatic renewal two weeks out; nothing to do unless the licences change.",
    ),
    Mail(
        slug="domain-renewed",
        sender="DomainHafen <noreply@domainhafen.example>",
        subject="fernhill.dev renewed until 2027-12-01",
        date=at("12-01 03:10"),
        text="""\
Your domain fernhill.dev was renewed successfully.

  New expiry date:  2027-12-01
  Charged:          EUR 16.90 to Visa ending in 5582

Thank you for staying with DomainHafen.
""",
        priority="low", action="archive", category="receipt",
        why="A successful automatic renewal; a receipt to keep.",
    ),
]
