"""Invitations out of the registry without an identifier: a CSV, PDF letters and e-mails.

The registry knows a patient only by study id. The site turns that into an address
on its own side: with the CSV in its mail merge, by writing the address on the
printed letter (headed by the study id), or with a contacts file that
``sijreg invitations send`` reads for one run and keeps nothing of.
"""

from __future__ import annotations

import csv
import io
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import qrcode
from fpdf import FPDF

from sijreg.domain.followup import next_message

CSV_COLUMNS = ("study_id", "months", "link", "valid_from", "valid_until", "reminder_due")


@dataclass(frozen=True)
class Invitation:
    """One live link, as a letter, a mail-merge row or an e-mail carries it."""

    invitation_id: int
    study_id: str
    months: int
    link: str
    valid_from: date
    valid_until: date
    messages_sent: int
    last_sent: date | None
    reminder_due: date | None


def live(
    rows: Iterable[Mapping[Any, Any]],
    link_of: Mapping[int, str],
    today: date,
    reminder_days: Sequence[int],
) -> list[Invitation]:
    """The unanswered invitations whose window has not closed, with their links."""
    found = []
    for row in rows:
        closes, opens = row["closes"], row["opens"]
        assert isinstance(closes, date)
        assert isinstance(opens, date)
        if row["completed_at"] is not None or closes < today:
            continue
        sent = int(str(row["messages_sent"]))
        invitation_id = int(str(row["id"]))
        last = row["last_sent_at"].date() if row["last_sent_at"] is not None else None
        found.append(
            Invitation(
                invitation_id,
                str(row["study_id"]),
                int(str(row["months"])),
                link_of[invitation_id],
                opens,
                closes,
                sent,
                last,
                next_message(opens, sent, last, reminder_days),
            )
        )
    return found


def write_csv(invitations: Sequence[Invitation], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for i in invitations:
            writer.writerow(
                (
                    i.study_id,
                    i.months,
                    i.link,
                    i.valid_from.isoformat(),
                    i.valid_until.isoformat(),
                    i.reminder_due.isoformat() if i.reminder_due else "",
                )
            )


def letter_text(site: str, invitation: Invitation) -> str:
    return (
        f"{site} asks how you are {invitation.months} months after your sacroiliac joint "
        "fusion. Answering takes about 10 minutes, on a phone or a computer. No account or "
        "password is needed: open the link below or scan the square code with your phone's "
        "camera. Your answers are saved as you go, so you can stop and come back with the "
        f"same link. The link works from {invitation.valid_from:%d %B %Y} to "
        f"{invitation.valid_until:%d %B %Y}. If you prefer to answer on paper or by phone, "
        "please call the clinic."
    )


def write_letters(site: str, invitations: Sequence[Invitation], path: Path) -> None:
    """One printable page per invitation, headed by the study id the site addresses it by."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(f"Follow-up invitations, {site}")
    for invitation in invitations:
        pdf.add_page()
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 6, f"Study id: {invitation.study_id}", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(30)  # room for the address the site adds
        pdf.set_font("Helvetica", style="B", size=15)
        pdf.multi_cell(0, 8, f"Your {invitation.months}-month follow-up: how are you now?")
        pdf.ln(3)
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 6.5, letter_text(site, invitation))
        pdf.ln(4)
        image = qrcode.make(invitation.link, box_size=8, border=2)
        pdf.image(image.get_image(), w=50, h=50)
        pdf.ln(2)
        pdf.set_font("Courier", size=10)
        pdf.multi_cell(0, 5.5, invitation.link)
        pdf.ln(4)
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, f"Thank you for your help.\n{site}")
    pdf.output(str(path))


class ContactsError(ValueError):
    """A contacts file sijreg cannot read; the message names the line (never an address)."""


def read_contacts(path: Path) -> dict[str, str]:
    """study id -> e-mail address, from the site's own CSV (columns study_id, email)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ContactsError(f"{path}: cannot read: {error.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"study_id", "email"} <= set(reader.fieldnames):
        raise ContactsError(f"{path}: needs the columns study_id and email")
    found = {}
    for line, row in enumerate(reader, start=2):
        study_id, email = (row["study_id"] or "").strip(), (row["email"] or "").strip()
        if not study_id or "@" not in email:
            raise ContactsError(f"{path}, line {line}: needs a study id and an e-mail address")
        found[study_id] = email
    return found


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    tls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Smtp:
        """From ``smtp://host:port``, ``smtps://user:pass@host`` or ``smtp+starttls://...``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise ValueError(f"{parts.scheme}://… is not an SMTP URL (smtp://host:port)")
        default = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        return cls(
            parts.hostname,
            parts.port or default,
            parts.scheme != "smtp",
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        if self.tls and self.port == 465:
            server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=30)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=30)
            if self.tls:
                server.starttls()
        if self.user and self.password:
            server.login(self.user, self.password)
        return server


def message(site: str, sender: str, to: str, invitation: Invitation) -> EmailMessage:
    reminder = invitation.messages_sent > 0
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = (
        f"Reminder: your {invitation.months}-month follow-up for {site}"
        if reminder
        else f"Your {invitation.months}-month follow-up for {site}"
    )
    opening = (
        "A friendly reminder: we have not received your answers yet. " if reminder else "Hello, "
    )
    mail.set_content(
        f"{opening}{letter_text(site, invitation)}\n\n{invitation.link}\n\n"
        f"Thank you for your help.\n{site}\n"
    )
    return mail
