"""Mail whose form is the hard part: wrong charset labels, raw 8-bit headers, no
Message-ID, format=flowed, bounces, auto-replies, bodies that are only an attachment,
bodies long enough to be truncated, more languages."""

import base64

from mailkit import Attachment, Mail, at, pdf_stub

LONG_ADR = """\
ADR-0042: Event sourcing for billing

Status: proposed. Deciders: platform team, finance engineering. Review: 8 Dec 2026.

Context
-------
Billing today mutates invoice rows in place. Corrections (credit notes, tax fixes,
currency adjustments) overwrite earlier values, so we cannot answer "what did the invoice
say on the day we sent it" without restoring backups. Auditors asked twice this year.
Three incidents in 2026 (INC-212, INC-240, INC-266) were made worse because we could not
reconstruct the state before a bad deploy.

Decision
--------
Billing keeps an append-only event log per invoice (InvoiceDrafted, LineAdded,
TaxCalculated, InvoiceIssued, CreditNoteIssued, PaymentApplied). The current invoice
table becomes a projection rebuilt from events. Events are immutable and carry the code
version that produced them. Projections can be rebuilt per tenant in under ten minutes.

Consequences
------------
+ Every past state of every invoice can be reproduced exactly.
+ Corrections become new events, so the history explains itself to auditors.
- Storage grows by an estimated 4x for billing (about 180 GB over five years).
- Every consumer of the invoice table must tolerate projection lag (p99 under 2 s).
- The team must learn to version event schemas; we adopt upcasters, not migrations.

Alternatives considered
-----------------------
1. Temporal tables in Postgres (system versioning): simpler, but captures row states,
   not intent; a tax fix and a manual edit look the same.
2. Audit log table beside the current model: cheap, but nothing guarantees it is complete.
3. Status quo plus nightly snapshots: does not meet the auditors' request.

Rollout
-------
Phase 1 (January): dual-write events beside the current tables for new invoices.
Phase 2 (February): projections serve reads for one pilot tenant.
Phase 3 (March): all tenants; the old write path is removed.

Open questions
--------------
- Do credit notes reference events or invoice versions?
- How do we expose history in the API without leaking internal event names?
- Who owns the upcasters when finance engineering changes tax rules?

Please read before the review on Tuesday; comments inline in the wiki are welcome.
"""

DSN_RAW = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx1.fernhill.example>\r
To: Sam Keller <sam.keller@fernhill.example>\r
Subject: Undelivered Mail Returned to Sender\r
Date: Tue, 01 Dec 2026 17:21:44 +0100\r
Message-ID: <20261201162144.7F2A11C0042@mx1.fernhill.example>\r
Auto-Submitted: auto-replied\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status;\r
 boundary="=_dsn_0042"\r
\r
--=_dsn_0042\r
Content-Type: text/plain; charset=us-ascii\r
\r
This is the mail system at host mx1.fernhill.example.\r
\r
I'm sorry to have to inform you that your message could not be delivered to one or\r
more recipients.\r
\r
<h.lindqvist@aurorabank.exmaple>: Host or domain name not found. Name service error\r
    for name=aurorabank.exmaple type=A: Host not found\r
