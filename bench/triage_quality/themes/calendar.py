"""Invitations, answers to invitations, reschedules, appointments."""

from mailkit import Attachment, Mail, at


def ics(uid: str, summary: str, start: str, end: str, organizer: str,
        method: str = "REQUEST") -> Attachment:
    body = (
        "BEGIN:VCALENDAR\nPRODID:-//Fernhill//Calendar//EN\nVERSION:2.0\n"
        f"METHOD:{method}\nBEGIN:VEVENT\nUID:{uid}\nDTSTART:{start}\nDTEND:{end}\n"
        f"SUMMARY:{summary}\nORGANIZER;CN=Organizer:mailto:{organizer}\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:sam.keller@fernhill.example\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    return Attachment("invite.ics", "text/calendar", body.encode(), inline_text=True)


MAILS = [
    Mail(
        slug="invite-q1-planning",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Invitation: Q1 engineering planning @ Thu 3 Dec 2026 14:00 - 16:00 (CET)",
        date=at("12-01 18:02"),
        text="""\
Priya Raman has invited you to: Q1 engineering planning

When: Thursday 3 December 2026, 14:00 - 16:00 (CET)
Where: Room Spree / https://meet.fernhill.example/q1-planning
Guests: Priya Raman (organizer), Sam Keller, Ana Ruiz, Amélie Laurent

Sam - please bring the platform roadmap draft and the 2027 headcount numbers.

Going (sam.keller@fernhill.example)? Yes - Maybe - No
Invitation from Fernhill Calendar.
""",
        attachments=(ics("q1plan-7781@fernhill.example", "Q1 engineering planning",
                         "20261203T130000Z", "20261203T150000Z",
                         "priya.raman@fernhill.example"),),
        priority="high", action="flag", category="meeting",
        why="A meeting tomorrow that needs an answer and preparation from Sam.",
        tags=("attachment", "calendar"),
    ),
    Mail(
        slug="accepted-platform-sync",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        subject="Accepted: Platform sync @ Mon 7 Dec 2026 10:00 - 10:30 (CET)",
        date=at("12-01 09:14"),
        text="""\
Ana Ruiz has accepted this invitation.

Platform sync
When: Monday 7 December 2026, 10:00 - 10:30 (CET)
""",
        priority="low", action="mark_read", category="meeting",
        why="An acceptance: glance at it, nothing to do.",
    ),
    Mail(
        slug="declined-1on1-reschedule",
        sender="Jonas Weber <jonas.weber@fernhill.example>",
        subject="Declined: 1:1 Sam / Jonas @ Wed 2 Dec 2026 16:00 - 16:30 (CET)",
        date=at("12-02 07:40"),
        text="""\
Jonas Weber has declined this invitation.

Note from Jonas: "Sorry, dentist appointment I forgot about. Can we do Thursday after
the planning instead? I have a few things about on-call I want to raise before the
holidays."

1:1 Sam / Jonas
When: Wednesday 2 December 2026, 16:00 - 16:30 (CET)
""",
        priority="normal", action="flag", category="meeting",
        why="A decline that asks Sam to find a new slot.",
    ),
    Mail(
        slug="reschedule-fr",
        sender="Amélie Laurent <amelie.laurent@fernhill.example>",
        subject="Report de notre point produit à mardi ?",
        date=at("12-01 17:05"),
        text="""\
Salut Sam,

je suis coincée chez un client à Lyon jeudi toute la journée, est-ce qu'on peut décaler
notre point produit hebdo à mardi 8 décembre, même heure (11h) ? Sinon mercredi 9 à 15h
me va aussi.

Dis-moi ce qui t'arrange et je mets à jour l'invitation.

Merci !
Amélie
""",
        priority="normal", action="flag", category="meeting",
        why="A colleague asks to move a weekly meeting and needs Sam's choice (French).",
        tags=("french",),
    ),
    Mail(
        slug="cancelled-all-hands",
        sender="Office Fernhill <office@fernhill.example>",
        to="all@fernhill.example",
        subject="Canceled event: All-hands @ Fri 4 Dec 2026 16:00 - 17:00 (CET)",
        date=at("12-01 12:00"),
        text="""\
This event has been canceled and removed from your calendar.

All-hands
When: Friday 4 December 2026, 16:00 - 17:00 (CET)

Message from the organizer: "We merge this one into the Christmas party on 18 Dec -
details follow."
""",
        priority="normal", action="mark_read", category="meeting",
        why="A cancellation worth knowing about; nothing to do.",
    ),
    Mail(
        slug="dentist-reminder-de",
        sender="Zahnarztpraxis Dr. Yilmaz <termine@praxis-yilmaz.example>",
        subject="Terminerinnerung: Do, 03.12.2026 um 08:30 Uhr",
        date=at("12-01 10:00"),
        text="""\
Guten Tag Herr Keller,

wir erinnern Sie an Ihren Termin zur professionellen Zahnreinigung:

    Donnerstag, 03.12.2026, 08:30 Uhr
    Zahnarztpraxis Dr. Yilmaz, Schönhauser Allee 112, 10439 Berlin

Falls Sie den Termin nicht wahrnehmen können, sagen Sie bitte bis spätestens 24 Stunden
vorher ab (Tel. 030 5557 8810). Nicht abgesagte Termine können wir in Rechnung stellen.

Mit freundlichen Grüßen
Ihr Praxisteam
""",
        priority="normal", action="mark_read", category="meeting",
        why="A reminder of an appointment already made; read it, nothing to reply (German).",
        tags=("german",),
    ),
    Mail(
        slug="parents-evening-rsvp-de",
        sender="Frau Schubert (Klasse 3b) <schubert@grundschule-am-park.example>",
        subject="Elternabend Klasse 3b am 10.12. – bitte Rückmeldung bis Freitag",
        date=at("11-30 19:20"),
        text="""\
Liebe Eltern der 3b,

unser nächster Elternabend findet am Donnerstag, den 10. Dezember, um 19:00 Uhr im
Raum 104 statt. Themen: Klassenfahrt im Frühjahr, Lesepatenschaften, Verschiedenes.

Bitte geben Sie mir bis Freitag (4.12.) kurz Bescheid, ob Sie kommen, damit ich den
Raum entsprechend planen kann. Für die Klassenfahrt brauchen wir außerdem zwei
Begleitpersonen – wer Zeit hat, gern melden!

Viele Grüße
Katrin Schubert
""",
        priority="normal", action="flag", category="meeting",
        why="A personal event that needs an RSVP by Friday (German).",
        tags=("german", "personal"),
    ),
    Mail(
        slug="talk-accepted-confirm",
        sender="DevOps Days Hamburg Program Committee <cfp@devopsdays-hh.example>",
        subject="Your talk was accepted - please confirm your slot by 4 December",
        date=at("11-30 14:00"),
        text="""\
Dear Sam,

congratulations - your talk "Capping the KV cache: running a 24B model beside Whisper on
one GPU" has been accepted for DevOps Days Hamburg (11-12 March 2027)!

Your provisional slot: Day 1, 14:30-15:00, Main Stage.

Please confirm the slot and fill in the speaker form (bio, photo, travel needs) by
4 December. Unconfirmed slots go to the waiting list on 5 December.

Speaker form: https://devopsdays-hh.example/speakers/form?t=8a71

Looking forward to your talk,
The Program Committee
""",
        priority="high", action="flag", category="action",
        why="An acceptance that lapses in two days without Sam's confirmation.",
    ),
    Mail(
        slug="updated-invite-vendor-review",
        sender="Ana Ruiz <ana.ruiz@fernhill.example>",
        subject="Updated invitation: Vendor review - observability @ Tue 8 Dec 2026 "
                "13:00 - 14:00 (CET)",
        date=at("12-01 11:33"),
        text="""\
This event has been updated.
Changed: location

Vendor review - observability
When: Tuesday 8 December 2026, 13:00 - 14:00 (CET)
Where: https://meet.fernhill.example/vendor-obs (was: Room Havel)

Going? Yes (already accepted)
""",
        priority="low", action="mark_read", category="meeting",
        why="Only the location of an already accepted meeting changed.",
    ),
    Mail(
        slug="meeting-dates-ja",
        sender="佐藤 健二 <k.sato@tanaka-systems.example>",
        subject="来週のオンライン会議の日程について",
        date=at("12-02 11:05", 9),
        text="""\
Sam Keller 様

いつもお世話になっております。田中システムズの佐藤です。

API連携の件で、来週オンライン会議をお願いできればと存じます。
以下の候補日時（日本時間）のうち、ご都合のよい日をお知らせいただけますでしょうか。

　1. 12月8日（火）17:00〜18:00
　2. 12月9日（水）16:00〜17:00
　3. 12月10日（木）17:30〜18:30

社内調整の都合上、今週金曜日までにご返信いただけますと幸いです。

何卒よろしくお願い申し上げます。

佐藤 健二
田中システムズ株式会社　開発部
""",
        charset="iso-2022-jp", encoding="7bit",
        priority="high", action="flag", category="meeting",
        why="A partner needs Sam to pick a meeting date by Friday (Japanese, ISO-2022-JP).",
        tags=("japanese", "charset"),
    ),
    Mail(
        slug="offsite-dietary-form",
        sender="Office Fernhill <office@fernhill.example>",
        to="engineering@fernhill.example",
        subject="Team offsite 14-15 Jan: dietary + room form by 11 Dec",
        date=at("12-01 15:00"),
        html="""\
<html><body>
<p>Hi engineering,</p>
<p>the <b>offsite at Gut Sarnow</b> (14-15 January) is booked! Please fill in the short
form with your dietary needs and whether you want a single room:</p>
<p><a href="https://forms.fernhill.example/offsite-2027">forms.fernhill.example/offsite-2027</a></p>
<p>Deadline: <b>Friday 11 December</b>. Bus leaves Ostbahnhof 08:30 on the 14th.</p>
<p>Cheers,<br>Nele from the office team</p>
</body></html>
""",
        priority="normal", action="flag", category="action",
        why="A form Sam must fill in, due in nine days (HTML-only).",
        tags=("html-only",),
    ),
    Mail(
        slug="invite-architecture-review-html",
        sender="Dmitri Volkov <dmitri.volkov@fernhill.example>",
        subject="Invitation: Architecture review - event sourcing for billing "
                "@ Tue 8 Dec 2026 15:00 - 16:30",
        date=at("12-01 13:21"),
        html="""\
<html><body>
<div style="border:1px solid #dadce0;padding:16px;font-family:Roboto,Arial">
<div style="font-size:20px">Architecture review - event sourcing for billing</div>
<table>
<tr><td style="color:#70757a">When</td><td>Tuesday 8 Dec 2026 &#8901; 15:00 - 16:30
(Central European Time - Berlin)</td></tr>
<tr><td style="color:#70757a">Where</td><td>Room Spree</td></tr>
<tr><td style="color:#70757a">Guests</td><td>Dmitri Volkov - organizer<br>Sam Keller<br>
Ana Ruiz<br>Tom Becker - optional</td></tr>
</table>
<p>Pre-read: <a href="https://wiki.fernhill.example/adr/0042">ADR-0042 Event sourcing for
billing</a>. I'd like a decision in the meeting, so please read it beforehand.</p>
<p>Reply for sam.keller@fernhill.example: <a href="#">Yes</a> <a href="#">Maybe</a>
<a href="#">No</a></p>
</div>
</body></html>
""",
        attachments=(ics("archrev-0042@fernhill.example",
                         "Architecture review - event sourcing for billing",
                         "20261208T140000Z", "20261208T153000Z",
                         "dmitri.volkov@fernhill.example"),),
        priority="normal", action="flag", category="meeting",
        why="An invitation next week that needs an RSVP and a pre-read.",
        tags=("html-only", "attachment", "calendar"),
    ),
    Mail(
        slug="ceo-cover-customer-call",
        sender="Priya Raman <priya.raman@fernhill.example>",
        subject="Can you take the Helvetia call tomorrow 10:00 instead of me?",
        date=at("12-02 08:05"),
        text="""\
Sam, I've been pulled into the board prep tomorrow morning. Could you take the call
with Helvetia Insurance at 10:00 in my place? It's mostly about their data-retention
questions, which you know better than I do anyway.

Let me know by this afternoon so I can tell them who joins. I'll forward you the invite.

P.
""",
        priority="high", action="flag", category="meeting",
        why="The CTO asks Sam to cover a customer meeting tomorrow and needs an answer today.",
    ),
    Mail(
        slug="wedding-invitation",
        sender="Clara & Ben <clara.and.ben@wedding-mail.example>",
        subject="Save the date: Clara & Ben, 12 June 2027 💍",
        date=at("11-29 12:00"),
        html="""\
<html><body style="text-align:center;font-family:'Playfair Display',serif">
<h1>Clara &amp; Ben</h1>
<p>are getting married!</p>
<p><b>Saturday, 12 June 2027</b><br>Gut Wendgräben, Brandenburg</p>
<p>Formal invitation to follow. Please let us know by 31 January whether you can make
it, and whether you'll bring the kids.</p>
<p><a href="https://wedding-mail.example/clara-ben/rsvp">RSVP here</a></p>
</body></html>
""",
        priority="normal", action="flag", category="meeting",
        why="Friends' wedding invitation with an RSVP by January: personal, no rush.",
        tags=("html-only", "personal"),
    ),
]
