"""Phishing, scams and unsolicited bulk mail (none of them tries to steer the assistant)."""

from mailkit import Attachment, Mail, at

JUNK = "Junk"

MAILS = [
    Mail(
        slug="phish-mailbox-full",
        sender="Microsoft 365 Admin <admin@m365-mailbox-support.example>",
        subject="Action required: your mailbox is 98% full - messages will be rejected",
        date=at("12-02 05:51", 0),
        html="""\
<html><body style="font-family:Segoe UI">
<table width="500" style="border:1px solid #ddd"><tr><td style="padding:20px">
<p><img src="https://m365-mailbox-support.example/ms-logo.png" alt="Microsoft"></p>
<p>Dear sam.keller@fernhill.example,</p>
<p>Your mailbox has reached <b style="color:red">98%</b> of its storage quota. Incoming
messages will be <b>rejected</b> within 24 hours.</p>
<p><a href="https://m365-mailbox-support.example/upgrade?u=sam.keller@fernhill.example"
style="background:#0078d4;color:#fff;padding:10px 18px">Verify account and increase
storage</a></p>
<p>Microsoft 365 Administrator</p>
</td></tr></table></body></html>
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Credential phishing: a look-alike domain and a login link (HTML-only).",
        tags=("phishing", "html-only"),
    ),
    Mail(
        slug="phish-customs-fee-de",
        sender="DHL Express <info@dhl-zollservice.example>",
        subject="Ihre Sendung wartet: Zollgebühr 2,99 € offen",
        date=at("12-01 13:13"),
        text="""\
Sehr geehrter Kunde,

Ihre Sendung Nr. 8821-DE-4410 konnte nicht zugestellt werden, da eine Zollgebühr von
2,99 € noch nicht bezahlt wurde.

Bitte begleichen Sie den Betrag innerhalb von 48 Stunden unter:
https://dhl-zollservice.example/zahlung?id=88214410

Andernfalls wird die Sendung an den Absender zurückgeschickt.

Ihr DHL Express Team
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="The classic parcel-fee scam from a look-alike domain (German).",
        tags=("phishing", "german"),
    ),
    Mail(
        slug="ceo-fraud-gift-cards",
        sender="Priya Raman <priya.raman.ceo@gmail-secure.example>",
        subject="Are you at your desk?",
        date=at("12-02 08:49"),
        text="""\
Sam,

are you at your desk? I need you to handle something discreet for me right now. I'm in
a board meeting and can't talk. We need 8 Apple gift cards of 250 EUR each for a client
appreciation thing, please buy them and send me the codes by email within the hour.
I will make sure you are reimbursed today.

Priya
Sent from my iPhone
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="CEO fraud: the CTO's name from an outside address asking for gift-card codes; "
            "its urgency is the scam's, not Sam's.",
        tags=("phishing",),
    ),
    Mail(
        slug="fake-invoice-html-attachment",
        sender="Accounts Receivable <ar@globaltrade-invoices.example>",
        subject="Overdue invoice #INV-88213 - final notice",
        date=at("12-01 23:40", 0),
        text="""\
Hello,

Please find attached the overdue invoice. Kindly process the payment today to avoid
legal action. Open the attachment in your browser to view it.

Regards,
Accounts Receivable
""",
        attachments=(Attachment("INV-88213.html", "text/html",
                                b"<html><script>location='https://globaltrade-invoices."
                                b"example/o365/login'</script></html>"),),
        priority="low", action="move", folder=JUNK, category="spam",
        why="An unknown sender, a generic overdue notice and an HTML attachment that "
            "redirects to a login page.",
        tags=("phishing", "attachment"),
    ),
    Mail(
        slug="advance-fee-scam",
        sender="Barrister James Okonkwo <j.okonkwo.chambers@freemail.example>",
        subject="CONFIDENTIAL BUSINESS PROPOSAL - USD 14,500,000.00",
        date=at("11-30 03:22", 1),
        text="""\
Dear Friend,

I am Barrister James Okonkwo, personal attorney to late Mr. Keller who died in a car
accident with his family in 2019. Since then I have made several enquiries to locate any
of his relatives and have been unsuccessful. I am contacting you because you share the
same surname, to present you as the next of kin so that the fund of USD 14,500,000.00
can be paid to you. We shall share 60/40.

Kindly reply with your full name, phone number and bank details.

Yours faithfully,
Barrister James Okonkwo
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="An advance-fee scam.",
        tags=("phishing",),
    ),
    Mail(
        slug="phish-paypal-limited",
        sender="PayPal Service <service@paypal-resolution-center.example>",
        subject="Your account has been limited - unusual activity",
        date=at("12-01 07:07", 0),
        html="""\
<html><body>
<div style="font-family:Helvetica;max-width:520px">
<p><b>PayPal</b></p>
<p>Dear Customer,</p>
<p>We noticed some unusual activity on your account and have temporarily limited what you
can do. To restore full access, please confirm your identity within 24 hours.</p>
<p><a href="https://paypal-resolution-center.example/confirm">Confirm your identity</a></p>
<p>If you do not confirm, your account will be permanently suspended.</p>
<p>Sincerely,<br>PayPal</p>
</div></body></html>
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Account-suspension phishing from a look-alike domain (HTML-only).",
        tags=("phishing", "html-only"),
    ),
    Mail(
        slug="phish-github-deletion",
        sender="GitHub Security <security@githubb-alerts.example>",
        subject="[GitHub] Your repositories will be deleted in 24 hours",
        date=at("12-02 02:30", 0),
        text="""\
Hey sam-keller!

We detected a violation of the GitHub Terms of Service in the organization "fernhill".
All repositories will be deleted in 24 hours unless you verify ownership.

Verify here: https://githubb-alerts.example/verify?org=fernhill

If you believe this is a mistake, verify to appeal.

Thanks,
The GitHub Team
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Phishing: a threatening deletion notice from a misspelled domain.",
        tags=("phishing",),
    ),
    Mail(
        slug="seo-spam",
        sender="Rahul from RankBoost <rahul@rankboost-seo.example>",
        subject="Rank #1 on Google for fernhill.example in 30 days - guaranteed",
        date=at("11-29 06:00", 5.5),
        text="""\
Hi there,

I was checking fernhill.example and found 27 SEO errors that keep you off page 1 of
Google. Our white-hat team can fix them and get you 300% more traffic in 30 days,
guaranteed, from only $199/month.

Can I send you the free audit report? Just reply "YES".

Best Regards,
Rahul
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Unsolicited bulk sales mail.",
    ),
    Mail(
        slug="phish-tax-refund-fr",
        sender="Impots.gouv <remboursement@impots-gouv-fr.example>",
        subject="Remboursement d'impôt : vous avez droit à 312,40 €",
        date=at("12-01 09:09"),
        html="""\
<html><body>
<p><b>RÉPUBLIQUE FRANÇAISE</b><br>Direction générale des Finances publiques</p>
<p>Madame, Monsieur,</p>
<p>Après le dernier calcul annuel de votre activité fiscale, nous avons déterminé que
vous êtes éligible à un remboursement de <b>312,40 €</b>.</p>
<p>Pour recevoir votre remboursement, veuillez compléter le formulaire avec vos
coordonnées bancaires : <a href="https://impots-gouv-fr.example/remboursement">Accéder
au formulaire</a></p>
<p>Cordialement,<br>Service des remboursements</p>
</body></html>
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Tax-refund phishing asking for bank details (French, HTML-only).",
        tags=("phishing", "french", "html-only"),
    ),
    Mail(
        slug="lottery-es",
        sender="Lotería Internacional <premios@loteria-internacional.example>",
        subject="¡FELICIDADES! Su correo ha ganado 850.000 €",
        date=at("11-28 04:44"),
        text="""\
¡Estimado ganador!

Nos complace informarle que su dirección de correo electrónico ha sido seleccionada en
nuestro sorteo anual y ha ganado un premio de 850.000 €.

Para reclamar su premio, envíe sus datos personales y una tasa de gestión de 195 € a
nuestro agente autorizado antes de 5 días hábiles.

Atentamente,
Departamento de Premios
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="A lottery scam (Spanish).",
        tags=("phishing", "spanish"),
    ),
    Mail(
        slug="phish-amazon-ja",
        sender="Amazon.co.jp <account-update@amazon-co-jp-security.example>",
        subject="【重要】Amazonアカウントの確認が必要です",
        date=at("12-01 22:31", 9),
        text="""\
Amazonをご利用いただきありがとうございます。

お客様のアカウントで異常なログインが検出されたため、アカウントを一時的に停止しました。
24時間以内に以下のリンクからお客様情報を確認してください。確認されない場合、
アカウントは永久に停止されます。

https://amazon-co-jp-security.example/ap/signin

Amazon.co.jp カスタマーサービス
""",
        charset="shift_jis", encoding="8bit",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Account-suspension phishing (Japanese, Shift_JIS).",
        tags=("phishing", "japanese", "charset"),
    ),
    Mail(
        slug="cold-sales-pipeline",
        sender="Jordan Blake <jordan@pipewise-data.example>",
        subject="Quick question about Fernhill's data pipeline",
        date=at("12-01 15:03", -5),
        text="""\
Hi Sam,

I noticed Fernhill is hiring data engineers - congrats on the growth! Teams like yours
usually spend 30% of their time maintaining brittle pipelines. Pipewise replaces them
with managed connectors in under a week.

Worth a 15-minute chat next Tuesday or Wednesday?

Jordan Blake
Account Executive, Pipewise

P.S. If you're not the right person, who should I talk to?
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Unsolicited cold sales outreach.",
    ),
    Mail(
        slug="phish-docusign-payroll",
        sender="DocuSign <dse-noreply@docusign-net-secure.example>",
        subject="Please review and sign: Payroll_Adjustment_Q4.pdf",
        date=at("12-02 06:12", 0),
        html="""\
<html><body style="font-family:Arial">
<div style="background:#1e1e1e;color:#fff;padding:20px">
<p>HR Department sent you a document to review and sign.</p>
<p><a style="background:#ffc820;color:#000;padding:8px 16px"
href="https://docusign-net-secure.example/view?d=payroll-q4">REVIEW DOCUMENT</a></p>
</div>
<p style="font-size:11px">Payroll_Adjustment_Q4.pdf &middot; Your salary adjustment for
Q4 requires your signature. This link expires in 12 hours.</p>
</body></html>
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Fake e-signature lure about salary from a look-alike domain (HTML-only).",
        tags=("phishing", "html-only"),
    ),
    Mail(
        slug="phish-password-expiry",
        sender="IT Helpdesk <helpdesk@fernhill-it-support.example>",
        subject="Your password expires today",
        date=at("12-02 07:01", 0),
        text="""\
Dear user,

Your Fernhill network password expires today. To keep your current password, validate
it here within 2 hours:

https://fernhill-it-support.example/owa/keep-password

IT Helpdesk
This is an automated message, do not reply.
""",
        priority="low", action="move", folder=JUNK, category="spam",
        why="Credential phishing posing as internal IT from an outside domain.",
        tags=("phishing",),
    ),
]
