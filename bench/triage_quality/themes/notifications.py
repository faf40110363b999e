"""Machine-sent notices: CI, GitHub, error trackers, jobs, accounts, deliveries."""

from mailkit import Mail, at

GH = (("X-GitHub-Reason", "review_requested"),
      ("List-ID", "fernhill/api <api.fernhill.github.example>"))

MAILS = [
    Mail(
        slug="gh-review-requested",
        sender="Ana Ruiz <notifications@github-notify.example>",
        subject="[fernhill/api] Add idempotency keys to payment creation (PR #482)",
        date=at("12-01 16:48", 0),
        text="""\
@ana-ruiz requested your review on: fernhill/api#482 Add idempotency keys to payment
creation.

This adds an Idempotency-Key header to POST /v2/payments, stores keys for 24h in Redis
and returns the original response on replay. Needed for the Aurora Bank integration, which
goes live with Thursday's release - a review by Wednesday evening would be great.

  12 files changed, +640 -58

--
Reply to this email directly, view it on GitHub:
https://github-notify.example/fernhill/api/pull/482
You are receiving this because your review was requested.
""",
        headers=GH,
        priority="high", action="flag", category="action",
        why="A review Sam is asked for, blocking Thursday's release.",
        tags=("github",),
    ),
    Mail(
        slug="gh-ci-failed-main",
        sender="GitHub <notifications@github-notify.example>",
        subject="[fernhill/api] Run failed: CI - main (8c1f2e7)",
        date=at("12-02 07:22", 0),
        html="""\
<html><body>
<table style="font-family:-apple-system,Segoe UI,Helvetica"><tr><td>
<h3 style="color:#cf222e">&#10007; CI / test (3.12) failed</h3>
<p><b>fernhill/api</b> &middot; main &middot; 8c1f2e7 "Merge pull request #479 from
fernhill/jw/tax-rounding"</p>
<p>1 failed and 4 successful jobs in 6m 12s</p>
<pre>FAILED tests/billing/test_tax.py::test_vat_on_shipping_rounds_half_even
AssertionError: Decimal('2.37') != Decimal('2.38')</pre>
<p>Deploys from main are blocked until CI is green.</p>
<p><a href="https://github-notify.example/fernhill/api/actions/runs/12870011">View
workflow run</a></p>
</td></tr></table></body></html>
""",
        priority="high", action="flag", category="action",
        why="CI is red on main and deploys are blocked (HTML-only).",
        tags=("github", "html-only"),
    ),
    Mail(
        slug="gh-ci-passed-branch",
        sender="GitHub <notifications@github-notify.example>",
        subject="[fernhill/cli] Run succeeded: CI - sk/windows-paths (41d09aa)",
        date=at("12-01 18:03", 0),
        text="""\
CI / test succeeded for sk/windows-paths (41d09aa)

fernhill/cli - "Normalise non-ASCII paths on Windows"
All 6 jobs succeeded in 4m 47s.

View workflow run: https://github-notify.example/fernhill/cli/actions/runs/12866043
""",
        priority="low", action="mark_read", category="notification",
        why="Sam's own branch passed CI: glance value only.",
        tags=("github",),
    ),
    Mail(
        slug="dependabot-security-alert",
        sender="GitHub <noreply@github-notify.example>",
        subject="[fernhill/api] Critical severity vulnerability found in jsonwebtoken",
        date=at("12-02 04:30", 0),
        text="""\
A critical severity vulnerability was found in a dependency of fernhill/api.

  Package:    jsonwebtoken (npm), used by services/webhooks
  Vulnerable: < 9.0.3
  Patched:    9.0.3
  Advisory:   GHSA-8c4j-34r4-xr8g - signature verification bypass with crafted "alg"
              header (CVSS 9.1)

Dependabot could not open a pull request: the lockfile pins a version range that excludes
9.0.3. Update it manually.

https://github-notify.example/fernhill/api/security/dependabot/93
""",
        priority="high", action="flag", category="action",
        why="A critical auth-bypass vulnerability in production code that needs a manual fix.",
        tags=("github", "security"),
    ),
    Mail(
        slug="dependabot-routine-bump",
        sender="\"dependabot[bot]\" <notifications@github-notify.example>",
        subject="[fernhill/web] Bump prettier from 3.4.1 to 3.4.2 (PR #1207)",
        date=at("12-01 05:12", 0),
        text="""\
Bumps prettier from 3.4.1 to 3.4.2.

Release notes: fixes formatting of decorators in TypeScript 5.7.

Dependabot will resolve any conflicts with this PR as long as you don't alter it
yourself.

https://github-notify.example/fernhill/web/pull/1207
You are receiving this because you are watching this repository.
""",
        priority="low", action="archive", category="notification",
        why="A routine dev-dependency bump on a watched repo; others review these.",
        tags=("github",),
    ),
    Mail(
        slug="gh-mention-question",
        sender="oskar-lind <notifications@github-notify.example>",
        subject="Re: [fernhill/cli] Crash on Windows with non-ASCII paths (Issue #77)",
        date=at("12-01 21:40", 0),
        text="""\
@sam-keller you said in October this would be fixed in 2.4 - I'm on 2.4.1 and still get

  UnicodeEncodeError: 'charmap' codec can't encode character '\\u00e9' in position 14

when the project lives under C:\\Users\\Zoé\\. Is the fix in a later release, or should I
set PYTHONUTF8=1 as a workaround for now? Our whole French team is stuck on 2.3.

--
Reply to this email directly or view it on GitHub:
https://github-notify.example/fernhill/cli/issues/77#issuecomment-2511
You are receiving this because you were mentioned.
""",
        priority="normal", action="flag", category="reply",
        why="A user asks Sam directly (mention) and waits for an answer.",
        tags=("github",),
    ),
    Mail(
        slug="gh-issue-closed",
        sender="GitHub <notifications@github-notify.example>",
        subject="Re: [fernhill/web] Dark mode toggles back on reload (Issue #1180)",
        date=at("11-30 10:02", 0),
        text="""\
Closed #1180 as completed via #1198.

--
https://github-notify.example/fernhill/web/issues/1180
You are receiving this because you are subscribed to this thread.
""",
        priority="low", action="mark_read", category="notification",
        why="A subscribed issue was closed; nothing to do.",
        tags=("github",),
    ),
    Mail(
        slug="sentry-new-issue-billing",
        sender="Sentry <noreply@sentry-mail.example>",
        subject="[fernhill-billing] KeyError: 'tenant_id' - 1,204 events in 10 minutes",
        date=at("12-02 08:34", 0),
        text="""\
New issue in fernhill-billing (production)

KeyError: 'tenant_id'
  billing/worker.py in apply_credit_notes at line 212

Events: 1,204 in the last 10 minutes (first seen 08:24 UTC)
Users affected: 87
Release: billing@2026.12.02-1

https://sentry-mail.example/organizations/fernhill/issues/4410021/

Alert rule: "New issue with > 100 events/10min"
""",
        priority="high", action="flag", category="action",
        why="A new, fast-growing production error in billing after this morning's release.",
    ),
    Mail(
        slug="uptime-docs-down",
        sender="UptimeBot <alerts@uptimebot.example>",
        subject="Monitor is DOWN: docs.fernhill.example (HTTP 503)",
        date=at("12-02 08:12", 0),
        text="""\
Monitor "Public docs" is DOWN.

  URL:       https://docs.fernhill.example
  Reason:    HTTP 503 Service Unavailable
  Since:     2026-12-02 08:07:31 UTC (5 minutes)
  Checked from: Frankfurt, Amsterdam, London

We will notify you when it is back up.
""",
        priority="high", action="flag", category="action",
        why="The public documentation site is down; customer-facing, but not the product "
            "itself.",
        tags=("monitoring",),
    ),
    Mail(
        slug="backup-ok",
        sender="backup@backup-1.fernhill.example",
        subject="[backup-1] nightly db-prod: OK (42.1 GiB, 0 errors)",
        date=at("12-02 03:58", 0),
        text="""\
Job:        nightly-db-prod
Started:    2026-12-02 02:00:03
Finished:   2026-12-02 03:57:40
Size:       42.1 GiB (dedup 11.8 GiB new)
Errors:     0
Retention:  30 daily, 12 monthly - oldest pruned: 2026-11-02
""",
        priority="low", action="archive", category="notification",
        why="A routine scheduled job that succeeded.",
    ),
    Mail(
        slug="backup-failed",
        sender="backup@backup-1.fernhill.example",
        subject="[backup-1] nightly files-prod: FAILED (snapshot quota exceeded)",
        date=at("12-02 04:20", 0),
        text="""\
Job:        nightly-files-prod
Started:    2026-12-02 04:00:01
Finished:   2026-12-02 04:19:55
Status:     FAILED
Error:      snapshot create failed: quota exceeded (2.00 TiB of 2.00 TiB used)
Last good:  2026-11-29 04:18:12 (3 days ago)

This job has failed 3 times in a row.
""",
        priority="high", action="flag", category="action",
        why="Backups of production files have failed three nights running.",
    ),
    Mail(
        slug="jira-assigned",
        sender="Jira <jira@fernhill.atlassian.example>",
        subject="[JIRA] Jonas Weber assigned PLAT-1288 to you",
        date=at("12-01 13:10"),
        text="""\
Jonas Weber assigned this issue to you.

PLAT-1288: Rotate service-account keys older than 90 days
Type: Task   Priority: Medium   Due: 18 Dec 2026

There are 14 keys older than 90 days (list in the description). Security wants them
rotated before the audit in January.

View issue: https://fernhill.atlassian.example/browse/PLAT-1288
""",
        priority="normal", action="flag", category="action",
        why="A task assigned to Sam, due in two weeks.",
    ),
    Mail(
        slug="jira-daily-digest",
        sender="Jira <jira@fernhill.atlassian.example>",
        subject="[JIRA] Daily digest: 23 updates in PLAT",
        date=at("12-02 06:00"),
        text="""\
Your daily digest for project PLAT (23 updates)

PLAT-1279  Status: In Progress -> In Review     (Ana Ruiz)
PLAT-1281  Comment added                         (Dmitri Volkov)
PLAT-1284  Priority: Low -> Medium               (Jonas Weber)
PLAT-1285  Created: "Flaky test in exports e2e"  (Ana Ruiz)
... and 19 more

Manage notifications: https://fernhill.atlassian.example/notifications
""",
        priority="low", action="archive", category="notification",
        why="An automated digest; the same items are in Jira.",
    ),
    Mail(
        slug="chat-unread-digest",
        sender="Chatter <notifications@chatter-mail.example>",
        subject="You have 3 unread messages from Priya Raman",
        date=at("12-02 08:00", 0),
        text="""\
You have unread messages in Fernhill.

Priya Raman (3):  "do you have 5 min before standup?" ...

Open Chatter to reply: https://fernhill.chatter-mail.example/dm/priya
To change how often you get these emails, visit your notification preferences.
""",
        priority="low", action="mark_read", category="notification",
        why="A digest of chat messages Sam reads in the chat app itself.",
    ),
    Mail(
        slug="google-signin-expected",
        sender="Google <no-reply@accounts.google-mail.example>",
        subject="Security alert: new sign-in on Pixel 9",
        date=at("11-30 19:44", 0),
        text="""\
New sign-in to your account
sam.keller.private@gmail.example

Your Google Account was just signed in to from a new Pixel 9 device. You're getting this
email to make sure it was you.

If this was you, you don't need to do anything.
If not, we'll help you secure your account: https://myaccount.google-mail.example/alert
""",
        priority="low", action="mark_read", category="notification",
        why="A routine new-device notice from the real provider on a private account; it "
            "says nothing is needed if it was him.",
    ),
    Mail(
        slug="parcel-today-de",
        sender="DHL Paket <noreply@dhl-paket.example>",
        subject="Ihre Sendung kommt heute zwischen 10:00 und 14:00 Uhr",
        date=at("12-02 06:45"),
        html="""\
<html><body style="font-family:Delivery,Arial">
<div style="background:#fc0;padding:8px"><b>DHL</b></div>
<p>Hallo Sam Keller,</p>
<p>Ihre Sendung <b>00340434161234567890</b> von <b>Buchhaus Online</b> kommt heute.</p>
<p style="font-size:18px">Voraussichtlich <b>10:00 – 14:00 Uhr</b></p>
<p>Nicht zu Hause? <a href="https://dhl-paket.example/ablageort">Ablageort oder Nachbarn
festlegen</a></p>
</body></html>
""",
        priority="normal", action="mark_read", category="notification",
        why="A delivery arriving today: useful to know, nothing to do (German, HTML-only).",
        tags=("german", "html-only"),
    ),
    Mail(
        slug="password-changed",
        sender="Trackly <security@trackly.example>",
        subject="Your Trackly password was changed",
        date=at("12-01 20:02", 0),
        text="""\
Hi Sam,

The password for your Trackly account (sam.keller@fernhill.example) was changed on
1 December 2026 at 19:01 UTC from Firefox on Linux (Berlin, DE).

If you made this change, you can ignore this email.
If you didn't, reset your password and contact us: https://trackly.example/security
""",
        priority="low", action="mark_read", category="notification",
        why="Confirmation of a change made from Sam's own setup; glance and keep.",
    ),
    Mail(
        slug="cost-anomaly",
        sender="Nimbus Cloud Cost Monitor <cost-alerts@nimbuscloud.example>",
        subject="Cost anomaly detected: Compute spend +340% in the last 24 hours",
        date=at("12-02 07:05", 0),
        text="""\
Cost anomaly detected in account fernhill-prod (4411-2290-7713).

  Service:         Compute (eu-central-1)
  Spend last 24h:  $1,842.17 (expected: $418.60)
  Top driver:      instance family g6.12xlarge, 8 instances launched 2026-12-01 09:14
                   by role ci-runner-autoscaler
  Impact if it continues: ~$42,700 this month

Review: https://console.nimbuscloud.example/cost/anomalies/77310
""",
        priority="high", action="flag", category="action",
        why="Eight large GPU instances left running by CI: money burns until someone stops "
            "them.",
    ),
    Mail(
        slug="release-published",
        sender="GitHub <notifications@github-notify.example>",
        subject="[fernhill/sdk-python] Release v3.4.0",
        date=at("11-30 13:00", 0),
        text="""\
fernhill/sdk-python v3.4.0 has been released by dmitri-volkov.

- Async client (FernhillAsyncClient)
- Retries honour Retry-After
- Python 3.9 dropped

https://github-notify.example/fernhill/sdk-python/releases/tag/v3.4.0
You are receiving this because you are watching releases of this repository.
""",
        priority="low", action="archive", category="notification",
        why="A release announcement on a watched repository.",
        tags=("github",),
    ),
    Mail(
        slug="calendar-daily-agenda",
        sender="Fernhill Calendar <calendar-notification@fernhill.example>",
        subject="Daily agenda for Sam Keller: Wed 2 Dec 2026",
        date=at("12-02 06:00"),
        text="""\
Your agenda for Wednesday 2 December 2026

09:30 - 09:45  Standup (Room Spree)
11:00 - 12:00  Hiring sync
13:00 - 13:30  Lunch & learn: Postgres 18
16:00 - 16:30  1:1 Sam / Jonas  (declined by Jonas)

Invitations from Fernhill Calendar.
""",
        priority="low", action="mark_read", category="notification",
        why="An automated agenda: a glance, nothing to do.",
    ),
    Mail(
        slug="linkedin-searches",
        sender="LinkedIn <notifications@linkedin-mail.example>",
        subject="You appeared in 14 searches this week",
        date=at("11-30 08:00", 0),
        html="""\
<html><body>
<p>Sam, you appeared in <b>14 searches</b> this week.</p>
<p>Searchers were from: Zalando, N26, a stealth startup and 6 others.</p>
<p>Job titles: Engineering Manager, Head of Platform.</p>
<p><a href="https://linkedin-mail.example/me/search-appearances">See all searches</a></p>
<p style="font-size:10px">Unsubscribe from search appearance emails.</p>
</body></html>
""",
        priority="low", action="archive", category="notification",
        why="A social-network engagement mail.",
        tags=("html-only",),
    ),
]
