"""Family, friends, home: mail from people in Sam's private life."""

from mailkit import Attachment, Mail, at

JPEG_STUB = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(range(256)) * 8 + b"\xff\xd9"

MAILS = [
    Mail(
        slug="pick-up-lena-today",
        sender="Marta Keller <marta.keller@posteo.example>",
        subject="can you pick up Lena today??",
        date=at("12-02 08:58"),
        text="""\
Sam, the vendor audit runs long and I'm stuck here until at least 7. Can you pick up Lena
from the after-school club today? They close at 16:30 sharp and charge if we're late.

Please text or reply as soon as you see this so I know whether to ask my mum instead.

M.
""",
        priority="urgent", action="flag", category="reply",
        why="Family logistics for this afternoon; Marta needs an answer soon to arrange "
            "an alternative.",
        tags=("personal",),
    ),
    Mail(
        slug="mum-christmas-de",
        sender="Ingrid Keller <ingrid.keller@t-online.example>",
        subject="Weihnachten",
        date=at("11-30 20:31"),
        text="""\
Hallo mein Schatz,

Papa und ich wollten fragen, ob ihr dieses Jahr an Weihnachten zu uns nach Lüneburg kommt.
Tante Gisela kommt am 25. auch, und die Kinder könnten im Dachzimmer schlafen. Sag mir
doch bis Sonntag Bescheid, dann kann ich die Gans bestellen.

Wie geht es Lena mit dem Husten? Hoffentlich besser.

Liebe Grüße, auch an Marta
Mama
""",
        priority="normal", action="flag", category="reply",
        why="A family question that needs an answer by Sunday (German).",
        tags=("german", "personal"),
    ),
    Mail(
        slug="hiking-photos",
        sender="Tobias Hahn <tobi.hahn@gmx.example>",
        subject="Fotos vom Harz 📸",
        date=at("11-29 21:12"),
        text="""\
Hey Sam,

endlich habe ich die Fotos sortiert – anbei die besten drei, der Rest liegt hier:
https://photos.example/album/harz-2026

Das Bild vom Brocken im Nebel ist mein neuer Desktop-Hintergrund. Nächstes Jahr wieder?

Tobi
""",
        attachments=(Attachment("IMG_4410.jpg", "image/jpeg", JPEG_STUB),
                     Attachment("IMG_4423.jpg", "image/jpeg", JPEG_STUB[::-1]),
                     Attachment("IMG_4431.jpg", "image/jpeg", JPEG_STUB * 2)),
        priority="normal", action="none", category="other",
        why="A friend's photos: personal, to read and enjoy, no task (German, attachments).",
        tags=("german", "personal", "attachment"),
    ),
    Mail(
        slug="landlord-heating-iso88591",
        sender="Hausverwaltung Köhler <verwaltung@koehler-immobilien.example>",
        subject="Wartung der Heizungsanlage am 08.12.2026 - Zugang zur Wohnung",
        date=at("11-27 10:15"),
        text="""\
Sehr geehrter Herr Keller,

im Auftrag der Eigentümergemeinschaft wird die Heizungsanlage des Hauses
Gleimstraße 41 am

        Dienstag, 08.12.2026, zwischen 08:00 und 12:00 Uhr

gewartet. Dabei müssen auch die Thermostatventile in den Wohnungen geprüft werden.
Bitte ermöglichen Sie dem Techniker (Firma Wärme-Müller) den Zugang zu Ihrer Wohnung
oder hinterlegen Sie einen Schlüssel bei Ihren Nachbarn und teilen Sie uns dies bis
zum 04.12. mit.

Mit freundlichen Grüßen
Sabine Köhler
Hausverwaltung Köhler GmbH
""",
        charset="iso-8859-1", encoding="quoted-printable",
        priority="normal", action="flag", category="action",
        why="Sam has to arrange access to the flat and tell the landlord by 4 Dec "
            "(German, ISO-8859-1).",
        tags=("german", "personal", "charset", "quoted-printable"),
    ),
    Mail(
        slug="football-training-cancelled-de",
        sender="SV Prenzlauer Berg – Jugend <jugend@sv-prenzlberg.example>",
        to="eltern-u9@sv-prenzlberg.example",
        subject="U9: Training am Samstag fällt aus",
        date=at("12-01 19:00"),
        text="""\
Hallo liebe Eltern,

das Training der U9 am Samstag (05.12.) fällt leider aus, der Platz ist wegen Frost
gesperrt. Nächstes Training wie gewohnt am Dienstag.

Sportliche Grüße
Coach Deniz
""",
        priority="low", action="mark_read", category="fyi",
        why="A short notice to all parents; good to know, nothing to do (German).",
        tags=("german", "personal"),
    ),
    Mail(
        slug="old-friend-coffee-es",
        sender="Javier Morales <javi.morales@correo.example>",
        subject="¡Cuánto tiempo! Estaré en Berlín la semana que viene",
        date=at("11-30 22:47"),
        text="""\
¡Hola Sam!

¡Cuánto tiempo! Te escribo porque la semana que viene estaré en Berlín por trabajo, del
lunes 7 al jueves 10. ¿Te apetece un café o una cerveza alguna tarde? Me encantaría
conocer por fin a Lena y saber qué tal os va.

Dime qué día te viene mejor.

Un abrazo,
Javi
""",
        priority="normal", action="flag", category="reply",
        why="An old friend proposes meeting next week and asks which day (Spanish).",
        tags=("spanish", "personal"),
    ),
    Mail(
        slug="brother-fwd-chain",
        sender="Lukas Keller <lukas.keller@web.example>",
        subject="Fwd: Fwd: Fwd: das MUSST du sehen 😂",
        date=at("11-28 23:10"),
        text="""\
haha, schau dir das an

---------- Forwarded message ---------
From: Onkel Rolf <rolf.b@arcor.example>
Date: Sat, 28 Nov 2026 at 18:02
Subject: Fwd: Fwd: das MUSST du sehen 😂

---------- Forwarded message ---------
From: Doris Baumann <doris.baumann@freenet.example>
Date: Sat, 28 Nov 2026 at 11:40
Subject: Fwd: das MUSST du sehen 😂

---------- Forwarded message ---------
From: Günter <guenter1951@t-online.example>
Date: Fri, 27 Nov 2026 at 20:15
Subject: das MUSST du sehen 😂

Ein Hund, der Trompete spielt!!! https://videos.example/watch?v=hund-trompete
Bitte an alle weiterleiten!!!
""",
        priority="low", action="none", category="other",
        why="A family joke chain: personal, harmless, nothing to do (German, forwarded "
            "chain).",
        tags=("german", "personal", "forward"),
    ),
    Mail(
        slug="lab-results-de",
        sender="Praxis Dr. Hoffmann <praxis@dr-hoffmann-berlin.example>",
        subject="Ihre Laborbefunde liegen vor",
        date=at("12-01 11:30"),
        text="""\
Sehr geehrter Herr Keller,

Ihre Laborbefunde vom 24.11.2026 liegen vor. Dr. Hoffmann möchte die Ergebnisse gern
persönlich mit Ihnen besprechen. Bitte vereinbaren Sie in den nächsten zwei Wochen einen
Termin – telefonisch unter 030 5557 3300 oder online über unser Patientenportal.

Aus Datenschutzgründen versenden wir keine Befunde per E-Mail.

Mit freundlichen Grüßen
Ihr Praxisteam Dr. Hoffmann
""",
        priority="normal", action="flag", category="action",
        why="Sam has to book a follow-up appointment within two weeks (German).",
        tags=("german", "personal"),
    ),
    Mail(
        slug="neighbour-parcel",
        sender="Agnieszka Kowalski <a.kowalski@wp.example>",
        subject="your parcel is with me",
        date=at("12-01 14:22"),
        text="""\
Hi Sam,

the postman left a big parcel for you with me (2nd floor left). I'm home every evening
after 18:00, just ring.

Agnieszka
""",
        priority="normal", action="mark_read", category="fyi",
        why="Useful to know where the parcel is; no reply needed.",
        tags=("personal",),
    ),
    Mail(
        slug="insurance-premium-change-de",
        sender="Allrisk Versicherung <kundenservice@allrisk.example>",
        subject="Ihre Kfz-Versicherung: Beitragsanpassung zum 01.01.2027",
        date=at("11-26 09:00"),
        text="""\
Sehr geehrter Herr Keller,

zum 01.01.2027 passen wir den Beitrag Ihrer Kfz-Haftpflicht- und Teilkaskoversicherung
(Vertrag KV-2219-4410) an die gestiegenen Reparatur- und Ersatzteilkosten an.

    Bisheriger Jahresbeitrag:  412,80 €
    Neuer Jahresbeitrag:       447,60 €

Sie haben ein Sonderkündigungsrecht bis einen Monat nach Zugang dieses Schreibens.
Möchten Sie Ihren Vertrag fortführen, müssen Sie nichts weiter tun.

Mit freundlichen Grüßen
Ihre Allrisk Versicherung
""",
        priority="normal", action="mark_read", category="notification",
        why="A price change worth knowing (and a right to cancel), but nothing to do by "
            "default (German).",
        tags=("german", "personal"),
    ),
    Mail(
        slug="trip-planning-thread",
        sender="Nina Brandt <nina.brandt@mailbox.example>",
        cc="tobi.hahn@gmx.example, marta.keller@posteo.example",
        subject="Re: Re: Re: Skihütte Februar?",
        date=at("12-01 22:05"),
        text="""\
Okay, dann nehmen wir die Hütte in Obertauern (14.–21.2.), 2.340 € für alle zusammen.
Ich muss bis Freitag die Anzahlung von 700 € überweisen. Sam, Marta: seid ihr fix dabei?
Dann schicke ich euch die Kontodaten für euren Anteil.

Nina

Am 30.11.2026 um 18:44 schrieb Tobias Hahn:
> Obertauern klingt super, wir sind dabei. Hauptsache Sauna.
>
> Am 29.11.2026 um 10:02 schrieb Nina Brandt:
>> Ich habe zwei Optionen gefunden:
>> 1. Obertauern, 14.–21.2., 6 Betten, 2.340 €
>> 2. Saalbach, 21.–28.2., 8 Betten, 2.900 €
>> Was meint ihr?
>>
>> Am 28.11.2026 um 21:30 schrieb Marta Keller:
>>> Wir wären dabei, aber nur in den Winterferien (ab 14.2.).
""",
        priority="normal", action="flag", category="reply",
        why="Friends need a yes/no before Friday to pay the deposit (German, thread).",
        tags=("german", "personal", "thread"),
    ),
    Mail(
        slug="sister-birthday-thanks",
        sender="Julia Keller <julia.keller@icloud.example>",
        subject="Danke für das Geschenk!",
        date=at("11-29 10:40"),
        text="""\
Lieber Sam,

vielen, vielen Dank für das Buch und die Karte! Ich habe mich riesig gefreut und schon
die Hälfte gelesen. Grüß Marta und Lena ganz lieb.

Bis Weihnachten!
Julia
""",
        priority="normal", action="none", category="other",
        why="A thank-you note from his sister: personal, nice to read, nothing to do "
            "(German).",
        tags=("german", "personal"),
    ),
]
