"""Colleagues, customers, partners: requests, questions, information."""

from mailkit import Attachment, Mail, at, pdf_stub

PNG_STUB = b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 20

FORWARDED_CONTRACT = b"""\
From: Renate Vogt <r.vogt@datalake-hosting.example>\r
To: Priya Raman <priya.raman@fernhill.example>\r
Subject: Contract renewal 2027 - revised terms\r
Date: Mon, 30 Nov 2026 15:12:00 +0100\r
Message-ID: <renewal-2027-terms@datalake-hosting.example>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset="utf-8"\r
Content-Transfer-Encoding: 8bit\r
\r
Dear Priya,\r
\r
for the 2027 renewal we propose: 36-month term, 9% price increase, storage tier moved\r
from 200 TB to 250 TB committed, egress included up to 20 TB/month. We need your\r
signature by 18 December to keep the current hardware reservation.\r
\r
Kind regards,\r
Renate Vogt\r
"""

MAILS = [
    Mail(
        slug="cto-headcount-plan",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Headcount plan 2027 - need it by Thursday noon",
        date=at("12-01 19:40"),
        text="""\
Sam,

board prep got moved up. I need the platform team's 2027 headcount plan (roles, timing,
fully loaded cost, and what we drop if we only get half) in the usual sheet by Thursday
12:00. Tom has the cost assumptions.

If something blocks you, tell me tomorrow, not Thursday.

Priya
""",
        priority="high", action="flag", category="action",
        why="The CTO needs a deliverable from Sam in two days.",
    ),
    Mail(
        slug="spec-review-fr",
        sender="Amélie Laurent <amelie.laurent@fernhill.example>",
        subject="Relecture de la spec export CSV avant vendredi ?",
        date=at("12-01 10:12"),
        text="""\
Salut Sam,

j'ai terminé la spec de l'export CSV planifié (v0.3) :
https://wiki.fernhill.example/specs/export-csv-planifie

Est-ce que tu pourrais la relire avant vendredi ? Je voudrais surtout ton avis sur la
partie « limites de débit » et sur le format des dates (ISO 8601 partout, ou bien le
format local pour les clients français ?). L'équipe démarre le développement lundi.

Merci d'avance !
Amélie
""",
        priority="high", action="flag", category="action",
        why="A review due Friday that blocks Monday's development start (French).",
        tags=("french",),
    ),
    Mail(
        slug="quick-question-postgres",
        sender="Felix Graf <felix.graf@fernhill.example>",
        subject="quick q: Postgres version in staging?",
        date=at("12-02 08:30"),
        text="""\
Hi Sam, quick one - which Postgres major do we run in staging right now, 16 or 17?
A customer asks whether we support MERGE ... RETURNING and I don't want to guess.

Thanks!
Felix
""",
        priority="normal", action="flag", category="reply",
        why="A colleague's factual question only Sam's team can answer.",
    ),
    Mail(
        slug="fyi-runbooks-moved",
        sender="Dmitri Volkov <dmitri.volkov@fernhill.example>",
        to="platform-team@fernhill.example",
        subject="FYI: runbooks moved to the new wiki",
        date=at("11-30 16:20"),
        text="""\
Hi team,

FYI: I moved all runbooks from the old Confluence space to
https://wiki.fernhill.example/runbooks. Old links redirect until the end of January.
Alertmanager's runbook_url annotations are updated too.

Nothing to do for you, but shout if you find a broken link.

Dmitri
""",
        priority="normal", action="none", category="fyi",
        why="Human-written team information worth reading; no task.",
    ),
    Mail(
        slug="support-escalation",
        sender="Fernhill Support <support@fernhill.example>",
        subject="[Ticket #44120] ESCALATED: Aurora Bank cannot export quarterly reports",
        date=at("12-01 17:50"),
        text="""\
Ticket #44120 has been escalated to Engineering (owner: Sam Keller).

Customer:  Aurora Bank (Enterprise, SLA: 1 business day)
Reported:  2026-12-01 09:12
Summary:   Quarterly report export times out after 120 s for the "all entities" scope.
           Smaller scopes work. Customer needs the Q3 export for an audit on 4 Dec.

Last update (Felix Graf): reproduced on staging with their data volume; the export
query does a sequential scan on ledger_entries (190M rows). Needs engineering.

https://support.fernhill.example/tickets/44120
""",
        priority="high", action="flag", category="action",
        why="An enterprise SLA escalation assigned to Sam, with the customer's audit in two "
            "days.",
    ),
    Mail(
        slug="interview-feedback-due",
        sender="Hana Petrović <hana.petrovic@fernhill.example>",
        subject="Reminder: interview feedback for Malik Osei",
        date=at("12-02 08:10"),
        text="""\
Hi Sam,

gentle reminder: your written feedback for Malik Osei (Senior SRE, technical interview
yesterday) is still missing in the ATS. The other two interviewers have submitted theirs,
and Malik has another offer that expires on Friday, so we want to decide today.

Could you add it before 14:00?

Thanks,
Hana
People & Talent
""",
        priority="high", action="flag", category="action",
        why="A hiring decision waits on Sam's feedback today.",
    ),
    Mail(
        slug="dpa-signature",
        sender="DocuSign via Fernhill Legal <dse@docusign-fernhill.example>",
        subject="Please DocuSign: DPA Fernhill - Tanaka Systems (due 4 Dec)",
        date=at("12-01 12:30", 0),
        text="""\
Carla Mendes (Fernhill Legal) sent you a document to review and sign.

Document: Data Processing Agreement - Fernhill GmbH / Tanaka Systems K.K.
Message from Carla: "Sam, you are the signatory for technical and organisational
measures (Annex II). Tanaka's counsel wants the countersigned copy by 4 Dec."

REVIEW DOCUMENT: https://docusign-fernhill.example/signing/7f21c0

Do not share this email: the link lets anyone sign in your name.
""",
        priority="high", action="flag", category="action",
        why="A signature on a contract is due in two days (a real DocuSign from Legal).",
    ),
    Mail(
        slug="webhook-design-thread",
        sender="Dmitri Volkov <dmitri.volkov@fernhill.example>",
        to="platform-team@fernhill.example",
        subject="Re: Re: Re: Re: [design] retry semantics for outgoing webhooks",
        date=at("12-01 18:15"),
        text="""\
I think we have consensus on everything except the last point:

  - exponential backoff, 8 attempts over ~24h        (agreed)
  - HMAC-SHA256 signature with a timestamp            (agreed)
  - at-least-once delivery, consumer dedups by id     (agreed)
  - disable an endpoint after 3 days of failures?     (Ana: yes, Felix: never silently)

Sam, can you make the final call on the last one? We want to start implementing on
Monday.

Dmitri

On Mon, 30 Nov 2026 at 17:02, Felix Graf wrote:
> Disabling silently is what burned us with the Stripe-style consumers last year. If we
> disable, we need an email to the account owner and a banner in the dashboard.
>
> On Mon, 30 Nov 2026 at 11:45, Ana Ruiz wrote:
>> +1 to 8 attempts. And yes to disabling after 3 days - we can't queue forever, the
>> retry table grew to 40M rows in October.
>>
>> On Fri, 27 Nov 2026 at 16:30, Dmitri Volkov wrote:
>>> Proposal for webhook retries:
>>> 1. exponential backoff with jitter, 8 attempts, last one ~24h after the first
>>> 2. signature: HMAC-SHA256 over timestamp + body, header X-Fernhill-Signature
>>> 3. delivery guarantee: at-least-once, events carry a stable id
>>> 4. endpoints failing for 3 days get disabled
>>> Comments by Monday please.
""",
        priority="normal", action="flag", category="reply",
        why="A design thread where the team waits for Sam's decision before Monday.",
        tags=("thread",),
    ),
    Mail(
        slug="fwd-customer-retention-question",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Fwd: Fwd: data retention question from Helvetia Insurance",
        date=at("12-01 20:44"),
        text="""\
Sam, can you answer this one by end of day tomorrow? You know the retention jobs better
than anyone. Reply to Reto directly and cc me.

P.

---------- Forwarded message ---------
From: Felix Graf <felix.graf@fernhill.example>
Date: Tue, 1 Dec 2026 at 16:02
Subject: Fwd: data retention question from Helvetia Insurance
To: Priya Raman <priya.raman@fernhill.example>

Priya, this is beyond what CS can answer - who should take it?

---------- Forwarded message ---------
From: Reto Ammann <reto.ammann@helvetia-ins.example>
Date: Tue, 1 Dec 2026 at 14:40
Subject: data retention question
To: support@fernhill.example

Hello,

our DPO asks two things before we extend the contract:
1. After we delete a policy holder in Fernhill, how long until the data is gone from
   backups?
2. Can retention be set per entity (we must keep some records 10 years, others 2)?

We need a written answer for the DPO meeting on 4 December.

Regards, Reto Ammann
""",
        priority="high", action="flag", category="reply",
        why="The CTO forwards a customer question for Sam to answer by tomorrow "
            "(forwarded chain).",
        tags=("forward",),
    ),
    Mail(
        slug="intern-thanks",
        sender="Emil Sørensen <emil.sorensen@fernhill.example>",
        subject="Thank you for the onboarding!",
        date=at("11-27 17:05"),
        text="""\
Hi Sam,

just wanted to say thanks for the onboarding week - the "break staging on purpose"
session was the best thing I've done at any internship so far. I shipped my first PR
today (the flaky-test quarantine label).

Have a nice weekend!
Emil
""",
        priority="low", action="mark_read", category="other",
        why="A kind thank-you; nothing to do.",
    ),
    Mail(
        slug="sick-today-de",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        subject="krank heute",
        date=at("12-02 07:15"),
        text="""\
Hi Sam,

ich liege mit Fieber flach und bin heute raus. Der Review von PR #482 muss dann bis
morgen warten, Dmitri weiß Bescheid wegen der Standup-Moderation.

Ana
""",
        priority="normal", action="mark_read", category="fyi",
        why="A team member is out sick; good to know, the handover is already arranged "
            "(German).",
        tags=("german",),
    ),
    Mail(
        slug="load-test-report-es",
        sender="Lucía Fernández <lucia.fernandez@qa-partners.example>",
        subject="Informe de pruebas de carga – API v2 (adjunto)",
        date=at("12-01 18:30"),
        text="""\
Hola Sam:

Te envío adjunto el informe de las pruebas de carga de la API v2 que hicimos la semana
pasada. Resumen: hasta 1.800 peticiones por segundo la latencia p99 se mantiene por debajo
de 250 ms; a partir de 2.200 rps el servicio de tenants se satura (CPU al 95 %).

No hace falta que me contestes, lo comentamos en la reunión del jueves.

Saludos,
Lucía
""",
        attachments=(Attachment("Informe_carga_API_v2.pdf", "application/pdf",
                                pdf_stub("Informe de carga")),),
        priority="normal", action="none", category="fyi",
        why="A report to read before Thursday; explicitly no reply needed (Spanish, PDF).",
        tags=("spanish", "attachment"),
    ),
    Mail(
        slug="api-spec-review-ja",
        sender="佐藤 健二 <k.sato@tanaka-systems.example>",
        subject="API仕様書（v1.2）のレビューのお願い",
        date=at("12-01 15:20", 9),
        text="""\
Sam Keller 様

お世話になっております。田中システムズの佐藤です。

先日の打ち合わせ内容を反映したAPI仕様書 v1.2 を共有いたします。
https://share.tanaka-systems.example/docs/fernhill-api-v1.2

主な変更点は、認証方式（OAuth 2.0 クライアントクレデンシャル）と
エラーコード一覧の追加です。

12月9日（水）までにご確認いただき、ご意見をいただけますと幸いです。

よろしくお願いいたします。
佐藤
""",
        charset="iso-2022-jp", encoding="7bit",
        priority="normal", action="flag", category="action",
        why="A partner asks for a spec review within a week (Japanese, ISO-2022-JP).",
        tags=("japanese", "charset"),
    ),
    Mail(
        slug="fwd-contract-rfc822",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Fwd: Contract renewal 2027 - revised terms",
        date=at("12-01 09:02"),
        text="""\
Sam - see the attached mail from DataLake. 9% up and a bigger commitment. Is 250 TB
realistic for us next year? Your thoughts before I call Renate on Monday, please.

P.
""",
        attachments=(Attachment("Contract renewal 2027 - revised terms.eml", "message/rfc822",
                                FORWARDED_CONTRACT),),
        priority="normal", action="flag", category="reply",
        why="The CTO wants Sam's opinion before Monday; the forwarded mail is attached "
            "(message/rfc822).",
        tags=("forward", "attachment"),
    ),
    Mail(
        slug="diagram-v2-fyi",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        subject="exports pipeline diagram v2",
        date=at("11-30 12:10"),
        text="""\
Hi Sam,

here's v2 of the exports pipeline diagram with the new dead-letter path. Comments
welcome but not needed - I'll put it in the wiki on Friday either way.

Ana
""",
        attachments=(Attachment("exports-pipeline-v2.png", "image/png", PNG_STUB),),
        priority="normal", action="none", category="fyi",
        why="Information with an optional review; no deadline for Sam (PNG attached).",
        tags=("attachment",),
    ),
    Mail(
        slug="welcome-vp-sales",
        sender="Priya Raman <priya.raman@fernhill.example>",
        to="all@fernhill.example",
        subject="Welcome Dana Moretti, our new VP Sales",
        date=at("11-30 09:00"),
        text="""\
Hi everyone,

please welcome Dana Moretti, who joins us today as VP Sales. Dana spent the last eight
years building sales teams at two data companies in Milan and Munich. She'll be in the
Berlin office Monday to Wednesday - say hello!

Priya
""",
        priority="low", action="mark_read", category="fyi",
        why="A company-wide announcement; nothing to do.",
    ),
    Mail(
        slug="access-request-approval",
        sender="Access Requests <access@fernhill.example>",
        subject="[ACC-311] Felix Graf requests read access to prod-replica (approver: you)",
        date=at("12-01 16:05"),
        text="""\
Felix Graf requested access.

  Resource:  postgres prod-replica (read-only role analyst_ro)
  Duration:  14 days
  Reason:    "Investigating ticket #44120 (Aurora Bank export timeouts) with real data
              volumes."

You are the approver for this resource.
Approve: https://access.fernhill.example/requests/ACC-311/approve
Deny:    https://access.fernhill.example/requests/ACC-311/deny
""",
        priority="normal", action="flag", category="action",
        why="An approval only Sam can give; a colleague's investigation waits on it.",
    ),
    Mail(
        slug="dev-list-tabs-spaces",
        sender="Oona Berg <oona.berg@fernhill.example>",
        to="dev@lists.fernhill.example",
        subject="Re: [dev] formatter settings for the new monorepo",
        date=at("12-01 11:47"),
        headers=(("List-Id", "<dev.lists.fernhill.example>"),),
        text="""\
Agree with Felix - let's just use ruff format's defaults and stop discussing it. Line
length 100 is fine by me.

Oona

> On 1 Dec 2026, at 10:12, Felix Graf wrote:
> Can we settle this? ruff format defaults + line length 100. Objections by Friday.
""",
        priority="low", action="mark_read", category="fyi",
        why="A mailing-list discussion that does not address Sam.",
    ),
    Mail(
        slug="hardware-received-it",
        sender="Giulia Romano <giulia.romano@fernhill.example>",
        subject="Conferma ricezione hardware – ufficio di Milano",
        date=at("12-01 10:30"),
        text="""\
Ciao Sam,

ti confermo che oggi sono arrivati a Milano i tre portatili e i due monitor che avevi
ordinato per il nuovo team. Tutto integro, li configuriamo domani con l'IT.

Grazie!
Giulia
""",
        priority="low", action="mark_read", category="fyi",
        why="A confirmation that hardware arrived; nothing to do (Italian).",
        tags=("italian",),
    ),
    Mail(
        slug="conference-invite-koi8r",
        sender="Оргкомитет HighLoad Spring <program@highload-spring.example>",
        subject="Приглашение выступить на конференции HighLoad Spring 2027",
        date=at("11-30 12:00", 3),
        text="""\
Здравствуйте, Сэм!

Мы видели ваш доклад о планировании памяти GPU на DevOps Days и хотели бы пригласить вас
выступить на конференции HighLoad Spring 2027 (Белград, 20-21 апреля).

Мы оплачиваем перелёт и проживание. Пожалуйста, сообщите до 15 декабря, интересно ли вам
это предложение, и мы пришлём подробности.

С уважением,
Программный комитет HighLoad Spring
""",
        charset="koi8-r", encoding="8bit",
        priority="normal", action="flag", category="reply",
        why="A speaking invitation that wants an answer within two weeks (Russian, KOI8-R).",
        tags=("russian", "charset"),
    ),
    Mail(
        slug="samples-shipped-gb2312",
        sender="深圳华睿电子 <sales@huarui-pcb.example>",
        subject="样品已发货 - Fernhill sensor boards (PO 2026-118)",
        date=at("12-01 16:00", 8),
        text="""\
Dear Sam,

您好！您订购的10块样品板（PO 2026-118）已于今天通过DHL发出。
运单号：DHL 1234 5678 90，预计5-7个工作日送达柏林。

The 10 sample boards for PO 2026-118 shipped today with DHL, tracking 1234 5678 90,
expected in Berlin in 5-7 working days.

谢谢！
Wendy Zhang
深圳华睿电子有限公司
""",
        charset="gb2312", encoding="base64",
        priority="normal", action="mark_read", category="fyi",
        why="A supplier's shipping note for ordered samples: good to know, nothing to do "
            "(Chinese/English, GB2312, base64).",
        tags=("chinese", "charset", "base64"),
    ),
]