\r
Your message: "Re: Q3 export - workaround until the fix ships" (sent 17:21)\r
\r
--=_dsn_0042\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx1.fernhill.example\r
\r
Final-Recipient: rfc822; h.lindqvist@aurorabank.exmaple\r
Action: failed\r
Status: 5.4.4\r
Diagnostic-Code: X-Postfix; Host or domain name not found.\r
\r
--=_dsn_0042\r
Content-Type: text/rfc822-headers\r
\r
From: Sam Keller <sam.keller@fernhill.example>\r
To: h.lindqvist@aurorabank.exmaple\r
Subject: Re: Q3 export - workaround until the fix ships\r
\r
--=_dsn_0042--\r
"""

MISLABELLED_RAW = (
    "From: =?utf-8?q?Am=C3=A9lie_Laurent?= <amelie.laurent@fernhill.example>\r\n"
    "To: Sam Keller <sam.keller@fernhill.example>\r\n"
    "Subject: Merci pour la relecture\r\n"
    "Date: Wed, 02 Dec 2026 08:36:00 +0100\r\n"
    "Message-ID: <merci-relecture-0212@fernhill.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Salut Sam,\r\n"
    "\r\n"
    "merci pour tes remarques sur la spec, j'ai tout intégré (dates en ISO 8601, limites\r\n"
    "de débit par clé d'API). La version 0.4 est en ligne, pas besoin de la relire à\r\n"
    "nouveau – on démarre lundi comme prévu.\r\n"
    "\r\n"
    "Bonne journée !\r\n"
    "Amélie\r\n"
).encode()

RAW_HEADER_RAW = (
    "From: Jonas Weber <jonas.weber@fernhill.example>\r\n"
    "To: Sam Keller <sam.keller@fernhill.example>\r\n"
    "Subject: Zugang zum Staging-Bastion für Übergabe\r\n"
    "Date: Tue, 01 Dec 2026 18:02:00 +0100\r\n"
    "Message-ID: <bastion-uebergabe@fernhill.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hi Sam,\r\n"
    "\r\n"
    "ich übergebe ab Freitag die Rufbereitschaft an Oona. Sie hat noch keinen Zugang zum\r\n"
    "Staging-Bastion – kannst du ihren SSH-Key (hängt im Ticket PLAT-1290) bis Donnerstag\r\n"
    "freischalten? Du bist der Einzige mit Admin-Rechten dort.\r\n"
    "\r\n"
    "Danke!\r\n"
    "Jonas\r\n"
).encode()

NO_MESSAGE_ID_RAW = b"""\
From: root <root@legacy-01.fernhill.example>\r
To: sam.keller@fernhill.example\r
Subject: Cron <root@legacy-01> /usr/local/bin/apt-report\r
Date: Wed, 02 Dec 2026 06:25:01 +0100\r
Content-Type: text/plain; charset=UTF-8\r
\r
legacy-01: 12 packages can be upgraded (0 security updates).\r
Reboot required: no\r
Disk /: 41% used\r
"""

FLOWED_NL = ("Hoi Sam,\r\n\r\n"
             "Kun je even naar de offerte van het nieuwe monitoring-contract kijken? Ik "
             "\r\nheb hem in de gedeelde map gezet (Inkoop/2027/monitoring). De leverancier "
             "\r\nwil graag voor 11 december een akkoord, anders vervalt de korting van "
             "\r\n15%.\r\n\r\n"
             "Groetjes,\r\nDaan\r\n")
FLOWED_RAW = (
    "From: Daan de Vries <daan.devries@fernhill.example>\r\n"
    "To: Sam Keller <sam.keller@fernhill.example>\r\n"
    "Subject: Offerte monitoring-contract\r\n"
    "Date: Tue, 01 Dec 2026 15:40:00 +0100\r\n"
    "Message-ID: <offerte-monitoring@fernhill.example>\r\n"
    "User-Agent: Mozilla Thunderbird\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n" + FLOWED_NL
).encode("utf-8")

VACATION_B64 = base64.encodebytes(
    b"Hallo Sam,\n\nIhr Urlaubsantrag vom 23.12.2026 bis 02.01.2027 (6 Arbeitstage) wurde von "
    b"Priya Raman genehmigt.\nResturlaub 2026 nach diesem Antrag: 3 Tage.\n\nIhr "
    b"Personalportal\n").replace(b"\n", b"\r\n")
VACATION_RAW = (
    b"From: Personalportal Fernhill <noreply@hr.fernhill.example>\r\n"
    b"To: Sam Keller <sam.keller@fernhill.example>\r\n"
    b"Subject: =?utf-8?b?VXJsYXVic2FudHJhZyBnZW5laG1pZ3Q=?=\r\n"
    b"Date: Mon, 30 Nov 2026 14:02:00 +0100\r\n"
    b"Message-ID: <urlaub-2026-12-genehmigt@hr.fernhill.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + VACATION_B64
)

MAILS = [
    Mail(
        slug="mislabelled-charset-fr", sender="Amélie Laurent <amelie.laurent@fernhill.example>",
        subject="Merci pour la relecture", date=at("12-02 08:36"), raw=MISLABELLED_RAW,
        priority="low", action="mark_read", category="fyi",
        why="A thank-you that says no further review is needed (French, UTF-8 bytes "
            "labelled us-ascii).",
        tags=("french", "charset"),
    ),
    Mail(
        slug="raw-8bit-subject-de", sender="Jonas Weber <jonas.weber@fernhill.example>",
        subject="Zugang zum Staging-Bastion für Übergabe", date=at("12-01 18:02"),
        raw=RAW_HEADER_RAW,
        priority="normal", action="flag", category="action",
        why="Only Sam can grant the access, needed by Thursday (German, raw 8-bit Subject).",
        tags=("german", "charset"),
    ),
    Mail(
        slug="cron-no-message-id", sender="root <root@legacy-01.fernhill.example>",
        subject="Cron <root@legacy-01> /usr/local/bin/apt-report", date=at("12-02 06:25"),
        raw=NO_MESSAGE_ID_RAW, message_id=None,
        priority="low", action="archive", category="notification",
        why="Routine cron output, nothing wrong (no Message-ID header).",
        tags=("no-message-id",),
    ),
    Mail(
        slug="flowed-quote-nl", sender="Daan de Vries <daan.devries@fernhill.example>",
        subject="Offerte monitoring-contract", date=at("12-01 15:40"), raw=FLOWED_RAW,
        priority="normal", action="flag", category="action",
        why="A colleague needs Sam's approval of a quote by 11 Dec (Dutch, format=flowed).",
        tags=("dutch", "format-flowed"),
    ),
    Mail(
        slug="vacation-approved-b64",
        sender="Personalportal Fernhill <noreply@hr.fernhill.example>",
        subject="Urlaubsantrag genehmigt", date=at("11-30 14:02"), raw=VACATION_RAW,
        priority="low", action="mark_read", category="notification",
        why="Sam's own leave request was approved; good to see, nothing to do (German, "
            "base64 body and subject).",
        tags=("german", "base64"),
    ),
    Mail(
        slug="bounce-typo-customer",
        sender="Mail Delivery System <MAILER-DAEMON@mx1.fernhill.example>",
        subject="Undelivered Mail Returned to Sender", date=at("12-01 17:21"), raw=DSN_RAW,
        priority="high", action="flag", category="action",
        why="Sam's workaround for an escalated customer never arrived (typo in the domain); "
            "he must resend it.",
        tags=("bounce",),
    ),
    Mail(
        slug="long-adr-truncated",
        sender="Dmitri Volkov <dmitri.volkov@fernhill.example>",
        to="platform-team@fernhill.example",
        subject="ADR-0042 full text for offline reading",
        date=at("12-01 13:25"),
        text="Hi all, here's the ADR as plain text for the train.\n\n" + LONG_ADR,
        priority="normal", action="none", category="fyi",
        why="A long pre-read for next week's review; to read, no separate task here "
            "(the invitation carries the RSVP). Long enough to be truncated.",
        tags=("long",),
    ),
    Mail(
        slug="signed-sow-attachments",
        sender="Helena Marsh <helena.marsh@northgate-retail.example>",
        subject="Countersigned SOW Phase 2 + updated milestones",
        date=at("11-30 16:40", 0),
        text="""\
