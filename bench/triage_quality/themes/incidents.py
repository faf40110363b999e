"""Outages, alerts, security scares: the mail that must not sit unread."""

from mailkit import Mail, at

MAILS = [
    Mail(
        slug="alert-firing-api-errors",
        sender="Alertmanager <alertmanager@monitoring.fernhill.example>",
        to="oncall-platform@fernhill.example",
        subject="[FIRING:1] APIHighErrorRate api-gateway (prod-eu critical)",
        date=at("12-02 08:41", 0),
        text="""\
[FIRING:1] APIHighErrorRate api-gateway (prod-eu critical)

Alerts Firing:
Labels:
 - alertname = APIHighErrorRate
 - cluster = prod-eu
 - service = api-gateway
 - severity = critical
Annotations:
 - summary = 5xx ratio above 5% for 10 minutes
 - description = 17.3% of requests to api-gateway returned 5xx over the last 10m
   (threshold 5%). Upstream: payments-svc, tenants-svc.
 - runbook_url = https://wiki.fernhill.example/runbooks/api-high-error-rate
Source: https://grafana.fernhill.example/alerting/grafana/aeq81/view
Started: 2026-12-02 07:31:04 UTC

Sent by Alertmanager (prod-eu). Silence: https://alerts.fernhill.example/#/silences/new
""",
        priority="urgent", action="flag", category="action",
        why="A critical production alert that is firing now; someone must act within minutes.",
        tags=("monitoring",),
    ),
    Mail(
        slug="db-failover-bridge",
        sender="Jonas Weber <jonas.weber@fernhill.example>",
        subject="prod DB primary down, failover did NOT trigger - join the bridge",
        date=at("12-02 08:47"),
        text="""\
Sam,

db-prod-1 stopped answering at 08:38. Patroni did not promote the replica, the leader key
is still held by the dead node (etcd shows it, TTL not expiring - looks like the clock
skew issue again).

Writes are failing for every tenant. I'm on the bridge: https://meet.fernhill.example/sev1

I need you to approve a manual promote of db-prod-2, I don't want to do it alone with the
replication lag at 4s. Please call me: +49 30 5557 1202

Jonas
""",
        priority="urgent", action="flag", category="action",
        why="Production database down for all tenants; an engineer needs Sam's approval now.",
    ),
    Mail(
        slug="customer-dashboards-blank",
        sender="Dr. Hannah Lindqvist <h.lindqvist@aurorabank.example>",
        cc="support@fernhill.example",
        subject="Are you down? All our dashboards are blank since 07:40",
        date=at("12-02 08:52"),
        text="""\
Hello Sam,

since about 07:40 this morning none of our Fernhill dashboards load - the widgets spin and
then show "upstream error". Our risk team has its 10:00 review with the regulator and relies
on the exposure report.

Your status page still says "All systems operational". Can you tell me within the next
half hour whether this is on your side and when to expect a fix? If we cannot get the
report I have to postpone with the regulator, which I would rather not do.

Best regards
Hannah Lindqvist
Head of Risk Reporting, Aurora Bank
""",
        priority="urgent", action="flag", category="reply",
        why="An enterprise customer is affected now and asks for an answer within 30 minutes.",
    ),
    Mail(
        slug="cloud-incident-resolved",
        sender="Cloud Status <no-reply@status.nimbuscloud.example>",
        subject="[Resolved] Elevated API latency in eu-central-1",
        date=at("12-01 22:10", 0),
        html="""\
<html><body style="font-family:Arial">
<h2 style="color:#2e7d32">Resolved</h2>
<p><b>Elevated API latency in eu-central-1</b></p>
<p>Between 19:42 and 21:55 UTC some customers experienced elevated latency and
intermittent timeouts for the Object Storage and Load Balancer APIs in eu-central-1.
The issue was caused by a faulty network device in one availability zone, which has been
taken out of service. All services are operating normally.</p>
<p>We will publish a post-incident report within 5 business days.</p>
<p style="font-size:11px;color:#888">You are receiving this because you subscribed to
incident updates for eu-central-1. <a href="https://status.nimbuscloud.example/unsub">
Manage subscriptions</a></p>
</body></html>
""",
        priority="normal", action="mark_read", category="notification",
        why="A provider incident in our region, already resolved: worth a glance (it may "
            "explain last night's errors), nothing to do.",
        tags=("html-only",),
    ),
    Mail(
        slug="disk-85-percent",
        sender="Grafana <grafana@monitoring.fernhill.example>",
        to="platform-team@fernhill.example",
        subject="[Alerting] db-replica-2: disk /var/lib/postgresql 87% used",
        date=at("12-02 06:15", 0),
        text="""\
[Alerting] db-replica-2 disk usage

Value: 87.2% (threshold 85%)
Mount: /var/lib/postgresql
Growth over last 24h: +3.1%
Projected full in: ~4 days at the current rate

Panel: https://grafana.fernhill.example/d/node/db-replica-2?viewPanel=12

This alert will notify again in 12h if still alerting.
""",
        priority="high", action="flag", category="action",
        why="Not an outage yet, but the disk fills within days; someone has to act this week.",
        tags=("monitoring",),
    ),
    Mail(
        slug="tls-cert-expiry",
        sender="CertWatch <alerts@certwatch.example>",
        subject="Certificate for api.fernhill.example expires in 3 days",
        date=at("12-02 05:00", 0),
        text="""\
Hi,

The TLS certificate we monitor for you is about to expire:

  Host:       api.fernhill.example:443
  Issuer:     R11 (Let's Encrypt)
  Not after:  2026-12-05 04:12:55 UTC  (3 days)
  SANs:       api.fernhill.example, api-eu.fernhill.example

Automatic renewal does not seem to have happened: the certificate served today is the
same as 60 days ago. Check your ACME client (certbot / cert-manager) logs.

-- CertWatch, monitoring 14 endpoints for fernhill.example
""",
        priority="high", action="flag", category="action",
        why="The public API breaks in three days unless someone fixes the renewal.",
        tags=("monitoring",),
    ),
    Mail(
        slug="postmortem-review",
        sender="Jonas Weber <jonas.weber@fernhill.example>",
        to="platform-team@fernhill.example",
        subject="Postmortem draft: 27 Nov queue backlog - comments by Tuesday",
        date=at("12-01 17:32"),
        text="""\
Hi all,

the draft postmortem for last Friday's queue backlog (SEV-2, 3h12m of delayed exports) is
up: https://wiki.fernhill.example/pm/2026-11-27-queue-backlog

Summary: a deploy raised the consumer prefetch to 500, one poison message blocked a
partition, retries multiplied the backlog. Action items are in the doc, four of them have
no owner yet.

Sam, as the approver please leave your comments and assign the open action items by next
Tuesday (8 Dec) - we review it in the Wednesday ops meeting.

Thanks,
Jonas
""",
        priority="normal", action="flag", category="action",
        why="A review Sam owns, due in a week: a real task without today's pressure.",
    ),
    Mail(
        slug="admin-login-singapore",
        sender="Mira Okafor <mira.okafor@fernhill.example>",
        subject="Was this you? Admin sign-in from Singapore 20 min ago",
        date=at("12-02 08:55"),
        text="""\
Sam,

our Workspace audit log shows a successful sign-in to your super-admin account
(sam.keller@fernhill.example) at 08:31 from 103.252.x.x (Singapore), Chrome on Windows,
with a passkey prompt skipped via backup code.

You were in the office at that time as far as I know. If it was NOT you, reply or call me
right away (+49 30 5557 1240) - I will suspend the session and rotate the backup codes.
If it was you (VPN?), please tell me so I can close the alert.

Mira
Security, Fernhill
""",
        priority="urgent", action="flag", category="reply",
        why="A possible takeover of Sam's admin account; security needs his answer right now.",
    ),
    Mail(
        slug="hosting-maintenance",
        sender="Serverhaus Support <support@serverhaus.example>",
        subject="Planned maintenance: rack FRA1-14 on 9 Dec 2026, 02:00-04:00 UTC",
        date=at("12-01 11:20"),
        text="""\
Dear customer,

we will replace the top-of-rack switches in rack FRA1-14 on

    Wednesday, 9 December 2026, 02:00 - 04:00 UTC

Affected servers: EX-44 #2210938 (backup-1.fernhill.example)

Expect up to 15 minutes of network interruption within the window. No action is required
on your part; servers stay powered on.

Kind regards
Your Serverhaus team
""",
        priority="normal", action="mark_read", category="notification",
        why="Planned maintenance a week away on a backup host, needing no action.",
    ),
    Mail(
        slug="kafka-lag-approval-de",
        sender="Jonas Weber <jonas.weber@fernhill.example>",
        subject="Kafka-Cluster läuft voll – Freigabe für 2 zusätzliche Broker?",
        date=at("12-02 07:58"),
        text="""\
Hi Sam,

der Consumer-Lag auf dem Topic exports.v2 liegt seit gestern Abend bei gut 2 Mio.
Nachrichten und wächst weiter, die drei Broker sind bei 78 % Disk. Bis morgen Mittag
erreichen wir die Retention-Grenze und verlieren dann Nachrichten.

Ich würde gern heute noch zwei weitere Broker (m6i.2xlarge) hochziehen, Kosten ca.
620 €/Monat. Dafür brauche ich deine Freigabe, das liegt über meinem Budget-Limit.

Gibst du mir kurz ein Okay? Dann lege ich sofort los.

Danke
Jonas
""",
        priority="high", action="flag", category="action",
        why="Data loss by tomorrow noon unless Sam approves the spend today (German).",
        tags=("german",),
    ),
    Mail(
        slug="checkout-thread-rollback",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        cc="jonas.weber@fernhill.example, priya.raman@fernhill.example",
        subject="Re: Re: Re: checkout failures for EU customers",
        date=at("12-02 08:20"),
        text="""\
Update: the rollback to 4.18.2 fixed it, error rate back to 0.1% since 08:05. We keep
watching for an hour.

Sam - about 340 checkouts failed between 06:50 and 08:05. Do we send the affected
customers an apology mail today, or wait for the full postmortem? I need your call before
noon so support can prepare the text.

Ana

On Wed, 2 Dec 2026 at 07:46, Jonas Weber <jonas.weber@fernhill.example> wrote:
> Confirmed, it's the new tax-rounding code in 4.19.0. Rolling back now.
>
> On Wed, 2 Dec 2026 at 07:31, Ana Ruiz <ana.ruiz@fernhill.example> wrote:
>> Support has 12 tickets already, all EU, all with VAT on shipping.
>>
>> On Wed, 2 Dec 2026 at 07:12, Jonas Weber <jonas.weber@fernhill.example> wrote:
>>> Seeing "amount mismatch" errors from the payment provider for EU checkouts since
>>> about 06:50. Only orders with shipping VAT. Looking into it.
>>>
>>> --
>>> Jonas Weber, SRE
""",
        priority="high", action="flag", category="reply",
        why="The outage is fixed; what remains is a decision Sam must give before noon.",
        tags=("thread",),
    ),
    Mail(
        slug="alert-resolved-diskpressure",
        sender="Alertmanager <alertmanager@monitoring.fernhill.example>",
        to="oncall-platform@fernhill.example",
        subject="[RESOLVED] DiskPressure node worker-7 (prod-us warning)",
        date=at("12-02 03:12", 0),
        text="""\
[RESOLVED] DiskPressure node worker-7 (prod-us warning)

Alerts Resolved:
Labels:
 - alertname = DiskPressure
 - cluster = prod-us
 - node = worker-7
 - severity = warning
Annotations:
 - summary = kubelet reports DiskPressure
Started: 2026-12-02 02:41:10 UTC
Ended:   2026-12-02 03:11:48 UTC

Sent by Alertmanager (prod-us).
""",
        priority="low", action="mark_read", category="notification",
        why="A warning that resolved itself overnight: glance, nothing to do.",
        tags=("monitoring",),
    ),
    Mail(
        slug="vault-root-token",
        sender="Vault Audit <vault-audit@fernhill.example>",
        to="security@fernhill.example",
        cc="sam.keller@fernhill.example",
        subject="CRITICAL: root token used (accessor not in allow-list)",
        date=at("12-02 03:14", 0),
        text="""\
Vault audit rule "root-token-usage" matched.

time:        2026-12-02T03:12:44Z
path:        sys/policies/acl/admin
operation:   update
accessor:    hmac-sha256:9f41c2...e07
remote_addr: 10.40.3.17
allow-listed accessors: none matched

A root token should only exist during a documented break-glass procedure. No break-glass
ticket is open. Investigate immediately.
""",
        priority="urgent", action="flag", category="action",
        why="An unexplained root-token use in the secrets store is a possible breach.",
        tags=("security",),
    ),
]