Hi Sam,

please find attached the countersigned statement of work for Phase 2 and the updated
milestone plan our PMO asked for. Nothing else needed from your side - see you at the
kick-off on the 14th.

Best,
Helena
""",
        attachments=(
            Attachment("SOW_Phase2_countersigned.pdf", "application/pdf",
                       pdf_stub("SOW Phase 2")),
            Attachment("Milestones_Phase2_v3.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       b"PK\x03\x04" + bytes(range(256)) * 4),
        ),
        priority="normal", action="mark_read", category="fyi",
        why="A signed contract for the records; explicitly nothing needed (two "
            "attachments).",
        tags=("attachment",),
    ),
    Mail(
        slug="savings-plan-expiry-html",
        sender="Nimbus Cloud <no-reply@nimbuscloud.example>",
        subject="Your Compute Savings Plan expires in 30 days",
        date=at("12-01 05:00", 0),
        html="""\
<html><body><table width="600" cellpadding="8" style="font-family:Arial">
<tr><td colspan="2"><h2>Your Savings Plan expires on 31 December 2026</h2></td></tr>
<tr><td>Plan</td><td>Compute Savings Plan, 1 year, no upfront</td></tr>
<tr><td>Commitment</td><td>$6.20/hour</td></tr>
<tr><td>Coverage last month</td><td>91% of eligible compute</td></tr>
<tr><td>Estimated increase without renewal</td><td><b>+$2,480/month</b> at on-demand
rates</td></tr>
<tr><td colspan="2">Renew or purchase a new plan in the console before it expires. Plans
cannot be backdated.</td></tr>
</table></body></html>
""",
        priority="normal", action="flag", category="action",
        why="A decision needed this month or costs rise by $2.5k/month (HTML-only table).",
        tags=("html-only",),
    ),
    Mail(
        slug="out-of-office-de",
        sender="Carla Mendes <carla.mendes@fernhill.example>",
        subject="Automatische Antwort: DPA Tanaka – Annex II",
        date=at("12-01 19:05"),
        headers=(("Auto-Submitted", "auto-replied"),),
        text="""\
Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 3. Dezember nicht im Büro
und habe nur eingeschränkt Zugriff auf E-Mails. In dringenden Fällen wenden Sie sich
bitte an legal@fernhill.example.

Thank you for your message. I am out of office until 3 December with limited access to
email. For urgent matters please contact legal@fernhill.example.
""",
        priority="low", action="mark_read", category="notification",
        why="An auto-reply: worth knowing who is away, nothing to do (German/English).",
        tags=("german",),
    ),
    Mail(
        slug="vpn-question-pt",
        sender="Rafael Souza <rafael.souza@devparceiros.example>",
        subject="Dúvida sobre o acesso à VPN",
        date=at("12-01 20:10", -3),
        text="""\
Olá Sam,

tudo bem? Desde ontem não consigo me conectar à VPN de staging: o cliente WireGuard
diz "handshake did not complete". Meu certificado expirou ou mudou alguma coisa na
configuração? Preciso do acesso para terminar a integração até sexta.

Obrigado!
Rafael
""",
        priority="normal", action="flag", category="reply",
        why="A contractor is blocked and asks Sam a direct question (Portuguese).",
        tags=("portuguese",),
    ),
    Mail(
        slug="meeting-minutes-ko",
        sender="Park Ji-ho <jiho.park@hanbit-soft.example>",
        subject="회의록 공유: 12월 1일 API 연동 회의",
        date=at("12-01 18:00", 9),
        text="""\
Sam 님, 안녕하세요.

오늘 회의 내용을 정리하여 공유드립니다.

1. 인증 방식: OAuth 2.0 클라이언트 자격 증명으로 확정
2. 요청 한도: 초당 50건, 필요 시 상향 협의
3. 다음 회의: 12월 15일 (화) 오전 10시 (한국 시간)

별도 회신은 필요 없습니다. 감사합니다.

박지호 드림
""",
        charset="euc-kr", encoding="base64",
        priority="normal", action="none", category="fyi",
        why="Minutes of a meeting Sam attended; explicitly no reply needed (Korean, EUC-KR).",
        tags=("korean", "charset", "base64"),
    ),
    Mail(
        slug="scanner-empty-body",
        sender="MFP-3F <scanner@fernhill.example>",
        subject="Scan from MFP-3F",
        date=at("12-01 10:58"),
        text="",
        attachments=(Attachment("scan_20261201_105812.pdf", "application/pdf",
                                pdf_stub("scan")),),
        priority="low", action="mark_read", category="notification",
        why="A scan Sam made himself; the body is empty, only the PDF.",
        tags=("attachment", "empty-body"),
    ),
    Mail(
        slug="reply-all-fridge",
        sender="Oona Berg <oona.berg@fernhill.example>",
        to="berlin-office@fernhill.example",
        subject="RE: RE: RE: whose lunch box is in the fridge since Monday??",
        date=at("12-01 15:12"),
        text="""\
Please stop replying all. It's Felix's, he knows, it's gone.

-----Original Message-----
From: Emil Sørensen
Sent: Tuesday, 1 December 2026 15:05
Subject: RE: RE: whose lunch box is in the fridge since Monday??

Not mine either!

-----Original Message-----
From: Dana Moretti
Sent: Tuesday, 1 December 2026 14:58
Subject: RE: whose lunch box is in the fridge since Monday??

Not mine 🙂

-----Original Message-----
From: Office Fernhill
Sent: Tuesday, 1 December 2026 14:40
Subject: whose lunch box is in the fridge since Monday??

There is a blue lunch box on the second shelf. If it's yours, please take it home.
""",
        priority="low", action="archive", category="other",
        why="An office reply-all thread, settled; nothing for Sam.",
        tags=("thread",),
    ),
    Mail(
        slug="bank-statement-available-de",
        sender="Berliner Bank Online <service@berlinerbank-online.example>",
        subject="Ihr Kontoauszug November 2026 ist im Postfach",
        date=at("12-01 06:10"),
        text="""\
Guten Tag Herr Keller,

in Ihrem Online-Postfach liegt ein neues Dokument für Sie bereit:

    Kontoauszug Nr. 11/2026, Girokonto ****4471

Melden Sie sich wie gewohnt im Online-Banking an, um es abzurufen. Aus Sicherheits-
gründen enthalten unsere E-Mails keine Links.

Ihre Berliner Bank
""",
        priority="low", action="archive", category="notification",
        why="A routine statement notice from the bank, with no links (German).",
        tags=("german",),
    ),
    Mail(
        slug="customer-thanks-fixed",
        sender="Dr. Hannah Lindqvist <h.lindqvist@aurorabank.example>",
        subject="Re: Exposure report missing in the risk dashboard",
        date=at("11-26 11:02"),
        text="""\
Hello Sam,

thank you - the dashboards are back and the report ran fine. Our review with the
regulator went ahead as planned. I look forward to the incident report next week.

Best regards
Hannah

> Hannah, the outage is fixed since 09:41; all dashboards load again. The cause was an
> expired internal certificate between two services. A written report follows.
> Sam
""",
        priority="normal", action="mark_read", category="fyi",
        why="A customer confirms a past incident is over; the report promise is already "
            "known. Worth reading, nothing new to do.",
        tags=("thread",),
    ),
    Mail(
        slug="team-dinner-poll",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        to="platform-team@fernhill.example",
        subject="Team dinner - pick your dates by Monday",
        date=at("12-01 12:44"),
        text="""\
Hi team,

end-of-year dinner! Please tick the dates that work for you by Monday:
https://poll.example/p/platform-dinner-2026

Options: 15, 16 or 17 December. Restaurant is booked once we know the date.

Ana
""",
        priority="normal", action="flag", category="meeting",
        why="A date poll to answer by Monday.",
    ),
    Mail(
        slug="budget-approved",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Approved: DevOps Days Hamburg travel",
        date=at("11-30 17:22"),
        text="""\
Approved - book the train and hotel through the travel tool as usual. Good luck with the
talk!

P.
""",
        priority="normal", action="mark_read", category="fyi",
        why="An approval Sam asked for; he can go ahead, nothing urgent.",
    ),
    Mail(
        slug="token-expiry",
        sender="GitLab <gitlab@git.fernhill.example>",
        subject="Your personal access token 'ci-deploy' expires in 7 days",
        date=at("12-01 02:00"),
        text="""\
Hi Sam Keller,

One or more of your personal access tokens will expire in 7 days or less:

  ci-deploy (scopes: api, write_registry) - expires 2026-12-08

The deploy pipelines of 4 projects use this token. Create a new token and update the
CI variable DEPLOY_TOKEN before it expires.

https://git.fernhill.example/-/user_settings/personal_access_tokens
""",
        priority="normal", action="flag", category="action",
        why="Deploys break in a week unless Sam rotates the token.",
    ),
    Mail(
        slug="voicemail-wav",
        sender="Fernhill Telephony <voicemail@pbx.fernhill.example>",
        subject="New voicemail from +49 30 5557 8810 (0:42)",
        date=at("12-02 08:22"),
        text="""\
You have a new voicemail.

From:     +49 30 5557 8810
Received: Wed 2 Dec 2026, 08:21
Length:   0:42

The recording is attached.
""",
        attachments=(Attachment("voicemail-20261202-0821.wav", "audio/wav",
                                b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(64) * 8),),
        priority="normal", action="none", category="notification",
        why="A voicemail whose content cannot be known from the mail; Sam should listen.",
        tags=("attachment",),
    ),
    Mail(
        slug="gdpr-request-fwd",
        sender="Carla Mendes <carla.mendes@fernhill.example>",
        subject="Fwd: Auskunftsersuchen nach Art. 15 DSGVO – Frist 11.12.",
        date=at("12-01 09:30"),
        text="""\
Hallo Sam,

zur Info und mit Bitte um Unterstützung: Wir müssen bis zum 11.12. eine vollständige
Auskunft erteilen. Ich brauche von dir bis Montag einen Export aller Daten zu dieser
Person aus den Produktionssystemen (inkl. Logs und Backups, soweit abrufbar).

Danke!
Carla

---------- Forwarded message ---------
From: Mehmet Aydın <m.aydin@posteo.example>
Date: Wed, 11 Nov 2026 at 21:14
Subject: Auskunftsersuchen nach Art. 15 DSGVO
To: privacy@fernhill.example

Sehr geehrte Damen und Herren,

hiermit verlange ich gemäß Art. 15 DSGVO Auskunft über alle zu meiner Person
gespeicherten Daten, die Zwecke der Verarbeitung, die Empfänger und die Speicherdauer.
Bitte antworten Sie innerhalb der gesetzlichen Frist von einem Monat.

Mit freundlichen Grüßen
Mehmet Aydın
""",
        priority="high", action="flag", category="action",
        why="A legal deadline: Legal needs Sam's data export by Monday (German, "
            "forwarded).",
        tags=("german", "forward"),
    ),
    Mail(
        slug="expense-approved",
        sender="Expense Tool <noreply@expenses.fernhill.example>",
        subject="Expense claim EXP-2274 approved (EUR 84.20)",
        date=at("11-30 15:30"),
        text="""\
Your expense claim EXP-2274 "Team lunch Hiring day" (EUR 84.20) was approved by
Tom Becker and will be paid with the December payroll.
""",
        priority="low", action="archive", category="notification",
        why="An approval notice; nothing to do.",
    ),
    Mail(
        slug="product-committee-minutes-fr",
        sender="Amélie Laurent <amelie.laurent@fernhill.example>",
        to="product-committee@fernhill.example",
        subject="Compte rendu du comité produit du 30 novembre",
        date=at("11-30 18:15"),
        text="""\
Bonjour à tous,

voici le compte rendu du comité produit :

- Export CSV planifié : validé pour le T1, spec en relecture.
- Tableau de bord mobile : reporté au T2 faute de ressources.
- Intégration Tanaka : signature du DPA attendue cette semaine.

Prochain comité : 14 décembre. Aucune action supplémentaire pour l'instant.

Amélie
""",
        priority="normal", action="none", category="fyi",
        why="Committee minutes to read; no new action for Sam (French).",
        tags=("french",),
    ),
]
